// The one data structure every PAD metric is computed on: the scores of one set
// sorted ascending and grouped by distinct value, with each sample's class
// (0 = bona fide, t >= 1 = attack type t) and its resampling unit (video).
//
// Every threshold-dependent figure is a function of a *cut* c in 0..groups():
// the samples of groups [0, c) are rejected (called attacks), those of groups
// [c, groups()) are accepted (called bona fide). Both tie rules reach the same
// cuts; they differ only in which threshold value realises a cut (see
// threshold_of_cut). Sorting once (O(N log N), a radix sort) and then sweeping
// the cuts (O(N)) gives every figure; a bootstrap replicate is only a set of
// integer weights, so it re-sweeps without re-sorting.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace cmclip::metrics {

enum class TieRule { accept, reject };

// The weight of each sorted sample: its unit's multiplicity in a bootstrap replicate
// (see SortedScores::sample_weights). A null pointer weighs every sample 1.
using SampleWeights = std::vector<uint32_t>;

class SortedScores {
 public:
  // `score[i]` must be finite. `cls[i]`: 0 bona fide, 1..num_types attack types.
  // `unit[i]` < num_units is the resampling unit of sample i; an empty `unit` makes
  // every sample its own unit.
  // `threads` share the sort (the result does not depend on their number).
  SortedScores(const std::vector<float>& score, const std::vector<int16_t>& cls, int num_types,
               const std::vector<uint32_t>& unit = {}, uint32_t num_units = 0, int threads = 1);

  size_t size() const { return score_.size(); }
  size_t groups() const { return group_begin_.size() - 1; }
  int num_types() const { return num_types_; }
  uint32_t num_units() const { return num_units_; }
  float value(size_t group) const { return score_[group_begin_[group]]; }
  size_t group_begin(size_t group) const { return group_begin_[group]; }
  float score(size_t i) const { return score_[i]; }  // i-th smallest
  int16_t cls(size_t i) const { return cls_[i]; }
  uint32_t unit(size_t i) const { return unit_[i]; }
  // The class of each unit (all samples of a unit share it; checked by the caller).
  const std::vector<int16_t>& unit_class() const { return unit_class_; }

  uint32_t weight(size_t i, const SampleWeights* w) const { return w ? (*w)[i] : 1u; }
  // Per-sample weights from per-unit multiplicities (gathered once, so the sweeps that
  // follow read them in order).
  SampleWeights sample_weights(const std::vector<uint32_t>& unit_multiplicity) const;

  // Weighted totals: [0] bona fide, [t] attack type t.
  std::vector<int64_t> class_totals(const SampleWeights* w = nullptr) const;

  // Calls fn(cut, live_below, attacks_below) for cut = 0..groups(): the weighted
  // number of bona fide and of attacks (pooled) in the rejected groups [0, cut).
  template <class Fn>
  void for_each_cut(const SampleWeights* w, Fn&& fn) const {
    int64_t live = 0, attacks = 0;
    fn(size_t{0}, live, attacks);
    for (size_t g = 0; g + 1 < group_begin_.size(); ++g) {
      for (size_t i = group_begin_[g]; i < group_begin_[g + 1]; ++i) {
        int64_t wi = weight(i, w);
        if (cls_[i] == 0) live += wi;
        else attacks += wi;
      }
      fn(g + 1, live, attacks);
    }
  }

  // The cut a threshold makes. accept: attacks with score >= tau are accepted, so the
  // groups below tau are rejected; reject: scores equal to tau are rejected too.
  size_t cut_of_threshold(float tau, TieRule tie) const;
  // The threshold that makes `cut` under `tie`: a score of this set, or the float
  // just outside its range for "accept everything"/"reject everything".
  float threshold_of_cut(size_t cut, TieRule tie) const;

 private:
  std::vector<float> score_;
  std::vector<int16_t> cls_;
  std::vector<uint32_t> unit_;
  std::vector<uint32_t> group_begin_;  // groups() + 1 entries, last = size() (< 2^32)
  std::vector<int16_t> unit_class_;
  std::vector<int64_t> totals_;  // unweighted class_totals
  int num_types_;
  uint32_t num_units_;
};

// Sorts `keys` by their upper 32 bits (LSD radix, three 11-bit passes; equal keys keep
// their order), on `threads` threads. Exposed for the tests.
void radix_sort_by_high32(std::vector<uint64_t>& keys, int threads = 1);
// Order-preserving map of a finite float to uint32 (-0 and +0 map alike).
uint32_t sortable_key(float x);

}  // namespace cmclip::metrics
