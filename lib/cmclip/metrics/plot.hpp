// ROC and DET curves of every test set of an evaluation, drawn with OpenCV into a PNG:
// one coloured curve per test set with a legend (AUC, EER, error rates at the
// threshold), the operating point at the applied threshold marked on each curve,
// labelled axes with ticks.
//  ROC: x = FPR on a log axis, y = TPR, for the positive class of --positive.
//  DET: x = APCER pooled, y = BPCER, both on normal-deviate (probit) axes, with the
//       EER diagonal.
#pragma once
#include <string>

#include "cmclip/metrics/evaluation.hpp"

namespace cmclip::metrics {

enum class PlotKind { roc, det };

// `type` "roc"/"det", or "auto": DET when the file name contains "det" (any case),
// ROC otherwise. The name must end in .png (UsageError otherwise).
PlotKind plot_kind_for(const std::string& path, const std::string& type);

// The PNG file's bytes.
std::string render_plot(const Evaluation& e, PlotKind kind);

// Inverse of the standard normal CDF (for the DET axes); p in (0, 1).
double normal_quantile(double p);

}  // namespace cmclip::metrics
