// The face model of fas-synth (internal to lib/cmclip/synth): identities, the relief
// and albedo of a head, the person around it (hair, ears, neck, clothes), and what each
// pixel's surface shows the three sensors. render.cpp builds scenes, attacks and
// cameras on top of it (render_media.cpp: the sheets and screens of prints and
// replays).
#pragma once
#include <cmath>
#include <cstdint>

#include "cmclip/core/portable_math.hpp"
#include "cmclip/core/random.hpp"

namespace cmclip::synth {

// ------------------------------------------------------------------ small maths

struct V3 {
  float x = 0, y = 0, z = 0;
};
inline V3 operator+(V3 a, V3 b) { return {a.x + b.x, a.y + b.y, a.z + b.z}; }
inline V3 operator-(V3 a, V3 b) { return {a.x - b.x, a.y - b.y, a.z - b.z}; }
inline V3 operator*(V3 a, float s) { return {a.x * s, a.y * s, a.z * s}; }
inline V3 mul(V3 a, V3 b) { return {a.x * b.x, a.y * b.y, a.z * b.z}; }
inline float dot(V3 a, V3 b) { return a.x * b.x + a.y * b.y + a.z * b.z; }
inline V3 normalize(V3 a) {
  float n = std::sqrt(dot(a, a));
  return n > 0 ? a * (1.0f / n) : V3{0, 0, 1};
}
inline V3 lerp(V3 a, V3 b, float t) { return a + (b - a) * t; }
inline float lerp(float a, float b, float t) { return a + (b - a) * t; }
inline float clamp01(float x) { return x < 0 ? 0 : x > 1 ? 1 : x; }
inline float sq(float x) { return x * x; }
inline float smoothstep(float e0, float e1, float x) {
  float t = clamp01((x - e0) / (e1 - e0));
  return t * t * (3 - 2 * t);
}
inline float gauss(float dx, float dy, float sx, float sy) {
  float q = sq(dx / sx) + sq(dy / sy);
  return q > 60 ? 0.0f : dmath::exp(-0.5f * q);  // exp(-30) is nothing
}

// Draws as floats: uniform in [lo, hi), normal(mean, sd).
inline float U(Rng& r, double lo, double hi) { return static_cast<float>(r.uniform(lo, hi)); }
inline float N(Rng& r, double mean, double sd) { return static_cast<float>(r.normal(mean, sd)); }

// Value noise in [-1, 1] on an integer lattice hashed with the seed, and its fractal sum.
float noise(float x, float y, uint64_t seed);
float fbm(float x, float y, uint64_t seed, int octaves);

// ------------------------------------------------------------------ identities

// A subject's face: shape in face units (head half-width A ~ 0.75, half-height B ~ 1,
// v pointing down, the head centre at the origin) and appearance.
struct Identity {
  float A, B, jaw, expo, D;
  float eye_y, eye_dx, eye_w, eye_h, gaze;
  float brow_gap, brow_arch, brow_thick, brow_density;
  float nose_top, nose_tip, nose_h, nose_w;
  float mouth_y, mouth_w, lip_h, lip_full;
  float cheek_h, cheek_y, chin_h, ridge_h, socket_d;
  float ear_y, ear_size;
  V3 skin, lip, iris, hair, brow;
  float tone, blush, freckles, pore_amp, beard, oil;
  int hair_style;  // 0 short, 1 volume, 2 long, 3 bald
  float hairline, hair_volume;
  float nir_skin, nir_hair, nir_iris;
  uint64_t tex;
};

// A subject's identity from its seed.
Identity make_identity(uint64_t seed);

// ------------------------------------------------------------------ surfaces

enum Layer : uint8_t { kBackground = 0, kTorso, kNeck, kHead, kMedium };

// What the three sensors see at one pixel.
struct Surface {
  float h = -3;  // height toward the camera, face units (relief; depth uses it)
  V3 albedo{0.5f, 0.5f, 0.5f};
  float nir = 0.3f;                     // NIR reflectance
  float spec = 0, shin = 10, wrap = 0;  // Blinn-Phong sheen, diffuse wrap (subsurface)
  float ao = 1;                         // ambient occlusion from the relief
  float hole = 0;                       // probability that depth has no return here
  V3 emitted{0, 0, 0};                  // self-luminous screens: radiance added as is
  float z = 0;                          // metres, set by the scene
  bool planar = false;                  // a sheet or screen: shaded with its plane normal
  uint8_t layer = kBackground;
};

// How a head is drawn: a live face, or a mask's smoothed relief and painted albedo.
struct HeadStyle {
  float detail = 1;  // fine relief and skin texture (0 for masks)
  float feature_scale = 1, feature_gain = 1;
};

struct Pose {
  float cx, cy, scale, roll, yaw, pitch;  // image units ([-1, 1] across) per face unit
};

struct PersonStyle {
  V3 cloth{0.3f, 0.3f, 0.3f};
  float cloth_nir = 0.5f;
  uint64_t cloth_tex = 0;
};

// The outline measure of the head at face coordinates: < 1 inside.
float outline(const Identity& f, float u, float v);
// The relief of the face at (u, v) inside the outline (r = outline(f, u, v) < 1).
float face_height(const Identity& f, float u, float v, float r, const HeadStyle& s);
// A person at pose-relative coordinates: head (u0, v0, yaw/pitch corrected), and the
// body in the unrotated head frame (u1, v1). Returns false where the person is absent.
bool eval_person(const Identity& f, const PersonStyle& ps, const Pose& p, float x, float y, const HeadStyle& hs,
                 Surface& o);

}  // namespace cmclip::synth
