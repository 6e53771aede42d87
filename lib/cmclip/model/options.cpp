#include "cmclip/model/options.hpp"

#include <algorithm>
#include <set>
#include <sstream>
#include <variant>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "cmclip/core/error.hpp"
#include "cmclip/core/modality.hpp"
#include "cmclip/core/names.hpp"
#include "cmclip/model/option_fields.hpp"

namespace cmclip::model {

namespace {
// The method names, in the order --help lists them: parse, print, validate and help
// all read this table.
const NameTable<Method>& method_table() {
  static const NameTable<Method> table{{Method::cm_clip, "cm-clip"},
                                       {Method::coop, "coop"},
                                       {Method::cocoop, "cocoop"},
                                       {Method::linear_probe, "linear-probe"},
                                       {Method::zero_shot, "zero-shot"}};
  return table;
}
}  // namespace

namespace detail {
// The table of model options (option_fields.hpp).
#define CMCLIP_FIELD(type, member) static_cast<Ref<type>>([](ModelOptions& o) -> type& { return o.member; })

constexpr const char* kModel = "Model";
constexpr const char* kAdapter = "ADC-Adapter (cm-clip)";
constexpr const char* kLoss = "Loss (cm-clip)";

const std::vector<Field>& fields() {
  // A table laid out by hand, one option (or two lines) per entry.
  // clang-format off
  static const std::vector<Field> table{
      {"method", "--method", kModel, CMCLIP_FIELD(std::string, method), method_table().either(), method_table().names()},
      {"n_ctx", "--n-ctx", kModel, CMCLIP_FIELD(int64_t, n_ctx), "Learned context vectors per context"},
      {"ctx_init_std", "--ctx-init-std", kModel, CMCLIP_FIELD(double, ctx_init_std),
       "Context vectors start as N(0, std^2)"},
      {"ctx_init", "--ctx-init", kModel, CMCLIP_FIELD(std::string, ctx_init),
       "Start the content context from these words' token embeddings (e.g. \"a photo of a\"; --n-ctx follows "
       "their token count unless given)", {}, 0, 0, true},
      {"ctx_layout", "--ctx-layout", kModel, CMCLIP_FIELD(std::string, ctx_layout),
       "Content context: class-specific (one per class) or shared (default: class-specific for cm-clip, shared "
       "for coop and cocoop)", {"class-specific", "shared"}, 0, 0, true},
      {"class_words", "--class-words", kModel, CMCLIP_FIELD(std::vector<std::string>, class_words),
       "Class words, attack first (ATTACK,LIVE)", {}, ',', 2},
      {"prompt_modalities", "--prompt-modalities", kModel, CMCLIP_FIELD(std::vector<std::string>, modalities),
       "Modalities the prompts describe", {}, ','},
      {"modality_words", "--modality-words", kModel, CMCLIP_FIELD(std::vector<std::string>, modality_words),
       "Word for each prompt modality", {}, ','},
      {"condition_modality", "--condition-modality", kModel, CMCLIP_FIELD(bool, condition_modality),
       "Add the meta-net's token to the modality context too"},
      {"permute_modality", "!--no-permute-modality", kModel, CMCLIP_FIELD(bool, permute_modality),
       "Do not shuffle the modality contexts of fine-grained prompts in training"},
      {"score", "--score", kModel, CMCLIP_FIELD(std::string, score),
       "Decision score: category, or fg-ensemble (also the fine-grained logits)", {"category", "fg-ensemble"}},
      {"zero_shot_prompts", "--zero-shot-prompts", kModel, CMCLIP_FIELD(std::vector<std::string>, zero_shot_prompts),
       "Fixed prompts of zero-shot, attack first", {}, ';', 2},
      {"adapter_blocks", "--adapter-blocks", kAdapter, CMCLIP_FIELD(std::string, adapter_blocks),
       "Vision blocks with adapters: all, none, 0-5, 3,4,11"},
      {"adapter_sites", "--adapter-sites", kAdapter, CMCLIP_FIELD(std::string, adapter_sites),
       "Beside attn, mlp or attn,mlp", {"attn", "mlp", "attn,mlp"}},
      {"adapter_shared", "--adapter-shared", kAdapter, CMCLIP_FIELD(bool, adapter_shared),
       "One adapter shared by every block and site"},
      {"adapter_dim", "--adapter-dim", kAdapter, CMCLIP_FIELD(int64_t, adapter.bottleneck), "Bottleneck width r"},
      {"adapter_theta", "--adapter-theta", kAdapter, CMCLIP_FIELD(double, adapter.theta_init),
       "Initial theta of the central difference"},
      {"adapter_per_channel_theta", "--adapter-per-channel-theta", kAdapter,
       CMCLIP_FIELD(bool, adapter.per_channel_theta), "One theta per channel"},
      {"adapter_cls_conv", "!--adapter-no-cls-conv", kAdapter, CMCLIP_FIELD(bool, adapter.conv_on_cls),
       "The CLS token bypasses the convolution"},
      {"adapter_dropout", "--adapter-dropout", kAdapter, CMCLIP_FIELD(double, adapter.dropout),
       "Dropout inside the adapter"},
      {"adapter_scale", "--adapter-scale", kAdapter, CMCLIP_FIELD(double, adapter.scale),
       "Scale s of the adapter output"},
      {"w_cat", "--w-cat", kLoss, CMCLIP_FIELD(double, w_cat), "Weight of CE on category logits"},
      {"w_fg", "--w-fg", kLoss, CMCLIP_FIELD(double, w_fg), "Weight of CE on fine-grained logits"},
      {"w_mod", "--w-mod", kLoss, CMCLIP_FIELD(double, w_mod), "Weight of CE on modality logits"},
      {"lambda_dec", "--lambda-dec", kLoss, CMCLIP_FIELD(double, lambda_dec),
       "Weight of the content/modality decorrelation loss"},
      {"decorrelation", "--decorrelation", kLoss, CMCLIP_FIELD(std::string, decorrelation),
       "L_dec between the modality prompts and: plain (category prompts without the meta-net token), "
       "conditioned (the classifier's prompts), fine (the live-fake direction of the fine-grained prompts)",
       {"plain", "conditioned", "fine"}, 0, 0, true},
  };
  // clang-format on
  return table;
}
#undef CMCLIP_FIELD
}  // namespace detail

using detail::Field;
using detail::fields;
using detail::Ref;
using detail::value_of;

Method parse_method(const std::string& name) { return method_table().parse(name, "--method"); }

const char* method_name(Method m) { return method_table().name(m); }

void ModelOptions::validate() const {
  // The table's references are to a mutable ModelOptions (registration writes through
  // them); here they are only read.
  ModelOptions& self = const_cast<ModelOptions&>(*this);
  for (const Field& f : fields()) {
    if (f.choices.empty() || !std::holds_alternative<Ref<std::string>>(f.ref)) continue;
    const std::string& v = value_of<std::string>(f, self);
    if ((v.empty() && f.optional) || std::count(f.choices.begin(), f.choices.end(), v)) continue;
    throw UsageError(fmt::format("{} '{}': expected {}", f.flag, v, either(f.choices)));
  }
  // 0: as many context vectors as --ctx-init has tokens (FasModel resolves it).
  if (!(n_ctx == 0 && !ctx_init.empty()) && (n_ctx < 1 || n_ctx > 32))
    throw UsageError(fmt::format("--n-ctx {} must be in 1..32", n_ctx));
  if (class_words.size() != 2) throw UsageError("--class-words needs two words: ATTACK,LIVE");
  if (modalities.empty()) throw UsageError("--prompt-modalities is empty");
  if (modalities.size() != modality_words.size())
    throw UsageError(
        fmt::format("{} prompt modalities but {} modality words", modalities.size(), modality_words.size()));
  std::set<int> seen;
  for (const auto& m : modalities)
    if (!seen.insert(static_cast<int>(parse_modality(m))).second)
      throw UsageError(fmt::format("--prompt-modalities names {} twice", m));
  if (adapter.bottleneck < 1) throw UsageError("--adapter-dim must be positive");
  if (!(adapter.theta_init > 0 && adapter.theta_init < 1)) throw UsageError("--adapter-theta must be in (0, 1)");
  if (adapter.dropout < 0 || adapter.dropout >= 1) throw UsageError("--adapter-dropout must be in [0, 1)");
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
      throw UsageError(
          fmt::format("--adapter-blocks '{}': block {} does not exist (the model has {})", spec, v, layers));
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
  ModelOptions& self = const_cast<ModelOptions&>(*this);
  for (const Field& f : fields())
    std::visit(
        [&](auto ref) {
          const auto& value = ref(self);
          using T = std::decay_t<decltype(value)>;
          if constexpr (std::is_same_v<T, bool>) c[f.key] = int64_t(value);
          else c[f.key] = value;
        },
        f.ref);
  // The layout as the model builds it, whatever the method: a checkpoint says what it holds.
  c["ctx_layout"] = std::string(class_specific_context() ? "class-specific" : "shared");
}

}  // namespace cmclip::model
