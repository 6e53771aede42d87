// fas-embed --data: P(live) for the samples of a sample store with a trained
// checkpoint, optionally with image features, as a cmclip.scores file or as the score
// TSV on stdout; contiguous shards for SLURM job arrays (merged by fas-embed --merge).
// No LibTorch types here: the tool includes it.
#pragma once
#include <CLI/CLI.hpp>

#include <cstdint>
#include <string>

#include "cmclip/clip/embed.hpp"
#include "cmclip/clip/model_options.hpp"

namespace cmclip::model {

struct ScoreStoreOptions {
  std::string data;           // the sample store
  std::string modality;       // only these samples ("" or "all": every sample)
  std::string shots;          // a shot list (fas-fewshot --shots-out): only its frames
  std::string shard;          // "I/N" or ""
  bool features = false;      // also /features (normalised image features)
  std::string format = "h5";  // h5 | tsv
  void register_on(CLI::App& app);
  // With the run's -o: '-' (stdout) needs the TSV format.
  void validate(const std::string& output) const;
};

// Scores with `model.model` (a trained cmclip checkpoint) into `output` ("-": stdout,
// TSV only), `embed.batch_size` samples at a time in `embed.precision`, on `device` (the
// tool's --device). Returns the number of samples scored.
int64_t score_sample_store(const clip::ClipModelOptions& model, const clip::EmbedOptions& embed,
                           const ScoreStoreOptions& o, const std::string& device, const std::string& output);

}  // namespace cmclip::model
