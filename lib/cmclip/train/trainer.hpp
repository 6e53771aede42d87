// The training loop shared by fas-pretrain and fas-fewshot: balanced (and replay-
// mixed) batches, the method's loss, AdamW/SGD with the cosine schedule, gradient
// all-reduce across ranks, dev evaluation each epoch, atomic checkpoints each epoch
// (the best by dev, and the last for --resume), exact resume, graceful stop on
// SIGTERM/SIGINT/SIGUSR1, and a clear stop when the loss diverges.
#pragma once
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "cmclip/compute/precision.hpp"
#include "cmclip/data/augment.hpp"
#include "cmclip/data/loader.hpp"
#include "cmclip/data/sampler.hpp"
#include "cmclip/h5/samples.hpp"
#include "cmclip/model/fas_model.hpp"
#include "cmclip/train/communicator.hpp"
#include "cmclip/train/optimizer.hpp"

namespace CLI {
class App;
}

namespace cmclip::train {

struct TrainOptions {
  int64_t epochs = 10;
  int64_t batch_size = 8;  // per rank
  int64_t eval_batch_size = 32;
  std::string select_by = "auc";  // auc | hter (on the dev set)
  bool resume = false;
  std::string output;
  data::AugmentOptions augment;
  compute::PrecisionOptions precision;
  int loader_threads = 0;                       // decoding threads of the data loader (0: automatic)
  std::string oversampled_copies = "distinct";  // or identical (ablation: one augmentation per sample and epoch)
  std::string profile;  // --profile: a trace of every operation of the run (train/operation_trace.hpp)

  void register_on(CLI::App& app, int64_t default_epochs);
  void validate() const;
};

// Where the weights file of a run's checkpoints lives: OUT.h5 -> OUT.last.h5.
std::string last_checkpoint_path(const std::string& output);

struct DevSet {
  const SampleStore* store = nullptr;
  std::optional<Modality> modality;  // only these samples
};

struct TrainJob {
  model::LoadedModel* model = nullptr;
  const SampleStore* train = nullptr;
  data::Pool target;
  const SampleStore* replay = nullptr;
  data::Pool replay_pool;
  double replay_ratio = 0;
  std::optional<DevSet> dev;
  // True: the checkpoint kept at OUT is the epoch with the best dev figure. False: OUT
  // is the last epoch, and the dev set is only reported (fas-fewshot --select last).
  bool select_by_dev = true;
  uint64_t seed = 0;
  // Checkpoint contents beyond the model: how the CLIP weights are stored, what the
  // run started from, and facts to record (K-shot selection, data, tool).
  bool embed_clip = true;
  std::string parent;
  std::map<std::string, h5::AttrValue> extra_config;
  // Called after every step with the global step count; true stops the run as a stop
  // signal would (checkpoint, then return). For tests and embedding applications.
  std::function<bool(int64_t)> stop_after_step;
};

struct DevMetrics {
  double auc = 0, hter = 0, eer_threshold = 0;
  int64_t samples = 0;
};

struct TrainResult {
  bool stopped_early = false;  // a stop signal: the last checkpoint holds the position
  int64_t epochs_done = 0;
  std::optional<DevMetrics> best_dev;
  double first_epoch_loss = 0, last_epoch_loss = 0;
};

TrainResult train(TrainJob& job, const TrainOptions& options, const OptimizerOptions& opt, Communicator& comm);

// One optimisation step exactly as train() takes it: the batch moved to the model's
// device, forward (with the modality permutation `perm`), the method's loss, and
// unless the loss is not finite on some rank: backward, gradient averaging over the
// ranks (average_gradients: unused parameters count as zero), clipping
// to clip_norm and the update at `lr`. The benchmark times this function.
struct StepResult {
  model::LossTerms loss;
  bool diverged = false;  // the loss was not finite on some rank: nothing was updated
  // Wall time in collectives (zero work on one rank): the gradient all-reduce and
  // the divergence agreement.
  double reduce_seconds = 0, agree_seconds = 0;
};
StepResult training_step(model::FasModel& model, const data::Batch& batch, const std::vector<int64_t>& perm,
                         Optimizer& optimizer, double lr, double clip_norm, Communicator& comm);

// The L2 norm of the gradient each weighted loss term sends to the trainable
// parameters on `batch` (nothing is updated): the balance of the loss, logged at the
// first step of a run.
std::map<std::string, double> loss_term_gradient_norms(model::FasModel& model, const data::Batch& batch,
                                                       const std::vector<int64_t>& perm);

// The checkpoint of the job's model as it is now: the CLIP weights (embedded or by
// reference), the trained parameters, the job's facts and `train_config`.
Checkpoint job_checkpoint(TrainJob& job, const std::map<std::string, h5::AttrValue>& train_config);

// Runs `fn` on the batches of samples `indices` of `store`, in order, with the eval
// transform (no augmentation) and the model in eval mode.
void for_each_eval_batch(model::FasModel& model, const SampleStore& store, const std::vector<int64_t>& indices,
                         int64_t batch_size, const std::function<void(const data::Batch&)>& fn);
// P(live) for samples `indices` of `store` (eval transform, no augmentation).
std::vector<float> score_samples(model::FasModel& model, const SampleStore& store, const std::vector<int64_t>& indices,
                                 int64_t batch_size);
// AUC and HTER at the set's own EER threshold.
DevMetrics dev_metrics(const std::vector<float>& scores, const std::vector<int8_t>& labels);

}  // namespace cmclip::train
