#include "cmclip/metrics/sorted_scores.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <thread>

#include "cmclip/core/error.hpp"

namespace cmclip::metrics {

uint32_t sortable_key(float x) {
  if (x == 0.0f) x = 0.0f;  // -0 sorts and groups with +0
  uint32_t bits;
  std::memcpy(&bits, &x, sizeof bits);
  return (bits & 0x80000000u) ? ~bits : (bits | 0x80000000u);
}

namespace {
// The inverse of sortable_key (for +0 where the score was -0).
float score_of_key(uint32_t key) {
  uint32_t bits = (key & 0x80000000u) ? (key & 0x7FFFFFFFu) : ~key;
  float x;
  std::memcpy(&x, &bits, sizeof x);
  return x;
}

// Runs fn(t, begin, end) for `threads` contiguous shares of [0, n) on as many threads
// (the caller's among them). Shares are in order, so per-share results concatenate
// into what one thread would produce.
template <class Fn>
void in_shares(size_t n, int threads, Fn&& fn) {
  auto share = [&](int t) { return std::pair<size_t, size_t>{n * t / threads, n * (t + 1) / threads}; };
  std::vector<std::thread> workers;
  for (int t = 1; t < threads; ++t) workers.emplace_back([&, t] { fn(t, share(t).first, share(t).second); });
  fn(0, share(0).first, share(0).second);
  for (auto& w : workers) w.join();
}

int useful_threads(size_t n, int threads) { return n < (size_t(1) << 16) ? 1 : std::clamp(threads, 1, 16); }
}  // namespace

void radix_sort_by_high32(std::vector<uint64_t>& keys, int threads) {
  // Three passes of 11 bits: 2048 buckets stay in the caches while the keys stream
  // through (16-bit digits scatter to 65536 places at once). A pass whose digit is the
  // same for every key (scores in a narrow range share their top bits) is skipped.
  // Threads count and scatter their own shares; bucket-major, share-minor offsets
  // keep the sort stable, so the result is the same for any number of threads.
  constexpr int kBits = 11;
  constexpr size_t kBuckets = size_t(1) << kBits;
  const size_t n = keys.size();
  const int nt = useful_threads(n, threads);
  std::vector<uint64_t> tmp(n);
  std::vector<std::vector<size_t>> count(nt, std::vector<size_t>(kBuckets));
  for (int shift : {32, 32 + kBits, 32 + 2 * kBits}) {
    auto digit = [shift](uint64_t k) { return (k >> shift) & (kBuckets - 1); };
    in_shares(n, nt, [&](int t, size_t b, size_t e) {
      std::fill(count[t].begin(), count[t].end(), 0);
      for (size_t i = b; i < e; ++i) ++count[t][digit(keys[i])];
    });
    size_t offset = 0;
    bool one_digit = false;
    for (size_t d = 0; d < kBuckets; ++d) {
      size_t in_bucket = 0;
      for (int t = 0; t < nt; ++t) {
        const size_t c = count[t][d];
        count[t][d] = offset + in_bucket;
        in_bucket += c;
      }
      one_digit = one_digit || in_bucket == n;
      offset += in_bucket;
    }
    if (one_digit) continue;
    in_shares(n, nt, [&](int t, size_t b, size_t e) {
      std::vector<size_t>& next = count[t];
      for (size_t i = b; i < e; ++i) tmp[next[digit(keys[i])]++] = keys[i];
    });
    keys.swap(tmp);
  }
}

SortedScores::SortedScores(const std::vector<float>& score, const std::vector<int16_t>& cls, int num_types,
                           const std::vector<uint32_t>& unit, uint32_t num_units, int threads)
    : num_types_(num_types), num_units_(unit.empty() ? static_cast<uint32_t>(score.size()) : num_units) {
  const size_t n = score.size();
  if (cls.size() != n || (!unit.empty() && unit.size() != n))
    throw RuntimeFailure("SortedScores: score, class and unit arrays differ in length");
  if (n > std::numeric_limits<uint32_t>::max()) throw RuntimeFailure("SortedScores: more than 2^32 scores in one set");
  const int nt = useful_threads(n, threads);
  // Low 32 bits of a key: the sample index, and the class beside it when both fit, so
  // that after sorting nothing is gathered from the unsorted input at random.
  int cls_bits = 0;
  while ((int64_t(1) << cls_bits) <= num_types) ++cls_bits;
  const bool packed = unit.empty() && (uint64_t(n) << cls_bits) <= (uint64_t(1) << 32);
  const int index_shift = packed ? cls_bits : 0;
  const uint32_t cls_mask = packed ? (1u << cls_bits) - 1 : 0;
  std::vector<uint64_t> keys(n);
  in_shares(n, nt, [&](int, size_t b, size_t e) {
    for (size_t i = b; i < e; ++i)
      keys[i] =
          (uint64_t(sortable_key(score[i])) << 32) | (uint64_t(i) << index_shift) | (packed ? uint64_t(cls[i]) : 0);
  });
  radix_sort_by_high32(keys, nt);

  score_.resize(n);
  cls_.resize(n);
  unit_.resize(n);
  // The score comes back from its key, and the class and the index (the unit when
  // there are none) from its low bits. Groups are counted per share first, so that
  // each share writes its group starts straight into place.
  auto starts_group = [&](size_t j) { return j == 0 || (keys[j] >> 32) != (keys[j - 1] >> 32); };
  std::vector<size_t> group_offset(nt + 1, 0);
  in_shares(n, nt, [&](int t, size_t b, size_t e) {
    size_t g = 0;
    for (size_t j = b; j < e; ++j) g += starts_group(j);
    group_offset[t + 1] = g;
  });
  for (int t = 0; t < nt; ++t) group_offset[t + 1] += group_offset[t];
  group_begin_.resize(group_offset[nt] + 1);
  std::vector<std::vector<int64_t>> totals(nt, std::vector<int64_t>(num_types_ + 1, 0));
  in_shares(n, nt, [&](int t, size_t b, size_t e) {
    uint32_t* starts = group_begin_.data() + group_offset[t];
    for (size_t j = b; j < e; ++j) {
      const uint64_t k = keys[j];
      const uint32_t low = static_cast<uint32_t>(k);
      const size_t i = low >> index_shift;
      score_[j] = score_of_key(static_cast<uint32_t>(k >> 32));
      cls_[j] = packed ? static_cast<int16_t>(low & cls_mask) : cls[i];
      unit_[j] = unit.empty() ? static_cast<uint32_t>(i) : unit[i];
      ++totals[t][cls_[j]];
      if (starts_group(j)) *starts++ = static_cast<uint32_t>(j);
    }
  });
  keys = std::vector<uint64_t>();
  totals_.assign(num_types_ + 1, 0);
  for (const auto& t : totals)
    for (size_t c = 0; c < t.size(); ++c) totals_[c] += t[c];
  group_begin_.back() = static_cast<uint32_t>(n);
  if (unit.empty()) {
    unit_class_ = cls;  // every sample its own unit
  } else {
    unit_class_.assign(num_units_, -1);
    for (size_t j = 0; j < n; ++j)
      if (unit_class_[unit_[j]] < 0) unit_class_[unit_[j]] = cls_[j];
  }
}

std::vector<int64_t> SortedScores::class_totals(const SampleWeights* w) const {
  if (!w) return totals_;
  std::vector<int64_t> totals(num_types_ + 1, 0);
  for (size_t i = 0; i < score_.size(); ++i) totals[cls_[i]] += (*w)[i];
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
  if (tie == TieRule::accept) return cut < groups() ? value(cut) : std::nextafter(value(groups() - 1), inf);
  return cut > 0 ? value(cut - 1) : std::nextafter(value(0), -inf);
}

}  // namespace cmclip::metrics
