// What a training step needs from the other ranks of a data-parallel run. One
// process: every operation is the identity. Several processes: c10d (Gloo on CPU,
// NCCL with CUDA), see distributed.hpp.
#pragma once
#include <ATen/core/Tensor.h>

#include <memory>
#include <string>
#include <utility>
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

// Averages the gradients of `params` over the ranks in one collective. A parameter
// whose gradient is undefined on some ranks (unused in their forward pass) gets a
// zero gradient there, so every rank sends the same layout; it stays undefined only
// where no rank has one, as in a one-process run. One process: nothing happens.
void average_gradients(Communicator& comm, const std::vector<std::pair<std::string, at::Tensor>>& params);

}  // namespace cmclip::train
