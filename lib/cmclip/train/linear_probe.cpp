#include "cmclip/train/linear_probe.hpp"

#include <torch/nn/functional/loss.h>
#include <torch/optim/lbfgs.h>
#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <map>

#include <fmt/format.h>

#include "cmclip/core/error.hpp"
#include "cmclip/core/log.hpp"
#include "cmclip/core/random.hpp"
#include "cmclip/data/transfer.hpp"
#include "cmclip/h5/checkpoint.hpp"

namespace cmclip::train {

LogisticFit fit_logistic(const at::Tensor& x, const at::Tensor& y, double C, int64_t max_iter) {
  const int64_t n = x.size(0), e = x.size(1);
  torch::Tensor w = torch::zeros({2, e}, torch::kDouble).requires_grad_(true);
  torch::Tensor b = torch::zeros({2}, torch::kDouble).requires_grad_(true);
  torch::AutoGradMode grad_on(true);
  // Tolerances well below scikit-learn's (1e-4), so the fit is the objective's
  // minimum to float precision; max_iter is scikit-learn's 1000 of CLIP's probe.
  torch::optim::LBFGS lbfgs({w, b}, torch::optim::LBFGSOptions(1.0)
                                        .max_iter(max_iter)
                                        .max_eval(max_iter * 5 / 4)
                                        .tolerance_grad(1e-8)
                                        .tolerance_change(1e-12)
                                        .history_size(10)
                                        .line_search_fn("strong_wolfe"));
  const double penalty = 1.0 / (2.0 * C * double(n));
  auto objective = [&] {
    return torch::nn::functional::cross_entropy(at::addmm(b, x, w.t()), y) + penalty * w.pow(2).sum();
  };
  lbfgs.step([&] {
    lbfgs.zero_grad();
    torch::Tensor loss = objective();
    loss.backward();
    return loss;
  });
  LogisticFit fit;
  fit.weight = w.detach();
  fit.bias = b.detach();
  {
    torch::NoGradGuard no_grad;
    fit.loss = objective().item<double>();
  }
  return fit;
}

std::vector<float> logistic_scores(const LogisticFit& fit, const at::Tensor& x) {
  at::NoGradGuard no_grad;
  at::Tensor p = at::addmm(fit.bias, x, fit.weight.t()).softmax(-1).select(1, 1).to(at::kFloat).contiguous();
  return std::vector<float>(p.data_ptr<float>(), p.data_ptr<float>() + p.numel());
}

int64_t assign_folds(const std::vector<std::string>& group, const std::vector<bool>& live, uint64_t seed,
                     std::vector<int64_t>& fold) {
  std::map<std::string, int64_t> group_fold;
  std::vector<std::string> keys[2];
  for (size_t i = 0; i < group.size(); ++i) {
    std::string key = std::string(live[i] ? "L" : "A") + group[i];
    if (group_fold.emplace(key, -1).second) keys[live[i] ? 1 : 0].push_back(key);
  }
  int64_t folds = std::min<int64_t>(5, static_cast<int64_t>(std::min(keys[0].size(), keys[1].size())));
  fold.assign(group.size(), 0);
  if (folds < 2) return 0;
  for (int c : {0, 1}) {
    std::sort(keys[c].begin(), keys[c].end());
    Rng rng(derive_seed(seed, {0x666f6c6473ULL /* "folds" */, uint64_t(c)}));
    rng.shuffle(keys[c]);
    for (size_t k = 0; k < keys[c].size(); ++k) group_fold[keys[c][k]] = static_cast<int64_t>(k) % folds;
  }
  for (size_t i = 0; i < group.size(); ++i) fold[i] = group_fold[std::string(live[i] ? "L" : "A") + group[i]];
  return folds;
}

namespace {
struct Features {
  at::Tensor x, y;             // double [N, E], int64 [N]
  std::vector<int8_t> labels;  // the store's labels
  std::vector<std::string> group;
};

Features features_of(model::FasModel& model, const SampleStore& store, const std::vector<int64_t>& indices,
                     int64_t batch_size) {
  Features f;
  std::vector<at::Tensor> parts;
  for_each_eval_batch(model, store, indices, batch_size, [&](const data::Batch& batch) {
    at::NoGradGuard no_grad;
    parts.push_back(model->image_features(data::to_device(batch.images, model->device())).to(at::kCPU, at::kDouble));
  });
  f.x = at::cat(parts, 0).contiguous();
  std::vector<std::string> videos = store.videos(0, store.size()), sources = store.sources(0, store.size());
  std::vector<int64_t> y;
  for (int64_t i : indices) {
    f.labels.push_back(store.labels()[static_cast<size_t>(i)]);
    y.push_back(f.labels.back() == kLive ? 1 : 0);
    const std::string& video = videos[static_cast<size_t>(i)];
    f.group.push_back(video.empty() ? sources[static_cast<size_t>(i)] : video);
  }
  f.y = at::tensor(y, at::kLong);
  return f;
}

// How good C is on the validation data: the run's metric (dev AUC, or minus the HTER),
// then, where that saturates (AUC 1 at many C on easy data), minus the mean log-loss
// of the held-out scores. Larger is better.
struct Figure {
  double metric = -INFINITY, neg_log_loss = -INFINITY;
  bool operator>(const Figure& o) const {
    return metric != o.metric ? metric > o.metric : neg_log_loss > o.neg_log_loss;
  }
  bool operator==(const Figure& o) const { return metric == o.metric && neg_log_loss == o.neg_log_loss; }
};

class Validation {
 public:
  Validation(const Features& train, const Features* dev, const std::string& metric, uint64_t seed)
      : train_(train), dev_(dev), metric_(metric) {
    if (!dev_) folds_ = assign_folds(train_.group, live(train_), seed, fold_);
  }
  bool possible() const { return dev_ || folds_ >= 2; }
  std::string describe() const {
    return dev_ ? fmt::format("the dev set ({} samples)", dev_->labels.size())
                : fmt::format("{}-fold cross-validation over the training videos", folds_);
  }
  Figure operator()(double C) const {
    if (dev_) return figure(logistic_scores(fit_logistic(train_.x, train_.y, C), dev_->x), dev_->labels);
    std::vector<float> pooled(train_.labels.size());
    for (int64_t f = 0; f < folds_; ++f) {
      std::vector<int64_t> in, out;
      for (size_t i = 0; i < fold_.size(); ++i) (fold_[i] == f ? out : in).push_back(static_cast<int64_t>(i));
      at::Tensor in_t = at::tensor(in, at::kLong), out_t = at::tensor(out, at::kLong);
      auto scores = logistic_scores(fit_logistic(train_.x.index_select(0, in_t), train_.y.index_select(0, in_t), C),
                                    train_.x.index_select(0, out_t));
      for (size_t j = 0; j < out.size(); ++j) pooled[static_cast<size_t>(out[j])] = scores[j];
    }
    return figure(pooled, train_.labels);
  }

