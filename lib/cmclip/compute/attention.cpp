#include "cmclip/compute/attention.hpp"

#include <ATen/ATen.h>
#include <ATen/record_function.h>
#include <ATen/Parallel.h>
#include <torch/csrc/autograd/custom_function.h>

#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

#include "cmclip/compute/onednn.hpp"

namespace cmclip::compute {

namespace {

at::Tensor attention_aten(const at::Tensor& qkv, int64_t heads, const at::Tensor& mask) {
  const int64_t batch = qkv.size(0), length = qkv.size(1), width = qkv.size(2) / 3, head_dim = width / heads;
  auto parts = qkv.chunk(3, -1);
  // [B, L, W] -> [B, heads, L, head_dim]
  auto split = [&](const at::Tensor& t) { return t.reshape({batch, length, heads, head_dim}).transpose(1, 2); };
  at::Tensor q = split(parts[0]) / std::sqrt(static_cast<double>(head_dim));
  at::Tensor scores = at::matmul(q, split(parts[1]).transpose(-2, -1));
  if (mask.defined()) scores.add_(mask);  // a fresh tensor; matmul's backward does not need it
  at::Tensor out = at::matmul(at::softmax(scores, -1), split(parts[2]));
  return out.transpose(1, 2).reshape({batch, length, width});
}

// Per sequence: plain ATen attention over its rows, the results laid end to end again.
at::Tensor packed_attention_aten(const at::Tensor& qkv, int64_t heads, const AttentionMask& mask) {
  std::vector<at::Tensor> parts;
  int64_t start = 0;
  for (int64_t n : mask.packed) {
    at::Tensor m = mask.additive.defined() ? mask.additive.narrow(0, 0, n).narrow(1, 0, n) : at::Tensor();
    parts.push_back(attention_aten(qkv.narrow(1, start, n), heads, m));
    start += n;
  }
  return at::cat(parts, 1);
}

bool use_onednn(const at::Tensor& qkv, const at::Tensor& mask) {
  if (!onednn::api().sgemm || !qkv.device().is_cpu() || qkv.scalar_type() != at::kFloat) return false;
  return !mask.defined() || (mask.device().is_cpu() && mask.scalar_type() == at::kFloat && mask.dim() == 2);
}

// The shapes of one call. Sequence i has rows [start(i), start(i) + rows(i)) of the
// flattened qkv [B*L, 3W]: B sequences of L rows each, or the packed lengths. Pair bh
// is (sequence bh / heads, head bh % heads); its q, k and v start at
// qkv + start*3W + {0, W, 2W} + j*d, rows 3W apart; its scores are rows x rows (side =
// the longest sequence bounds them; kept probabilities are side x side per pair).
// A sequence's scores span only its own rows, so packed sequences need no mask
// beyond the additive one's top-left block.
struct Shape {
  int64_t w3, width, heads, d, side;
  std::vector<int64_t> starts, lengths;
  Shape(const at::Tensor& qkv, int64_t h, const std::vector<int64_t>& packed)
      : w3(qkv.size(2)), width(w3 / 3), heads(h), d(width / h), side(qkv.size(1)) {
    if (packed.empty()) {
      starts.resize(static_cast<size_t>(qkv.size(0)));
      for (size_t i = 0; i < starts.size(); ++i) starts[i] = static_cast<int64_t>(i) * side;
      lengths.assign(starts.size(), side);
      return;
    }
    lengths = packed;
    int64_t start = 0;
    for (int64_t n : packed) starts.push_back(std::exchange(start, start + n));
    side = *std::max_element(packed.begin(), packed.end());
  }
  int64_t sequences() const { return static_cast<int64_t>(starts.size()); }
  int64_t pairs() const { return sequences() * heads; }
  int64_t rows(int64_t bh) const { return lengths[static_cast<size_t>(bh / heads)]; }
  int64_t start(int64_t bh) const { return starts[static_cast<size_t>(bh / heads)]; }
  int64_t offset(int64_t bh) const { return start(bh) * w3 + (bh % heads) * d; }         // in qkv
  int64_t out_offset(int64_t bh) const { return start(bh) * width + (bh % heads) * d; }  // in [B, L, W]
  int64_t square(int64_t bh) const { return bh * side * side; }                          // in kept probs
};

// One small GEMM per (image, head), spread over the threads; oneDNN runs each on the
// calling thread inside a parallel region, so the result does not depend on the split.
template <class Fn>
void for_each_pair(const Shape& s, Fn&& fn) {
  at::parallel_for(0, s.pairs(), 1, [&](int64_t begin, int64_t end) {
    for (int64_t bh = begin; bh < end; ++bh) fn(bh);
  });
}

// Forward on contiguous fp32 qkv: out [B, L, W], and probs [pairs, side, side] when
// `keep_probs` (autograd saves them; only for B sequences of L rows, side = L).
// Each thread takes whole (sequence, head) pairs: scale q k^T (+ the mask's top-left
// n x n) into its own n x n block, softmax while that block is in its cache, probs v
// into head j's columns of out. Nothing of size pairs x side x side exists unless kept
// (a batch-32 ViT-B/16 layer would hold 715 MB of scores and pass over them 4 times).
std::pair<at::Tensor, at::Tensor> forward_onednn(const at::Tensor& qkv, const Shape& s, const at::Tensor& mask,
                                                 bool keep_probs) {
  const float scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(s.d)));
  const int64_t side = s.side;
  at::Tensor probs = keep_probs ? at::empty({s.pairs(), side, side}, qkv.options()) : at::Tensor();
  at::Tensor out = at::empty({qkv.size(0), qkv.size(1), s.width}, qkv.options());
  const float* base = qkv.data_ptr<float>();
  float* o = out.data_ptr<float>();
  const float beta = mask.defined() ? 1.0f : 0.0f;
  at::parallel_for(0, s.pairs(), 1, [&](int64_t begin, int64_t end) {
    at::NoGradGuard no_grad;  // OpenMP's workers start with grad mode on; nothing here is recorded
    at::Tensor scores_block = at::empty({side * side}, qkv.options()), probs_block;
    if (!keep_probs) probs_block = at::empty({side * side}, qkv.options());
    for (int64_t bh = begin; bh < end; ++bh) {
      const int64_t n = s.rows(bh);
      at::Tensor scores = scores_block.narrow(0, 0, n * n).view({n, n});
      at::Tensor p = keep_probs ? probs[bh] : probs_block.narrow(0, 0, n * n).view({n, n});
      if (mask.defined()) scores.copy_(mask.narrow(0, 0, n).narrow(1, 0, n));
      const float* q = base + s.offset(bh);
      onednn::sgemm('N', 'T', n, n, s.d, scale, q, s.w3, q + s.width, s.w3, beta, scores.data_ptr<float>(), n);
      at::_softmax_out(p, scores, -1, false);
      onednn::sgemm('N', 'N', n, s.d, n, 1.0f, p.data_ptr<float>(), n, q + 2 * s.width, s.w3, 0.0f,
                    o + s.out_offset(bh), s.width);
    }
  });
  return {out, probs};
}

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

