// Seeded random numbers that are the same with every C++ library and on every
// machine: std::mt19937_64 is fully specified by the standard, but the
// std::*_distribution classes are not, and glibc's log/cos differ in the last bit
// between CPUs, so the mapping to floats, ranges and normals is written out here with
// portable arithmetic. Streams are derived from (seed, keys...), so that work split
// across threads and ranks draws the same numbers in any order. fas-synth's images are
// pinned to this exact engine and mapping: changing them changes every dataset.
#pragma once
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <random>
#include <utility>
#include <vector>

#include "cmclip/core/portable_math.hpp"

namespace cmclip {

// SplitMix64 finaliser: a well-mixed 64-bit hash of a 64-bit value.
inline uint64_t mix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// A seed derived from a base seed and a path of integers (subject, epoch, sample...),
// so every item gets its own independent stream whatever order items are made in.
inline uint64_t derive_seed(uint64_t seed, std::initializer_list<uint64_t> path) {
  uint64_t h = mix64(seed ^ 0x636D636C69700000ull);  // "cmclip"
  for (uint64_t p : path) h = mix64(h ^ mix64(p + 0x51ED270B27A3CD2Full));
  return h;
}

class Rng {
 public:
  explicit Rng(uint64_t seed) : engine_(seed) {}

  uint64_t next() { return engine_(); }
  // Uniform in [0, 1): the top 53 bits of one draw.
  double uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  // Uniform integer in [0, n) (n > 0), by rejection so there is no modulo bias.
  uint64_t below(uint64_t n) {
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do x = engine_();
    while (x >= limit);
    return x % n;
  }
  int range(int lo, int hi_inclusive) { return lo + static_cast<int>(below(uint64_t(hi_inclusive - lo) + 1)); }
  bool chance(double p) { return uniform() < p; }
  // Standard normal by Box-Muller (one value per call; the pair's second is dropped
  // so the stream position depends only on the number of calls).
  double normal() {
    float u1 = static_cast<float>(1.0 - uniform());  // (0, 1]
    float u2 = static_cast<float>(uniform());
    if (u1 <= 0) u1 = 0x1.0p-24f;
    return static_cast<double>(std::sqrt(-2.0f * dmath::log(u1)) * dmath::cos(6.2831853f * u2));
  }
  double normal(double mean, double sd) { return mean + sd * normal(); }
  // Fisher-Yates.
  template <class T>
  void shuffle(std::vector<T>& v) {
    for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[static_cast<size_t>(below(i))]);
  }

 private:
  std::mt19937_64 engine_;
};

}  // namespace cmclip
