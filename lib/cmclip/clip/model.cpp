#include "cmclip/clip/model.hpp"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/csrc/autograd/custom_function.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include <fmt/format.h>

#include "cmclip/compute/attention.hpp"
#include "cmclip/compute/linear.hpp"
#include "cmclip/core/error.hpp"

namespace cmclip::clip {

namespace {
torch::nn::LayerNorm layer_norm(int64_t width) {
  return torch::nn::LayerNorm(torch::nn::LayerNormOptions({width}).eps(1e-5));
}
}  // namespace

at::Tensor causal_mask(int64_t n, const at::TensorOptions& options) {
  return at::full({n, n}, -std::numeric_limits<float>::infinity(), options).triu_(1);
}

namespace {
constexpr double kGeluSlope = 1.702;

// Runs fn(start, length, scratch) over the flat elements of `like` in blocks spread
// over the threads; scratch is a per-thread tensor of the block's length and like's
// options. QuickGELU is three or more elementwise operations; block by block they stay
// in the core's cache and the activation (77 MB per layer in a batch-32 ViT-B/16
// encoding) goes through memory once instead of once per operation. A block holds
// whole rows of `row` elements, as many as fit in 128 KB (row 1: any split). With row 1
// or a multiple of 16 (CLIP's widths), a block is a multiple of the widest vector, so
// every element takes the same vectorised kernel path as it would unblocked.
template <class Fn>
void in_cache_blocks(const at::Tensor& like, Fn&& fn, int64_t row = 1) {
  constexpr int64_t kCacheBlock = int64_t{1} << 15;  // elements: 128 KB of fp32
  const int64_t n = like.numel(), block = std::max<int64_t>(1, kCacheBlock / row) * row;
  at::parallel_for(0, (n + block - 1) / block, 1, [&](int64_t first, int64_t last) {
    // Grad mode is per thread and OpenMP's workers start with it on: these blocks are
    // the inside of one operation, never recorded (*_out refuses inputs that need grad).
    at::NoGradGuard no_grad;
    at::Tensor scratch = at::empty({std::min(block, n)}, like.options());
    for (int64_t b = first; b < last; ++b) {
      const int64_t start = b * block, length = std::min(block, n - start);
      fn(start, length, scratch.narrow(0, 0, length));
    }
  });
}

// 1.702 as a one-element tensor of z's type: the *_out operations take tensors.
at::Tensor slope_like(const at::Tensor& z) { return at::scalar_tensor(kGeluSlope, z.options()); }

// Whether z can be walked in blocks of its flat storage (else whole-tensor operations).
// fp32 and fp64 only: there slope_like multiplies exactly as the scalar 1.702 does; a
// bf16 or fp16 slope tensor would round it (1.703125), the scalar is applied in fp32.
bool blockable(const at::Tensor& z) {
  return z.device().is_cpu() && z.is_contiguous() && (z.scalar_type() == at::kFloat || z.scalar_type() == at::kDouble);
}

// QuickGELU with a backward of its own: autograd's chain through mul, sigmoid and mul
// makes five passes over the activation and keeps three buffers; this keeps z and
// s = sigmoid(1.702 z) and makes one fused-by-hand pass, dz = g s (1 + 1.702 z (1 - s)).
// The elementwise work is a third of a builtin:tiny training step (docs/performance.md).
// The forward is the same arithmetic as z * sigmoid(1.702 z), bit for bit.
struct QuickGelu : public torch::autograd::Function<QuickGelu> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& z) {
    at::Tensor s, y;
    if (blockable(z)) {
      s = at::empty_like(z);
      y = at::empty_like(z);
      at::Tensor zf = z.view(-1), sf = s.view(-1), yf = y.view(-1), slope = slope_like(z);
      in_cache_blocks(z, [&](int64_t start, int64_t n, at::Tensor scratch) {
        at::Tensor zb = zf.narrow(0, start, n), sb = sf.narrow(0, start, n), yb = yf.narrow(0, start, n);
        at::sigmoid_out(sb, at::mul_out(scratch, zb, slope));
        at::mul_out(yb, zb, sb);
      });
    } else {
      s = at::sigmoid(z * kGeluSlope);
      y = z * s;
    }
    ctx->save_for_backward({z, s});
    return y;
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    auto saved = ctx->get_saved_variables();
    const at::Tensor &z = saved[0], &s = saved[1];
    // dz = g (s + 1.702 z s (1 - s)), written into dz.
    auto gradient_into = [](at::Tensor dz, const at::Tensor& z, const at::Tensor& s, const at::Tensor& g) {
      at::Tensor d = at::rsub(s, 1);  // 1 - s
      d.mul_(z).mul_(s);              // z s (1 - s)
      at::add_out(dz, s, d, kGeluSlope).mul_(g);
    };
    at::Tensor dz = at::empty_like(z);
    if (!blockable(z)) {  // then forward did not block either
      gradient_into(dz, z, s, grads[0]);
      return {dz};
    }
    at::Tensor g = grads[0].contiguous();  // z, s and dz are contiguous: forward blocked
    at::Tensor zf = z.view(-1), sf = s.view(-1), gf = g.view(-1), df = dz.view(-1);
    in_cache_blocks(z, [&](int64_t start, int64_t n, const at::Tensor&) {
      gradient_into(df.narrow(0, start, n), zf.narrow(0, start, n), sf.narrow(0, start, n), gf.narrow(0, start, n));
    });
    return {dz};
  }
};
}  // namespace

