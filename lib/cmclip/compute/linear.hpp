// y = x W^T + b, the product that carries almost all of CLIP's arithmetic.
//
// LibTorch's own CPU linear (Debian's 1.13) calls OpenBLAS, whose DYNAMIC_ARCH build
// does not know this generation of AMD cores and falls back to its AVX2 (Haswell)
// kernels: half the width of the AVX-512 units. oneDNN, which LibTorch links for its
// convolutions, has AVX-512 fp32 and AVX512-BF16 GEMMs. When the process has oneDNN's
// GEMM entry points (dnnl_sgemm, dnnl_gemm_bf16bf16f32; found at run time, so a
// LibTorch that hides them simply keeps at::linear), CPU fp32 products go there, with
// an autograd rule of their own: gradients flow to x, and to W and b when they train.
// Anything else (CUDA, other dtypes, no oneDNN) is at::linear, where LibTorch's autocast
// applies.
#pragma once
#include <ATen/core/Tensor.h>

#include <string>

namespace cmclip::compute {

// x [..., K], weight [N, K], bias [N] or undefined -> [..., N]. In a bf16
// PrecisionScope the operands are rounded to bf16 and the sums kept in fp32.
// `residual` [..., N], if given, is added to the result: on the oneDNN path the product
// accumulates into it (a transformer block's skip connection costs no pass of its own).
at::Tensor linear(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias = {},
                  const at::Tensor& residual = {});

// Whether linear() would round an input like `like` (fp32, CPU, no autograd) to bf16
// for oneDNN's bf16 GEMM in the current precision scope. Then it also takes that input
// already in bf16, and a producer (QuickGELU, say) can write bf16 directly: the same
// values, without a separate rounding pass over the activation.
bool linear_takes_bf16_input(const at::Tensor& like);

// Drops the cached bf16 copies of frozen weights (the outermost bf16 PrecisionScope
// does this when it ends).
void clear_bf16_weight_cache();

// Whether linear() uses oneDNN for CPU products (false: at::linear everywhere).
bool onednn_gemm_available();
// Whether that oneDNN also runs its bf16 GEMM here (it needs AVX-512); without it,
// bf16 products take the fp32 GEMM on bf16-rounded operands.
bool onednn_bf16_gemm_available();
// Whether this CPU can run bf16 matrix products on oneDNN at all (LibTorch's CPU autocast
// asks oneDNN for them too): oneDNN's own answer where its GEMM is in the process, else
// whether it runs AVX-512. Without them a bf16 PrecisionScope sets no CPU autocast and
// linear() rounds its operands to bf16 and multiplies in fp32.
bool cpu_bf16_kernels_available();
// For --version and the benchmark: "oneDNN (dnnl_sgemm; bf16: ...)" or "LibTorch (at::linear)".
std::string gemm_backend();

// The raw kernels, for the benchmark's GEMM peak: C[M,N] = A[M,K] B[K,N] on
// contiguous fp32 CPU tensors, through oneDNN (fp32 or bf16 operands; bf16 needs
// onednn_bf16_gemm_available() to be oneDNN's bf16 kernel) or at::mm.
enum class GemmKernel { libtorch, onednn_fp32, onednn_bf16 };
at::Tensor matmul_with(GemmKernel kernel, const at::Tensor& a, const at::Tensor& b);

}  // namespace cmclip::compute
