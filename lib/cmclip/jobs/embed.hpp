// fas-embed as a library call: one mode per run, chosen by its input option. Each mode
// reads its settings from the option group that owns them: the CLIP model, how to embed
// (batch size, precision), how to score a sample store, and the device from the common
// options.
#pragma once
#include <string>
#include <vector>

#include "cmclip/clip/embed.hpp"
#include "cmclip/clip/model_options.hpp"
#include "cmclip/core/app.hpp"
#include "cmclip/model/scoring.hpp"

namespace cmclip::jobs {

struct EmbedJobOptions {
  // The input; exactly one is given (--data is scoring.data).
  std::vector<std::string> merge;  // shard score files to join
  std::string images;              // a list of image files
  std::string text_file;           // prompts, one per line
  std::string output;
  clip::ClipModelOptions model;
  clip::EmbedOptions embed;
  model::ScoreStoreOptions scoring;
  void register_on(CLI::App& app);
  void validate() const;
};

void run_embed(const EmbedJobOptions& o, const CommonOptions& common);

}  // namespace cmclip::jobs
