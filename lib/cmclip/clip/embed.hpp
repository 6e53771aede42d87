// Plain-CLIP embedding of image lists and prompt files (fas-embed --images and
// --text-file). The option groups register themselves on a tool's parser; the work is
// done here so that other modes (scoring a sample store, shards, merging) can be added
// beside these in the same way. No LibTorch types in this header: tools include it.
#pragma once
#include <CLI/CLI.hpp>

#include <cstdint>
#include <string>
#include <vector>

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

// One entry of an image list: a path per line, relative to the list's folder.
struct ImageListEntry {
  int64_t line = 0;   // 1-based line number in the list
  std::string text;   // the line as written (kept as /source)
  std::string path;   // resolved against the list's folder
};
// Reads a list (blank lines are not entries; their count is logged). A line that is
// not valid UTF-8 or names no readable file fails with an InputError naming the
// list and the line.
std::vector<ImageListEntry> read_image_list(const std::string& list_path);

// Prompts, one per line (UTF-8); blank lines are not prompts (their count is logged).
struct Prompt {
  int64_t line = 0;
  std::string text;
};
std::vector<Prompt> read_prompt_file(const std::string& path);

// fas-embed --images: features float32 [N, D] and /source in a cmclip.scores file
// without /score.
void embed_image_list(const ClipModelOptions& model, const std::string& list_path, const std::string& output,
                      const EmbedOptions& options);
// fas-embed --text-file: a cmclip.text file (/text, /line, /tokens, /features).
void embed_text_file(const ClipModelOptions& model, const std::string& prompt_path, const std::string& output,
                     const EmbedOptions& options);

}  // namespace cmclip::clip
