// What a training step needs from the other ranks of a data-parallel run. One
// process: every operation is the identity. Several processes: c10d (Gloo on CPU,
// NCCL with CUDA), see distributed.hpp.
#pragma once
#include <ATen/core/Tensor.h>

#include <memory>
#include <vector>

namespace cmclip::train {

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const { return 0; }
  virtual int world() const { return 1; }
  bool is_root() const { return rank() == 0; }
  // Averages the tensors over ranks, in place (gradients of one step).
  virtual void allreduce_mean(std::vector<at::Tensor>& tensors) {}
  // Sums the tensors over ranks, in place.
  virtual void allreduce_sum(std::vector<at::Tensor>& tensors) {}
  // Rank 0's values everywhere, in place (parameters at the start).
  virtual void broadcast(std::vector<at::Tensor>& tensors) {}
  // True on every rank if it is true on any rank (stop requests, diverged losses).
  virtual bool any(bool flag) { return flag; }
  virtual void barrier() {}
};

std::unique_ptr<Communicator> local_communicator();

}  // namespace cmclip::train
