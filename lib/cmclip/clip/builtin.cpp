#include "cmclip/clip/builtin.hpp"

#include <torch/torch.h>

#include <cmath>
#include <random>

#include <fmt/format.h>

#include "cmclip/core/error.hpp"
#include "cmclip/core/strings.hpp"

namespace cmclip::clip {

namespace {

// Seeded normal and uniform numbers with our own mapping from the 64-bit stream, so
// builtin:tiny has the same bytes with every C++ library (std:: distributions differ).
class SeededRandom {
 public:
  explicit SeededRandom(uint64_t seed) : gen_(seed) {}
  double uniform() { return (static_cast<double>(gen_() >> 11) + 0.5) * 0x1.0p-53; }  // (0, 1)
  double normal() {                                                                   // Box-Muller, both values used
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    double r = std::sqrt(-2.0 * std::log(uniform())), theta = 2.0 * M_PI * uniform();
    spare_ = r * std::sin(theta);
    has_spare_ = true;
    return r * std::cos(theta);
  }
  void fill_normal(at::Tensor& t, double std) {
    float* p = t.data_ptr<float>();
    for (int64_t i = 0; i < t.numel(); ++i) p[i] = static_cast<float>(std * normal());
  }
  void fill_uniform(at::Tensor& t, double bound) {
    float* p = t.data_ptr<float>();
    for (int64_t i = 0; i < t.numel(); ++i) p[i] = static_cast<float>((2.0 * uniform() - 1.0) * bound);
  }

 private:
  std::mt19937_64 gen_;
  bool has_spare_ = false;
  double spare_ = 0;
};

// The reference's initialisation (docs/clip.md §4.5): initialize_parameters for the text
// side, the constructors' defaults for the vision side, PyTorch's defaults elsewhere
// (Linear/Conv: U(+-1/sqrt(fan_in)); MHA in_proj: Xavier uniform; MHA biases 0).
void initialise_like_reference(Clip& clip, uint64_t seed) {
  const ClipConfig& c = clip->config();
  SeededRandom rng(seed);
  torch::NoGradGuard no_grad;
  auto params = clip->named_parameters(true);
  auto fan_in_of = [&](const std::string& weight_name) { return params[weight_name].size(1); };
  const double wt = static_cast<double>(c.text_width), wv = static_cast<double>(c.vision_width);
  for (auto& item : params) {
    const std::string& name = item.key();
    at::Tensor t = item.value();
    const bool text = starts_with(name, "transformer."), vision = starts_with(name, "visual.");
    std::string module = name.substr(0, name.rfind('.'));
    std::string leaf = module.substr(module.rfind('.') + 1);
    if (name == "logit_scale") {
      t.fill_(std::log(1 / 0.07));
    } else if (name == "token_embedding.weight") {
      rng.fill_normal(t, 0.02);
    } else if (name == "positional_embedding") {
      rng.fill_normal(t, 0.01);
    } else if (name == "text_projection") {
      rng.fill_normal(t, std::pow(wt, -0.5));
    } else if (name == "visual.class_embedding" || name == "visual.positional_embedding" || name == "visual.proj") {
      rng.fill_normal(t, std::pow(wv, -0.5));
    } else if (name == "visual.conv1.weight") {
      rng.fill_uniform(t, 1.0 / std::sqrt(static_cast<double>(3 * c.vision_patch * c.vision_patch)));
    } else if (starts_with(leaf, "ln_")) {
      t.fill_(ends_with(name, ".weight") ? 1.0 : 0.0);
    } else if (ends_with(name, "attn.in_proj_bias") || ends_with(name, "attn.out_proj.bias")) {
      t.zero_();
    } else if (text && ends_with(name, "attn.in_proj_weight")) {
      rng.fill_normal(t, std::pow(wt, -0.5));
    } else if (text && (ends_with(name, "attn.out_proj.weight") || ends_with(name, "mlp.c_proj.weight"))) {
      rng.fill_normal(t, std::pow(wt, -0.5) * std::pow(2.0 * static_cast<double>(c.text_layers), -0.5));
    } else if (text && ends_with(name, "mlp.c_fc.weight")) {
      rng.fill_normal(t, std::pow(2.0 * wt, -0.5));
    } else if (vision && ends_with(name, "attn.in_proj_weight")) {
      rng.fill_uniform(t, std::sqrt(6.0 / static_cast<double>(t.size(0) + t.size(1))));
    } else if (ends_with(name, ".weight") || ends_with(name, ".bias")) {  // Linear defaults
      rng.fill_uniform(t, 1.0 / std::sqrt(static_cast<double>(fan_in_of(module + ".weight"))));
    } else {
      throw RuntimeFailure(fmt::format("built-in CLIP: no initialisation rule for '{}'", name));
    }
  }
}

constexpr uint64_t kBuiltinSeed = 0x636d636c6970ULL;  // "cmclip"
}  // namespace

Clip seeded_clip(const ClipConfig& c, const std::string& name, const std::string& vocabulary, uint64_t seed) {
  Clip clip(c);
  initialise_like_reference(clip, seed);
  ClipProvenance p{name, vocabulary, {}};
  for (const auto& item : clip->named_parameters(true)) p.stored_dtype[item.key()] = at::kFloat;
  clip->set_provenance(std::move(p));
  clip->eval();
  return clip;
}

// In ClipConfig's field order: embed_dim, image_resolution, vision_layers, vision_width,
// vision_patch, vision_heads, context_length, vocab_size, text_width, text_heads, text_layers.
ClipConfig vit_b_16_config() { return {512, 224, 12, 768, 16, 12, 77, 49408, 512, 8, 12}; }

Clip builtin_vit_b_16_random() { return seeded_clip(vit_b_16_config(), kBuiltinVitB16Random, "bpe", kBuiltinSeed); }

Clip builtin_tiny() {
  // Vocabulary 514: 256 bytes, their </w> forms, <|startoftext|>, <|endoftext|>.
  const ClipConfig tiny{64, 64, 2, 128, 8, 2, 77, 514, 128, 2, 2};
  return seeded_clip(tiny, kBuiltinTiny, "byte", kBuiltinSeed);
}

}  // namespace cmclip::clip
