// Plain-CLIP embedding of image lists and prompt files (fas-embed --images and
// --text-file). The option groups register themselves on a tool's parser; the work is
// done here so that other modes (scoring a sample store, shards, merging) can be added
// beside these in the same way. No LibTorch types in this header: tools include it.
#pragma once
#include <CLI/CLI.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "cmclip/clip/text_lists.hpp"
#include "cmclip/compute/precision.hpp"

namespace cmclip::clip {

// Which CLIP model and vocabulary: --model, --bpe, --vision-heads, --text-heads.
struct ClipModelOptions {
  std::string model;   // archive, cmclip checkpoint, builtin:tiny or builtin:vit-b-16-random
  std::string bpe;     // empty: $CMCLIP_BPE, else the default path
  int vision_heads = 0;  // 0: checkpoint attribute, else width/64
  int text_heads = 0;
  void register_on(CLI::App& app);
};

// How to embed: --batch-size, --truncate, --precision (and the device from the common
// options).
struct EmbedOptions {
  int64_t batch_size = 32;
  bool truncate = false;
  compute::PrecisionOptions precision;
  std::string device = "cpu";
  void register_on(CLI::App& app);
};

// fas-embed --images: features float32 [N, D] and /source in a cmclip.scores file
// without /score.
void embed_image_list(const ClipModelOptions& model, const std::string& list_path, const std::string& output,
                      const EmbedOptions& options);
// fas-embed --text-file: a cmclip.text file (/text, /line, /tokens, /features).
void embed_text_file(const ClipModelOptions& model, const std::string& prompt_path, const std::string& output,
                     const EmbedOptions& options);

}  // namespace cmclip::clip
