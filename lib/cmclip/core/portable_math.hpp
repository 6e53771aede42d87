// Elementary functions (fas-synth's renderer, the seeded normal distribution) made of +, -, *, / and exact operations
// only (floor, sqrt, exponent bit fields), so their results are the same bits on every IEEE-754 machine. glibc picks
// different exp/pow/sin/cos code for CPUs with and without FMA, and those may differ in the last bit, which would now
// and then flip a pixel of an image that should be identical for a given seed. (The build does not contract a * b + c
// into FMA: C++17 without GNU extensions implies -ffp-contract=off.) Accuracy: a few units in the 7th digit, plenty for
// rendering.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>

namespace cmclip::dmath {

inline uint32_t bits_of(float x) {
  uint32_t b;
  std::memcpy(&b, &x, sizeof b);
  return b;
}
inline float float_of(uint32_t b) {
  float x;
  std::memcpy(&x, &b, sizeof x);
  return x;
}

inline float exp(float x) {
  if (x < -87.0f) return 0.0f;
  if (x > 88.0f) x = 88.0f;
  float k = std::floor(x * 1.44269504f + 0.5f);
  float r = (x - k * 6.93145752e-1f) - k * 1.42860677e-6f;  // Cody-Waite: ln 2 in two parts
  float p =
      1 +
      r * (1 + r * (0.5f + r * (1 / 6.0f + r * (1 / 24.0f + r * (1 / 120.0f + r * (1 / 720.0f + r * (1 / 5040.0f)))))));
  return p * float_of(static_cast<uint32_t>(static_cast<int>(k) + 127) << 23);  // * 2^k, k in [-125, 127]
}

// Natural logarithm of x > 0 (returns a large negative number for x <= 0).
inline float log(float x) {
  if (!(x > 0)) return -1e30f;
  if (x < 1.17549435e-38f) x = 1.17549435e-38f;  // no subnormals
  uint32_t b = bits_of(x);
  int e = static_cast<int>((b >> 23) & 0xff) - 126;
  float m = float_of((b & 0x807fffffu) | (126u << 23));  // x = m * 2^e, m in [0.5, 1)
  if (m < 0.70710678f) {
    m *= 2;
    e -= 1;
  }
  float s = (m - 1) / (m + 1), s2 = s * s;
  float p = s * (2 + s2 * (2 / 3.0f + s2 * (2 / 5.0f + s2 * (2 / 7.0f + s2 * (2 / 9.0f)))));
  float fe = static_cast<float>(e);
  return fe * 6.93145752e-1f + (p + fe * 1.42860677e-6f);
}

// x^y for x >= 0.
inline float pow(float x, float y) {
  if (x <= 0) return y > 0 ? 0.0f : 1.0f;
  return exp(y * log(x));
}

inline void sincos(float x, float& s, float& c) {
  float k = std::floor(x * 0.636619772f + 0.5f);  // nearest multiple of pi/2
  float r = ((x - k * 1.5703125f) - k * 4.83751297e-4f) - k * 7.54978995e-8f;
  float r2 = r * r;
  float sr = r * (1 + r2 * (-1 / 6.0f + r2 * (1 / 120.0f + r2 * (-1 / 5040.0f + r2 * (1 / 362880.0f)))));
  float cr = 1 + r2 * (-0.5f + r2 * (1 / 24.0f + r2 * (-1 / 720.0f + r2 * (1 / 40320.0f))));
  int64_t q = static_cast<int64_t>(k) & 3;  // two's complement: also right for k < 0
  switch (q) {
    case 0:
      s = sr;
      c = cr;
      break;
    case 1:
      s = cr;
      c = -sr;
      break;
    case 2:
      s = -sr;
      c = -cr;
      break;
    default:
      s = -cr;
      c = sr;
      break;
  }
}
inline float sin(float x) {
  float s, c;
  sincos(x, s, c);
  return s;
}
inline float cos(float x) {
  float s, c;
  sincos(x, s, c);
  return c;
}

inline float atan(float x) {
  constexpr float half_pi = 1.57079633f, quarter_pi = 0.785398163f;
  float sign = x < 0 ? -1.0f : 1.0f;
  x = std::fabs(x);
  float base = 0;
  if (x > 1) {  // atan x = pi/2 - atan(1/x)
    x = 1 / x;
    base = half_pi;
  }
  float off = 0;
  if (x > 0.41421356f) {  // atan x = pi/4 + atan((x-1)/(x+1))
    x = (x - 1) / (x + 1);
    off = quarter_pi;
  }
  float x2 = x * x;
  float p =
      x * (1 + x2 * (-1 / 3.0f +
                     x2 * (1 / 5.0f + x2 * (-1 / 7.0f + x2 * (1 / 9.0f + x2 * (-1 / 11.0f + x2 * (1 / 13.0f)))))));
  float a = off + p;
  return sign * (base > 0 ? base - a : a);
}

inline float atan2(float y, float x) {
  constexpr float pi = 3.14159265f;
  if (x > 0) return atan(y / x);
  if (x < 0) return y >= 0 ? atan(y / x) + pi : atan(y / x) - pi;
  return y > 0 ? pi / 2 : y < 0 ? -pi / 2 : 0.0f;
}

inline float asin(float t) { return atan2(t, std::sqrt(std::fmax(0.0f, 1 - t * t))); }

}  // namespace cmclip::dmath
