// Bootstrap confidence intervals for the figures of one set, resampling subjects.
//
// The drawn unit is a cluster: a subject with all its videos (and each video with all
// its rows), or, where the subjects are not recorded, a video. Frames or videos of one
// person are not independent, so resampling them one by one understates the spread.
// Clusters are stratified by the classes they hold (a subject with bona fide and print
// videos is in another stratum than one with bona fide only; without subjects the
// strata are bona fide and each attack type). Each replicate draws, within every
// stratum, as many clusters as the stratum has, uniformly with replacement; a cluster
// brings all its units. Every stratum is drawn from, so every class and attack type
// stays present in every replicate. The
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
  // The cluster of each resampling unit of the SortedScores (its subject); empty: every
  // unit is a cluster of its own (videos are resampled).
  std::vector<uint32_t> unit_cluster;
};

// The draws of the bootstrap: which units each replicate holds, and how often.
class Resampler {
 public:
  // `unit_class`: the class of each unit (-1: a unit without rows, never drawn).
  // `unit_cluster`: the cluster of each unit (empty: one cluster per unit).
  Resampler(const std::vector<int16_t>& unit_class, const std::vector<uint32_t>& unit_cluster);
  // The multiplicity of every unit in replicate r: from its own std::mt19937_64 seeded
  // from (seed, r), the strata in order of their class sets, the clusters of a stratum in
  // order of their first unit. Units of one cluster always get the same multiplicity.
  void draw(uint64_t seed, int replicate, std::vector<uint32_t>& multiplicity) const;
  size_t num_clusters() const { return num_clusters_; }
  size_t num_strata() const { return strata_.size(); }

 private:
  std::vector<std::vector<uint32_t>> cluster_units_;  // units of each cluster
  std::vector<std::vector<uint32_t>> strata_;         // clusters of each stratum
  size_t num_units_ = 0, num_clusters_ = 0;
};

using Interval = std::pair<double, double>;

// Key (as in named_figures) -> interval; a figure undefined in any replicate has none,
// nor has a threshold held fixed.
std::map<std::string, Interval> bootstrap_intervals(const SortedScores& s, std::optional<float> threshold, TieRule tie,
                                                    Positive positive, const std::vector<std::string>& type_names,
                                                    const BootstrapOptions& options);

// Linear-interpolation percentile (NumPy's default) of `values`, q in [0, 1].
double percentile(std::vector<double> values, double q);
// Uniform integer in [0, n) from one 64-bit draw (multiply-shift; bias below n / 2^64).
uint64_t uniform_below(uint64_t random64, uint64_t n);

}  // namespace cmclip::metrics
