// The two training tools as library calls: fas-pretrain (stage 1, RGB source
// training) and fas-fewshot (stage 2, K-shot adaptation to Depth or NIR).
#pragma once
#include <string>
#include <vector>

#include "cmclip/clip/config.hpp"
#include "cmclip/core/app.hpp"
#include "cmclip/model/options.hpp"
#include "cmclip/train/optimizer.hpp"
#include "cmclip/train/trainer.hpp"

namespace cmclip::train {

struct PretrainOptions {
  std::string clip;              // OpenAI archive, cmclip checkpoint, builtin:tiny
  std::string bpe;
  clip::HeadOverrides heads;
  std::string train_path;
  std::string modality = "rgb";  // or "all"
  std::string dev_path;
  std::string dev_modality;      // default: --modality
  bool clip_by_reference = false;
  model::ModelOptions model;
  TrainOptions training;
  OptimizerOptions optimizer;

  void register_on(CLI::App& app);
  // Whether `flag` was on the command line (false for library callers): the
  // method's preset fills every setting that was not.
  bool given(const std::string& flag) const;

 private:
  const CLI::App* cli_ = nullptr;
};

struct FewshotOptions {
  std::string init;              // a cmclip checkpoint (or a CLIP spec: then --method etc. apply)
  std::string bpe;
  std::string train_path;
  std::string modality;          // target modality (depth, nir, ...)
  // The K shots: K videos per class, N fixed frames of each, drawn with the shot seed
  // (separate from --seed, so training can vary over fixed shots), or read from a list.
  int64_t shots = 5;
  int64_t frames_per_shot = 1;   // 0: every frame of each shot video
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
  model::ModelOptions model;     // only when --init is not a trained checkpoint
  TrainOptions training;
  OptimizerOptions optimizer;

  void register_on(CLI::App& app);
  void validate() const;
  bool given(const std::string& flag) const;  // as PretrainOptions::given

 private:
  const CLI::App* cli_ = nullptr;
};

TrainResult run_pretrain(const PretrainOptions& o, const CommonOptions& common);
TrainResult run_fewshot(const FewshotOptions& o, const CommonOptions& common);

}  // namespace cmclip::train
