#include "cmclip/metrics/sorted_scores.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "cmclip/core/error.hpp"

namespace cmclip::metrics {

uint32_t sortable_key(float x) {
  if (x == 0.0f) x = 0.0f;  // -0 sorts and groups with +0
  uint32_t bits;
  std::memcpy(&bits, &x, sizeof bits);
  return (bits & 0x80000000u) ? ~bits : (bits | 0x80000000u);
}

void radix_sort_by_high32(std::vector<uint64_t>& keys) {
  std::vector<uint64_t> tmp(keys.size());
  for (int shift : {32, 48}) {
    std::vector<size_t> count(65537, 0);
    for (uint64_t k : keys) ++count[((k >> shift) & 0xFFFF) + 1];
    for (size_t b = 1; b < count.size(); ++b) count[b] += count[b - 1];
    for (uint64_t k : keys) tmp[count[(k >> shift) & 0xFFFF]++] = k;
    keys.swap(tmp);
  }
}

SortedScores::SortedScores(const std::vector<float>& score, const std::vector<int16_t>& cls, int num_types,
                           const std::vector<uint32_t>& unit, uint32_t num_units)
    : num_types_(num_types), num_units_(unit.empty() ? static_cast<uint32_t>(score.size()) : num_units) {
  const size_t n = score.size();
  if (cls.size() != n || (!unit.empty() && unit.size() != n))
    throw RuntimeFailure("SortedScores: score, class and unit arrays differ in length");
  if (n > std::numeric_limits<uint32_t>::max())
    throw RuntimeFailure("SortedScores: more than 2^32 scores in one set");
  std::vector<uint64_t> keys(n);
  for (size_t i = 0; i < n; ++i) keys[i] = (uint64_t(sortable_key(score[i])) << 32) | i;
  radix_sort_by_high32(keys);

  score_.resize(n);
  cls_.resize(n);
  unit_.resize(n);
  group_begin_.reserve(n / 2 + 2);
  unit_class_.assign(num_units_, -1);
  for (size_t j = 0; j < n; ++j) {
    size_t i = keys[j] & 0xFFFFFFFFu;
    score_[j] = score[i] == 0.0f ? 0.0f : score[i];
    cls_[j] = cls[i];
    unit_[j] = unit.empty() ? static_cast<uint32_t>(i) : unit[i];
    if (j == 0 || score_[j] != score_[j - 1]) group_begin_.push_back(j);
    if (unit_class_[unit_[j]] < 0) unit_class_[unit_[j]] = cls_[j];
  }
  group_begin_.push_back(n);
}

std::vector<int64_t> SortedScores::class_totals(const SampleWeights* w) const {
  std::vector<int64_t> totals(num_types_ + 1, 0);
  for (size_t i = 0; i < score_.size(); ++i) totals[cls_[i]] += weight(i, w);
  return totals;
}

SampleWeights SortedScores::sample_weights(const std::vector<uint32_t>& unit_multiplicity) const {
  SampleWeights w(unit_.size());
  for (size_t i = 0; i < unit_.size(); ++i) w[i] = unit_multiplicity[unit_[i]];
  return w;
}

size_t SortedScores::cut_of_threshold(float tau, TieRule tie) const {
  // Binary search over the group values.
  size_t lo = 0, hi = groups();
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    bool below = tie == TieRule::accept ? value(mid) < tau : value(mid) <= tau;
    if (below) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

float SortedScores::threshold_of_cut(size_t cut, TieRule tie) const {
  const float inf = std::numeric_limits<float>::infinity();
  if (groups() == 0) throw RuntimeFailure("threshold of an empty score set");
  if (tie == TieRule::accept)
    return cut < groups() ? value(cut) : std::nextafter(value(groups() - 1), inf);
  return cut > 0 ? value(cut - 1) : std::nextafter(value(0), -inf);
}

}  // namespace cmclip::metrics
