#include "cmclip/train/communicator.hpp"

#include <ATen/ATen.h>

namespace cmclip::train {

std::unique_ptr<Communicator> local_communicator() { return std::make_unique<Communicator>(); }

void average_gradients(Communicator& comm, const std::vector<std::pair<std::string, at::Tensor>>& params) {
  if (comm.world() <= 1 || params.empty()) return;
  // Gradients (zeros where undefined) followed by one "defined" flag per parameter,
  // summed in one buffer: the flags say which gradients exist on any rank.
  std::vector<at::Tensor> parts;
  std::vector<float> defined;
  int64_t total = 0;
  for (const auto& [name, p] : params) {
    const at::Tensor& g = p.grad();
    parts.push_back(g.defined() ? g.reshape({-1}) : at::zeros({p.numel()}, p.options()));
    defined.push_back(g.defined() ? 1.0f : 0.0f);
    total += p.numel();
  }
  parts.push_back(at::tensor(defined, params.front().second.options()));
  std::vector<at::Tensor> buffer{at::cat(parts)};
  comm.allreduce_sum(buffer);
  const at::Tensor& sum = buffer[0];
  at::Tensor on_any = sum.slice(0, total).cpu();
  int64_t offset = 0;
  for (size_t i = 0; i < params.size(); ++i) {
    const at::Tensor& p = params[i].second;
    if (on_any.data_ptr<float>()[i] > 0) {
      at::Tensor mean = sum.slice(0, offset, offset + p.numel()).view_as(p).div(comm.world());
      if (p.grad().defined()) p.mutable_grad().copy_(mean);
      else p.mutable_grad() = mean;
    }
    offset += p.numel();
  }
}

}  // namespace cmclip::train
