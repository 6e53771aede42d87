#include "cmclip/train/trainer.hpp"

#include <ATen/ATen.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/utils.h>

#include <chrono>
#include <cmath>

#include <fmt/format.h>

#include "cmclip/core/error.hpp"
#include "cmclip/core/fs.hpp"
#include "cmclip/core/log.hpp"
#include "cmclip/core/progress.hpp"
#include "cmclip/core/random.hpp"
#include "cmclip/core/signals.hpp"
#include "cmclip/clip/weights.hpp"
#include "cmclip/data/loader.hpp"
#include "cmclip/data/transfer.hpp"
#include "cmclip/h5/checkpoint.hpp"
#include "cmclip/metrics/pad_metrics.hpp"
#include "cmclip/metrics/sorted_scores.hpp"
#include "cmclip/train/linear_probe.hpp"
#include "cmclip/train/operation_trace.hpp"

namespace cmclip::train {

std::string last_checkpoint_path(const std::string& output) {
  const std::string ext = ".h5";
  if (output.size() > ext.size() && output.compare(output.size() - ext.size(), ext.size(), ext) == 0)
    return output.substr(0, output.size() - ext.size()) + ".last.h5";
  return output + ".last.h5";
}

void for_each_eval_batch(model::FasModel& model, const SampleStore& store, const std::vector<int64_t>& indices,
                         int64_t batch_size, const std::function<void(const data::Batch&)>& fn) {
  std::vector<std::vector<data::SampleRef>> batches;
  for (size_t b = 0; b < indices.size(); b += static_cast<size_t>(batch_size)) {
    std::vector<data::SampleRef> batch;
    for (size_t i = b; i < std::min(indices.size(), b + static_cast<size_t>(batch_size)); ++i)
      batch.push_back({0, indices[i], 0});
    batches.push_back(std::move(batch));
  }
  bool was_training = model->is_training();
  model->eval();
  data::BatchLoader loader({&store}, batches, static_cast<int>(model->clip()->config().image_resolution),
                           data::AugmentOptions{}, /*train=*/false);
  data::Batch batch;
  while (loader.next(batch)) fn(batch);
  model->train(was_training);
}

std::vector<float> score_samples(model::FasModel& model, const SampleStore& store, const std::vector<int64_t>& indices,
                                 int64_t batch_size) {
  std::vector<float> out;
  for_each_eval_batch(model, store, indices, batch_size, [&](const data::Batch& batch) {
    at::Tensor p = model->score(data::to_device(batch.images, model->device()), batch.modality)
                       .to(at::kCPU, at::kFloat)
                       .contiguous();
    out.insert(out.end(), p.data_ptr<float>(), p.data_ptr<float>() + p.numel());
  });
  return out;
}

DevMetrics dev_metrics(const std::vector<float>& scores, const std::vector<int8_t>& labels) {
  std::vector<int16_t> cls(labels.size());
  for (size_t i = 0; i < labels.size(); ++i) {
    if (!std::isfinite(scores[i])) throw RuntimeFailure("dev evaluation: a score is not finite (diverged model?)");
    cls[i] = labels[i] == kLive ? 0 : 1;
  }
  metrics::SortedScores s(scores, cls, 1);
  metrics::require_both_classes(s, "the dev set");
  metrics::SetFigures f =
      metrics::compute_figures(s, std::nullopt, metrics::TieRule::accept, metrics::Positive::attack);
  DevMetrics d;
  d.auc = f.auc;
  d.hter = f.at_threshold.hter;
  d.eer_threshold = f.eer_threshold;
  d.samples = static_cast<int64_t>(scores.size());
  return d;
}

Checkpoint job_checkpoint(TrainJob& job, const std::map<std::string, h5::AttrValue>& train_config) {
  model::FasModel& model = job.model->model;
  Checkpoint c;
  c.parent = job.parent;
  clip::add_clip_to_checkpoint(c, model->clip(), job.embed_clip);
  model->save_to(c);
  for (const auto& [k, v] : job.extra_config) c.config[k] = v;
  for (const auto& [k, v] : train_config) c.config[k] = v;
  return c;
}

namespace {
// Runs call() and adds its wall time to `total`.
template <typename Call>
auto timed(double& total, Call&& call) {
  auto t0 = std::chrono::steady_clock::now();
  auto r = call();
  total += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}
}  // namespace

StepResult training_step(model::FasModel& model, const data::Batch& batch, const std::vector<int64_t>& perm,
                         Optimizer& optimizer, double lr, double clip_norm, Communicator& comm) {
  const c10::Device device = model->device();
  StepResult r;
  model::ModelOutput out = model->forward(data::to_device(batch.images, device), perm);
  r.loss = model->loss(out, data::to_device(batch.labels, device), batch.modality);
  r.diverged = timed(r.agree_seconds, [&] { return comm.any(!std::isfinite(r.loss.terms.at("total"))); });
  if (r.diverged) return r;
  optimizer.zero_grad();
  r.loss.total.backward();
  timed(r.reduce_seconds, [&] {
    average_gradients(comm, optimizer.params());
    return 0;
  });
  clip_grad_norm(optimizer.params(), clip_norm);
  optimizer.step(lr);
  return r;
}

std::map<std::string, double> loss_term_gradient_norms(model::FasModel& model, const data::Batch& batch,
                                                       const std::vector<int64_t>& perm) {
  const c10::Device device = model->device();
  model::ModelOutput out = model->forward(data::to_device(batch.images, device), perm);
  model::LossTerms loss = model->loss(out, data::to_device(batch.labels, device), batch.modality);
  std::vector<at::Tensor> params;
  for (auto& [name, p] : model->trainable()) params.push_back(p);
  std::map<std::string, double> norms;
  for (const auto& [name, term] : loss.weighted) {
    if (!term.requires_grad()) continue;
    auto grads = torch::autograd::grad({term}, params, {}, /*retain_graph=*/true, /*create_graph=*/false,
                                       /*allow_unused=*/true);
    double sq = 0;
    for (const auto& g : grads)
      if (g.defined()) sq += g.pow(2).sum().item<double>();
    norms[name] = std::sqrt(sq);
  }
  return norms;
}

namespace {

// Logs how hard each loss term pulls on the first step, and warns when an auxiliary
// term's gradient is over 10x the category term's: global clipping would then leave
// the classifier a small share of every update.
void log_loss_balance(model::FasModel& model, const data::Batch& batch, const std::vector<int64_t>& perm) {
  auto norms = loss_term_gradient_norms(model, batch, perm);
  if (norms.size() < 2 || !norms.count("cat")) return;
  std::string text, heavy;
  for (const auto& [name, n] : norms) {
    text += fmt::format("{}{} {:.3g}", text.empty() ? "" : ", ", name, n);
    if (name != "cat" && n > 10 * norms.at("cat")) heavy += fmt::format(" {} ({:.0f}x)", name, n / norms.at("cat"));
  }
  log::info("first step: gradient norm per loss term: {}", text);
  if (!heavy.empty())
    log::warn(
        "first step: these terms pull over 10x harder than the category loss:{}; unless they fall within "
        "the first epoch (see the epoch lines), lower their weights (--w-mod, --w-fg, --lambda-dec): "
        "gradient clipping leaves the classifier little of each update",
        heavy);
}

struct RunState {
  int64_t epoch = 0, step_in_epoch = 0, global_step = 0;
  double best_metric = NAN;
  int64_t best_epoch = -1;
};

// Config attributes that must be equal for --resume to continue the same run.
const std::vector<std::string> kResumeKeys{"train_seed", "train_global_batch", "train_epochs",
                                           "method",     "optimizer",          "train_replay_ratio"};

class Run {
 public:
  Run(TrainJob& job, const TrainOptions& to, const OptimizerOptions& oo, Communicator& comm)
      : job_(job), to_(to), oo_(oo), comm_(comm), model_(job.model->model), optimizer_(model_->trainable(), oo) {}

