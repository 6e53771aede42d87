// Optimisers with state addressed by parameter name, so a checkpoint resumes exactly
// and the state travels between processes: AdamW (decoupled weight decay) and SGD
// with momentum, gradient-norm clipping, and the cosine schedule with linear warm-up.
#pragma once
#include <ATen/core/Tensor.h>

#include <string>
#include <utility>
#include <vector>

#include "cmclip/h5/checkpoint.hpp"

namespace CLI {
class App;
}

namespace cmclip::train {

struct OptimizerOptions {
  std::string name = "adamw";  // adamw | sgd
  double lr = 2e-3;
  double min_lr = 0.0;                            // the cosine schedule ends here
  double weight_decay = 5e-4;                     // matrices and convolutions only (dim >= 2)
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;  // AdamW
  double momentum = 0.9;                          // SGD
  double clip_grad_norm = 1.0;                    // 0: no clipping
  int64_t warmup_steps = -1;                      // -1: one epoch's worth of steps
  double warmup_lr = 1e-5;                        // learning rate at the first warm-up step
  // linear: from warmup_lr up to lr; constant: warmup_lr throughout (CoOp, CoCoOp).
  std::string warmup_type = "linear";

  void register_on(CLI::App& app);
  void validate() const;  // UsageError on nonsense values
};

class Optimizer {
 public:
  Optimizer(NamedTensors params, OptimizerOptions options);

  void zero_grad();
  // One update with learning rate `lr`, using the gradients now in the parameters.
  void step(double lr);
  int64_t steps() const { return steps_; }
  const NamedTensors& params() const { return params_; }

  // "adamw/exp_avg/<name>", "adamw/exp_avg_sq/<name>" or "sgd/momentum/<name>", and "step".
  NamedTensors state() const;
  // Restores state() output; fails (exit 2, naming the entry) when it does not fit
  // these parameters (another method, or shapes that differ).
  void load_state(const NamedTensors& state, const std::string& source);

 private:
  NamedTensors params_;
  OptimizerOptions opt_;
  std::vector<at::Tensor> m_, v_;  // AdamW moments, or SGD momentum in m_
  int64_t steps_ = 0;
};

// Scales the gradients so that their joint L2 norm is at most `max_norm`; returns
// the norm before clipping. Deterministic (fixed summation order).
double clip_grad_norm(const NamedTensors& params, double max_norm);

// Warm-up over warmup_steps (linear from warmup_lr to lr, or constant at warmup_lr),
// then half-cosine from lr to min_lr at total_steps.
double scheduled_lr(int64_t step, int64_t total_steps, int64_t warmup_steps, const OptimizerOptions& o);

}  // namespace cmclip::train
