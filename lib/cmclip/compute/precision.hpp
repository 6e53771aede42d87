// The arithmetic precision of the matrix products (--precision fp32|bf16).
//
// bf16 is autocast-like: parameters, activations and everything that is not a matrix
// product (layer norms, softmax, GELU, residual sums, losses, optimiser state) stay in
// fp32; the products of the linear layers take bf16 operands and accumulate in fp32.
//  - CPU: the linear layers of CLIP run on oneDNN's bf16 GEMM (AVX512-BF16 instructions
//    where the CPU has them, emulated on other AVX-512 CPUs) through compute::linear();
//    other products stay fp32. Where oneDNN has no bf16 GEMM (below AVX-512, or capped by
//    ONEDNN_MAX_CPU_ISA) the same bf16-rounded operands go through its fp32 GEMM: the
//    same arithmetic, slower; a warning says so once.
//  - CUDA, and a CPU without the oneDNN path: LibTorch's autocast in bf16; but on a CPU
//    with no bf16 kernels at all (below AVX-512) linear() rounds the operands to bf16 and
//    multiplies in fp32, and the other products stay fp32.
// A PrecisionScope sets it for the current thread; tools open one around their work.
// No LibTorch headers here: tools and option structs include it.
#pragma once
#include <string>

#include "cmclip/core/names.hpp"

namespace CLI {
class App;
}
namespace c10 {
struct Device;
}

namespace cmclip::compute {

enum class Precision { fp32, bf16 };

const NameTable<Precision>& precision_names();
Precision parse_precision(const std::string& name);  // UsageError unless fp32 or bf16
const char* precision_name(Precision p);

// --precision, registered by the tools that compute with CLIP.
struct PrecisionOptions {
  std::string precision = "fp32";
  void register_on(CLI::App& app);
  void validate() const { parsed(); }
  Precision parsed() const { return parse_precision(precision); }
};

// Whether oneDNN runs the AVX512-BF16 instructions here: the CPU has them and
// ONEDNN_MAX_CPU_ISA does not cap them away (see cpu_isa.hpp).
bool cpu_has_avx512_bf16();

// Sets the precision for the current thread until destruction (scopes nest). On CUDA
// devices, and on CPUs that have bf16 kernels but where compute::linear() does not reach
// oneDNN, bf16 also enables LibTorch's autocast for `device`. Logs once per process what
// bf16 runs on.
class PrecisionScope {
 public:
  PrecisionScope(Precision p, const c10::Device& device);
  ~PrecisionScope();
  PrecisionScope(const PrecisionScope&) = delete;
  PrecisionScope& operator=(const PrecisionScope&) = delete;

 private:
  Precision previous_;
  bool autocast_ = false;
  int device_type_ = 0;  // c10::DeviceType of the autocast switch set here
  bool previous_autocast_ = false;
};

// The precision in force on this thread (fp32 outside any scope).
Precision current_precision();

}  // namespace cmclip::compute
