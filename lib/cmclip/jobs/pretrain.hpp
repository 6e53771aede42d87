// fas-pretrain as a library call: stage 1 of CM-CLIP (or a baseline), training adapters
// and prompts over a frozen CLIP on source (RGB) data.
#pragma once
#include <string>

#include "cmclip/clip/model_options.hpp"
#include "cmclip/core/app.hpp"
#include "cmclip/model/options.hpp"
#include "cmclip/train/optimizer.hpp"
#include "cmclip/train/trainer.hpp"

namespace cmclip::jobs {

struct PretrainOptions {
  clip::ClipModelOptions clip_model;  // --clip: archive, cmclip checkpoint, builtin:tiny
  std::string train_path;
  std::string modality = "rgb";  // or "all"
  std::string dev_path;
  std::string dev_modality;  // default: --modality
  bool clip_by_reference = false;
  model::ModelOptions model;
  train::TrainOptions training;
  train::OptimizerOptions optimizer;

  void register_on(CLI::App& app);
  void validate() const;
  // Whether `flag` was on the command line (false for library callers): the
  // method's preset fills every setting that was not.
  bool given(const std::string& flag) const;

 private:
  const CLI::App* cli_ = nullptr;
};

train::TrainResult run_pretrain(const PretrainOptions& o, const CommonOptions& common);

}  // namespace cmclip::jobs
