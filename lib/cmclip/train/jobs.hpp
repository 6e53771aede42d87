// The two training tools as library calls: fas-pretrain (stage 1, RGB source
// training) and fas-fewshot (stage 2, K-shot adaptation to Depth or NIR).
#pragma once
#include <string>

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
};

struct FewshotOptions {
  std::string init;              // a cmclip checkpoint (or a CLIP spec: then --method etc. apply)
  std::string bpe;
  std::string train_path;
  std::string modality;          // target modality (depth, nir, ...)
  int64_t shots = 5;
  std::string replay_path;
  double replay_ratio = 0.5;
  std::string replay_modality = "rgb";
  std::string dev_path;
  std::string dev_modality;      // default: --modality
  bool embed_clip = false;
  model::ModelOptions model;     // only when --init is not a trained checkpoint
  TrainOptions training;
  OptimizerOptions optimizer;

  void register_on(CLI::App& app);
};

TrainResult run_pretrain(const PretrainOptions& o, const CommonOptions& common);
TrainResult run_fewshot(const FewshotOptions& o, const CommonOptions& common);

}  // namespace cmclip::train