at::Tensor quick_gelu(const at::Tensor& z) {
  if (at::GradMode::is_enabled() && z.requires_grad()) return QuickGelu::apply(z);
  return z * at::sigmoid(z * kGeluSlope);
}

namespace {
// quick_gelu(z + bias) over a fresh activation z that nobody else holds and that
// compute::linear multiplies next; bias (undefined: none) is z's last dimension. Without
// autograd it works in place, block by block, the bias added in cache (which spares
// the product writing it over the whole output first). Where linear() would round its
// input to bf16, each block is written in bf16 instead (the same rounding of the same
// fp32 values), which spares a pass over the activation.
at::Tensor quick_gelu_into_linear(at::Tensor z, const at::Tensor& bias) {
  if (at::GradMode::is_enabled() && (z.requires_grad() || (bias.defined() && bias.requires_grad())))
    return quick_gelu(bias.defined() ? z + bias : z);
  if (!blockable(z) || (bias.defined() && bias.scalar_type() != z.scalar_type())) {
    if (bias.defined()) z.add_(bias);
    at::Tensor s = z.mul(kGeluSlope);
    s.sigmoid_();
    return z.mul_(s);
  }
  const int64_t row = z.size(-1);
  const bool to_bf16 = compute::linear_takes_bf16_input(z);
  at::Tensor out = to_bf16 ? at::empty_like(z, z.options().dtype(at::kBFloat16)) : z;
  at::Tensor zf = z.view(-1), of = out.view(-1), slope = slope_like(z);
  in_cache_blocks(
      z,
      [&](int64_t start, int64_t n, at::Tensor s) {
        at::Tensor zb = zf.narrow(0, start, n);
        if (bias.defined()) zb.view({-1, row}).add_(bias);
        at::mul_out(s, zb, slope).sigmoid_();
        if (to_bf16) of.narrow(0, start, n).copy_(s.mul_(zb));  // s z: z s bit for bit
        else zb.mul_(s);
      },
      row);
  return out;
}
}  // namespace

MultiheadAttentionImpl::MultiheadAttentionImpl(int64_t width, int64_t heads) : width_(width), heads_(heads) {
  check_heads(width, heads, "head count");
  in_proj_weight = register_parameter("in_proj_weight", at::empty({3 * width, width}));
  in_proj_bias = register_parameter("in_proj_bias", at::zeros({3 * width}));
  out_proj = register_module("out_proj", torch::nn::Linear(width, width));
}

at::Tensor MultiheadAttentionImpl::forward(const at::Tensor& x, const compute::AttentionMask& mask,
                                           const at::Tensor& residual) {
  at::Tensor out = compute::attention(compute::linear(x, in_proj_weight, in_proj_bias), heads_, mask);
  return compute::linear(out, out_proj->weight, out_proj->bias, residual);
}

MlpImpl::MlpImpl(int64_t width) {
  c_fc = register_module("c_fc", torch::nn::Linear(width, 4 * width));
  c_proj = register_module("c_proj", torch::nn::Linear(4 * width, width));
}

at::Tensor MlpImpl::forward(const at::Tensor& x, const at::Tensor& residual) {
  // The bias goes with the activation (quick_gelu_into_linear) except where autograd
  // records c_fc: there it stays in the product, whose backward gives its gradient.
  const bool records =
      at::GradMode::is_enabled() && (x.requires_grad() || c_fc->weight.requires_grad() || c_fc->bias.requires_grad());
  at::Tensor z = compute::linear(x, c_fc->weight, records ? c_fc->bias : at::Tensor());
  at::Tensor h = quick_gelu_into_linear(z, records ? at::Tensor() : c_fc->bias);
  return compute::linear(h, c_proj->weight, c_proj->bias, residual);
}

