// Plain-CLIP embedding of image lists and prompt files (fas-embed --images and
// --text-file; the tool's job is jobs/embed.hpp). No LibTorch types in this header.
#pragma once
#include <CLI/CLI.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "cmclip/clip/model_options.hpp"
#include "cmclip/clip/text_lists.hpp"
#include "cmclip/compute/precision.hpp"

namespace cmclip::clip {

// How to embed: --batch-size, --truncate, --precision. Also how fas-embed --data scores
// (model/scoring.hpp).
struct EmbedOptions {
  int64_t batch_size = 32;
  bool truncate = false;
  compute::PrecisionOptions precision;
  void register_on(CLI::App& app);
  void validate() const;
};

// fas-embed --images: features float32 [N, D] and /source in a cmclip.scores file
// without /score. `device`: the tool's --device (cpu, cuda, cuda:N).
void embed_image_list(const ClipModelOptions& model, const std::string& list_path, const std::string& output,
                      const EmbedOptions& options, const std::string& device);
// fas-embed --text-file: a cmclip.text file (/text, /line, /tokens, /features).
void embed_text_file(const ClipModelOptions& model, const std::string& prompt_path, const std::string& output,
                     const EmbedOptions& options, const std::string& device);

}  // namespace cmclip::clip
