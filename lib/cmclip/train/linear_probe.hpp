// The linear-probe baseline as CLIP's paper fits it: L2-regularised logistic
// regression on the frozen image features, by L-BFGS, with the inverse regularisation
// strength C chosen on validation data. The minimised objective is scikit-learn's
// (multinomial over the two classes, the bias not penalised):
//   C * sum_i CE(W x_i + b, y_i) + ||W||^2 / 2
// C is searched over 10^-6 .. 10^6 (a decade apart), then refined twice around the
// best (x10^+-0.5, x10^+-0.25). It is judged by the run's metric (--select-by: AUC or
// HTER) on held-out scores, then by their log-loss where the metric ties (an AUC of
// 1 at many C on easy data), then the smaller C. The validation data is the
// dev set when the run selects by it, else K-fold cross-validation over the training
// videos (fold f holds every f-th video of each class, F = min(5, videos per class));
// with fewer than two videos per class there is nothing to validate on and C = 1.
#pragma once
#include <ATen/core/Tensor.h>

#include <vector>

#include "cmclip/train/communicator.hpp"
#include "cmclip/train/trainer.hpp"

namespace cmclip::train {

struct LogisticFit {
  at::Tensor weight, bias;  // double [2, E], [2]
  double loss = 0;          // the objective divided by C * N (mean CE + penalty)
};

// Fits the two-class logistic regression on features [N, E] (double) and labels [N]
// (int64, 1 live). Deterministic for a fixed thread count.
LogisticFit fit_logistic(const at::Tensor& features, const at::Tensor& labels, double C, int64_t max_iter = 1000);
// P(live) of each row of features under a fit.
std::vector<float> logistic_scores(const LogisticFit& fit, const at::Tensor& features);

// Each training sample's fold for cross-validation: `group` is its video (or still),
// `live` its class; every group's samples share a fold. Returns the fold count F
// (0 when a class has fewer than two groups).
int64_t assign_folds(const std::vector<std::string>& group, const std::vector<bool>& live, uint64_t seed,
                     std::vector<int64_t>& fold);

// fas-pretrain / fas-fewshot --method linear-probe: features of the job's training
// samples, the C search, the final fit into the model's head, and one checkpoint at
// the output path. Logs the search.
TrainResult fit_linear_probe(TrainJob& job, const TrainOptions& options, Communicator& comm);

}  // namespace cmclip::train
