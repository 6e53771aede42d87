#include "cmclip/metrics/bootstrap.hpp"

#include <algorithm>
#include <cmath>
#include <exception>
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

std::map<std::string, Interval> bootstrap_intervals(const SortedScores& s, std::optional<float> threshold,
                                                    TieRule tie, Positive positive,
                                                    const std::vector<std::string>& type_names,
                                                    const BootstrapOptions& options) {
  const int replicates = options.replicates;
  if (replicates < 2) throw UsageError("--bootstrap needs at least 2 replicates");
  // Strata: the units of each class, in unit order.
  std::vector<std::vector<uint32_t>> strata(s.num_types() + 1);
  for (uint32_t u = 0; u < s.num_units(); ++u)
    if (s.unit_class()[u] >= 0) strata[s.unit_class()[u]].push_back(u);

  std::vector<std::string> keys;
  for (const auto& f : named_figures(compute_figures(s, threshold, tie, positive), type_names)) keys.push_back(f.key);
  // values[k][r]: figure k of replicate r; NaN where undefined.
  std::vector<std::vector<double>> values(keys.size(), std::vector<double>(replicates, std::nan("")));

  Progress progress("bootstrap", replicates, "replicates");
  auto run = [&](int first, int step) {
    std::vector<uint32_t> multiplicity(s.num_units());
    for (int r = first; r < replicates; r += step) {
      std::mt19937_64 rng(mix(options.seed ^ mix(static_cast<uint64_t>(r))));
      std::fill(multiplicity.begin(), multiplicity.end(), 0u);
      for (const auto& units : strata)
        for (size_t k = 0; k < units.size(); ++k) ++multiplicity[units[uniform_below(rng(), units.size())]];
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