struct OneDnnAttention : public torch::autograd::Function<OneDnnAttention> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& qkv, int64_t heads, const at::Tensor& mask,
                            bool has_mask) {
    at::Tensor c = qkv.contiguous();
    auto [out, probs] = forward_onednn(c, Shape(c, heads, {}), has_mask ? mask : at::Tensor(), /*keep_probs=*/true);
    ctx->save_for_backward({c, probs});
    ctx->saved_data["heads"] = heads;
    return out;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    auto saved = ctx->get_saved_variables();
    const at::Tensor& qkv = saved[0];
    const at::Tensor& probs = saved[1];
    const Shape s(qkv, ctx->saved_data["heads"].toInt(), {});
    const int64_t L = s.side;
    const float scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(s.d)));
    at::Tensor go = grads[0].contiguous();
    at::Tensor dqkv = at::empty_like(qkv);  // every element is written below
    at::Tensor dp = at::empty_like(probs);
    const float *base = qkv.data_ptr<float>(), *p = probs.data_ptr<float>(), *g = go.data_ptr<float>();
    float *d = dqkv.data_ptr<float>(), *dpp = dp.data_ptr<float>();
    for_each_pair(s, [&](int64_t bh) {
      const int64_t off = s.offset(bh);
      const float* gb = g + s.out_offset(bh);
      // dV = P^T dO; dP = dO V^T
      onednn::sgemm('T', 'N', L, s.d, L, 1.0f, p + s.square(bh), L, gb, s.width, 0.0f, d + off + 2 * s.width, s.w3);
      onednn::sgemm('N', 'T', L, L, s.d, 1.0f, gb, s.width, base + off + 2 * s.width, s.w3, 0.0f, dpp + s.square(bh),
                    L);
    });
    at::Tensor ds = at::_softmax_backward_data(dp, probs, -1, at::kFloat);
    dp.reset();
    const float* dsp = ds.data_ptr<float>();
    for_each_pair(s, [&](int64_t bh) {
      const int64_t off = s.offset(bh);
      // dQ = scale dS K; dK = scale dS^T Q
      onednn::sgemm('N', 'N', L, s.d, L, scale, dsp + s.square(bh), L, base + off + s.width, s.w3, 0.0f, d + off, s.w3);
      onednn::sgemm('T', 'N', L, s.d, L, scale, dsp + s.square(bh), L, base + off, s.w3, 0.0f, d + off + s.width, s.w3);
    });
    return {dqkv, at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

}  // namespace

at::Tensor attention(const at::Tensor& qkv, int64_t heads, const AttentionMask& mask) {
  TORCH_CHECK(qkv.dim() == 3 && qkv.size(2) % (3 * heads) == 0, "attention: qkv must be [B, L, 3W], W divisible by ",
              heads, " heads; got ", qkv.sizes());
  const bool packed = !mask.packed.empty();
  if (packed) {
    int64_t total = 0, longest = 0;
    for (int64_t n : mask.packed) {
      TORCH_CHECK(n > 0, "attention: packed sequence lengths must be positive");
      total += n;
      longest = std::max(longest, n);
    }
    TORCH_CHECK(qkv.size(0) == 1 && total == qkv.size(1), "attention: packed lengths summing to ", total,
                " need qkv [1, ", total, ", 3W]; got ", qkv.sizes());
    TORCH_CHECK(!mask.additive.defined() || (mask.additive.size(0) >= longest && mask.additive.size(1) >= longest),
                "attention: a mask of ", mask.additive.sizes(), " for packed sequences of up to ", longest, " rows");
  }
  RECORD_USER_SCOPE("cmclip::attention");  // named in --profile traces (its products call oneDNN directly)
  const bool grad = at::GradMode::is_enabled() && qkv.requires_grad();
  if (!use_onednn(qkv, mask.additive) || (packed && grad))
    return packed ? packed_attention_aten(qkv, heads, mask) : attention_aten(qkv, heads, mask.additive);
  if (grad) {
    at::Tensor m = mask.additive.defined() ? mask.additive : at::empty({0}, qkv.options());
    return OneDnnAttention::apply(qkv, heads, m, mask.additive.defined());
  }
  at::Tensor c = qkv.contiguous();
  return forward_onednn(c, Shape(c, heads, mask.packed), mask.additive, /*keep_probs=*/false).first;
}

}  // namespace cmclip::compute
