// The three sensors of fas-synth's camera rig (internal to lib/cmclip/synth, for
// render.cpp): what each makes of the light, depth and near-infrared radiance the
// renderer computes. Same determinism rules as render.hpp.
#pragma once
#include <cstdint>
#include <vector>

#include "cmclip/synth/face.hpp"

namespace cmclip::synth::detail {

// One video's camera: RGB exposure and colour, the depth sensor's range and noise, the
// NIR illuminator and exposure.
struct Camera {
  float exposure, wb_r, wb_b, noise, vignette;  // RGB
  float depth_range, depth_noise, depth_edge;   // depth (metres)
  float ir_power, ir_amb, ir_noise, ir_target;  // NIR
};

Camera make_camera(Rng& r);

// RGB camera: exposure, white balance, vignetting, sRGB, noise.
std::vector<uint8_t> rgb_camera(const std::vector<float>& lin, int n, const Camera& cam, Rng& r);
// Depth sensor: metric noise, holes, per-frame normalisation (near 255, none 0).
std::vector<uint8_t> depth_camera(const std::vector<Surface>& s, int n, const Camera& cam, Rng& r);
// NIR sensor: auto-exposure on the centre, mild gamma, noise.
std::vector<uint8_t> nir_camera(const std::vector<float>& rad, int n, const Camera& cam, Rng& r);

}  // namespace cmclip::synth::detail
