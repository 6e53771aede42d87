// What model a training run builds: the method (CM-CLIP or a baseline) and every
// choice the published description leaves open, each one flag away (ablations).
// Stored in the checkpoint's /config, so a checkpoint rebuilds its own model.
#pragma once
#include <map>
#include <set>
#include <string>
#include <vector>

#include "cmclip/h5/attr_value.hpp"
#include "cmclip/model/adc_adapter.hpp"

namespace CLI {
class App;
class Option;
}  // namespace CLI

namespace cmclip {
struct Checkpoint;
}

namespace cmclip::model {

enum class Method { cm_clip, coop, cocoop, linear_probe, zero_shot };
Method parse_method(const std::string& name);
const char* method_name(Method m);

struct ModelOptions {
  std::string method = "cm-clip";
  int64_t n_ctx = 16;  // context vectors per learned context (0 with ctx_init: its token count)
  double ctx_init_std = 0.02;
  // Words whose token embeddings start the content context (CoOp's and CoCoOp's "a
  // photo of a"); empty: random N(0, ctx_init_std^2). Their token count must be n_ctx.
  std::string ctx_init;
  // class-specific (one content context per class) or shared; empty: the method's own
  // (class-specific for cm-clip, shared for coop and cocoop).
  std::string ctx_layout;
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

  // L_dec, the squared cosines that decorrelate content from modality (cm-clip):
  //   plain        mean over k, m of cos^2(t_cat(k), t_mod(m)), both without the
  //                meta-net token (the classifier at test time has it);
  //   conditioned  mean over images b, k, m of cos^2(t_cat(k; x_b), t_mod(m)): the
  //                category prompts as the classifier uses them;
  //   fine         mean over b, m of cos^2(t_fg(live, m; x_b) - t_fg(fake, m; x_b),
  //                t_mod(m)): the live-vs-fake direction of each modality's
  //                fine-grained prompts is kept orthogonal to that modality's prompt.
  std::string decorrelation = "plain";
  // Loss weights: L = w_cat CE(cat) + w_fg CE(fg) + w_mod CE(mod) + lambda_dec L_dec.
  // w_mod is 0.1, not 1: after an RGB-only stage 1 the modality prompts start stage 2
  // untrained, and at weight 1 CE(mod) sent them 5-40x the category term's gradient on
  // the first few-shot step (fas-synth, several shot seeds and K), which global
  // clipping turns into a starved classifier. fas-pretrain(1) gives the figures.
  double w_cat = 1, w_fg = 1, w_mod = 0.1, lambda_dec = 1;

  // zero-shot: the fixed prompts, attack first.
  std::vector<std::string> zero_shot_prompts{"a photo of a spoof face", "a photo of a real face"};

  void register_on(CLI::App& app);
  void validate() const;
  Method parsed_method() const { return parse_method(method); }
  bool class_specific_context() const {
    return ctx_layout.empty() ? parsed_method() == Method::cm_clip : ctx_layout == "class-specific";
  }

  void to_config(std::map<std::string, h5::AttrValue>& config) const;
  // The config keys of the options given on the command line (after register_on and
  // parsing; empty otherwise).
  std::set<std::string> given_keys() const;
  // Reads what to_config wrote; errors name the checkpoint and attribute.
  static ModelOptions from_config(const Checkpoint& ckpt);

 private:
  std::vector<std::pair<std::string, const CLI::Option*>> cli_options_;
};

// "all"/"none"/"0-5"/"3,4,11" over `layers` blocks -> sorted block indices.
std::vector<int64_t> parse_block_list(const std::string& spec, int64_t layers);

}  // namespace cmclip::model
