#include "cmclip/compute/linear.hpp"

#include <dlfcn.h>

#include <ATen/ATen.h>
#include <ATen/record_function.h>
#include <torch/csrc/autograd/custom_function.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <unordered_map>

#include <fmt/format.h>

#include "cmclip/compute/cpu_isa.hpp"
#include "cmclip/compute/onednn.hpp"
#include "cmclip/compute/precision.hpp"
#include "cmclip/core/error.hpp"

namespace cmclip::compute {

namespace onednn {
namespace {
std::atomic<bool> g_libtorch_only{false};

bool bf16_gemm_runs(Bf16GemmFn fn) {
  const uint16_t one = 0x3f80, two = 0x4000;  // 1.0 and 2.0 in bf16
  const uint16_t a[4] = {one, two, two, one}, b[4] = {one, one, two, one};
  float c[4] = {0, 0, 0, 0};
  if (fn('N', 'N', 2, 2, 2, 1.0f, a, 2, b, 2, 0.0f, c, 2) != 0) return false;
  return c[0] == 5.0f && c[1] == 3.0f && c[2] == 4.0f && c[3] == 3.0f;
}
}  // namespace
void use_libtorch_gemm() { g_libtorch_only = true; }

const Api& api() {
  static const Api none;
  if (g_libtorch_only.load(std::memory_order_relaxed)) return none;
  static const Api d = [] {
    Api d;
    // CMCLIP_GEMM=libtorch keeps LibTorch's own GEMM (A/B comparisons, debugging).
    const char* choice = std::getenv("CMCLIP_GEMM");
    if (choice && std::strcmp(choice, "libtorch") == 0) return d;
    d.sgemm = reinterpret_cast<SgemmFn>(dlsym(RTLD_DEFAULT, "dnnl_sgemm"));
    d.bf16 = reinterpret_cast<Bf16GemmFn>(dlsym(RTLD_DEFAULT, "dnnl_gemm_bf16bf16f32"));
    if (!d.sgemm || !d.bf16) return Api{};
    // oneDNN 2.x (Debian 12) has bf16 GEMM kernels from AVX-512 on: below it (or capped
    // below it by ONEDNN_MAX_CPU_ISA) the call returns "unimplemented"; 3.x (Debian 13)
    // also emulates them on AVX2. Asking oneDNN itself, once, with a tiny product agrees
    // with it whatever its version and the CPU.
    if (!bf16_gemm_runs(d.bf16)) d.bf16 = nullptr;
    return d;
  }();
  return d;
}

void check(int status, const char* what) {
  if (status != 0) throw RuntimeFailure(fmt::format("oneDNN {} failed with status {}", what, status));
}
}  // namespace onednn

namespace {
using onednn::api;

// bf16 copies of the weights, so that frozen weights are rounded once per scope and
// not once per call. An entry keeps its source tensor alive (its address cannot be
// reused) and is valid while the source's version counter is unchanged (an optimiser
// step bumps it).
struct Bf16Copy {
  at::Tensor source, copy;
  uint32_t version = 0;
};

std::unordered_map<const void*, Bf16Copy>& bf16_cache() {
  static thread_local std::unordered_map<const void*, Bf16Copy> cache;
  return cache;
}

// `t` rounded to bf16, contiguous: bf16 for oneDNN's bf16 GEMM, else the rounded
// values in fp32 for its fp32 GEMM.
at::Tensor bf16_operand(const at::Tensor& t) {
  at::Tensor r = t.to(at::kBFloat16);
  return (api().bf16 ? r : r.to(at::kFloat)).contiguous();
}

at::Tensor bf16_weight(const at::Tensor& w) {
  auto& cache = bf16_cache();
  const void* key = w.unsafeGetTensorImpl();
  const uint32_t version = w._version();
  auto it = cache.find(key);
  if (it != cache.end() && it->second.version == version && it->second.source.data_ptr() == w.data_ptr())
    return it->second.copy;
  at::Tensor copy = bf16_operand(w.detach());
  cache[key] = Bf16Copy{w, copy, version};  // a trained weight replaces its entry after each step
  return copy;
}

// C[M,N] (+)= op(A) op(B) with fp32 A, B (rounded to bf16 when `bf16`); A and B are
// contiguous row-major matrices, op transposes when the flag is 'T'. `b_weight` marks
// B as a layer's weight, whose bf16 copy is cached. Without oneDNN's bf16 GEMM the
// rounded operands are held in fp32 and go to the fp32 GEMM: a product of two bf16
// numbers is exact in fp32, so this is the same arithmetic (bf16 operands, fp32 sums).
void gemm(char ta, char tb, int64_t m, int64_t n, int64_t k, const at::Tensor& a, const at::Tensor& b, float beta,
          at::Tensor& c, bool bf16, bool b_weight) {
  const int64_t lda = ta == 'N' ? k : m, ldb = tb == 'N' ? n : k;
  if (bf16) {
    at::Tensor a16 = bf16_operand(a);
    at::Tensor b16 = b_weight ? bf16_weight(b) : bf16_operand(b);
    if (api().bf16) {
      onednn::check(api().bf16(ta, tb, m, n, k, 1.0f, reinterpret_cast<const uint16_t*>(a16.data_ptr()), lda,
                               reinterpret_cast<const uint16_t*>(b16.data_ptr()), ldb, beta, c.data_ptr<float>(), n),
                    "dnnl_gemm_bf16bf16f32");
      return;
    }
    onednn::sgemm(ta, tb, m, n, k, 1.0f, a16.data_ptr<float>(), lda, b16.data_ptr<float>(), ldb, beta,
                  c.data_ptr<float>(), n);
    return;
  }
  onednn::sgemm(ta, tb, m, n, k, 1.0f, a.data_ptr<float>(), lda, b.data_ptr<float>(), ldb, beta, c.data_ptr<float>(),
                n);
}

// x2 [M, K] contiguous -> [M, N]: the bias and the residual (r2 [M, N]) are written
// first and the product added to them.
at::Tensor forward_2d(const at::Tensor& x2, const at::Tensor& w, const at::Tensor& b, const at::Tensor& r2, bool bf16) {
  const int64_t m = x2.size(0), k = x2.size(1), n = w.size(0);
  at::Tensor y = at::empty({m, n}, w.options());  // fp32, also for a bf16 x
  if (m == 0) return y;
  float beta = 1.0f;
  if (r2.defined() && b.defined()) at::add_out(y, r2, b);
  else if (r2.defined()) y.copy_(r2);
  else if (b.defined()) y.copy_(b.expand({m, n}));
  else beta = 0.0f;
  gemm('N', 'T', m, n, k, x2, w, beta, y, bf16, /*b_weight=*/true);
  return y;
}

std::vector<int64_t> output_shape(const at::Tensor& x, const at::Tensor& w) {
  std::vector<int64_t> shape = x.sizes().vec();
  shape.back() = w.size(0);
  return shape;
}

bool bf16_gemm_in_scope() { return current_precision() == Precision::bf16 && api().bf16; }

bool use_onednn(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b, const at::Tensor& r) {
  if (!api().sgemm) return false;
  auto fits = [](const at::Tensor& t) {
    return t.device().is_cpu() && t.scalar_type() == at::kFloat && !t.is_sparse();
  };
  // A bf16 x only as linear_takes_bf16_input() promised it: it is what gemm() would
  // have rounded x to.
  const bool x_fits = fits(x) || (x.device().is_cpu() && x.scalar_type() == at::kBFloat16 && !x.is_sparse() &&
                                  !x.requires_grad() && bf16_gemm_in_scope());
  return x_fits && fits(w) && w.dim() == 2 && x.dim() >= 1 && x.size(-1) == w.size(1) &&
         (!b.defined() || (fits(b) && b.dim() == 1 && b.size(0) == w.size(0))) &&
         (!r.defined() || (fits(r) && r.sizes().vec() == output_shape(x, w)));
}

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// The autograd rule of the oneDNN product. x is saved only when W trains (the
// gradient of W needs it); the precision of the forward applies to the backward.
struct OneDnnLinear : public torch::autograd::Function<OneDnnLinear> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, const at::Tensor& w, const at::Tensor& b,
                            const at::Tensor& r, bool has_bias, bool has_residual, bool bf16) {
    at::Tensor x2 = x.reshape({-1, x.size(-1)}).contiguous();
    ctx->saved_data["bf16"] = bf16;
    ctx->saved_data["has_bias"] = has_bias;
    ctx->saved_data["has_residual"] = has_residual;
    ctx->saved_data["x_sizes"] = x.sizes().vec();
    ctx->save_for_backward({w.requires_grad() ? x2 : at::Tensor(), w});
    at::Tensor r2 = has_residual ? r.reshape({-1, w.size(0)}) : at::Tensor();
    return forward_2d(x2, w, has_bias ? b : at::Tensor(), r2, bf16).view(output_shape(x, w));
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const bool bf16 = ctx->saved_data["bf16"].toBool(), has_bias = ctx->saved_data["has_bias"].toBool();
    const std::vector<int64_t> x_sizes = ctx->saved_data["x_sizes"].toIntVector();
    auto saved = ctx->get_saved_variables();
    const at::Tensor& x2 = saved[0];
    const at::Tensor& w = saved[1];
    const int64_t n = w.size(0), k = w.size(1);
    at::Tensor gy = grads[0].reshape({-1, n}).contiguous();
    const int64_t m = gy.size(0);
    at::Tensor gx, gw, gb;
    if (ctx->needs_input_grad(0)) {
      gx = at::empty({m, k}, gy.options());
      if (m > 0) gemm('N', 'N', m, k, n, gy, w, 0.0f, gx, bf16, /*b_weight=*/true);  // gy W
      gx = gx.view(x_sizes);
    }
    if (ctx->needs_input_grad(1)) {
      gw = at::zeros({n, k}, gy.options());
      if (m > 0) gemm('T', 'N', n, k, m, gy, x2, 0.0f, gw, bf16, /*b_weight=*/false);  // gy^T x
    }
    if (has_bias && ctx->needs_input_grad(2)) gb = gy.sum(0);
    at::Tensor gr;
    if (ctx->saved_data["has_residual"].toBool() && ctx->needs_input_grad(3)) gr = grads[0];
    return {gx, gw, gb, gr, at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

}  // namespace

void clear_bf16_weight_cache() { bf16_cache().clear(); }

bool linear_takes_bf16_input(const at::Tensor& like) {
  return bf16_gemm_in_scope() && !at::GradMode::is_enabled() && like.device().is_cpu() &&
         like.scalar_type() == at::kFloat;
}

bool onednn_gemm_available() { return api().sgemm != nullptr; }

bool onednn_bf16_gemm_available() { return api().bf16 != nullptr; }

bool cpu_bf16_kernels_available() {
  static const bool ok = [] {
    auto fn = reinterpret_cast<onednn::Bf16GemmFn>(dlsym(RTLD_DEFAULT, "dnnl_gemm_bf16bf16f32"));
    return fn ? onednn::bf16_gemm_runs(fn) : isa::includes(isa::effective_isa(), isa::kAvx512Core);
  }();
  return ok;
}

std::string gemm_backend() {
  if (!onednn_gemm_available()) return "LibTorch (at::linear)";
  if (!onednn_bf16_gemm_available())
    return fmt::format(
        "oneDNN (dnnl_sgemm; bf16: bf16-rounded operands on dnnl_sgemm, as oneDNN has no bf16 GEMM "
        "on {})",
        isa::describe_effective());
  return fmt::format(
      "oneDNN (dnnl_sgemm; bf16: dnnl_gemm_bf16bf16f32{})",
      cpu_has_avx512_bf16() ? " on AVX512-BF16" : fmt::format(", emulated on {}", isa::describe_effective()));
}

at::Tensor linear(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias, const at::Tensor& residual) {
  RECORD_USER_SCOPE("cmclip::linear");  // named in --profile traces (its products call oneDNN directly)
  if (!use_onednn(x, weight, bias, residual)) {
    // bf16 on a CPU without bf16 kernels (PrecisionScope sets no autocast there): the
    // operands rounded to bf16, multiplied in fp32 (exact products, fp32 sums).
    const bool round = current_precision() == Precision::bf16 && x.device().is_cpu() && x.scalar_type() == at::kFloat &&
                       weight.scalar_type() == at::kFloat && !cpu_bf16_kernels_available();
    auto rounded = [round](const at::Tensor& t) { return round ? t.to(at::kBFloat16).to(at::kFloat) : t; };
    at::Tensor y = at::linear(rounded(x), rounded(weight), bias);
    return residual.defined() ? residual + y : y;
  }
  const bool bf16 = current_precision() == Precision::bf16;
  auto trains = [](const at::Tensor& t) { return t.defined() && t.requires_grad(); };
  if (at::GradMode::is_enabled() && (trains(x) || trains(weight) || trains(bias) || trains(residual))) {
    // Function::apply takes defined tensors; absent ones travel as empty tensors.
    at::Tensor none = at::empty({0}, weight.options());
    return OneDnnLinear::apply(x, weight, bias.defined() ? bias : none, residual.defined() ? residual : none,
                               bias.defined(), residual.defined(), bf16);
  }
  at::Tensor x2 = x.reshape({-1, x.size(-1)}).contiguous();
  at::Tensor r2 = residual.defined() ? residual.reshape({-1, weight.size(0)}) : at::Tensor();
  return forward_2d(x2, weight, bias, r2, bf16).view(output_shape(x, weight));
}

at::Tensor matmul_with(GemmKernel kernel, const at::Tensor& a, const at::Tensor& b) {
  TORCH_CHECK(a.dim() == 2 && b.dim() == 2 && a.size(1) == b.size(0), "matmul_with: [M,K] x [K,N] expected");
  if (kernel == GemmKernel::libtorch) return at::mm(a, b);
  if (!onednn_gemm_available()) throw RuntimeFailure("oneDNN's GEMM is not available in this process");
  at::Tensor ac = a.contiguous(), bc = b.contiguous();
  at::Tensor c = at::empty({a.size(0), b.size(1)}, a.options());
  gemm('N', 'N', a.size(0), b.size(1), a.size(1), ac, bc, 0.0f, c, kernel == GemmKernel::onednn_bf16,
       /*b_weight=*/false);
  return c;
}

}  // namespace cmclip::compute