  TrainResult execute();

 private:
  // What an epoch's steps add up to, for its log line and the run's losses.
  struct EpochTally {
    std::map<std::string, double> sums;
    std::map<std::string, int64_t> term_steps;  // steps that computed each term
    int64_t steps_done = 0, images = 0;
    // Time in collectives, for -v: the gradient all-reduce and the agreements.
    double reduce_seconds = 0, agree_seconds = 0;
    double seconds = 0, wait_seconds = 0;  // the epoch's wall time, and its wait for data
  };

  void configure();
  TrainResult write_untrained();
  bool run_epoch(TrainResult& result);
  StepResult run_step(const data::Batch& batch);
  void stop_here(Progress& progress, data::BatchLoader& loader);
  void finish_epoch(EpochTally& tally, TrainResult& result);
  void save(const std::optional<DevMetrics>& dev, bool best);
  Checkpoint make_checkpoint(const std::optional<DevMetrics>& dev);
  void try_resume();
  std::optional<DevMetrics> evaluate_dev();
  void check_ranks_agree(int64_t steps_per_epoch);
  bool better(const DevMetrics& d) const;

  TrainJob& job_;
  const TrainOptions& to_;
  const OptimizerOptions& oo_;
  Communicator& comm_;
  model::FasModel model_;
  Optimizer optimizer_;
  RunState state_;
  std::map<std::string, h5::AttrValue> train_config_;
  // The run's shape, set by configure(), and what execute() settles before the first epoch.
  data::PlanOptions plan_;
  const data::Pool* replay_ = nullptr;
  int64_t steps_per_epoch_ = 0, total_steps_ = 0, warmup_ = 0;
  int loader_threads_ = 1;
  bool cm_clip_ = false, mod_skip_logged_ = false;
};

Checkpoint Run::make_checkpoint(const std::optional<DevMetrics>& dev) {
  Checkpoint c = job_checkpoint(job_, train_config_);
  c.optimizer = optimizer_.state();
  c.state["epoch"] = state_.epoch;
  c.state["step_in_epoch"] = state_.step_in_epoch;
  c.state["global_step"] = state_.global_step;
  c.state["best_metric"] = state_.best_metric;
  c.state["best_epoch"] = state_.best_epoch;
  if (dev) {
    c.state["dev_auc"] = dev->auc;
    c.state["dev_hter"] = dev->hter;
    c.state["dev_eer_threshold"] = dev->eer_threshold;
  }
  return c;
}

void Run::try_resume() {
  std::string last = last_checkpoint_path(to_.output);
  if (!file_exists(last)) {
    if (comm_.is_root()) log::warn("--resume: {} does not exist; starting from the beginning", last);
    return;
  }
  Checkpoint c = read_checkpoint(last, /*with_optimizer=*/true);
  std::map<std::string, h5::AttrValue> now = train_config_;
  model_->options().to_config(now);
  for (const auto& key : kResumeKeys) {
    auto a = c.config.find(key);
    auto b = now.find(key);
    if (a == c.config.end() || b == now.end() || h5::attr_to_string(a->second) != h5::attr_to_string(b->second))
      throw UsageError(
          fmt::format("--resume: {} was written with {} = {}, this run has {}; resume with the "
                      "same options",
                      last, key, a == c.config.end() ? "(none)" : h5::attr_to_string(a->second),
                      b == now.end() ? "(none)" : h5::attr_to_string(b->second)));
  }
  model_->load_from(c);
  optimizer_.load_state(c.optimizer, last);
  // A damaged or foreign /state is bad input naming the attribute, not a bare
  // std::bad_variant_access.
  auto state_value = [&](const char* key, auto kind) {
    using T = decltype(kind);
    auto it = c.state.find(key);
    if (it == c.state.end()) throw InputError(last, "/state", fmt::format("attribute '{}' is missing", key));
    if (const T* v = std::get_if<T>(&it->second)) return *v;
    throw InputError(
        last, "/state",
        fmt::format("attribute '{}' should be {}", key, std::is_same_v<T, double> ? "a number" : "an integer"));
  };
  state_.epoch = state_value("epoch", int64_t{});
  state_.step_in_epoch = state_value("step_in_epoch", int64_t{});
  state_.global_step = state_value("global_step", int64_t{});
  state_.best_epoch = state_value("best_epoch", int64_t{});
  state_.best_metric = state_value("best_metric", double{});
  if (state_.epoch < 0 || state_.epoch > to_.epochs || state_.step_in_epoch < 0 || state_.global_step < 0)
    throw InputError(last, "/state",
                     fmt::format("epoch {}, step {} of that epoch: not a state of a {}-epoch run", state_.epoch,
                                 state_.step_in_epoch, to_.epochs));
  log::info("resuming from {}: epoch {}, step {} of that epoch", last, state_.epoch + 1, state_.step_in_epoch);
}

std::optional<DevMetrics> Run::evaluate_dev() {
  if (!job_.dev) return std::nullopt;
  const SampleStore& store = *job_.dev->store;
  std::vector<int64_t> all;
  for (int64_t i = 0; i < store.size(); ++i)
    if (!job_.dev->modality || store.modalities()[i] == static_cast<int8_t>(*job_.dev->modality)) all.push_back(i);
  // Each rank scores a contiguous share; a sum all-reduce puts every score everywhere.
  size_t per = (all.size() + comm_.world() - 1) / comm_.world();
  size_t begin = std::min(all.size(), per * comm_.rank()), end = std::min(all.size(), begin + per);
  std::vector<int64_t> mine(all.begin() + begin, all.begin() + end);
  std::vector<float> part = score_samples(model_, store, mine, to_.eval_batch_size);
  at::Tensor scores = at::zeros({static_cast<int64_t>(all.size())}, at::kFloat);
  if (!part.empty()) scores.slice(0, begin, end).copy_(at::tensor(part));
  std::vector<at::Tensor> t{scores};
  comm_.allreduce_sum(t);
  std::vector<float> all_scores(scores.data_ptr<float>(), scores.data_ptr<float>() + scores.numel());
  std::vector<int8_t> labels;
  for (int64_t i : all) labels.push_back(store.labels()[i]);
  return dev_metrics(all_scores, labels);
}

// Every rank must run the same schedule, or the collectives pair up wrongly: compare
// each rank's position and run shape with rank 0's (e.g. a rank that did not see
// OUT.last.h5 on --resume, or a rank started with other options or data).
void Run::check_ranks_agree(int64_t steps_per_epoch) {
  if (comm_.world() <= 1) return;
  const std::vector<std::string> names{"epoch",  "step in epoch", "global step",       "steps per epoch",
                                       "epochs", "batch size",    "seed (low 32 bits)"};
  std::vector<double> mine{
      double(state_.epoch), double(state_.step_in_epoch), double(state_.global_step),       double(steps_per_epoch),
      double(to_.epochs),   double(to_.batch_size),       double(job_.seed & 0xffffffffULL)};
  std::vector<at::Tensor> root{at::tensor(mine, at::kDouble)};
  comm_.broadcast(root);
  std::string differences;
  for (size_t i = 0; i < mine.size(); ++i) {
    double r = root[0][static_cast<int64_t>(i)].item<double>();
    if (r != mine[i])
      differences += fmt::format("{}{} {} (rank 0: {})", differences.empty() ? "" : ", ", names[i], mine[i], r);
  }
  if (comm_.any(!differences.empty())) {
    if (differences.empty())
      throw RuntimeFailure(
          "another rank's run differs from rank 0's (see its error); every rank needs the same "
          "options and data");
    throw RuntimeFailure(fmt::format(
        "rank {} differs from rank 0: {}; every rank needs the same options and data{}", comm_.rank(), differences,
        to_.resume ? fmt::format(", and {} on a file system all ranks read", last_checkpoint_path(to_.output))
                   : std::string()));
  }
}

bool Run::better(const DevMetrics& d) const {
  if (std::isnan(state_.best_metric)) return true;
  return to_.select_by == "auc" ? d.auc > state_.best_metric : d.hter < state_.best_metric;
}

TrainResult Run::execute() {
  configure();
  if (to_.resume) try_resume();
  check_ranks_agree(steps_per_epoch_);
  {
    // Every rank starts from rank 0's parameters.
    std::vector<at::Tensor> params;
    for (auto& [n, p] : model_->trainable()) params.push_back(p.detach());
    comm_.broadcast(params);
  }
  loader_threads_ = to_.loader_threads > 0 ? to_.loader_threads : data::default_loader_threads();
  compute::PrecisionScope precision(to_.precision.parsed(), model_->device());
  cm_clip_ = model_->method() == model::Method::cm_clip;

  signals::enable_graceful_stop(true);
  if (to_.epochs == 0 || steps_per_epoch_ == 0 || model_->trainable().empty()) return write_untrained();

  TrainResult result;
  model_->train();
  while (state_.epoch < to_.epochs) {
    if (!run_epoch(result)) {
      result.stopped_early = true;
      result.epochs_done = state_.epoch;
      return result;
    }
  }
  result.epochs_done = state_.epoch;
  comm_.barrier();  // rank 0 serves the rendezvous: nobody leaves before the others are done
  return result;
}

// The run's shape (batch plan, steps, warm-up) and the train_* attributes of its checkpoints.
void Run::configure() {
  plan_.global_batch = to_.batch_size * comm_.world();
  plan_.replay_ratio = job_.replay ? job_.replay_ratio : 0;
  plan_.seed = job_.seed;
  plan_.distinct_copies = to_.oversampled_copies != "identical";
  replay_ = job_.replay ? &job_.replay_pool : nullptr;
  steps_per_epoch_ = static_cast<int64_t>(data::plan_epoch(job_.target, replay_, 0, plan_).size());
  total_steps_ = steps_per_epoch_ * to_.epochs;
  warmup_ = oo_.warmup_steps < 0 ? steps_per_epoch_ : oo_.warmup_steps;

  train_config_["train_seed"] = static_cast<int64_t>(job_.seed);
  train_config_["train_global_batch"] = plan_.global_batch;
  train_config_["train_epochs"] = to_.epochs;
  train_config_["train_replay_ratio"] = plan_.replay_ratio;
  train_config_["train_oversampled_copies"] = to_.oversampled_copies;
  train_config_["optimizer"] = oo_.name;
  train_config_["train_lr"] = oo_.lr;
  train_config_["train_weight_decay"] = oo_.weight_decay;
  train_config_["train_clip_grad_norm"] = oo_.clip_grad_norm;
  train_config_["train_warmup"] = fmt::format("{} for {} steps from {}", oo_.warmup_type, warmup_, oo_.warmup_lr);
  train_config_["train_steps_per_epoch"] = steps_per_epoch_;
  train_config_["train_select_by"] = job_.dev && job_.select_by_dev ? to_.select_by : std::string("last");
}

// Nothing to train (zero-shot, or evaluation of the initial model): write it.
TrainResult Run::write_untrained() {
  TrainResult result;
  if (model_->trainable().empty())
    log::info("{}: no trainable parameters, so no training; the model is written as it is",
              model::method_name(model_->method()));
  std::optional<DevMetrics> dev = evaluate_dev();
  if (dev)
    log::info("dev: AUC {:.4f}, HTER {:.4f} at its EER threshold ({} samples)", dev->auc, dev->hter, dev->samples);
  result.best_dev = dev;
  save(dev, true);
  comm_.barrier();
  return result;
}

// The steps of the current epoch from the current position, then finish_epoch() while
// the epoch's loader and progress bar still stand. False when a stop was requested:
// stop_here() has then written the position.
bool Run::run_epoch(TrainResult& result) {
  auto plan_batches = data::plan_epoch(job_.target, replay_, state_.epoch, plan_);
  std::vector<std::vector<data::SampleRef>> mine;
  for (size_t s = static_cast<size_t>(state_.step_in_epoch); s < plan_batches.size(); ++s)
    mine.push_back(data::rank_slice(plan_batches[s], comm_.rank(), comm_.world()));
  const int res = static_cast<int>(model_->clip()->config().image_resolution);
  const std::vector<const SampleStore*> stores{job_.train, job_.replay};
  data::BatchLoader loader(stores, mine, res, to_.augment, /*train=*/true, /*prefetch=*/2, loader_threads_);
  Progress progress(fmt::format("epoch {}/{}", state_.epoch + 1, to_.epochs), static_cast<int64_t>(mine.size()),
                    "steps");
  EpochTally tally;
  auto start = std::chrono::steady_clock::now();
  data::Batch batch;
  while (loader.next(batch)) {
    StepResult step = run_step(batch);
    tally.reduce_seconds += step.reduce_seconds;
    tally.agree_seconds += step.agree_seconds;
    for (const auto& [k, v] : step.loss.terms) {
      tally.sums[k] += v;
      ++tally.term_steps[k];
    }
    if (cm_clip_ && !step.loss.terms.count("mod") && !mod_skip_logged_ && comm_.is_root()) {
      log::info(
          "L_mod is left out of batches that hold one modality only (it needs two to contrast); "
          "the epoch lines count those steps");
      mod_skip_logged_ = true;
    }
    ++tally.steps_done;
    tally.images += batch.images.size(0);
    ++state_.global_step;
    ++state_.step_in_epoch;
    progress.advance();
    bool hook = job_.stop_after_step && job_.stop_after_step(state_.global_step);
    if (timed(tally.agree_seconds, [&] { return comm_.any(signals::stop_requested() || hook); })) {
      stop_here(progress, loader);
      return false;
    }
  }
  loader.close();
  tally.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  tally.wait_seconds = loader.wait_seconds();
  finish_epoch(tally, result);
  return true;
}

// The optimisation step at the current position; a loss that is not finite on some
// rank stops the run.
StepResult Run::run_step(const data::Batch& batch) {
  // Stateless randomness per step: dropout and the modality permutation depend
  // only on (seed, step), so a resumed run repeats them exactly.
  uint64_t step_seed = derive_seed(job_.seed, {0x73746570ULL, uint64_t(state_.global_step)});
  torch::manual_seed(step_seed);
  std::vector<int64_t> perm;
  if (cm_clip_ && model_->options().permute_modality) {
    Rng rng(step_seed);
    for (int64_t i = 0; i < model_->prompt->modalities(); ++i) perm.push_back(i);
    rng.shuffle(perm);
  }
  if (state_.global_step == 0 && comm_.is_root()) {
    log_loss_balance(model_, batch, perm);
    torch::manual_seed(step_seed);  // the step below draws the same dropout as without the log
  }
  StepResult step =
      training_step(model_, batch, perm, optimizer_, scheduled_lr(state_.global_step, total_steps_, warmup_, oo_),
                    oo_.clip_grad_norm, comm_);
  if (step.diverged)
    throw RuntimeFailure(fmt::format(
        "the training loss became {} at epoch {}, step {}: stopping; the last good "
        "checkpoint is {} (try a lower --lr)",
        step.loss.terms.at("total"), state_.epoch + 1, state_.step_in_epoch + 1, last_checkpoint_path(to_.output)));
  return step;
}

// A stop was requested (a signal on some rank, or the job's hook) after the step just
// taken: write the position to OUT.last.h5 for --resume; every rank leaves together.
void Run::stop_here(Progress& progress, data::BatchLoader& loader) {
  progress.finish();
  log::info("stop requested{}: checkpoint at epoch {}, step {}; continue with --resume",
            signals::stop_signal() ? fmt::format(" (signal {})", signals::stop_signal()) : std::string(),
            state_.epoch + 1, state_.step_in_epoch);
  loader.close();  // its reader may be mid-way through an HDF5 read of the next batch
  save(std::nullopt, false);
  comm_.barrier();
}

// The end of a completed epoch: its log line (with the dev figures), the selection of
// the best epoch, and the checkpoints at the start of the next one.
void Run::finish_epoch(EpochTally& tally, TrainResult& result) {
  const int world = comm_.world();
  if (tally.steps_done > 0) {
    const NamedTensors& params = optimizer_.params();
    int64_t floats = 0;
    for (const auto& [n, p] : params) floats += p.numel();
    log::debug(
        "epoch {}: {:.1f} ms per step; collectives per step: gradient all-reduce {:.2f} ms ({} floats, "
        "{:.1f} KiB), stop/divergence agreement {:.2f} ms",
        state_.epoch + 1, 1e3 * tally.seconds / tally.steps_done, 1e3 * tally.reduce_seconds / tally.steps_done,
        world > 1 ? floats + int64_t(params.size()) : 0,
        world > 1 ? 4.0 * double(floats + int64_t(params.size())) / 1024 : 0.0,
        1e3 * tally.agree_seconds / tally.steps_done);
  }
  std::string terms;
  for (const char* k : {"cat", "fg", "mod", "dec"})
    if (tally.sums.count(k)) terms += fmt::format(" {} {:.4f}", k, tally.sums[k] / double(tally.term_steps[k]));
  if (cm_clip_ && tally.term_steps["mod"] < tally.steps_done)
    terms += fmt::format(" (mod on {} of {} steps)", tally.term_steps["mod"], tally.steps_done);
  double mean_loss = tally.sums["total"] / std::max<int64_t>(1, tally.steps_done);
  if (state_.epoch == 0 || result.first_epoch_loss == 0) result.first_epoch_loss = mean_loss;
  result.last_epoch_loss = mean_loss;
  std::optional<DevMetrics> dev = evaluate_dev();
  bool best = !dev || !job_.select_by_dev || better(*dev);
  if (dev && best) {
    state_.best_metric = to_.select_by == "auc" ? dev->auc : dev->hter;
    state_.best_epoch = state_.epoch;
    result.best_dev = dev;
  }
  log::info("epoch {}/{}: loss {:.4f} ({}){}, {:.1f} img/s, waited {:.2f} s for data{}", state_.epoch + 1, to_.epochs,
            mean_loss, terms.empty() ? "" : terms.substr(1),
            dev ? fmt::format(", dev AUC {:.4f} HTER {:.4f}", dev->auc, dev->hter) : std::string(),
            tally.images * world / std::max(tally.seconds, 1e-9), tally.wait_seconds,
            !dev                  ? ""
            : !job_.select_by_dev ? " (reported only)"
            : best                ? " (best)"
                                  : "");
  ++state_.epoch;
  state_.step_in_epoch = 0;
  save(dev, best);
}

// Rank 0 writes OUT.last.h5, and OUT too when `best`.
void Run::save(const std::optional<DevMetrics>& dev, bool best) {
  if (!comm_.is_root()) return;
  Checkpoint c = make_checkpoint(dev);
  write_checkpoint(last_checkpoint_path(to_.output), c);
  if (best) write_checkpoint(to_.output, c);
}

}  // namespace

TrainResult train(TrainJob& job, const TrainOptions& options, const OptimizerOptions& opt, Communicator& comm) {
  options.validate();
  OperationTrace trace(comm.is_root() ? options.profile : std::string());
  TrainResult result;
  if (job.model->model->method() == model::Method::linear_probe) {
    result = fit_linear_probe(job, options, comm);
  } else {
    opt.validate();
    Run run(job, options, opt, comm);
    result = run.execute();
  }
  trace.finish();
  return result;
}

}  // namespace cmclip::train