 private:
  static std::vector<bool> live(const Features& f) {
    std::vector<bool> l;
    for (int8_t v : f.labels) l.push_back(v == kLive);
    return l;
  }
  Figure figure(const std::vector<float>& scores, const std::vector<int8_t>& labels) const {
    DevMetrics d = dev_metrics(scores, labels);
    double log_loss = 0;
    for (size_t i = 0; i < scores.size(); ++i) {
      double p = std::clamp(double(scores[i]), 1e-7, 1 - 1e-7);
      log_loss -= std::log(labels[i] == kLive ? p : 1 - p);
    }
    return {metric_ == "auc" ? d.auc : -d.hter, -log_loss / double(scores.size())};
  }
  const Features& train_;
  const Features* dev_;
  std::string metric_;
  std::vector<int64_t> fold_;
  int64_t folds_ = 0;
};

// CLIP's search: a decade grid, then two refinements around the best.
double search_c(const Validation& validate, Figure& best) {
  double best_log = 0;
  best = Figure{};
  auto consider = [&](double log_c) {
    Figure v = validate(std::pow(10.0, log_c));
    if (v > best || (v == best && log_c < best_log)) {
      best = v;
      best_log = log_c;
    }
  };
  for (int k = -6; k <= 6; ++k) consider(k);
  for (double step : {0.5, 0.25}) {
    double centre = best_log;
    consider(centre - step);
    consider(centre + step);
  }
  return std::pow(10.0, best_log);
}

std::vector<int64_t> training_indices(const data::Pool& pool) {
  std::vector<int64_t> out;
  for (int c : {0, 1})
    for (const auto& group : pool.groups[c]) out.insert(out.end(), group.begin(), group.end());
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<int64_t> dev_indices(const DevSet& dev) {
  std::vector<int64_t> out;
  for (int64_t i = 0; i < dev.store->size(); ++i)
    if (!dev.modality || dev.store->modalities()[i] == static_cast<int8_t>(*dev.modality)) out.push_back(i);
  return out;
}
}  // namespace

TrainResult fit_linear_probe(TrainJob& job, const TrainOptions& to, Communicator& comm) {
  if (job.replay)
    throw UsageError(
        "linear-probe fits on the training samples alone: it has no batches to mix "
        "source samples into (give --replay-ratio 0)");
  model::FasModel& model = job.model->model;
  compute::PrecisionScope precision(to.precision.parsed(), model->device());
  Features train = features_of(model, *job.train, training_indices(job.target), to.eval_batch_size);
  // The dev features are encoded once: they choose C when the run selects by them,
  // and give the dev figures of the fit either way.
  std::optional<Features> dev;
  if (job.dev) dev = features_of(model, *job.dev->store, dev_indices(*job.dev), to.eval_batch_size);
  Validation validate(train, dev && job.select_by_dev ? &*dev : nullptr, to.select_by, job.seed);
  double C = 1.0;
  std::string chosen_by = "no validation data (fewer than two videos per class): C = 1";
  if (validate.possible()) {
    Figure best;
    C = search_c(validate, best);
    chosen_by = fmt::format("{} (best {} {:.4f}, log-loss {:.4f})", validate.describe(), to.select_by,
                            to.select_by == "auc" ? best.metric : -best.metric, -best.neg_log_loss);
  }
  LogisticFit fit = fit_logistic(train.x, train.y, C);
  {
    at::NoGradGuard no_grad;
    model->head->weight.copy_(fit.weight.to(model->head->weight.options()));
    model->head->bias.copy_(fit.bias.to(model->head->bias.options()));
  }
  log::info(
      "linear probe: L-BFGS logistic regression on {} frozen image features, C = {:.4g} chosen by {}; "
      "final objective {:.5f}",
      train.labels.size(), C, chosen_by, fit.loss);
  TrainResult result;
  if (dev) {
    result.best_dev = dev_metrics(logistic_scores(fit, dev->x), dev->labels);
    log::info("dev: AUC {:.4f}, HTER {:.4f} at its EER threshold{}", result.best_dev->auc, result.best_dev->hter,
              job.select_by_dev ? "" : " (reported only)");
  }
  std::map<std::string, h5::AttrValue> config{
      {"train_seed", static_cast<int64_t>(job.seed)},
      {"train_epochs", int64_t{0}},
      {"optimizer", std::string("lbfgs")},
      {"train_select_by", job.dev && job.select_by_dev ? to.select_by : std::string("last")},
      {"probe_c", C},
      {"probe_validation", chosen_by},
      {"probe_samples", static_cast<int64_t>(train.labels.size())}};
  if (comm.is_root()) write_checkpoint(to.output, job_checkpoint(job, config));
  comm.barrier();
  return result;
}

}  // namespace cmclip::train
