// CLIP ViT in LibTorch (docs/clip.md §2 and §4). Module and parameter names equal the
// reference state-dict names, so named_parameters() yields exactly
// "visual.conv1.weight", "visual.transformer.resblocks.0.attn.in_proj_weight",
// "token_embedding.weight", "positional_embedding", "logit_scale", ... and weights map
// one to one on import and export.
//
// Transformers run batch-first ([batch, tokens, width]); the reference runs
// [tokens, batch, width], which is the same maths. The stages are public so that
// adapters (beside the attention and the MLP of each block) and prompt learners
// (learned vectors spliced into the token embeddings) can be built around them:
//
//   image:  head(blocks(embed(images)))            == encode_image(images)
//   text:   encode_embeddings(token_embedding(ids), argmax(ids)) == encode_text(ids)
#pragma once
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include <map>
#include <string>
#include <vector>

#include "cmclip/clip/config.hpp"
#include "cmclip/compute/attention.hpp"

namespace cmclip::clip {

// Additive causal mask [n, n]: 0 on and below the diagonal, -inf above.
at::Tensor causal_mask(int64_t n, const at::TensorOptions& options = at::kFloat);

// z * sigmoid(1.702 z): the reference's QuickGELU (not the erf GELU).
at::Tensor quick_gelu(const at::Tensor& z);

// torch.nn.MultiheadAttention(width, heads) as CLIP uses it (self-attention, no
// dropout): parameters in_proj_weight [3W, W], in_proj_bias [3W], out_proj.{weight,bias}.
class MultiheadAttentionImpl : public torch::nn::Module {
 public:
  MultiheadAttentionImpl(int64_t width, int64_t heads);
  // x: [B, L, W], already layer-normed; mask: additive [L, L] or undefined, or packed
  // sequences (compute/attention.hpp); residual [B, L, W], if given, is added to the
  // output (the block's skip connection).
  at::Tensor forward(const at::Tensor& x, const compute::AttentionMask& mask = {}, const at::Tensor& residual = {});
  int64_t heads() const { return heads_; }

  at::Tensor in_proj_weight, in_proj_bias;
  torch::nn::Linear out_proj{nullptr};

 private:
  int64_t width_, heads_;
};
TORCH_MODULE(MultiheadAttention);

// c_fc (W -> 4W), QuickGELU, c_proj (4W -> W).
class MlpImpl : public torch::nn::Module {
 public:
  explicit MlpImpl(int64_t width);
  at::Tensor forward(const at::Tensor& x, const at::Tensor& residual = {});  // residual: added to the output
  torch::nn::Linear c_fc{nullptr}, c_proj{nullptr};
};
TORCH_MODULE(Mlp);

// Pre-norm block: x + attn(ln_1(x)), then + mlp(ln_2(x)).
class ResidualAttentionBlockImpl : public torch::nn::Module {
 public:
  ResidualAttentionBlockImpl(int64_t width, int64_t heads);
  at::Tensor forward(const at::Tensor& x, const compute::AttentionMask& mask = {});

  MultiheadAttention attn{nullptr};
  torch::nn::LayerNorm ln_1{nullptr};
  Mlp mlp{nullptr};
  torch::nn::LayerNorm ln_2{nullptr};
};
TORCH_MODULE(ResidualAttentionBlock);

// The stack of blocks, registered as "resblocks.<i>".
class TransformerImpl : public torch::nn::Module {
 public:
  TransformerImpl(int64_t width, int64_t layers, int64_t heads);
  at::Tensor forward(at::Tensor x, const compute::AttentionMask& mask = {});
  int64_t size() const { return static_cast<int64_t>(blocks_.size()); }
  ResidualAttentionBlock& block(int64_t i) { return blocks_.at(static_cast<size_t>(i)); }

  torch::nn::ModuleList resblocks{nullptr};

 private:
  std::vector<ResidualAttentionBlock> blocks_;
};
TORCH_MODULE(Transformer);

class VisionTransformerImpl : public torch::nn::Module {
 public:
  explicit VisionTransformerImpl(const ClipConfig& c);
  // images [B, 3, R, R] (normalised) -> tokens [B, 1 + G*G, W]: patchify, prepend the
  // class token, add the positional embedding, ln_pre.
  at::Tensor embed(const at::Tensor& images);
  // tokens [B, T, W] after the blocks -> features [B, E]: ln_post of the class token, proj.
  at::Tensor head(const at::Tensor& tokens);
  at::Tensor forward(const at::Tensor& images);  // head(transformer(embed(images)))
  int64_t num_blocks() { return transformer->size(); }
  ResidualAttentionBlock& block(int64_t i) { return transformer->block(i); }

  at::Tensor class_embedding, positional_embedding, proj;
  torch::nn::Conv2d conv1{nullptr};
  torch::nn::LayerNorm ln_pre{nullptr};
  Transformer transformer{nullptr};
  torch::nn::LayerNorm ln_post{nullptr};

 private:
  int64_t resolution_;
};
TORCH_MODULE(VisionTransformer);

// Where the weights came from: what a checkpoint records and what export restores.
struct ClipProvenance {
  std::string source;      // archive path, checkpoint's clip_source, or "builtin:tiny"
  std::string vocabulary;  // "bpe" (the 49408-token BPE file) or "byte" (514 byte-level tokens)
  // The dtype each tensor had in the source (fp16 tensors are exported as fp16 again).
  std::map<std::string, c10::ScalarType> stored_dtype;
};

class ClipImpl : public torch::nn::Module {
 public:
  explicit ClipImpl(const ClipConfig& c);

  // images [B, 3, R, R] normalised -> [B, E], not L2-normalised (reference encode_image).
  at::Tensor encode_image(const at::Tensor& images);
  // ids [B, L] int64 (L <= context) -> [B, E]; pools at argmax(ids) (the first EOT).
  at::Tensor encode_text(const at::Tensor& ids);
  // x [B, L, Wt]: token embeddings (the positional embedding is added here);
  // eot_index [B]: the position to pool for each row. With trim (the default) the
  // transformer runs only over positions 0..max(eot_index): the causal mask makes
  // that exact, and it saves most of the work for short prompts.
  // Without autograd on the CPU, prompts of different lengths are also laid end to end
  // (compute::AttentionMask's packed sequences) instead of padded to the longest: the
  // same numbers up to float rounding, and rows of work only for real tokens.
  at::Tensor encode_embeddings(const at::Tensor& x, const at::Tensor& eot_index, bool trim = true);
  // exp(logit_scale) * cos(image_i, text_j): [N_images, N_texts].
  at::Tensor logits_per_image(const at::Tensor& image_features, const at::Tensor& text_features);
  int64_t num_text_blocks() { return transformer->size(); }
  ResidualAttentionBlock& text_block(int64_t i) { return transformer->block(i); }

  const ClipConfig& config() const { return config_; }
  const ClipProvenance& provenance() const { return provenance_; }
  void set_provenance(ClipProvenance p) { provenance_ = std::move(p); }

  at::Tensor positional_embedding, text_projection, logit_scale;
  VisionTransformer visual{nullptr};
  Transformer transformer{nullptr};
  torch::nn::Embedding token_embedding{nullptr};
  torch::nn::LayerNorm ln_final{nullptr};

 private:
  // encode_embeddings over packed prompts: lengths [B] int64 on the CPU (eot_index + 1).
  at::Tensor encode_packed(const at::Tensor& x, const at::Tensor& lengths);

  ClipConfig config_;
  ClipProvenance provenance_;
};
TORCH_MODULE(Clip);

}  // namespace cmclip::clip
