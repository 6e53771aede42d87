// The hyper-parameters of a CLIP ViT model, inferred from its tensors exactly as the
// reference build_model does (docs/clip.md §1.1). Head counts are not stored in the
// weights: the reference takes width/64; an explicit override serves models that
// differ (option --vision-heads/--text-heads, checkpoint attributes clip_*_heads).
#pragma once
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace cmclip::clip {

using NamedTensorList = std::vector<std::pair<std::string, at::Tensor>>;

struct ClipConfig {
  int64_t embed_dim = 0;
  int64_t image_resolution = 0;
  int64_t vision_layers = 0;
  int64_t vision_width = 0;
  int64_t vision_patch = 0;
  int64_t vision_heads = 0;
  int64_t context_length = 0;
  int64_t vocab_size = 0;
  int64_t text_width = 0;
  int64_t text_heads = 0;
  int64_t text_layers = 0;

  int64_t grid() const { return image_resolution / vision_patch; }
  // "embed 512, image 224/16 (grid 14), vision 768x12 (12 heads), text 512x12 (8 heads), context 77, vocab 49408"
  std::string describe() const;
  // Every field with its name, in a fixed order (checkpoint attributes, logs).
  std::vector<std::pair<std::string, int64_t>> fields() const;
  bool operator==(const ClipConfig& o) const { return fields() == o.fields(); }
};

struct HeadOverrides {
  std::optional<int64_t> vision_heads;
  std::optional<int64_t> text_heads;
};

// Infers the configuration from state-dict tensors (names as in the reference).
// Missing key tensors or inconsistent shapes fail with an InputError naming `origin`
// (the file) and the tensor; a head count that does not divide its width too.
ClipConfig infer_clip_config(const NamedTensorList& tensors, const HeadOverrides& heads, const std::string& origin);

// Checks a head count against its width (UsageError naming `what` otherwise).
void check_heads(int64_t width, int64_t heads, const std::string& what);

}  // namespace cmclip::clip
