#include "cmclip/data/transfer.hpp"

#include <ATen/ATen.h>

namespace cmclip::data {

at::Tensor to_device(const at::Tensor& host, const c10::Device& device) {
  if (host.device() == device) return host;
  if (device.is_cuda() && host.device().is_cpu()) return host.pin_memory().to(device, /*non_blocking=*/true);
  return host.to(device);
}

}  // namespace cmclip::data