namespace {
// ln(x) for compute::linear's input: where linear() would round it to bf16, computed in
// blocks of whole rows (a row's norm does not depend on the others) and written in
// bf16, which spares a pass over the activation. The same values either way.
at::Tensor layer_norm_into_linear(torch::nn::LayerNorm& ln, const at::Tensor& x) {
  if (!compute::linear_takes_bf16_input(x) || !blockable(x) || !ln->weight.defined() || !ln->bias.defined())
    return ln(x);
  const int64_t row = x.size(-1);
  const double eps = ln->options.eps();
  at::Tensor out = at::empty_like(x, x.options().dtype(at::kBFloat16));
  at::Tensor xf = x.view(-1), of = out.view(-1);
  in_cache_blocks(
      x,
      [&](int64_t start, int64_t n, const at::Tensor&) {
        at::Tensor normed = at::layer_norm(xf.narrow(0, start, n).view({-1, row}), {row}, ln->weight, ln->bias, eps);
        of.narrow(0, start, n).copy_(normed.view(-1));
      },
      row);
  return out;
}
}  // namespace

ResidualAttentionBlockImpl::ResidualAttentionBlockImpl(int64_t width, int64_t heads) {
  attn = register_module("attn", MultiheadAttention(width, heads));
  ln_1 = register_module("ln_1", layer_norm(width));
  mlp = register_module("mlp", Mlp(width));
  ln_2 = register_module("ln_2", layer_norm(width));
}

at::Tensor ResidualAttentionBlockImpl::forward(const at::Tensor& x, const compute::AttentionMask& mask) {
  at::Tensor y = attn(layer_norm_into_linear(ln_1, x), mask, /*residual=*/x);
  return mlp(layer_norm_into_linear(ln_2, y), /*residual=*/y);
}

TransformerImpl::TransformerImpl(int64_t width, int64_t layers, int64_t heads) {
  resblocks = register_module("resblocks", torch::nn::ModuleList());
  for (int64_t i = 0; i < layers; ++i) {
    blocks_.emplace_back(width, heads);
    resblocks->push_back(blocks_.back());
  }
}

at::Tensor TransformerImpl::forward(at::Tensor x, const compute::AttentionMask& mask) {
  for (auto& b : blocks_) x = b(x, mask);
  return x;
}

VisionTransformerImpl::VisionTransformerImpl(const ClipConfig& c) : resolution_(c.image_resolution) {
  const int64_t w = c.vision_width, g = c.grid();
  class_embedding = register_parameter("class_embedding", at::empty({w}));
  positional_embedding = register_parameter("positional_embedding", at::empty({g * g + 1, w}));
  proj = register_parameter("proj", at::empty({w, c.embed_dim}));
  conv1 = register_module(
      "conv1", torch::nn::Conv2d(torch::nn::Conv2dOptions(3, w, c.vision_patch).stride(c.vision_patch).bias(false)));
  ln_pre = register_module("ln_pre", layer_norm(w));
  transformer = register_module("transformer", Transformer(w, c.vision_layers, c.vision_heads));
  ln_post = register_module("ln_post", layer_norm(w));
}

at::Tensor VisionTransformerImpl::embed(const at::Tensor& images) {
  TORCH_CHECK(
      images.dim() == 4 && images.size(1) == 3 && images.size(2) == resolution_ && images.size(3) == resolution_,
      "encode_image expects [B, 3, ", resolution_, ", ", resolution_, "] images, got ", images.sizes());
  at::Tensor x = conv1(images);      // [B, W, G, G]
  x = x.flatten(2).transpose(1, 2);  // [B, G*G, W], row-major grid
  at::Tensor cls = class_embedding.to(x.dtype()).expand({x.size(0), 1, x.size(2)});
  x = at::cat({cls, x}, 1) + positional_embedding;  // class token first
  return ln_pre(x);
}

at::Tensor VisionTransformerImpl::head(const at::Tensor& tokens) {
  return at::matmul(ln_post(tokens.select(1, 0)), proj);
}

at::Tensor VisionTransformerImpl::forward(const at::Tensor& images) { return head(transformer(embed(images))); }

