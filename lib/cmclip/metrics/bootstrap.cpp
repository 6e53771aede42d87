#include "cmclip/metrics/bootstrap.hpp"

#include <algorithm>
#include <cmath>
#include <exception>
#include <map>
#include <random>
#include <thread>

#include "cmclip/core/error.hpp"
#include "cmclip/core/progress.hpp"

namespace cmclip::metrics {

namespace {
// SplitMix64 finaliser: decorrelates the per-replicate seeds.
uint64_t mix(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}
}  // namespace

Resampler::Resampler(const std::vector<int16_t>& unit_class, const std::vector<uint32_t>& unit_cluster)
    : num_units_(unit_class.size()) {
  if (!unit_cluster.empty() && unit_cluster.size() != unit_class.size())
    throw RuntimeFailure("Resampler: the unit classes and clusters differ in length");
  // Clusters renumbered in order of their first unit (that holds rows).
  std::map<uint32_t, uint32_t> id;
  for (uint32_t u = 0; u < unit_class.size(); ++u) {
    if (unit_class[u] < 0) continue;
    const uint32_t c = unit_cluster.empty() ? u : unit_cluster[u];
    auto [it, inserted] = id.emplace(c, static_cast<uint32_t>(cluster_units_.size()));
    if (inserted) cluster_units_.emplace_back();
    cluster_units_[it->second].push_back(u);
  }
  num_clusters_ = cluster_units_.size();
  // Strata: the clusters with the same set of classes, ordered by that set; without
  // clusters these are the classes in order (bona fide, then each attack type).
  std::map<std::vector<int16_t>, std::vector<uint32_t>> by_classes;
  for (uint32_t k = 0; k < cluster_units_.size(); ++k) {
    std::vector<int16_t> classes;
    for (uint32_t u : cluster_units_[k]) classes.push_back(unit_class[u]);
    std::sort(classes.begin(), classes.end());
    classes.erase(std::unique(classes.begin(), classes.end()), classes.end());
    by_classes[classes].push_back(k);
  }
  for (auto& [classes, clusters] : by_classes) strata_.push_back(std::move(clusters));
}

void Resampler::draw(uint64_t seed, int replicate, std::vector<uint32_t>& multiplicity) const {
  std::mt19937_64 rng(mix(seed ^ mix(static_cast<uint64_t>(replicate))));
  multiplicity.assign(num_units_, 0u);
  for (const auto& clusters : strata_)
    for (size_t k = 0; k < clusters.size(); ++k)
      for (uint32_t u : cluster_units_[clusters[uniform_below(rng(), clusters.size())]]) ++multiplicity[u];
}

uint64_t uniform_below(uint64_t random64, uint64_t n) {
  return static_cast<uint64_t>((static_cast<unsigned __int128>(random64) * n) >> 64);
}

double percentile(std::vector<double> values, double q) {
  if (values.empty()) return std::nan("");
  std::sort(values.begin(), values.end());
  double h = q * double(values.size() - 1);
  size_t lo = static_cast<size_t>(std::floor(h));
  size_t hi = std::min(lo + 1, values.size() - 1);
  return values[lo] + (h - double(lo)) * (values[hi] - values[lo]);
}

std::map<std::string, Interval> bootstrap_intervals(const SortedScores& s, std::optional<float> threshold, TieRule tie,
                                                    Positive positive, const std::vector<std::string>& type_names,
                                                    const BootstrapOptions& options) {
  const int replicates = options.replicates;
  if (replicates < 2) throw UsageError("--bootstrap needs at least 2 replicates");
  const Resampler resampler(s.unit_class(), options.unit_cluster);

  std::vector<std::string> keys;
  for (const auto& f : named_figures(compute_figures(s, threshold, tie, positive), type_names)) keys.push_back(f.key);
  // values[k][r]: figure k of replicate r; NaN where undefined.
  std::vector<std::vector<double>> values(keys.size(), std::vector<double>(replicates, std::nan("")));

  Progress progress("bootstrap", replicates, "replicates");
  auto run = [&](int first, int step) {
    std::vector<uint32_t> multiplicity;
    for (int r = first; r < replicates; r += step) {
      resampler.draw(options.seed, r, multiplicity);
      const SampleWeights weights = s.sample_weights(multiplicity);
      auto named = named_figures(compute_figures(s, threshold, tie, positive, &weights), type_names);
      for (size_t k = 0; k < keys.size() && k < named.size(); ++k)
        if (named[k].key == keys[k] && named[k].value) values[k][r] = *named[k].value;
      progress.advance();
    }
  };
  const int threads = std::max(1, std::min(options.threads, replicates));
  std::vector<std::exception_ptr> failure(threads);
  auto guarded = [&](int t) {
    try {
      run(t, threads);
    } catch (...) {
      failure[t] = std::current_exception();
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(guarded, t);
  guarded(0);
  for (auto& t : pool) t.join();
  for (auto& e : failure)
    if (e) std::rethrow_exception(e);
  progress.finish();

  std::map<std::string, Interval> out;
  const double tail = (1.0 - options.level) / 2;
  for (size_t k = 0; k < keys.size(); ++k) {
    const auto& v = values[k];
    if (std::any_of(v.begin(), v.end(), [](double x) { return std::isnan(x); })) continue;
    if (threshold && keys[k] == "threshold") continue;  // held fixed: no interval
    out[keys[k]] = {percentile(v, tail), percentile(v, 1.0 - tail)};
  }
  return out;
}

}  // namespace cmclip::metrics
