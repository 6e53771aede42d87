// Moving model input from the loader (host memory) to the compute device.
#pragma once
#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

namespace cmclip::data {

// `host` on `device`. For a CUDA device the tensor is first copied into page-locked
// (pinned) host memory, so that the transfer is a DMA copy queued on the current CUDA
// stream without waiting for it (as PyTorch's DataLoader with pin_memory=True); later
// kernels on that stream see the data. On the CPU the tensor is returned as it is.
at::Tensor to_device(const at::Tensor& host, const c10::Device& device);

}  // namespace cmclip::data
