#include "cmclip/compute/attention.hpp"

#include <ATen/ATen.h>
#include <ATen/record_function.h>
#include <ATen/Parallel.h>
#include <torch/csrc/autograd/custom_function.h>

#include <cmath>

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

bool use_onednn(const at::Tensor& qkv, const at::Tensor& mask) {
  if (!onednn::api().sgemm || !qkv.device().is_cpu() || qkv.scalar_type() != at::kFloat) return false;
  return !mask.defined() || (mask.device().is_cpu() && mask.scalar_type() == at::kFloat && mask.dim() == 2);
}

// The shapes of one call; q, k, v of image b and head j start at
// qkv + b*L*3W + {0, W, 2W} + j*d, rows 3W apart.
struct Shape {
  int64_t batch, length, w3, width, heads, d;
  Shape(const at::Tensor& qkv, int64_t h)
      : batch(qkv.size(0)), length(qkv.size(1)), w3(qkv.size(2)), width(w3 / 3), heads(h), d(width / h) {}
  int64_t pairs() const { return batch * heads; }
  int64_t offset(int64_t bh) const { return (bh / heads) * length * w3 + (bh % heads) * d; }         // in qkv
  int64_t out_offset(int64_t bh) const { return (bh / heads) * length * width + (bh % heads) * d; }  // in [B, L, W]
  int64_t square(int64_t bh) const { return bh * length * length; }  // in [B, heads, L, L]
};

// One small GEMM per (image, head), spread over the threads; oneDNN runs each on the
// calling thread inside a parallel region, so the result does not depend on the split.
template <class Fn>
void for_each_pair(const Shape& s, Fn&& fn) {
  at::parallel_for(0, s.pairs(), 1, [&](int64_t begin, int64_t end) {
    for (int64_t bh = begin; bh < end; ++bh) fn(bh);
  });
}

// Forward on contiguous fp32 qkv: returns {out [B, L, W], probs [B, heads, L, L]}.
std::pair<at::Tensor, at::Tensor> forward_onednn(const at::Tensor& qkv, const Shape& s, const at::Tensor& mask) {
  const float scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(s.d)));
  const int64_t L = s.length;
  at::Tensor scores = at::empty({s.batch, s.heads, L, L}, qkv.options());
  float beta = 0.0f;
  if (mask.defined()) {
    scores.copy_(mask.expand({s.batch, s.heads, L, L}));
    beta = 1.0f;
  }
  const float* base = qkv.data_ptr<float>();
  float* sc = scores.data_ptr<float>();
  for_each_pair(s, [&](int64_t bh) {  // scores = scale q k^T (+ mask)
    const float* q = base + s.offset(bh);
    onednn::sgemm('N', 'T', L, L, s.d, scale, q, s.w3, q + s.width, s.w3, beta, sc + s.square(bh), L);
  });
  at::Tensor probs = at::softmax(scores, -1);
  scores.reset();
  at::Tensor out = at::empty({s.batch, L, s.width}, qkv.options());
  const float* p = probs.data_ptr<float>();
  float* o = out.data_ptr<float>();
  for_each_pair(s, [&](int64_t bh) {  // out = probs v, written in place of head j
    const float* v = base + s.offset(bh) + 2 * s.width;
    onednn::sgemm('N', 'N', L, s.d, L, 1.0f, p + s.square(bh), L, v, s.w3, 0.0f, o + s.out_offset(bh), s.width);
  });
  return {out, probs};
}

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

struct OneDnnAttention : public torch::autograd::Function<OneDnnAttention> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& qkv, int64_t heads, const at::Tensor& mask,
                            bool has_mask) {
    at::Tensor c = qkv.contiguous();
    auto [out, probs] = forward_onednn(c, Shape(c, heads), has_mask ? mask : at::Tensor());
    ctx->save_for_backward({c, probs});
    ctx->saved_data["heads"] = heads;
    return out;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    auto saved = ctx->get_saved_variables();
    const at::Tensor& qkv = saved[0];
    const at::Tensor& probs = saved[1];
    const Shape s(qkv, ctx->saved_data["heads"].toInt());
    const int64_t L = s.length;
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

at::Tensor attention(const at::Tensor& qkv, int64_t heads, const at::Tensor& mask) {
  TORCH_CHECK(qkv.dim() == 3 && qkv.size(2) % (3 * heads) == 0, "attention: qkv must be [B, L, 3W], W divisible by ",
              heads, " heads; got ", qkv.sizes());
  RECORD_USER_SCOPE("cmclip::attention");  // named in --profile traces (its products call oneDNN directly)
  if (!use_onednn(qkv, mask)) return attention_aten(qkv, heads, mask);
  if (at::GradMode::is_enabled() && qkv.requires_grad()) {
    at::Tensor m = mask.defined() ? mask : at::empty({0}, qkv.options());
    return OneDnnAttention::apply(qkv, heads, m, mask.defined());
  }
  at::Tensor c = qkv.contiguous();
  return forward_onednn(c, Shape(c, heads), mask).first;
}

}  // namespace cmclip::compute
