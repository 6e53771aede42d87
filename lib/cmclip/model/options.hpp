// What model a training run builds: the method (CM-CLIP or a baseline) and every
// choice the published description leaves open, each one flag away (ablations).
// Stored in the checkpoint's /config, so a checkpoint rebuilds its own model.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "cmclip/h5/h5.hpp"
#include "cmclip/model/adc_adapter.hpp"

namespace CLI {
class App;
}

namespace cmclip {
struct Checkpoint;
}

namespace cmclip::model {

enum class Method { cm_clip, coop, cocoop, linear_probe, zero_shot };
Method parse_method(const std::string& name);
const char* method_name(Method m);

struct ModelOptions {
  std::string method = "cm-clip";
  int64_t n_ctx = 16;  // context vectors per learned context
  double ctx_init_std = 0.02;
  // Class words in label order: index 0 attack, 1 live.
  std::vector<std::string> class_words{"fake", "live"};
  // The modalities the prompts know, and the word for each.
  std::vector<std::string> modalities{"rgb", "depth", "nir"};
  std::vector<std::string> modality_words{"color", "depth", "ir"};

  // ADC-Adapters (cm-clip only).
  std::string adapter_blocks = "all";      // all | none | 0-5 | 3,4,11
  std::string adapter_sites = "attn,mlp";  // beside the attention and/or the MLP
  bool adapter_shared = false;             // one adapter for every block and site
  AdcAdapterOptions adapter;               // bottleneck, theta, dropout, scale, ...

  bool condition_modality = false;  // meta-net token also added to the modality context
  bool permute_modality = true;     // shuffle modality contexts of fine-grained prompts while training
  std::string score = "category";   // category | fg-ensemble (average with the fine-grained logits)

  // Loss weights: L = w_cat CE(cat) + w_fg CE(fg) + w_mod CE(mod) + lambda_dec L_dec.
  double w_cat = 1, w_fg = 1, w_mod = 1, lambda_dec = 1;

  // zero-shot: the fixed prompts, attack first.
  std::vector<std::string> zero_shot_prompts{"a photo of a spoof face", "a photo of a real face"};

  void register_on(CLI::App& app);
  void validate() const;
  Method parsed_method() const { return parse_method(method); }

  void to_config(std::map<std::string, h5::AttrValue>& config) const;
  // Reads what to_config wrote; errors name the checkpoint and attribute.
  static ModelOptions from_config(const Checkpoint& ckpt);
};

// "all"/"none"/"0-5"/"3,4,11" over `layers` blocks -> sorted block indices.
std::vector<int64_t> parse_block_list(const std::string& spec, int64_t layers);

}  // namespace cmclip::model
