// The face anti-spoofing model over a frozen CLIP: CM-CLIP (ADC-Adapters in the
// image branch + fine-grained prompt learning) and the baselines CoOp, CoCoOp,
// linear probe and zero-shot, selected by ModelOptions::method. Only adapter, prompt
// and head parameters train; every CLIP weight stays frozen (requires_grad false).
//
// Class index = label: 0 attack, 1 live. The decision score is P(live).
#pragma once
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include <map>
#include <string>
#include <vector>

#include "cmclip/clip/model.hpp"
#include "cmclip/clip/tokenizer.hpp"
#include "cmclip/core/named_tensors.hpp"
#include "cmclip/model/adc_adapter.hpp"
#include "cmclip/model/options.hpp"
#include "cmclip/model/prompt_learner.hpp"

namespace cmclip {
struct Checkpoint;
}

namespace cmclip::model {

struct ModelOutput {
  at::Tensor image_features;  // normalised [B, E]
  at::Tensor category;        // logits [B, 2]
  at::Tensor fine;            // logits [B, M, 2] (cm-clip, training)
  at::Tensor modality;        // logits [B, M] (cm-clip, training)
  at::Tensor decorrelation;   // scalar L_dec (cm-clip, training)
};

// The method's loss. L_mod needs samples of two modalities: on a batch that holds
// only one (fas-pretrain --modality rgb, or fas-fewshot --replay-ratio 0), CE over the
// modality prompts has a single class and would only push every image towards that
// modality's prompt, so the term is left out of that batch ("mod" is then absent from
// `terms`). L_fg and L_dec read no sample modality and are defined on any batch.
struct LossTerms {
  at::Tensor total;
  std::map<std::string, double> terms;         // "cat", "fg", "mod", "dec" (unweighted), "total"
  std::map<std::string, at::Tensor> weighted;  // each term as it enters the total
};

class FasModelImpl : public torch::nn::Module {
 public:
  FasModelImpl(clip::Clip clip, const clip::Tokenizer& tokenizer, ModelOptions options);

  // Training forward: every family the method's loss needs. `perm` permutes the
  // modality contexts of the fine-grained prompts (empty = identity).
  ModelOutput forward(const at::Tensor& images, const std::vector<int64_t>& perm = {});
  // Inference: P(live) [B]. `modality` [B] (sample modality codes) is needed by the
  // fg-ensemble score; ignored otherwise. `features`, if given, receives the
  // normalised image features [B, E].
  at::Tensor score(const at::Tensor& images, const at::Tensor& modality = {}, at::Tensor* features = nullptr);
  // Normalised image features through the (adapted) image branch: [B, E].
  at::Tensor image_features(const at::Tensor& images);

  LossTerms loss(const ModelOutput& out, const at::Tensor& labels, const at::Tensor& modality_codes);
  // Sample modality codes (0 rgb, 1 depth, 2 nir, 3 thermal) -> prompt modality slots;
  // UsageError when a sample's modality is not among the prompt modalities.
  at::Tensor modality_slots(const at::Tensor& codes) const;

  // Parameters that train, named as in the checkpoint (prompt.*, adapters.*, head.*).
  NamedTensors trainable();
  const ModelOptions& options() const { return options_; }
  // Where the model's tensors live (inputs go there: to(device()) before forward).
  c10::Device device() const;
  Method method() const { return method_; }
  clip::Clip& clip() { return clip_; }

  // Writes the method's config and trainable parameters (not the CLIP weights);
  // this and the checkpoint functions below are in fas_model_io.cpp.
  void save_to(Checkpoint& ckpt);
  // Loads trainable parameters by name; errors name the checkpoint and parameter.
  void load_from(const Checkpoint& ckpt);

  PromptLearner prompt{nullptr};
  torch::nn::ModuleList adapters{nullptr};
  torch::nn::Linear head{nullptr};

 private:
  at::Tensor encode_images(const at::Tensor& images);
  at::Tensor zero_shot_text();                              // normalised [2, E]
  at::Tensor decorrelation(const PromptFeatures& t) const;  // L_dec of options().decorrelation
  AdcAdapter adapter_at(int64_t block, int site);           // site 0 attn, 1 mlp; nullptr if none

  clip::Clip clip_;
  ModelOptions options_;
  Method method_;
  std::vector<int64_t> blocks_;  // vision blocks with adapters
  bool site_attn_ = false, site_mlp_ = false;
  std::map<std::pair<int64_t, int>, int64_t> adapter_index_;  // (block, site) -> adapters[i]
  std::vector<int64_t> modality_codes_;                       // prompt slot -> modality code
  at::Tensor zero_shot_tokens_;
  at::Tensor zero_shot_features_;
};
TORCH_MODULE(FasModel);

// A model ready for scoring or training from a checkpoint or CLIP spec:
// `clip_spec` is an OpenAI archive, a cmclip checkpoint or builtin:tiny.
struct LoadedModel {
  FasModel model{nullptr};
  clip::Tokenizer tokenizer;
  std::string source;        // the checkpoint path (or the CLIP spec)
  std::string content_hash;  // identifies the weights (checkpoint parent links, score files)
};
// A trained cmclip checkpoint (any method).
LoadedModel load_model_checkpoint(const std::string& path, const std::string& bpe_option);
// Fresh model of `options` over the CLIP of `clip_spec`; the new parameters are
// initialised from `seed` (same seed, same model, whatever ran before).
LoadedModel new_model(const std::string& clip_spec, const ModelOptions& options, const std::string& bpe_option,
                      const clip::HeadOverrides& heads = {}, uint64_t seed = 0);

}  // namespace cmclip::model
