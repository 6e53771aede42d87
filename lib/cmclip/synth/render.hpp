// The procedural renderer behind fas-synth (see synth.hpp for the tool side).
//
// A person is an analytic height field (head ellipsoid plus Gaussian features: eye
// sockets, brow ridge, nose, cheeks, lips, chin, ears, hair volume) with per-point
// albedo (skin tone, blush, pores, brows, eyes, lips, hair, beard), NIR reflectance
// and specular parameters. Each capture renders three sensors from one scene:
//   RGB   - sRGB camera: wrapped-Lambert key + fill + ambient (occlusion from relief),
//           Blinn-Phong sheen, exposure, white balance, noise;
//   Depth - per-frame normalised distance (near bright, no return = 0), with sensor
//           noise and holes (edges, dark hair, glossy surfaces), like CASIA-SURF;
//   NIR   - active illuminator beside the lens (inverse-square fall-off, n.v shading)
//           plus some ambient IR, auto-exposure, noise.
// Attacks change the physics, not a pixel: a print is the subject's photo on paper
// (gamut loss, dot gain, halftone, paper grain, blur; a flat or bent plane in depth;
// ink-on-paper reflectance in NIR, no relief shading); a replay is a self-luminous
// screen (gamma and white-point shift, moire, glare, bezel; a flat glossy plane with
// holes in depth; nearly dark in NIR but for the illuminator's reflection); a mask is
// a rigid smoothed relief with a seam, eye holes, uniform painted albedo and sheen,
// and a NIR reflectance unlike skin.
//
// All randomness comes from Rng streams (synth_rng.hpp) derived from (seed, subject,
// presentation, frame); the arithmetic is plain IEEE float with the elementary
// functions of synth_math.hpp (no libm transcendentals, no OpenCV), so the bytes
// depend only on the seed, not on the machine or the thread count.
#pragma once
#include <array>
#include <cstdint>
#include <vector>

namespace cmclip::synth {

enum class Kind { live = 0, print = 1, replay = 2, mask = 3 };

// The images of one capture: rgb is HWC RGB (size*size*3), depth and nir are grey
// (size*size). Only the requested ones are filled.
struct CaptureImages {
  std::vector<uint8_t> rgb, depth, nir;
};

struct Want {
  bool rgb = true, depth = true, nir = true;
};

// Renders frame `frame` of the video of (subject, kind). Deterministic in its arguments.
CaptureImages render_capture(uint64_t seed, int subject, Kind kind, int frame, int size, Want want);

}  // namespace cmclip::synth
