#include "cmclip/synth/sensors.hpp"

#include <algorithm>
#include <cmath>
#include <utility>

#include "cmclip/core/portable_math.hpp"
#include "cmclip/core/random.hpp"

namespace cmclip::synth::detail {

Camera make_camera(Rng& r) {
  Camera c;
  c.exposure = U(r, 0.8, 1.25);
  c.wb_r = 1 + N(r, 0, 0.05);
  c.wb_b = 1 + N(r, 0, 0.05);
  c.noise = U(r, 0.004, 0.016);
  c.vignette = U(r, 0.0, 0.25);
  c.depth_range = U(r, 0.12, 0.25);
  c.depth_noise = U(r, 0.0015, 0.004);
  c.depth_edge = U(r, 0.3, 0.7);
  c.ir_power = U(r, 0.18, 0.30);
  c.ir_amb = U(r, 0.0, 0.2);
  c.ir_noise = U(r, 0.008, 0.025);
  c.ir_target = U(r, 0.35, 0.6);
  return c;
}

namespace {
uint8_t quantise(float v) { return static_cast<uint8_t>(std::lround(std::clamp(v, 0.0f, 1.0f) * 255.0f)); }
}  // namespace

// RGB camera: exposure, white balance, vignetting, sRGB, noise.
std::vector<uint8_t> rgb_camera(const std::vector<float>& lin, int n, const Camera& cam, Rng& r) {
  std::vector<uint8_t> out(lin.size());
  for (int y = 0; y < n; ++y)
    for (int x = 0; x < n; ++x) {
      float rx = (x + 0.5f) * 2.0f / n - 1, ry = (y + 0.5f) * 2.0f / n - 1;
      float g = cam.exposure * (1 - cam.vignette * 0.5f * (rx * rx + ry * ry));
      size_t i = (static_cast<size_t>(y) * n + x) * 3;
      float wb[3] = {cam.wb_r, 1, cam.wb_b};
      for (int c = 0; c < 3; ++c) {
        float v = dmath::pow(std::max(0.0f, lin[i + c] * g * wb[c]), 1 / 2.2f);
        v += N(r, 0, std::sqrt(sq(cam.noise) + 0.0004f * v));
        out[i + c] = quantise(v);
      }
    }
  return out;
}

// Depth sensor: metric noise, holes, per-frame normalisation (near 255, none 0).
std::vector<uint8_t> depth_camera(const std::vector<Surface>& s, int n, const Camera& cam, Rng& r) {
  std::vector<float> z(s.size());
  std::vector<uint8_t> valid(s.size());
  float near = 1e9f;
  for (size_t i = 0; i < s.size(); ++i) {
    int x = static_cast<int>(i % n), y = static_cast<int>(i / n);
    // Depth edges (between layers) lose their return half the time.
    bool edge = false;
    for (auto [dx, dy] : {std::pair{1, 0}, {-1, 0}, {0, 1}, {0, -1}}) {
      int xx = std::clamp(x + dx, 0, n - 1), yy = std::clamp(y + dy, 0, n - 1);
      if (std::fabs(s[static_cast<size_t>(yy) * n + xx].z - s[i].z) > 0.05f) edge = true;
    }
    float p_hole = s[i].hole + (edge ? cam.depth_edge : 0.0f);
    valid[i] = r.uniform() >= p_hole;
    z[i] = s[i].z + N(r, 0, cam.depth_noise * sq(s[i].z / 0.5f));
    if (valid[i]) near = std::min(near, z[i]);
  }
  std::vector<uint8_t> out(s.size(), 0);
  if (near > 1e8f) return out;
  near -= 0.005f;
  for (size_t i = 0; i < s.size(); ++i) {
    if (!valid[i]) continue;
    float v = (near + cam.depth_range - z[i]) / cam.depth_range;
    out[i] = v <= 0 ? 0 : static_cast<uint8_t>(std::lround(std::clamp(1 + 254 * v, 1.0f, 255.0f)));
  }
  return out;
}

// NIR sensor: auto-exposure on the centre, mild gamma, noise.
std::vector<uint8_t> nir_camera(const std::vector<float>& rad, int n, const Camera& cam, Rng& r) {
  double sum = 0;
  int count = 0;
  for (int y = n * 3 / 10; y < n * 7 / 10; ++y)
    for (int x = n * 3 / 10; x < n * 7 / 10; ++x, ++count) sum += rad[static_cast<size_t>(y) * n + x];
  float mean = static_cast<float>(sum / std::max(1, count));
  float gain = std::clamp(cam.ir_target / std::max(mean, 1e-4f), 0.15f, 1.6f);  // lowers freely, raises little (noise)
  std::vector<uint8_t> out(rad.size());
  for (size_t i = 0; i < rad.size(); ++i) {
    float v = dmath::pow(std::max(0.0f, rad[i] * gain), 1 / 1.3f);
    v += N(r, 0, std::sqrt(sq(cam.ir_noise) + 0.0003f * v));
    out[i] = quantise(v);
  }
  return out;
}

}  // namespace cmclip::synth::detail
