#include "cmclip/model/options.hpp"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "cmclip/core/app.hpp"
#include "cmclip/core/error.hpp"
#include "cmclip/h5/checkpoint.hpp"
#include "cmclip/h5/samples.hpp"

namespace cmclip::model {

Method parse_method(const std::string& name) {
  if (name == "cm-clip") return Method::cm_clip;
  if (name == "coop") return Method::coop;
  if (name == "cocoop") return Method::cocoop;
  if (name == "linear-probe") return Method::linear_probe;
  if (name == "zero-shot") return Method::zero_shot;
  throw UsageError(fmt::format("--method '{}': expected cm-clip, coop, cocoop, linear-probe or zero-shot", name));
}

const char* method_name(Method m) {
  switch (m) {
    case Method::cm_clip: return "cm-clip";
    case Method::coop: return "coop";
    case Method::cocoop: return "cocoop";
    case Method::linear_probe: return "linear-probe";
    default: return "zero-shot";
  }
}

void ModelOptions::register_on(CLI::App& app) {
  // Each option remembers its config key, so fas-fewshot can tell what was asked for.
  cli_options_.clear();
  auto track = [this](const char* key, CLI::Option* option) {
    cli_options_.emplace_back(key, option);
    return option;
  };
  auto* m = app.add_option_group("Model");
  track("method", m->add_option("--method", method, "cm-clip, coop, cocoop, linear-probe or zero-shot")
      ->capture_default_str()->check(one_of({"cm-clip", "coop", "cocoop", "linear-probe", "zero-shot"})));
  track("n_ctx", m->add_option("--n-ctx", n_ctx, "Learned context vectors per context")->capture_default_str());
  track("ctx_init_std", m->add_option("--ctx-init-std", ctx_init_std, "Context vectors start as N(0, std^2)")->capture_default_str());
  track("class_words", m->add_option("--class-words", class_words, "Class words, attack first (ATTACK,LIVE)")
      ->delimiter(',')->expected(2)->capture_default_str());
  track("prompt_modalities", m->add_option("--prompt-modalities", modalities, "Modalities the prompts describe")
      ->delimiter(',')->capture_default_str());
  track("modality_words", m->add_option("--modality-words", modality_words, "Word for each prompt modality")
      ->delimiter(',')->capture_default_str());
  track("condition_modality", m->add_flag("--condition-modality", condition_modality,
              "Add the meta-net's token to the modality context too"));
  track("permute_modality", m->add_flag("!--no-permute-modality", permute_modality,
              "Do not shuffle the modality contexts of fine-grained prompts in training"));
  track("score", m->add_option("--score", score, "Decision score: category, or fg-ensemble (also the fine-grained logits)")
      ->capture_default_str()->check(one_of({"category", "fg-ensemble"})));
  track("zero_shot_prompts", m->add_option("--zero-shot-prompts", zero_shot_prompts, "Fixed prompts of zero-shot, attack first")
      ->delimiter(';')->expected(2)->capture_default_str());

  auto* a = app.add_option_group("ADC-Adapter (cm-clip)");
  track("adapter_blocks", a->add_option("--adapter-blocks", adapter_blocks, "Vision blocks with adapters: all, none, 0-5, 3,4,11")
      ->capture_default_str());
  track("adapter_sites", a->add_option("--adapter-sites", adapter_sites, "Beside attn, mlp or attn,mlp")
      ->capture_default_str()->check(one_of({"attn", "mlp", "attn,mlp"})));
  track("adapter_shared", a->add_flag("--adapter-shared", adapter_shared, "One adapter shared by every block and site"));
  track("adapter_dim", a->add_option("--adapter-dim", adapter.bottleneck, "Bottleneck width r")->capture_default_str());
  track("adapter_theta", a->add_option("--adapter-theta", adapter.theta_init, "Initial theta of the central difference")
      ->capture_default_str());
  track("adapter_per_channel_theta", a->add_flag("--adapter-per-channel-theta", adapter.per_channel_theta, "One theta per channel"));
  track("adapter_cls_conv", a->add_flag("!--adapter-no-cls-conv", adapter.conv_on_cls, "The CLS token bypasses the convolution"));
  track("adapter_dropout", a->add_option("--adapter-dropout", adapter.dropout, "Dropout inside the adapter")->capture_default_str());
  track("adapter_scale", a->add_option("--adapter-scale", adapter.scale, "Scale s of the adapter output")->capture_default_str());

  auto* l = app.add_option_group("Loss (cm-clip)");
  track("w_cat", l->add_option("--w-cat", w_cat, "Weight of CE on category logits")->capture_default_str());
  track("w_fg", l->add_option("--w-fg", w_fg, "Weight of CE on fine-grained logits")->capture_default_str());
  track("w_mod", l->add_option("--w-mod", w_mod, "Weight of CE on modality logits")->capture_default_str());
  track("lambda_dec", l->add_option("--lambda-dec", lambda_dec, "Weight of the content/modality decorrelation loss")
      ->capture_default_str());
  track("decorrelation", l->add_option("--decorrelation", decorrelation,
                                       "L_dec between the modality prompts and: plain (category prompts without the "
                                       "meta-net token), conditioned (the classifier's prompts), fine (the live-fake "
                                       "direction of the fine-grained prompts)")
      ->capture_default_str()->check(one_of({"plain", "conditioned", "fine"})));
}

void ModelOptions::validate() const {
  parse_method(method);
  if (n_ctx < 1 || n_ctx > 32) throw UsageError(fmt::format("--n-ctx {} must be in 1..32", n_ctx));
  if (class_words.size() != 2) throw UsageError("--class-words needs two words: ATTACK,LIVE");
  if (modalities.empty()) throw UsageError("--prompt-modalities is empty");
  if (modalities.size() != modality_words.size())
    throw UsageError(fmt::format("{} prompt modalities but {} modality words", modalities.size(), modality_words.size()));
  std::set<int> seen;
  for (const auto& m : modalities)
    if (!seen.insert(static_cast<int>(parse_modality(m))).second)
      throw UsageError(fmt::format("--prompt-modalities names {} twice", m));
  if (adapter.bottleneck < 1) throw UsageError("--adapter-dim must be positive");
  if (!(adapter.theta_init > 0 && adapter.theta_init < 1)) throw UsageError("--adapter-theta must be in (0, 1)");
  if (adapter.dropout < 0 || adapter.dropout >= 1) throw UsageError("--adapter-dropout must be in [0, 1)");
  if (decorrelation != "plain" && decorrelation != "conditioned" && decorrelation != "fine")
    throw UsageError(fmt::format("--decorrelation '{}': expected plain, conditioned or fine", decorrelation));
  for (double w : {w_cat, w_fg, w_mod, lambda_dec})
    if (w < 0) throw UsageError("loss weights must not be negative");
}

std::vector<int64_t> parse_block_list(const std::string& spec, int64_t layers) {
  std::vector<int64_t> out;
  if (spec == "none") return out;
  if (spec == "all") {
    for (int64_t i = 0; i < layers; ++i) out.push_back(i);
    return out;
  }
  std::stringstream ss(spec);
  std::string part;
  std::set<int64_t> blocks;
  auto number = [&](const std::string& s) -> int64_t {
    if (s.empty() || s.find_first_not_of("0123456789") != std::string::npos)
      throw UsageError(fmt::format("--adapter-blocks '{}': expected all, none, or block numbers like 0-5,9", spec));
    int64_t v = std::stoll(s);
    if (v >= layers)
      throw UsageError(fmt::format("--adapter-blocks '{}': block {} does not exist (the model has {})", spec, v, layers));
    return v;
  };
  while (std::getline(ss, part, ',')) {
    auto dash = part.find('-');
    if (dash == std::string::npos) {
      blocks.insert(number(part));
    } else {
      int64_t a = number(part.substr(0, dash)), b = number(part.substr(dash + 1));
      if (a > b) throw UsageError(fmt::format("--adapter-blocks '{}': range {} is reversed", spec, part));
      for (int64_t i = a; i <= b; ++i) blocks.insert(i);
    }
  }
  return std::vector<int64_t>(blocks.begin(), blocks.end());
}

void ModelOptions::to_config(std::map<std::string, h5::AttrValue>& c) const {
  c["method"] = method;
  c["n_ctx"] = n_ctx;
  c["ctx_init_std"] = ctx_init_std;
  c["class_words"] = class_words;
  c["prompt_modalities"] = modalities;
  c["modality_words"] = modality_words;
  c["adapter_blocks"] = adapter_blocks;
  c["adapter_sites"] = adapter_sites;
  c["adapter_shared"] = int64_t(adapter_shared);
  c["adapter_dim"] = adapter.bottleneck;
  c["adapter_theta"] = adapter.theta_init;
  c["adapter_per_channel_theta"] = int64_t(adapter.per_channel_theta);
  c["adapter_cls_conv"] = int64_t(adapter.conv_on_cls);
  c["adapter_dropout"] = adapter.dropout;
  c["adapter_scale"] = adapter.scale;
  c["condition_modality"] = int64_t(condition_modality);
  c["permute_modality"] = int64_t(permute_modality);
  c["score"] = score;
  c["w_cat"] = w_cat;
  c["w_fg"] = w_fg;
  c["w_mod"] = w_mod;
  c["lambda_dec"] = lambda_dec;
  c["decorrelation"] = decorrelation;
  c["zero_shot_prompts"] = zero_shot_prompts;
}

std::set<std::string> ModelOptions::given_keys() const {
  std::set<std::string> keys;
  for (const auto& [key, option] : cli_options_)
    if (option->count() > 0) keys.insert(key);
  return keys;
}

ModelOptions ModelOptions::from_config(const Checkpoint& ck) {
  auto strings = [&](const std::string& key) {
    auto it = ck.config.find(key);
    if (it == ck.config.end()) throw InputError(ck.path, "/config", fmt::format("attribute '{}' is missing", key));
    if (auto* v = std::get_if<std::vector<std::string>>(&it->second)) return *v;
    if (auto* v = std::get_if<std::string>(&it->second)) return std::vector<std::string>{*v};
    throw InputError(ck.path, "/config", fmt::format("attribute '{}' should be a list of strings", key));
  };
  ModelOptions o;
  o.method = ck.config_string("method");
  o.n_ctx = ck.config_int("n_ctx");
  o.ctx_init_std = ck.config_double("ctx_init_std");
  o.class_words = strings("class_words");
  o.modalities = strings("prompt_modalities");
  o.modality_words = strings("modality_words");
  o.adapter_blocks = ck.config_string("adapter_blocks");
  o.adapter_sites = ck.config_string("adapter_sites");
  o.adapter_shared = ck.config_int("adapter_shared") != 0;
  o.adapter.bottleneck = ck.config_int("adapter_dim");
  o.adapter.theta_init = ck.config_double("adapter_theta");
  o.adapter.per_channel_theta = ck.config_int("adapter_per_channel_theta") != 0;
  o.adapter.conv_on_cls = ck.config_int("adapter_cls_conv") != 0;
  o.adapter.dropout = ck.config_double("adapter_dropout");
  o.adapter.scale = ck.config_double("adapter_scale");
  o.condition_modality = ck.config_int("condition_modality") != 0;
  o.permute_modality = ck.config_int("permute_modality") != 0;
  o.score = ck.config_string("score");
  o.w_cat = ck.config_double("w_cat");
  o.w_fg = ck.config_double("w_fg");
  o.w_mod = ck.config_double("w_mod");
  o.lambda_dec = ck.config_double("lambda_dec");
  // Checkpoints written before the option existed used the plain form.
  o.decorrelation = ck.has_config("decorrelation") ? ck.config_string("decorrelation") : "plain";
  o.zero_shot_prompts = strings("zero_shot_prompts");
  try {
    o.validate();
  } catch (const UsageError& e) {
    throw InputError(ck.path, "/config", std::string("inconsistent model settings: ") + e.what());
  }
  return o;
}

}  // namespace cmclip::model
