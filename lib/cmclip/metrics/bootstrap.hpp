// Bootstrap confidence intervals for the figures of one set, resampling videos.
//
// Each replicate draws, within every stratum (bona fide, and each attack type), as many
// units (videos) as the stratum has, uniformly with replacement; a unit brings all its
// rows. The strata keep every class and attack type present in every replicate. The
// threshold is held fixed when it comes from a dev set or the command line (the dev set
// is not resampled) and is the replicate's own EER threshold otherwise. The interval is
// the 2.5th..97.5th percentile of the replicate values (linear interpolation between
// order statistics, as NumPy's default). Replicate r draws from its own
// std::mt19937_64 seeded from (seed, r), so the result depends neither on the number
// of threads nor on their scheduling.
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "cmclip/metrics/pad_metrics.hpp"

namespace cmclip::metrics {

struct BootstrapOptions {
  int replicates = 0;
  uint64_t seed = 0;
  int threads = 1;
  double level = 0.95;
};

using Interval = std::pair<double, double>;

// Key (as in named_figures) -> interval; a figure undefined in any replicate has none,
// nor has a threshold held fixed.
std::map<std::string, Interval> bootstrap_intervals(const SortedScores& s, std::optional<float> threshold,
                                                    TieRule tie, Positive positive,
                                                    const std::vector<std::string>& type_names,
                                                    const BootstrapOptions& options);

// Linear-interpolation percentile (NumPy's default) of `values`, q in [0, 1].
double percentile(std::vector<double> values, double q);
// Uniform integer in [0, n) from one 64-bit draw (multiply-shift; bias below n / 2^64).
uint64_t uniform_below(uint64_t random64, uint64_t n);

}  // namespace cmclip::metrics