ClipImpl::ClipImpl(const ClipConfig& c) : config_(c) {
  // Registration order = the reference state_dict order (top-level tensors first).
  positional_embedding = register_parameter("positional_embedding", at::empty({c.context_length, c.text_width}));
  text_projection = register_parameter("text_projection", at::empty({c.text_width, c.embed_dim}));
  logit_scale = register_parameter("logit_scale", at::full({}, std::log(1 / 0.07)));
  visual = register_module("visual", VisionTransformer(c));
  transformer = register_module("transformer", Transformer(c.text_width, c.text_layers, c.text_heads));
  token_embedding = register_module("token_embedding", torch::nn::Embedding(c.vocab_size, c.text_width));
  ln_final = register_module("ln_final", layer_norm(c.text_width));
}

at::Tensor ClipImpl::encode_image(const at::Tensor& images) { return visual(images); }

at::Tensor ClipImpl::encode_text(const at::Tensor& ids) {
  TORCH_CHECK(ids.dim() == 2 && ids.size(1) <= config_.context_length,
              "encode_text expects [B, L<=", config_.context_length, "] token ids, got ", ids.sizes());
  at::Tensor eot = ids.argmax(-1);  // the first end-of-text token (the largest id)
  int64_t used = eot.max().item<int64_t>() + 1;
  at::Tensor tokens = ids.narrow(1, 0, used).to(at::kLong);
  return encode_embeddings(token_embedding(tokens), eot);
}

at::Tensor ClipImpl::encode_embeddings(const at::Tensor& x, const at::Tensor& eot_index, bool trim) {
  TORCH_CHECK(x.dim() == 3 && x.size(2) == config_.text_width && x.size(1) <= config_.context_length,
              "encode_embeddings expects [B, L<=", config_.context_length, ", ", config_.text_width, "], got ",
              x.sizes());
  TORCH_CHECK(eot_index.dim() == 1 && eot_index.size(0) == x.size(0), "eot_index must be [B]");
  at::Tensor eot = eot_index.to(at::kLong);
  TORCH_CHECK(x.size(0) == 0 || eot.min().item<int64_t>() >= 0, "eot_index must not be negative");
  const int64_t length = trim ? eot.max().item<int64_t>() + 1 : x.size(1);
  TORCH_CHECK(length <= x.size(1), "eot_index ", length - 1, " is beyond the ", x.size(1), " embeddings");
  if (trim && x.device().is_cpu() && !at::GradMode::is_enabled()) {
    at::Tensor lengths = eot.to(at::kCPU) + 1;
    if (lengths.sum().item<int64_t>() < x.size(0) * length) return encode_packed(x, lengths);
  }
  at::Tensor h = x.narrow(1, 0, length) + positional_embedding.narrow(0, 0, length);
  h = transformer(h, causal_mask(length, h.options()));
  // ln_final is per position: applying it to the pooled rows only is the same.
  at::Tensor rows = at::arange(x.size(0), eot.options());
  at::Tensor pooled = h.index({rows, eot});
  return at::matmul(ln_final(pooled), text_projection);
}

at::Tensor ClipImpl::encode_packed(const at::Tensor& x, const at::Tensor& lengths) {
  const int64_t batch = x.size(0), context = x.size(1);
  const at::Tensor counts = lengths.contiguous();
  const int64_t* n = counts.data_ptr<int64_t>();
  const std::vector<int64_t> sizes(n, n + batch);
  std::vector<int64_t> rows, positions, last;
  for (int64_t i = 0; i < batch; ++i) {
    for (int64_t p = 0; p < n[i]; ++p) {
      rows.push_back(i * context + p);
      positions.push_back(p);
    }
    last.push_back(static_cast<int64_t>(rows.size()) - 1);  // the prompt's end-of-text row
  }
  auto index = [&](const std::vector<int64_t>& v) { return at::tensor(v, at::kLong).to(x.device()); };
  at::Tensor h = x.reshape({-1, x.size(2)}).index_select(0, index(rows)) +
                 positional_embedding.index_select(0, index(positions));
  const int64_t longest = *std::max_element(sizes.begin(), sizes.end());
  h = transformer(h.unsqueeze(0), compute::AttentionMask(causal_mask(longest, h.options()), sizes)).squeeze(0);
  return at::matmul(ln_final(h.index_select(0, index(last))), text_projection);
}

at::Tensor ClipImpl::logits_per_image(const at::Tensor& image_features, const at::Tensor& text_features) {
  at::Tensor fi = image_features / image_features.norm(2, -1, true);
  at::Tensor ft = text_features / text_features.norm(2, -1, true);
  return logit_scale.exp() * at::matmul(fi, ft.t());
}

}  // namespace cmclip::clip
