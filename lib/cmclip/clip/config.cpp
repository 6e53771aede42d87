#include "cmclip/clip/config.hpp"

#include <cmath>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "cmclip/core/error.hpp"
#include "cmclip/core/strings.hpp"

namespace cmclip::clip {

namespace {

const at::Tensor& require(const NamedTensorList& tensors, const std::string& name, int64_t dims,
                          const std::string& origin) {
  for (const auto& [n, t] : tensors)
    if (n == name) {
      if (t.dim() != dims)
        throw InputError(
            origin, name,
            fmt::format("expected a {}-dimensional tensor, found shape [{}]", dims, fmt::join(t.sizes(), ", ")));
      return t;
    }
  throw InputError(origin, name, "missing tensor (not a CLIP ViT model: its configuration is read from this tensor)");
}

int64_t heads_or_rule(const std::optional<int64_t>& given, int64_t width) { return given ? *given : width / 64; }
}  // namespace

std::string ClipConfig::describe() const {
  return fmt::format(
      "embed {}, image {}/{} (grid {}), vision {}x{} ({} heads), text {}x{} ({} heads), "
      "context {}, vocab {}",
      embed_dim, image_resolution, vision_patch, vision_patch ? grid() : 0, vision_width, vision_layers, vision_heads,
      text_width, text_layers, text_heads, context_length, vocab_size);
}

std::vector<std::pair<std::string, int64_t>> ClipConfig::fields() const {
  return {{"embed_dim", embed_dim},           {"image_resolution", image_resolution},
          {"vision_layers", vision_layers},   {"vision_width", vision_width},
          {"vision_patch", vision_patch},     {"vision_heads", vision_heads},
          {"context_length", context_length}, {"vocab_size", vocab_size},
          {"text_width", text_width},         {"text_heads", text_heads},
          {"text_layers", text_layers}};
}

void check_heads(int64_t width, int64_t heads, const std::string& what) {
  if (heads <= 0 || width % heads != 0)
    throw UsageError(fmt::format("{} {} does not divide the width {} into equal heads", what, heads, width));
}

ClipConfig infer_clip_config(const NamedTensorList& tensors, const HeadOverrides& heads, const std::string& origin) {
  ClipConfig c;
  // A checkpoint is a ViT iff it has visual.proj (the ResNet tower is out of scope).
  const at::Tensor& proj = require(tensors, "visual.proj", 2, origin);
  const at::Tensor& conv = require(tensors, "visual.conv1.weight", 4, origin);
  const at::Tensor& vpos = require(tensors, "visual.positional_embedding", 2, origin);
  const at::Tensor& tproj = require(tensors, "text_projection", 2, origin);
  const at::Tensor& tpos = require(tensors, "positional_embedding", 2, origin);
  const at::Tensor& tok = require(tensors, "token_embedding.weight", 2, origin);
  const at::Tensor& lnf = require(tensors, "ln_final.weight", 1, origin);

  c.vision_width = conv.size(0);
  c.vision_patch = conv.size(-1);
  std::set<std::string> text_blocks;
  for (const auto& [name, t] : tensors) {
    if (starts_with(name, "visual.") && ends_with(name, ".attn.in_proj_weight")) ++c.vision_layers;
    const std::string prefix = "transformer.resblocks.";
    if (starts_with(name, prefix)) {
      // The third dot-separated component is the block index.
      size_t end = name.find('.', prefix.size());
      text_blocks.insert(
          name.substr(prefix.size(), end == std::string::npos ? std::string::npos : end - prefix.size()));
    }
  }
  c.text_layers = static_cast<int64_t>(text_blocks.size());
  int64_t tokens = vpos.size(0) - 1;
  int64_t grid = std::llround(std::sqrt(static_cast<double>(tokens)));
  if (tokens < 1 || grid * grid != tokens)
    throw InputError(origin, "visual.positional_embedding",
                     fmt::format("{} rows is not 1 + a square number of patches", vpos.size(0)));
  c.image_resolution = c.vision_patch * grid;
  c.embed_dim = tproj.size(1);
  c.context_length = tpos.size(0);
  c.vocab_size = tok.size(0);
  c.text_width = lnf.size(0);
  c.vision_heads = heads_or_rule(heads.vision_heads, c.vision_width);
  c.text_heads = heads_or_rule(heads.text_heads, c.text_width);

  if (c.vision_layers == 0)
    throw InputError(origin, "visual.transformer.resblocks.0.attn.in_proj_weight", "missing tensor (no vision blocks)");
  if (c.text_layers == 0)
    throw InputError(origin, "transformer.resblocks.0.attn.in_proj_weight", "missing tensor (no text blocks)");
  if (proj.size(1) != c.embed_dim)
    throw InputError(origin, "visual.proj",
                     fmt::format("projects to {} dimensions, text_projection to {}", proj.size(1), c.embed_dim));
  check_heads(c.vision_width, c.vision_heads,
              heads.vision_heads ? "vision head count" : "vision head count (width/64 rule; give --vision-heads)");
  check_heads(c.text_width, c.text_heads,
              heads.text_heads ? "text head count" : "text head count (width/64 rule; give --text-heads)");
  return c;
}

}  // namespace cmclip::clip
