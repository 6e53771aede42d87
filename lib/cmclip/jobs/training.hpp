// What the two training jobs (fas-pretrain, fas-fewshot) share: opening the dev set,
// the rank's device, checks made before any work, the method's preset and the closing
// log line. Internal to jobs/.
#pragma once
#include <CLI/CLI.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "cmclip/core/modality.hpp"
#include "cmclip/model/fas_model.hpp"
#include "cmclip/train/presets.hpp"
#include "cmclip/train/trainer.hpp"

namespace cmclip::jobs::training {

// nullopt for "" and "all": every sample.
std::optional<Modality> modality_filter(const std::string& name);

// UsageError when a CM-CLIP model's prompts do not describe `mod` (`what` names the option).
void check_prompt_modality(const model::FasModel& m, std::optional<Modality> mod, const std::string& what);

// The dev set of --dev `path` (none when empty), in `modality`, else `fallback`; the
// store is kept in `holder`.
std::optional<train::DevSet> open_dev(const std::string& path, const std::string& modality, const std::string& fallback,
                                      std::unique_ptr<SampleStore>& holder);

// This rank's device: --device cuda means cuda:LOCAL_RANK under a multi-rank launch.
// Checked before the rendezvous, so a bad --device fails at once on every rank.
std::string training_device(const std::string& requested);

// Every file a training run writes, checked before any work: the checkpoints and the
// --profile trace.
void check_outputs(const train::TrainOptions& training);

void log_result(const train::TrainResult& r, const train::TrainJob& job, const std::string& output);

// The method's published settings for what the command line left out (presets.hpp);
// for linear-probe, says which training options L-BFGS does not use.
void apply_method_preset(model::Method method, const train::MethodPreset& preset,
                         const std::function<bool(const std::string& flag)>& given, train::PresetTargets targets);

// --dev, registered by both tools with their own help.
void register_dev(CLI::App& app, std::string& path, const char* help);

// -o (the checkpoint) and the groups both tools share: the model, training and
// optimiser options.
void register_run(CLI::App& app, model::ModelOptions& model, train::TrainOptions& training,
                  train::OptimizerOptions& optimizer, int64_t default_epochs);

}  // namespace cmclip::jobs::training
