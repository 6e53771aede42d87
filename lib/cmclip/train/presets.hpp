// The baselines' published training settings. --method coop, cocoop and linear-probe
// start from what their papers trained with; every setting given on the command line
// overrides its preset value, and the run logs both. cm-clip's defaults are cmclip's
// own and need no preset. fas-pretrain(1) has the table and the sources.
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "cmclip/model/options.hpp"
#include "cmclip/train/optimizer.hpp"
#include "cmclip/train/trainer.hpp"

namespace cmclip::train {

struct MethodPreset {
  std::string source;  // the paper, for the log; empty: no preset
  // The model (only where the run builds a new one).
  std::optional<int64_t> n_ctx;
  std::optional<std::string> ctx_init, ctx_layout;
  // Optimisation and batches.
  std::optional<std::string> optimizer, warmup_type;
  std::optional<double> lr, min_lr, momentum, weight_decay, clip_grad_norm, warmup_lr;
  std::optional<int64_t> warmup_steps, batch_size, epochs;
  std::optional<double> replay_ratio;  // fas-fewshot: the papers train on the shots only
};

// The preset of `method` for fas-pretrain (fewshot false: the full source set) or
// fas-fewshot with K = `shots` videos per class of `shot_frames` training frames.
MethodPreset method_preset(model::Method method, bool fewshot, int64_t shots, int64_t shot_frames);

// Where a preset writes: null pointers are settings the tool does not have.
struct PresetTargets {
  model::ModelOptions* model = nullptr;  // null: the model comes from a checkpoint
  TrainOptions* training = nullptr;
  OptimizerOptions* optimizer = nullptr;
  double* replay_ratio = nullptr;
};

// Sets every preset value whose flag `given` does not report as given on the command
// line, and logs what it set and what the command line kept. A model with --ctx-init
// and no --n-ctx gets n_ctx 0: the words' token count.
void apply_preset(const MethodPreset& preset, const std::function<bool(const std::string& flag)>& given,
                  const PresetTargets& targets);

}  // namespace cmclip::train
