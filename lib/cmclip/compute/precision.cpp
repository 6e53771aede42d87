#include "cmclip/compute/precision.hpp"

#include <ATen/autocast_mode.h>
#include <c10/core/Device.h>
#include <torch/version.h>

#include <atomic>

#include <fmt/format.h>

#include "cmclip/compute/cpu_isa.hpp"
#include "cmclip/compute/linear.hpp"
#include "cmclip/core/error.hpp"
#include "cmclip/core/log.hpp"

// LibTorch 2.4 made the autocast switches per device type; 1.13 to 2.3 have one
// function pair per device.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
#define CMCLIP_AUTOCAST_PER_DEVICE_TYPE 1
#endif

namespace cmclip::compute {

namespace {
thread_local Precision g_precision = Precision::fp32;
thread_local int g_bf16_depth = 0;

bool autocast_enabled(c10::DeviceType t) {
#ifdef CMCLIP_AUTOCAST_PER_DEVICE_TYPE
  return at::autocast::is_autocast_enabled(t);
#else
  return t == c10::kCUDA ? at::autocast::is_enabled() : at::autocast::is_cpu_enabled();
#endif
}

void set_autocast(c10::DeviceType t, bool enabled) {
#ifdef CMCLIP_AUTOCAST_PER_DEVICE_TYPE
  if (enabled) at::autocast::set_autocast_dtype(t, at::kBFloat16);
  at::autocast::set_autocast_enabled(t, enabled);
#else
  if (t == c10::kCUDA) {
    if (enabled) at::autocast::set_autocast_gpu_dtype(at::kBFloat16);
    at::autocast::set_enabled(enabled);
  } else {
    if (enabled) at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
    at::autocast::set_cpu_enabled(enabled);
  }
#endif
}

void describe_once(bool autocast, const c10::Device& device) {
  static std::atomic<bool> said{false};
  if (said.exchange(true)) return;
  if (autocast) {
    log::info("precision bf16: LibTorch autocast on {} (matrix products in bf16, the rest in fp32)", device.str());
  } else if (!onednn_gemm_available()) {
    log::warn(
        "precision bf16: no bf16 kernels on this CPU (they need AVX-512: AVX512_CORE; oneDNN runs {}): the "
        "linear layers round their operands to bf16 and multiply in fp32 with LibTorch's GEMM, the same "
        "arithmetic and slower than --precision fp32; other products stay fp32",
        isa::describe_effective());
  } else {
    log::info("precision bf16: linear layers on {}; everything else in fp32", gemm_backend());
    if (!onednn_bf16_gemm_available())
      log::warn(
          "oneDNN here has no bf16 GEMM (it needs AVX-512: AVX512_CORE; this process runs {}): bf16 "
          "operands go through the fp32 GEMM instead, the same arithmetic and slower than --precision fp32",
          isa::describe_effective());
    else if (!cpu_has_avx512_bf16())
      log::warn(
          "this CPU has no AVX512-BF16 instructions (oneDNN runs {}): bf16 products are emulated and are "
          "likely slower than --precision fp32",
          isa::describe_effective());
  }
}
}  // namespace

const NameTable<Precision>& precision_names() {
  static const NameTable<Precision> table{{Precision::fp32, "fp32"}, {Precision::bf16, "bf16"}};
  return table;
}

Precision parse_precision(const std::string& name) { return precision_names().parse(name, "--precision"); }

const char* precision_name(Precision p) { return precision_names().name(p); }

bool cpu_has_avx512_bf16() { return isa::includes(isa::effective_isa(), isa::kAvx512CoreBf16); }

Precision current_precision() { return g_precision; }

PrecisionScope::PrecisionScope(Precision p, const c10::Device& device)
    : previous_(g_precision), device_type_(static_cast<int>(device.type())) {
  g_precision = p;
  if (p == Precision::bf16) ++g_bf16_depth;
  // Products that compute::linear() does not take over go through LibTorch's autocast.
  // Not on a CPU without bf16 kernels: LibTorch would ask oneDNN for kernels it lacks
  // (it checks the CPU, not ONEDNN_MAX_CPU_ISA); linear() rounds instead.
  const bool need_autocast =
      p == Precision::bf16 && (!device.is_cpu() || (!onednn_gemm_available() && cpu_bf16_kernels_available()));
  if (p == Precision::bf16) describe_once(need_autocast, device);
  if (need_autocast) {
    previous_autocast_ = autocast_enabled(device.type());
    set_autocast(device.type(), true);
    at::autocast::increment_nesting();
    autocast_ = true;
  }
}

PrecisionScope::~PrecisionScope() {
  if (autocast_) {
    if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
    set_autocast(static_cast<c10::DeviceType>(device_type_), previous_autocast_);
  }
  if (g_precision == Precision::bf16 && --g_bf16_depth == 0) clear_bf16_weight_cache();
  g_precision = previous_;
}

}  // namespace cmclip::compute
