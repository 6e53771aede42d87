// oneDNN's BLAS-like GEMM entry points, found at run time (see linear.hpp for why).
// Row-major: C[M,N] = alpha op(A) op(B) + beta C, op transposing when the flag is 'T'.
// Internal to compute/.
#pragma once
#include <cstdint>

namespace cmclip::compute::onednn {

using dim = int64_t;
using SgemmFn = int (*)(char, char, dim, dim, dim, float, const float*, dim, const float*, dim, float, float*, dim);
using Bf16GemmFn = int (*)(char, char, dim, dim, dim, float, const uint16_t*, dim, const uint16_t*, dim, float, float*,
                           dim);

struct Api {
  SgemmFn sgemm = nullptr;
  Bf16GemmFn bf16 = nullptr;
};

// Null entries when this process has no oneDNN GEMM, or CMCLIP_GEMM=libtorch, or
// after use_libtorch_gemm().
const Api& api();

// From now on, LibTorch's own GEMM for every product of this process.
void use_libtorch_gemm();

// Throws RuntimeFailure naming `what` when a oneDNN call did not succeed.
void check(int status, const char* what);

// sgemm through the api (which must be available); single-threaded when called from
// inside a parallel region (oneDNN checks).
inline void sgemm(char ta, char tb, dim m, dim n, dim k, float alpha, const float* a, dim lda, const float* b, dim ldb,
                  float beta, float* c, dim ldc) {
  check(api().sgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc), "dnnl_sgemm");
}

}  // namespace cmclip::compute::onednn
