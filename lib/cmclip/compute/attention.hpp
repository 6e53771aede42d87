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

#include <vector>

namespace cmclip::compute {

// Which rows see which.
//   additive: [L, L] added to the scores, or undefined (every row sees every row).
//   packed:   empty, or the lengths of sequences of different lengths laid end to end
//             in the L rows of one batch entry (B == 1, the lengths sum to L): each
//             sequence attends only to itself, through the top-left block of
//             `additive`. Text prompts of 6 and 18 tokens then cost 24 rows, not 36.
struct AttentionMask {
  AttentionMask() = default;
  AttentionMask(at::Tensor additive_mask) : additive(std::move(additive_mask)) {}  // NOLINT: a mask is a tensor
  AttentionMask(at::Tensor additive_mask, std::vector<int64_t> lengths)
      : additive(std::move(additive_mask)), packed(std::move(lengths)) {}

  at::Tensor additive;
  std::vector<int64_t> packed;
};

at::Tensor attention(const at::Tensor& qkv, int64_t heads, const AttentionMask& mask = {});

}  // namespace cmclip::compute
