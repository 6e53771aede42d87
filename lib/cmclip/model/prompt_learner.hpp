// Learned prompts (FGPL and the CoOp/CoCoOp baselines). A prompt is
//   [SOS] <context vectors> <words> . [EOS]
// whose context positions hold learned vectors instead of token embeddings. The
// words' token embeddings are computed once (frozen) and kept as buffers; each
// forward splices the context in and sends every sequence of the step through ONE
// text-encoder call, run only up to the longest end-of-text position (exact).
//
// Families (K classes, M modalities, B images):
//   category    (k):    content(k) [+ π(x)], "class_k ."            -> the classifier
//   modality    (m):    modality(m) [+ π(x)], "modality_m ."
//   fine-grained(k,m):  content(k) [+ π(x)], modality(σ(m)), "class_k modality_m ."
// content is class-specific (CM-CLIP) or one shared context (CoOp, CoCoOp); π(x) is
// the meta-net's input-conditional token (CoCoOp, CM-CLIP).
#pragma once
#include <torch/nn/module.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/pimpl.h>

#include <string>
#include <vector>

#include "cmclip/clip/model.hpp"
#include "cmclip/clip/tokenizer.hpp"

namespace cmclip::model {

struct PromptSpec {
  int64_t n_ctx = 16;
  double init_std = 0.02;
  std::string init_words;      // content context from these words' embeddings (else random)
  bool class_specific = true;  // one content context per class (else shared)
  bool meta_net = true;
  bool modality = true;  // modality and fine-grained families
  bool condition_modality = false;
  std::vector<std::string> class_words;     // K
  std::vector<std::string> modality_words;  // M
};

// Normalised text features of a step's prompts.
struct PromptFeatures {
  at::Tensor category;        // [B, K, E] (or [1, K, E] when image-independent)
  at::Tensor fine;            // [B, M, K, E], when asked for
  at::Tensor modality;        // [B, M, E] or [1, M, E], when asked for
  at::Tensor category_plain;  // [K, E] without π (decorrelation), when asked for
  at::Tensor modality_plain;  // [M, E] without π, when asked for
};

// The token ids of one learned prompt: [SOT] n_ctx placeholders (id 0, replaced by
// context vectors) then "words." and [EOT], unpadded.
std::vector<int64_t> prompt_token_ids(const clip::Tokenizer& tok, const std::string& words, int64_t n_ctx);

class PromptLearnerImpl : public torch::nn::Module {
 public:
  PromptLearnerImpl(clip::Clip clip, const clip::Tokenizer& tokenizer, PromptSpec spec);

  // image_features: normalised [B, E] (input of the meta-net). `fine`/`plain` select
  // the optional families; `perm` maps each modality slot of the fine-grained prompts
  // to the modality context it uses (empty = identity).
  PromptFeatures forward(const at::Tensor& image_features, bool fine, bool plain,
                         const std::vector<int64_t>& perm = {});
  // Category features at one modality's fine-grained prompts only: [B, K, E].
  at::Tensor fine_at(const at::Tensor& image_features, int64_t modality_slot);

  const PromptSpec& spec() const { return spec_; }
  int64_t classes() const { return static_cast<int64_t>(spec_.class_words.size()); }
  int64_t modalities() const { return static_cast<int64_t>(spec_.modality_words.size()); }

  at::Tensor content_ctx;   // [K or 1, n_ctx, Wt]
  at::Tensor modality_ctx;  // [M, n_ctx, Wt]
  torch::nn::Sequential meta_net{nullptr};

 private:
  // One family's frozen token embeddings [P, L, Wt] and end-of-text positions [P].
  struct Family {
    at::Tensor embeddings, eot;
  };
  Family make_family(const std::vector<std::string>& words, int64_t contexts, const clip::Tokenizer& tok,
                     const std::string& name);
  // prefix + contexts + suffix of a family's prompts: base [P, L, W], ctx [..., P, n, W].
  static at::Tensor splice(const at::Tensor& base, const at::Tensor& ctx, int64_t n_ctx_total);
  at::Tensor pi(const at::Tensor& image_features);  // [B, Wt], zeros without a meta-net

  clip::Clip clip_;
  PromptSpec spec_;
  int64_t length_ = 0;  // common padded length of every prompt
  Family category_, modality_, fine_;
};
TORCH_MODULE(PromptLearner);

}  // namespace cmclip::model
