// Deterministic random numbers that give the same values on every platform and C++
// library (std::*_distribution do not): a SplitMix64-seeded xoshiro256** generator
// with its own mapping to floats, and stream derivation from (seed, keys...) so that
// work can be split across threads and ranks without changing any number.
#pragma once
#include <cstdint>
#include <initializer_list>
#include <vector>

namespace cmclip {

// SplitMix64 step: a good 64-bit mix of `x`.
uint64_t mix64(uint64_t x);
// One seed from a base seed and keys (epoch, sample index, ...), order-sensitive.
uint64_t derive_seed(uint64_t seed, std::initializer_list<uint64_t> keys);

class Rng {
 public:
  explicit Rng(uint64_t seed = 0);
  uint64_t next();                    // 64 random bits
  double uniform();                   // [0, 1), 53 bits
  double uniform(double lo, double hi);
  int64_t below(int64_t n);           // [0, n), unbiased
  bool bernoulli(double p);
  double normal();                    // N(0, 1), Box-Muller
  template <class T> void shuffle(std::vector<T>& v) {
    for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[static_cast<size_t>(below(int64_t(i)))]);
  }

 private:
  uint64_t s_[4];
  bool has_spare_ = false;
  double spare_ = 0;
};

}  // namespace cmclip
