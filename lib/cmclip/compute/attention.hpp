// Multi-head scaled dot-product attention over the packed output of the
// in-projection, as CLIP's nn.MultiheadAttention computes it:
//   qkv [B, L, 3W] = [q | k | v], head j using features [j*d, (j+1)*d) of each;
//   out [B, L, W]  = softmax(q k^T / sqrt(d) + mask) v, heads side by side.
// Without autograd on the CPU with oneDNN, the products read q, k and v in place
// (strided GEMMs, one per image and head) and write the heads straight into the
// layout the out-projection reads: no transposed copies. Otherwise ATen operations
// (matmul, softmax), which autograd and CUDA understand.
#pragma once
#include <ATen/core/Tensor.h>

namespace cmclip::compute {

// mask: additive [L, L] or undefined.
at::Tensor attention(const at::Tensor& qkv, int64_t heads, const at::Tensor& mask = {});

}  // namespace cmclip::compute
