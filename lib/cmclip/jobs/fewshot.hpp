// fas-fewshot as a library call: stage 2 of CM-CLIP, adapting a trained model to Depth
// or NIR from K labelled shots (with source replay by default).
#pragma once
#include <string>
#include <vector>

#include "cmclip/clip/model_options.hpp"
#include "cmclip/core/app.hpp"
#include "cmclip/model/options.hpp"
#include "cmclip/train/optimizer.hpp"
#include "cmclip/train/trainer.hpp"

namespace cmclip::jobs {

struct FewshotOptions {
  // --init: a cmclip checkpoint, or a CLIP spec (then --method etc. apply); --bpe; the
  // head counts only with a CLIP spec (a checkpoint records its own).
  clip::ClipModelOptions init;
  std::string train_path;
  std::string modality;  // target modality (depth, nir, ...)
  // The K shots: K videos per class, N fixed frames of each, drawn with the shot seed
  // (separate from --seed, so training can vary over fixed shots), or read from a list.
  int64_t shots = 5;
  int64_t frames_per_shot = 1;  // 0: every frame of each shot video
  uint64_t shot_seed = 0;
  std::string shots_in, shots_out;
  std::vector<std::string> exclude;  // stores the shots must not share a video or subject with
  // Source replay (the default): each batch mixes source-modality samples at this
  // share; the store is --replay, else --train when it holds them, else the store the
  // checkpoint was trained on. 0 trains on the K shots alone.
  std::string replay_path;
  double replay_ratio = 0.5;
  std::string replay_modality = "rgb";
  // Which epoch is kept: last (default), or the best on the dev set's source or
  // target modality samples; target-dev uses labelled target data beyond the K shots.
  std::string select = "last";
  std::string dev_path;
  bool embed_clip = false;
  model::ModelOptions model;  // only when --init is not a trained checkpoint
  train::TrainOptions training;
  train::OptimizerOptions optimizer;

  void register_on(CLI::App& app);
  void validate() const;
  bool given(const std::string& flag) const;  // as PretrainOptions::given

 private:
  const CLI::App* cli_ = nullptr;
};

train::TrainResult run_fewshot(const FewshotOptions& o, const CommonOptions& common);

}  // namespace cmclip::jobs
