// fas-embed --data: P(live) for the samples of a sample store with a trained
// checkpoint, optionally with image features, as a cmclip.scores file or as the score
// TSV on stdout; contiguous shards for SLURM job arrays (merged by fas-embed --merge).
// No LibTorch types here: the tool includes it.
#pragma once
#include <CLI/CLI.hpp>

#include <cstdint>
#include <string>

namespace cmclip::model {

struct ScoreStoreOptions {
  std::string data;           // the sample store
  std::string modality;       // only these samples ("" or "all": every sample)
  std::string shots;          // a shot list (fas-fewshot --shots-out): only its frames
  std::string shard;          // "I/N" or ""
  bool features = false;      // also /features (normalised image features)
  std::string format = "h5";  // h5 | tsv
  int64_t batch_size = 32;
  std::string device = "cpu";      // cpu, cuda, cuda:N (the tool's --device)
  std::string precision = "fp32";  // fas-embed's --precision
  void register_on(CLI::App& app);
};

// Scores with `model_path` (a trained cmclip checkpoint) into `output` ("-": stdout,
// TSV only). Returns the number of samples scored.
int64_t score_sample_store(const std::string& model_path, const std::string& bpe, const ScoreStoreOptions& o,
                           const std::string& output);

}  // namespace cmclip::model
