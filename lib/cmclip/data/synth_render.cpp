#include "cmclip/data/synth_render.hpp"

#include <algorithm>
#include <cmath>

#include "cmclip/data/synth_math.hpp"
#include "cmclip/data/synth_rng.hpp"

namespace cmclip::data::synth {

namespace {

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

float U(Rng& r, double lo, double hi) { return static_cast<float>(r.uniform(lo, hi)); }
float N(Rng& r, double mean, double sd) { return static_cast<float>(r.normal(mean, sd)); }

// Value noise in [-1, 1] on an integer lattice hashed with the seed, and its fractal sum.
inline float lattice(int64_t x, int64_t y, uint64_t seed) {
  uint64_t h = mix64(seed ^ mix64(static_cast<uint64_t>(x) * 0x9E3779B97F4A7C15ull ^
                                  static_cast<uint64_t>(y) * 0xC2B2AE3D27D4EB4Full));
  return static_cast<float>(h >> 40) * (2.0f / 16777216.0f) - 1.0f;
}
float noise(float x, float y, uint64_t seed) {
  float fx = std::floor(x), fy = std::floor(y);
  int64_t ix = static_cast<int64_t>(fx), iy = static_cast<int64_t>(fy);
  float tx = x - fx, ty = y - fy;
  tx = tx * tx * (3 - 2 * tx);
  ty = ty * ty * (3 - 2 * ty);
  float a = lattice(ix, iy, seed), b = lattice(ix + 1, iy, seed);
  float c = lattice(ix, iy + 1, seed), d = lattice(ix + 1, iy + 1, seed);
  return lerp(lerp(a, b, tx), lerp(c, d, tx), ty);
}
float fbm(float x, float y, uint64_t seed, int octaves) {
  float sum = 0, amp = 0.5f, norm = 0;
  for (int o = 0; o < octaves; ++o) {
    sum += amp * noise(x, y, seed + 0x1000u * static_cast<uint64_t>(o));
    norm += amp;
    x = x * 2.03f + 17.1f;
    y = y * 2.03f + 5.3f;
    amp *= 0.5f;
  }
  return sum / norm;
}

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

Identity make_identity(uint64_t seed) {
  Rng r(seed);
  Identity f;
  f.A = U(r, 0.68, 0.82);
  f.B = U(r, 0.95, 1.08);
  f.jaw = U(r, 0.10, 0.34);
  f.expo = U(r, 1.8, 2.6);
  f.D = f.A * U(r, 1.0, 1.2);  // face front to silhouette, about 8 cm
  f.eye_y = U(r, -0.08, 0.0);
  f.eye_dx = U(r, 0.27, 0.33);
  f.eye_w = U(r, 0.10, 0.13);
  f.eye_h = U(r, 0.038, 0.055);
  f.gaze = U(r, -0.015, 0.015);
  f.brow_gap = U(r, 0.11, 0.15);
  f.brow_arch = U(r, 0.00, 0.05);
  f.brow_thick = U(r, 0.030, 0.050);
  f.brow_density = U(r, 0.7, 1.0);
  f.nose_top = f.eye_y + U(r, -0.02, 0.04);
  f.nose_tip = U(r, 0.27, 0.35);
  f.nose_h = U(r, 0.15, 0.26);
  f.nose_w = U(r, 0.045, 0.075);
  f.mouth_y = f.nose_tip + U(r, 0.16, 0.21);
  f.mouth_w = U(r, 0.16, 0.22);
  f.lip_h = U(r, 0.035, 0.055);
  f.lip_full = U(r, 0.6, 1.4);
  f.cheek_h = U(r, 0.03, 0.08);
  f.cheek_y = U(r, 0.10, 0.20);
  f.chin_h = U(r, 0.03, 0.08);
  f.ridge_h = U(r, 0.02, 0.06);
  f.socket_d = U(r, 0.06, 0.11);
  f.ear_y = f.eye_y + U(r, 0.10, 0.18);
  f.ear_size = U(r, 0.85, 1.15);

  // Skin: light to dark along a natural tone axis, with some undertone.
  f.tone = static_cast<float>(r.uniform());
  V3 light{0.80f, 0.58f, 0.47f}, mid{0.57f, 0.38f, 0.27f}, dark{0.23f, 0.14f, 0.09f};
  f.skin = f.tone < 0.5f ? lerp(light, mid, f.tone * 2) : lerp(mid, dark, (f.tone - 0.5f) * 2);
  f.skin = mul(f.skin, V3{1 + N(r, 0, 0.04), 1 + N(r, 0, 0.03), 1 + N(r, 0, 0.04)});
  f.lip = mul(f.skin, V3{0.92f, 0.60f, 0.63f}) * U(r, 0.8, 1.0);
  static const V3 irises[] = {{0.20f, 0.11f, 0.05f}, {0.07f, 0.045f, 0.03f}, {0.22f, 0.32f, 0.42f}, {0.22f, 0.27f, 0.13f}};
  f.iris = irises[f.tone > 0.45f ? r.below(2) : r.below(4)];
  static const V3 hairs[] = {{0.025f, 0.02f, 0.018f}, {0.07f, 0.045f, 0.03f}, {0.17f, 0.10f, 0.055f},
                             {0.50f, 0.38f, 0.20f},   {0.33f, 0.11f, 0.045f}, {0.42f, 0.41f, 0.40f}};
  f.hair = hairs[f.tone > 0.45f ? r.below(2) : r.below(6)];
  // Brows are darker than fair hair.
  f.brow = f.hair.x > 0.15f ? lerp(f.hair, V3{0.07f, 0.045f, 0.03f}, U(r, 0.4, 0.8)) : f.hair * 0.9f;
  f.blush = U(r, 0.0, 1.0);
  f.freckles = f.tone < 0.3f && r.chance(0.3) ? U(r, 0.3, 1.0) : 0.0f;
  f.pore_amp = U(r, 0.03, 0.07);
  f.beard = r.chance(0.3) ? U(r, 0.2, 0.7) : 0.0f;
  f.oil = U(r, 0.04, 0.12);
  f.hair_style = static_cast<int>(r.below(10));
  f.hair_style = f.hair_style < 4 ? 0 : f.hair_style < 7 ? 1 : f.hair_style < 9 ? 2 : 3;
  f.hairline = -f.B * U(r, 0.50, 0.62);
  f.hair_volume = U(r, 0.5, 1.0);
  // NIR: melanin absorbs little in the near infrared, so skin is bright for every tone.
  f.nir_skin = 0.70f - 0.08f * f.tone + N(r, 0, 0.02);
  f.nir_hair = U(r, 0.18, 0.45);
  f.nir_iris = U(r, 0.30, 0.55);
  f.tex = r.next();
  return f;
}

// ------------------------------------------------------------------ surfaces

enum Layer : uint8_t { kBackground = 0, kTorso, kNeck, kHead, kMedium };

// What the three sensors see at one pixel.
struct Surface {
  float h = -3;           // height toward the camera, face units (relief; depth uses it)
  V3 albedo{0.5f, 0.5f, 0.5f};
  float nir = 0.3f;       // NIR reflectance
  float spec = 0, shin = 10, wrap = 0;  // Blinn-Phong sheen, diffuse wrap (subsurface)
  float ao = 1;           // ambient occlusion from the relief
  float hole = 0;         // probability that depth has no return here
  float emit = 0;         // self-luminous screens: radiance added as is
  V3 emitted{0, 0, 0};
  float z = 0;            // metres, set by the scene
  bool planar = false;    // a sheet or screen: shaded with its plane normal
  uint8_t layer = kBackground;
};

// How a head is drawn: a live face, or a mask's smoothed relief and painted albedo.
struct HeadStyle {
  float detail = 1;       // fine relief and skin texture (0 for masks)
  float feature_scale = 1, feature_gain = 1;
};

float outline(const Identity& f, float u, float v) {
  float t = v / f.B;
  float aw = f.A * std::max(0.05f, t > 0 ? 1 - f.jaw * t * t : 1 - 0.12f * t * t);
  return dmath::pow(std::fabs(u) / aw, f.expo) + t * t;
}

// The relief of the face at (u, v) inside the outline (r < 1).
float face_height(const Identity& f, float u, float v, float r, const HeadStyle& s) {
  float base = f.D * dmath::pow(std::max(0.0f, 1 - r), 0.8f);
  float fs = s.feature_scale, g = s.feature_gain;
  float au = std::fabs(u);
  float F = 0;
  F -= f.socket_d * gauss(au - f.eye_dx, v - f.eye_y, 0.15f * fs, 0.09f * fs);
  F += 0.55f * f.socket_d * gauss(au - f.eye_dx, v - f.eye_y, 0.075f * fs, 0.045f * fs) * s.detail;
  F += f.ridge_h * dmath::exp(-0.5f * sq((v - (f.eye_y - f.brow_gap + 0.02f)) / (0.05f * fs))) * dmath::exp(-0.5f * sq(u / 0.42f));
  float t = (v - f.nose_top) / (f.nose_tip - f.nose_top);
  if (t > 0 && t <= 1)
    F += f.nose_h * dmath::pow(t, 1.4f) * dmath::exp(-0.5f * sq(u / (f.nose_w * fs * (0.45f + 0.55f * t))));
  else if (t > 1)
    F += f.nose_h * dmath::exp(-0.5f * sq((v - f.nose_tip) / (0.045f * fs))) * dmath::exp(-0.5f * sq(u / (f.nose_w * fs)));
  F += 0.25f * f.nose_h * gauss(u, v - f.nose_tip + 0.015f, 0.06f * fs, 0.05f * fs);
  F += 0.35f * f.nose_h * gauss(au - f.nose_w * 1.3f, v - f.nose_tip + 0.005f, 0.04f * fs, 0.035f * fs);
  F += f.cheek_h * gauss(au - 0.34f, v - f.cheek_y, 0.17f * fs, 0.14f * fs);
  F += 0.05f * f.lip_full * gauss(u, v - (f.mouth_y - 0.025f), f.mouth_w * 0.6f * fs, 0.025f * fs);
  F += 0.055f * f.lip_full * gauss(u, v - (f.mouth_y + 0.035f), f.mouth_w * 0.55f * fs, 0.03f * fs);
  F -= 0.015f * gauss(u, v - f.mouth_y, f.mouth_w * 0.7f, 0.008f) * s.detail;
  F += f.chin_h * gauss(u, v - 0.8f * f.B, 0.16f * fs, 0.1f * fs);
  F += s.detail * 0.0012f * fbm(u * 40, v * 40, f.tex + 11, 2);  // pores and fine wrinkles
  return base + smoothstep(1.0f, 0.55f, r) * F * g;
}

// Eye opening at (du, dv) from the eye centre: 0 outside, else the lid half-height.
float eye_lid(const Identity& f, float du) {
  if (std::fabs(du) >= f.eye_w) return 0;
  return f.eye_h * dmath::pow(1 - sq(du / f.eye_w), 0.7f);
}

// Skin, brows, eyes, lips, nostrils, beard and hair of a live face.
void face_appearance(const Identity& f, float u, float v, float r, const HeadStyle& s, Surface& o) {
  float au = std::fabs(u);
  V3 a = f.skin * (1 + 0.07f * fbm(u * 3, v * 3, f.tex + 1, 3));
  a = a + V3{0.07f, -0.015f, -0.015f} * (f.blush * gauss(au - 0.32f, v - 0.12f, 0.13f, 0.10f));
  a = a * (1 + s.detail * f.pore_amp * noise(u * 60, v * 60, f.tex + 2));
  if (f.freckles > 0) {
    float fr = noise(u * 28, v * 28, f.tex + 3);
    float zone = gauss(au - 0.2f, v - 0.08f, 0.25f, 0.15f);
    if (fr > 0.45f) a = mul(a, V3{1, 0.9f, 0.85f} * (1 - f.freckles * zone * (fr - 0.45f) * 1.6f));
  }
  float nir = f.nir_skin * (1 + 0.02f * fbm(u * 3, v * 3, f.tex + 4, 2));
  float spec = f.oil * (1 + 1.2f * gauss(u, v - f.nose_tip * 0.3f, 0.12f, 0.5f)), shin = 18, wrap = 0.3f;
  float ao = 1;

  if (f.beard > 0 && v > f.nose_tip + 0.05f && r < 0.97f) {
    float stub = f.beard * smoothstep(f.nose_tip + 0.05f, f.nose_tip + 0.12f, v) * (0.6f + 0.4f * noise(u * 50, v * 50, f.tex + 5));
    a = lerp(a, f.hair, clamp01(stub * 0.8f));
    nir = lerp(nir, f.nir_hair, clamp01(stub * 0.5f));
  }
  // Brows: a tapered arc above each eye with hair strands.
  {
    float up = au - (f.eye_dx + 0.02f), bw = f.eye_w * 1.35f;
    if (std::fabs(up) < bw) {
      float vb = f.eye_y - f.brow_gap - f.brow_arch * (1 - sq(up / bw));
      float th = f.brow_thick * (1.15f - 0.45f * (up + bw) / (2 * bw));
      float strands = 0.75f + 0.25f * noise(u * 90, v * 25, f.tex + 6);
      float m = smoothstep(th, th * 0.55f, std::fabs(v - vb)) * smoothstep(bw, bw * 0.7f, std::fabs(up)) * f.brow_density * strands;
      a = lerp(a, f.brow, clamp01(m));
      nir = lerp(nir, f.nir_hair, clamp01(0.35f * m));
    }
  }
  // Eyes: almond opening, sclera, iris, pupil, lash line; wet (sharp highlights).
  {
    float du = au - f.eye_dx, dv = v - f.eye_y;
    float lid = eye_lid(f, du);
    if (lid > 0 && std::fabs(dv) < lid) {
      float side = u < 0 ? -1.0f : 1.0f;
      float ri = f.eye_h * 1.25f;
      float dist = std::sqrt(sq(u - side * f.eye_dx - f.gaze) + sq(dv));
      V3 sclera{0.70f, 0.66f, 0.62f};
      if (dist < 0.42f * ri) {
        a = {0.02f, 0.02f, 0.02f};
        nir = 0.03f;
      } else if (dist < ri) {
        a = f.iris * (0.8f + 0.4f * noise(dmath::atan2(dv, u) * 6, dist * 80, f.tex + 7));
        nir = f.nir_iris;
      } else {
        a = sclera;
        nir = 0.55f;
      }
      float shade = smoothstep(-lid, -lid + 0.02f, dv);  // the upper lid shades the eye
      a = a * (0.55f + 0.45f * shade);
      spec = 0.6f;
      shin = 80;
      wrap = 0;
    } else if (lid > 0 && dv < 0 && dv > -lid - 0.014f) {
      a = a * 0.25f;  // lashes
      nir *= 0.6f;
    } else if (lid > 0 && dv > 0 && dv < lid + 0.006f) {
      a = a * 0.75f;
    }
    ao *= 1 - 0.35f * gauss(du, dv + 0.02f, 0.13f, 0.07f);  // the socket under the brow
  }
  // Lips and the mouth line.
  {
    float m = smoothstep(1.0f, 0.75f, sq(u / f.mouth_w) + sq((v - f.mouth_y - 0.008f) / f.lip_h));
    a = lerp(a, f.lip, m);
    nir = lerp(nir, f.nir_skin * 0.93f, m);
    if (au < f.mouth_w * 0.9f) {
      float line = dmath::exp(-0.5f * sq((v - f.mouth_y) / 0.006f)) * smoothstep(f.mouth_w * 0.9f, f.mouth_w * 0.6f, au);
      a = a * (1 - 0.65f * line * s.detail - 0.3f * line * (1 - s.detail));
      nir *= 1 - 0.3f * line;
    }
  }
  // Nostrils.
  {
    float g = gauss(au - 0.045f, v - (f.nose_tip + 0.03f), 0.018f, 0.009f);
    a = a * (1 - 0.75f * g);
    nir *= 1 - 0.5f * g;
    ao *= 1 - 0.3f * gauss(u, v - f.nose_tip - 0.05f, 0.1f, 0.03f);
  }
  // Scalp hair above the hairline and at the temples.
  if (f.hair_style != 3) {
    float hl = f.hairline + 0.14f * sq(u / f.A);
    bool hair = v < hl || (au > f.A * 0.86f && v < f.eye_y + 0.02f);
    if (hair) {
      float strands = 0.65f + 0.7f * (0.5f + 0.5f * noise(u * 10, v * 70, f.tex + 8));
      a = f.hair * strands;
      nir = f.nir_hair * (0.8f + 0.3f * strands);
      spec = 0.12f;
      shin = 25;
      wrap = 0.1f;
      o.hole = 0.25f + 0.5f * (1 - f.nir_hair);  // dark hair scatters the depth pattern
      o.h += f.hair_volume * 0.06f;
    }
  }
  o.albedo = a;
  o.nir = nir;
  o.spec = spec;
  o.shin = shin;
  o.wrap = wrap;
  o.ao = ao;
}

// A person at pose-relative coordinates: head (u0, v0, yaw/pitch corrected), and the
// body in the unrotated head frame (u1, v1). Returns false where the person is absent.
struct Pose {
  float cx, cy, scale, roll, yaw, pitch;
};

struct PersonStyle {
  V3 cloth{0.3f, 0.3f, 0.3f};
  float cloth_nir = 0.5f;
  uint64_t cloth_tex = 0;
};

bool eval_person(const Identity& f, const PersonStyle& ps, const Pose& p, float x, float y, const HeadStyle& hs,
                 Surface& o) {
  float dx = x - p.cx, dy = y - p.cy;
  float c = dmath::cos(p.roll), s = dmath::sin(p.roll);
  float u1 = (c * dx + s * dy) / p.scale, v1 = (-s * dx + c * dy) / p.scale;
  float hb = f.D * std::sqrt(std::max(0.0f, 1 - sq(u1 / f.A) - sq(v1 / f.B)));
  float u = (u1 - dmath::sin(p.yaw) * hb) / dmath::cos(p.yaw);
  float v = (v1 - dmath::sin(p.pitch) * hb) / dmath::cos(p.pitch);
  float r = outline(f, u, v);
  auto view_height = [&](float h) { return h * dmath::cos(p.yaw) * dmath::cos(p.pitch) - u * dmath::sin(p.yaw) - v * dmath::sin(p.pitch); };
  if (r < 1) {
    o.layer = kHead;
    o.h = face_height(f, u, v, r, hs);
    face_appearance(f, u, v, r, hs, o);
    o.h = view_height(o.h);
    return true;
  }
  // Hair volume around the skull.
  if (f.hair_style != 3) {
    float vol = f.hair_volume;
    float ax = f.A * (f.hair_style == 0 ? 1.04f : 1.08f + 0.1f * vol), by = f.B * (f.hair_style == 0 ? 1.02f : 1.05f + 0.04f * vol);
    float hv = sq(u / ax) + sq((v + 0.08f) / by);
    bool inside = hv < 1 && v < (f.hair_style == 0 ? f.eye_y - 0.05f : f.eye_y + 0.25f);
    if (f.hair_style == 2 && std::fabs(u) < f.A * 1.25f && std::fabs(u) > f.A * 0.78f && v < f.B * 1.45f) inside = true;
    if (inside) {
      float strands = 0.65f + 0.7f * (0.5f + 0.5f * noise(u * 10, v * 70, f.tex + 8));
      o.layer = kHead;
      o.h = view_height(0.55f * f.D * std::sqrt(std::max(0.0f, 1 - std::min(hv, 1.0f))) - 0.05f);
      o.albedo = f.hair * strands;
      o.nir = f.nir_hair * (0.8f + 0.3f * strands);
      o.spec = 0.1f;
      o.shin = 25;
      o.wrap = 0.1f;
      o.hole = 0.25f + 0.5f * (1 - f.nir_hair);
      return true;
    }
  }
  // Ears.
  for (float side : {-1.0f, 1.0f}) {
    float e = sq((u - side * (f.A * 0.97f + 0.03f)) / (0.075f * f.ear_size)) + sq((v - f.ear_y) / (0.15f * f.ear_size));
    if (e < 1) {
      o.layer = kHead;
      o.h = view_height(0.12f * f.D * (1 - e));
      o.albedo = f.skin * 0.9f;
      o.nir = f.nir_skin * 0.95f;
      o.spec = f.oil * 0.5f;
      o.shin = 15;
      o.wrap = 0.35f;
      o.ao = 0.8f + 0.2f * e;
      return true;
    }
  }
  // Neck, in shadow under the chin.
  float nw = 0.36f * f.A * (1 + 0.35f * smoothstep(f.B * 1.1f, f.B * 1.6f, v1));
  if (std::fabs(u1) < nw && v1 > 0.45f * f.B && v1 < f.B * 1.75f) {
    o.layer = kNeck;
    o.h = 0.25f * std::sqrt(std::max(0.0f, 1 - sq(u1 / nw))) - 0.4f;
    o.albedo = f.skin * (0.5f + 0.45f * smoothstep(f.B * 0.95f, f.B * 1.3f, v1));
    o.nir = f.nir_skin * 0.95f;
    o.spec = f.oil * 0.3f;
    o.shin = 12;
    o.wrap = 0.3f;
    return true;
  }
  // Shoulders and clothes.
  float top = f.B * 1.3f;
  if (v1 > top) {
    float half = f.A * (0.75f + 2.2f * std::sqrt(v1 - top));
    if (std::fabs(u1) < half) {
      o.layer = kTorso;
      o.h = -0.6f + 0.25f * std::sqrt(std::max(0.0f, 1 - sq(u1 / half)));
      o.albedo = ps.cloth * (0.85f + 0.3f * fbm(u1 * 2.5f, v1 * 2.5f, ps.cloth_tex, 3));
      o.nir = ps.cloth_nir;
      o.spec = 0.02f;
      o.shin = 6;
      return true;
    }
  }
  return false;
}

// ------------------------------------------------------------------ scene

struct Light {
  V3 key_dir, key_col, amb_col;
  float key = 0.8f, amb = 0.4f, fill = 0.1f;
};

struct Background {
  V3 c0, c1;
  float gx, gy;               // gradient direction
  struct Box { float x0, y0, x1, y1; V3 col; float nir, z; };
  std::vector<Box> boxes;
  float wall_z;               // metres; 0 = out of the depth sensor's range
  float wall_nir;
  uint64_t tex;
};

Background make_background(Rng& r) {
  Background b;
  auto colour = [&r] {
    float l = U(r, 0.1, 0.85);
    return V3{l * U(r, 0.7, 1.15), l * U(r, 0.7, 1.1), l * U(r, 0.65, 1.15)};
  };
  b.c0 = colour();
  V3 second = colour();  // one draw per statement: argument order is unspecified in C++
  b.c1 = lerp(b.c0, second, U(r, 0.2, 0.8));
  float a = U(r, 0, 6.2831853);
  b.gx = dmath::cos(a);
  b.gy = dmath::sin(a);
  int n = r.range(1, 5);
  for (int i = 0; i < n; ++i) {
    Background::Box box;
    box.x0 = U(r, -1.2, 0.8);
    box.y0 = U(r, -1.2, 0.8);
    box.x1 = box.x0 + U(r, 0.15, 1.0);
    box.y1 = box.y0 + U(r, 0.15, 1.2);
    box.col = colour();
    box.nir = U(r, 0.1, 0.8);
    box.z = U(r, 1.2, 3.0);
    b.boxes.push_back(box);
  }
  b.wall_z = r.chance(0.5) ? 0.0f : U(r, 1.6, 3.5);
  b.wall_nir = U(r, 0.15, 0.6);
  b.tex = r.next();
  return b;
}

void eval_background(const Background& b, float x, float y, Surface& o) {
  float t = clamp01(0.5f + 0.35f * (b.gx * x + b.gy * y));
  V3 a = lerp(b.c0, b.c1, t);
  float nir = b.wall_nir;
  float z = b.wall_z > 0 ? b.wall_z : 6.0f;
  for (const auto& box : b.boxes) {
    float m = smoothstep(0.0f, 0.02f, std::min({x - box.x0, box.x1 - x, y - box.y0, box.y1 - y}));
    if (m > 0) {
      a = lerp(a, box.col, m);
      nir = lerp(nir, box.nir, m);
      if (m > 0.5f && (b.wall_z == 0 || box.z < z)) z = box.z;
    }
  }
  o = Surface();
  o.layer = kBackground;
  o.albedo = a * (1 + 0.05f * fbm(x * 6, y * 6, b.tex, 3));
  o.nir = nir;
  o.z = z;
  o.hole = z > 3.6f ? 1.0f : 0.02f;  // beyond the depth sensor's range
  o.spec = 0.01f;
}

struct Camera {
  float exposure, wb_r, wb_b, noise, vignette;    // RGB
  float depth_range, depth_noise, depth_edge;     // depth (metres)
  float ir_power, ir_amb, ir_noise, ir_target;    // NIR
};

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

Light make_light(Rng& r) {
  Light l;
  float az = U(r, -1.0, 1.0), el = U(r, -0.2, 0.9);
  l.key_dir = normalize({dmath::sin(az) * dmath::cos(el), -dmath::sin(el), dmath::cos(az) * dmath::cos(el) + 0.3f});
  float warm = U(r, -0.12, 0.12);
  l.key_col = {1 + warm, 1, 1 - warm};
  l.amb_col = {1 - warm * 0.5f, 1, 1 + warm * 0.5f};
  l.key = U(r, 0.55, 1.0);
  l.amb = U(r, 0.22, 0.5);
  l.fill = U(r, 0.0, 0.25);
  return l;
}

Pose make_pose(Rng& r) {
  Pose p;
  p.cx = N(r, 0, 0.05);
  p.cy = N(r, 0.06, 0.04);
  p.scale = U(r, 0.62, 0.80);
  p.roll = N(r, 0, 0.06);
  p.yaw = N(r, 0, 0.12);
  p.pitch = N(r, 0, 0.07);
  return p;
}

Pose jitter(Pose p, Rng& r) {
  p.cx += N(r, 0, 0.012);
  p.cy += N(r, 0, 0.012);
  p.scale *= 1 + N(r, 0, 0.015);
  p.roll += N(r, 0, 0.02);
  p.yaw += N(r, 0, 0.03);
  p.pitch += N(r, 0, 0.02);
  return p;
}

// ------------------------------------------------------------------ planar media

// A sheet (print) or screen (replay) held in the scene: a similarity transform of its
// own coordinates (p, q in [-1, 1] for the picture) with a projective tilt and an
// optional cylindrical bend about its vertical axis.
struct Medium {
  float scale, rot, tx, ty;  // similarity: scene = tx,ty + scale * R(rot) * (a, b)
  float px, py;              // projective tilt
  float bend;                // curvature (0 = flat)
  float ext_p, ext_q;        // half extent of the sheet or screen in picture units
  float border;              // screen bezel width (picture units), 0 for paper
  float z;                   // distance of its centre (metres)
};

// Scene point -> picture coordinates; false when it misses the medium. Also returns
// the relative depth factor w (the plane's distance scale) and the bend angle.
bool medium_lookup(const Medium& m, float x, float y, float& p, float& q, float& w, float& theta) {
  float dx = x - m.tx, dy = y - m.ty;
  float c = dmath::cos(m.rot), s = dmath::sin(m.rot);
  float a = (c * dx + s * dy) / m.scale, b = (-s * dx + c * dy) / m.scale;
  float den = 1 - m.px * a - m.py * b;
  if (den <= 0.05f) return false;
  float xa = a / den, qb = b / den;
  w = 1 + m.px * xa + m.py * qb;
  if (m.bend > 1e-4f) {
    float t = m.bend * xa;
    if (std::fabs(t) >= 1) return false;
    theta = dmath::asin(t);
    p = theta / m.bend;
  } else {
    theta = 0;
    p = xa;
  }
  q = qb;
  return std::fabs(p) <= m.ext_p && std::fabs(q) <= m.ext_q;
}

// The medium placed so the face of the picture (centre pc, scale sp, roll rp) lands
// where a live face would be (pose `target`).
Medium place_medium(const Pose& target, const Pose& pic, Rng& r) {
  Medium m;
  m.scale = target.scale / pic.scale;
  m.rot = target.roll - pic.roll;
  float c = dmath::cos(m.rot), s = dmath::sin(m.rot);
  m.tx = target.cx - m.scale * (c * pic.cx - s * pic.cy);
  m.ty = target.cy - m.scale * (s * pic.cx + c * pic.cy);
  m.px = N(r, 0, 0.08);
  m.py = N(r, 0, 0.06);
  m.bend = 0;
  m.ext_p = m.ext_q = 1;
  m.border = 0;
  m.z = 0.27f / target.scale * U(r, 0.8, 0.95);  // held at arm's length before the holder
  return m;
}

// Bilinear lookup in an interleaved float image over [-1, 1]^2.
V3 sample3(const std::vector<float>& img, int n, float p, float q) {
  float fx = std::clamp((p + 1) * 0.5f * n - 0.5f, 0.0f, n - 1.001f);
  float fy = std::clamp((q + 1) * 0.5f * n - 0.5f, 0.0f, n - 1.001f);
  int x0 = static_cast<int>(fx), y0 = static_cast<int>(fy);
  float tx = fx - x0, ty = fy - y0;
  auto at = [&](int x, int y) {
    const float* v = &img[(static_cast<size_t>(y) * n + x) * 3];
    return V3{v[0], v[1], v[2]};
  };
  return lerp(lerp(at(x0, y0), at(x0 + 1, y0), tx), lerp(at(x0, y0 + 1), at(x0 + 1, y0 + 1), tx), ty);
}

void blur3(std::vector<float>& img, int n, float sigma) {
  if (sigma < 0.2f) return;
  int rad = static_cast<int>(std::ceil(2.5f * sigma));
  std::vector<float> k(static_cast<size_t>(2 * rad + 1));
  float sum = 0;
  for (int i = -rad; i <= rad; ++i) sum += k[static_cast<size_t>(i + rad)] = dmath::exp(-0.5f * sq(i / sigma));
  for (auto& x : k) x /= sum;
  std::vector<float> tmp(img.size());
  for (int pass = 0; pass < 2; ++pass) {
    const std::vector<float>& src = pass == 0 ? img : tmp;
    std::vector<float>& dst = pass == 0 ? tmp : img;
    for (int y = 0; y < n; ++y)
      for (int x = 0; x < n; ++x)
        for (int ch = 0; ch < 3; ++ch) {
          float acc = 0;
          for (int i = -rad; i <= rad; ++i) {
            int xx = pass == 0 ? std::clamp(x + i, 0, n - 1) : x;
            int yy = pass == 1 ? std::clamp(y + i, 0, n - 1) : y;
            acc += k[static_cast<size_t>(i + rad)] * src[(static_cast<size_t>(yy) * n + xx) * 3 + ch];
          }
          dst[(static_cast<size_t>(y) * n + x) * 3 + ch] = acc;
        }
  }
}

// ------------------------------------------------------------------ the renderer

struct SceneParams {
  Pose pose;
  Light light;
  Background background;
  Camera camera;
  PersonStyle person;
  float z_face;  // metres
};

SceneParams make_scene(Rng& r) {
  SceneParams s;
  s.pose = make_pose(r);
  s.light = make_light(r);
  s.background = make_background(r);
  s.camera = make_camera(r);
  float l = U(r, 0.05, 0.8);
  s.person.cloth = {l * U(r, 0.5, 1.2), l * U(r, 0.5, 1.2), l * U(r, 0.5, 1.2)};
  s.person.cloth_nir = U(r, 0.2, 0.8);
  s.person.cloth_tex = r.next();
  s.z_face = 0.27f / s.pose.scale * U(r, 0.92, 1.08);  // a nearer face looks bigger
  // Some captures have a wall or headrest right behind the person, within the depth
  // sensor's range and lit by the NIR illuminator.
  if (r.chance(0.4)) s.background.wall_z = s.z_face + U(r, 0.08, 0.3);
  return s;
}

constexpr float kMetresPerUnit = 0.1f;  // one face unit (about a head half-width) in metres

// Per-pixel surfaces of a scene, then the three sensors.
class Render {
 public:
  Render(int n) : n_(n), surf_(static_cast<size_t>(n) * n) {}
  int n() const { return n_; }
  Surface& at(int x, int y) { return surf_[static_cast<size_t>(y) * n_ + x]; }
  float px(int x) const { return (x + 0.5f) * 2.0f / n_ - 1; }

  // A live person (or a mask wearer) in front of the background.
  template <class Extra>
  void person(const Identity& f, const SceneParams& sc, const Pose& pose, const HeadStyle& hs, Extra extra) {
    for (int y = 0; y < n_; ++y)
      for (int x = 0; x < n_; ++x) {
        Surface& o = at(x, y);
        eval_background(sc.background, px(x), px(y), o);
        Surface s;
        if (eval_person(f, sc.person, pose, px(x), px(y), hs, s)) {
          s.z = sc.z_face - s.h * kMetresPerUnit;
          o = s;
        }
        extra(px(x), px(y), o, pose);
      }
  }

  // RGB radiance (linear) under the scene's light.
  std::vector<float> shade_rgb(const Light& l, float unit_per_px) {
    std::vector<float> out(surf_.size() * 3);
    V3 view{0, 0, 1};
    V3 half = normalize(l.key_dir + view);
    V3 fill_dir = normalize({-l.key_dir.x, 0.2f, 0.8f});
    for (int y = 0; y < n_; ++y)
      for (int x = 0; x < n_; ++x) {
        const Surface& s = at(x, y);
        V3 nrm = s.planar ? plane_normal_[static_cast<size_t>(y) * n_ + x] : normal(x, y, unit_per_px);
        float nl = dot(nrm, l.key_dir);
        float diff = std::max(0.0f, (nl + s.wrap) / (1 + s.wrap));
        float fill = std::max(0.0f, dot(nrm, fill_dir)) * l.fill;
        V3 c = mul(s.albedo, l.amb_col * (l.amb * s.ao) + l.key_col * (l.key * diff) + V3{fill, fill, fill});
        if (s.spec > 0 && nl > 0) c = c + l.key_col * (s.spec * l.key * dmath::pow(std::max(0.0f, dot(nrm, half)), s.shin));
        c = c + s.emitted;
        float* o = &out[(static_cast<size_t>(y) * n_ + x) * 3];
        o[0] = c.x;
        o[1] = c.y;
        o[2] = c.z;
      }
    return out;
  }

  // NIR radiance: illuminator beside the lens plus ambient IR from the key direction.
  std::vector<float> shade_nir(const Camera& cam, const Light& l, float unit_per_px) {
    std::vector<float> out(surf_.size());
    V3 view{0, 0, 1};
    for (int y = 0; y < n_; ++y)
      for (int x = 0; x < n_; ++x) {
        const Surface& s = at(x, y);
        V3 nrm = s.planar ? plane_normal_[static_cast<size_t>(y) * n_ + x] : normal(x, y, unit_per_px);
        float nv = std::max(0.0f, dot(nrm, view));
        float fall = cam.ir_power / sq(std::max(0.25f, s.z));
        float v = s.nir * (fall * (0.25f + 0.75f * nv) + cam.ir_amb * std::max(0.0f, (dot(nrm, l.key_dir) + s.wrap) / (1 + s.wrap)));
        if (s.spec > 0) v += fall * s.spec * 1.5f * dmath::pow(nv, s.shin);
        out[static_cast<size_t>(y) * n_ + x] = v;
      }
    return out;
  }

  std::vector<Surface>& surfaces() { return surf_; }
  std::vector<V3>& plane_normals() {
    plane_normal_.resize(surf_.size(), V3{0, 0, 1});
    return plane_normal_;
  }

 private:
  // Normal from the relief; neighbours on another layer count as level (no seams).
  V3 normal(int x, int y, float unit_per_px) {
    const Surface& c = at(x, y);
    auto h = [&](int xx, int yy) {
      xx = std::clamp(xx, 0, n_ - 1);
      yy = std::clamp(yy, 0, n_ - 1);
      const Surface& s = at(xx, yy);
      return s.layer == c.layer ? s.h : c.h;
    };
    float gx = (h(x + 1, y) - h(x - 1, y)) / (2 * unit_per_px);
    float gy = (h(x, y + 1) - h(x, y - 1)) / (2 * unit_per_px);
    return normalize({-gx, -gy, 1});
  }

  int n_;
  std::vector<Surface> surf_;
  std::vector<V3> plane_normal_;
};

uint8_t quantise(float v) { return static_cast<uint8_t>(std::lround(std::clamp(v, 0.0f, 1.0f) * 255.0f)); }

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

// ------------------------------------------------------------------ presentations

struct Context {
  uint64_t seed;
  int subject, frame, n;
  Kind kind;
  Want want;
};

// The subject as a photo or a video frame: RGB radiance over [-1, 1]^2 (the picture)
// with the face at `pose`. No sensor noise: the source is a good picture.
std::vector<float> picture(const Identity& f, const SceneParams& sc, const Pose& pose, int n) {
  Render rr(n);
  rr.person(f, sc, pose, HeadStyle{}, [](float, float, Surface&, const Pose&) {});
  std::vector<float> lin = rr.shade_rgb(sc.light, 2.0f / n / pose.scale);
  for (size_t i = 0; i < lin.size(); ++i) lin[i] = std::clamp(lin[i] * sc.camera.exposure, 0.0f, 1.0f);
  return lin;
}

struct PrintParams {
  float sat, white, black, dot_gain, blur, halftone, ht_period, ht_angle, grain, ink_k, gloss, paper_nir;
  V3 tint;
  bool cut_oval, eye_holes;  // the sheet cut around the head; the eyes cut out (CASIA-SURF style)
};

// Picture coordinates -> face coordinates of the pictured face (yaw ignored).
void picture_to_face(const Pose& p, float x, float y, float& u, float& v) {
  float dx = x - p.cx, dy = y - p.cy, c = dmath::cos(p.roll), s = dmath::sin(p.roll);
  u = (c * dx + s * dy) / p.scale;
  v = (-s * dx + c * dy) / p.scale;
}

struct ReplayParams {
  float gamma, white_shift, black, emission, moire, moire_period, moire_angle, glare, glare_x, glare_y, glare_r,
      veil, blur, screen_nir, hot, hot_r, bezel_nir, hole_rate;
  V3 bezel;
};

CaptureImages render(const Context& cx) {
  const int n = cx.n;
  Identity id = make_identity(derive_seed(cx.seed, {1, static_cast<uint64_t>(cx.subject)}));
  Rng video(derive_seed(cx.seed, {2, static_cast<uint64_t>(cx.subject), static_cast<uint64_t>(cx.kind)}));
  Rng frame(derive_seed(cx.seed, {3, static_cast<uint64_t>(cx.subject), static_cast<uint64_t>(cx.kind),
                                   static_cast<uint64_t>(cx.frame)}));
  SceneParams sc = make_scene(video);
  Pose pose = jitter(sc.pose, frame);
  Light light = sc.light;
  light.key_dir = normalize(light.key_dir + V3{N(frame, 0, 0.03), N(frame, 0, 0.03), 0});
  Camera cam = sc.camera;
  cam.exposure *= 1 + N(frame, 0, 0.03);
  float unit_per_px = 2.0f / n / pose.scale;

  Render rr(n);
  std::vector<float> rgb_lin;
  switch (cx.kind) {
    case Kind::live: {
      rr.person(id, sc, pose, HeadStyle{}, [](float, float, Surface&, const Pose&) {});
      break;
    }
    case Kind::mask: {
      // The wearer: another person's head, hair, neck and clothes; the mask: the
      // subject's relief, smoothed, rigid, painted, with eye holes and a seam.
      Identity wearer = make_identity(derive_seed(cx.seed, {4, static_cast<uint64_t>(cx.subject)}));
      HeadStyle rigid{0.0f, U(video, 1.25, 1.5), U(video, 0.65, 0.85)};
      bool plaster = video.chance(0.25);
      V3 paint = plaster ? V3{0.80f, 0.77f, 0.70f} * U(video, 0.85, 1.0)
                         : mul(id.skin, V3{U(video, 0.95, 1.15), U(video, 0.9, 1.1), U(video, 0.8, 1.05)});
      float mask_nir = plaster ? U(video, 0.75, 0.88) : U(video, 0.25, 0.48);
      float sheen = U(video, 0.15, 0.45), shin = U(video, 25, 70);
      float cover = U(video, 0.9, 0.96), top = -id.B * U(video, 0.55, 0.7);
      uint64_t paint_tex = video.next();
      rr.person(wearer, sc, pose, HeadStyle{}, [&](float x, float y, Surface& o, const Pose& p) {
        float dx = x - p.cx, dy = y - p.cy;
        float c = dmath::cos(p.roll), s = dmath::sin(p.roll);
        float u1 = (c * dx + s * dy) / p.scale, v1 = (-s * dx + c * dy) / p.scale;
        float hb = id.D * std::sqrt(std::max(0.0f, 1 - sq(u1 / id.A) - sq(v1 / id.B)));
        float u = (u1 - dmath::sin(p.yaw) * hb) / dmath::cos(p.yaw), v = (v1 - dmath::sin(p.pitch) * hb) / dmath::cos(p.pitch);
        float r = outline(id, u / cover, v / cover);
        if (r >= 1 || v < top) return;
        float h = face_height(id, u / cover, v / cover, r, rigid) + 0.03f;
        float edge = std::min(1 - r, (v - top) / 0.1f);
        Surface m;
        m.layer = kHead;
        m.albedo = paint * (1 + 0.015f * fbm(u * 2, v * 2, paint_tex, 2));
        m.nir = mask_nir;
        m.spec = sheen;
        m.shin = shin;
        m.wrap = 0;
        m.ao = 1;
        // Painted brows and lips: flat colour with hard edges.
        float au = std::fabs(u) / cover, vv = v / cover;
        float up = au - (id.eye_dx + 0.02f), bw = id.eye_w * 1.35f;
        if (!plaster && std::fabs(up) < bw &&
            std::fabs(vv - (id.eye_y - id.brow_gap - id.brow_arch * (1 - sq(up / bw)))) < id.brow_thick * 0.8f)
          m.albedo = id.hair * 0.9f;
        if (!plaster && sq(u / cover / id.mouth_w) + sq((vv - id.mouth_y - 0.008f) / id.lip_h) < 0.8f)
          m.albedo = lerp(m.albedo, id.lip, 0.8f);
        // Eye holes: the wearer's eyes, recessed and shaded.
        float du = au - id.eye_dx, dv = vv - id.eye_y;
        if (sq(du / (id.eye_w * 1.1f)) + sq(dv / (id.eye_h * 1.7f)) < 1) {
          float dist = std::sqrt(sq(du) + sq(dv));
          m.albedo = dist < id.eye_h * 0.55f ? V3{0.02f, 0.02f, 0.02f} : dist < id.eye_h * 1.3f ? wearer.iris * 0.6f : V3{0.35f, 0.33f, 0.3f};
          m.nir = dist < id.eye_h * 0.55f ? 0.03f : 0.3f;
          m.spec = 0.3f;
          m.shin = 60;
          h -= 0.06f;
          m.ao = 0.5f;
        }
        // The seam where the mask meets the wearer: a thin shadow.
        if (edge < 0.04f) {
          m.albedo = m.albedo * (0.45f + 0.55f * edge / 0.04f);
          m.ao = 0.7f;
        }
        m.h = h * dmath::cos(p.yaw) * dmath::cos(p.pitch) - u * dmath::sin(p.yaw) - v * dmath::sin(p.pitch);
        m.z = sc.z_face - m.h * kMetresPerUnit;
        o = m;
      });
      break;
    }
    case Kind::print:
    case Kind::replay: {
      // The picture: the subject photographed (or filmed) elsewhere.
      Rng pic_rng(derive_seed(cx.seed, {5, static_cast<uint64_t>(cx.subject), static_cast<uint64_t>(cx.kind)}));
      SceneParams pic = make_scene(pic_rng);
      // The picture's framing decides how much of the sheet or screen is in view.
      pic.pose.scale = cx.kind == Kind::print ? U(pic_rng, 0.55, 1.0) : U(pic_rng, 0.5, 0.9);
      if (cx.kind == Kind::print) {  // a portrait: frontal, flash-lit
        pic.pose.yaw *= 0.5f;
        pic.light.key_dir = normalize(pic.light.key_dir * 0.4f + V3{0, 0, 1});
      }
      Pose pic_pose = cx.kind == Kind::replay ? jitter(pic.pose, frame) : pic.pose;
      const int pn_size = (3 * n + 1) / 2;  // pictures are sharper than the camera
      std::vector<float> img = picture(id, pic, pic_pose, pn_size);
      Medium m = place_medium(pose, pic_pose, video);
      PrintParams pp{};
      ReplayParams rp{};
      std::vector<float> ink(static_cast<size_t>(pn_size) * pn_size);
      if (cx.kind == Kind::print) {
        pp.sat = U(video, 0.45, 0.85);
        pp.white = U(video, 0.72, 0.92);
        pp.black = U(video, 0.04, 0.14);
        pp.dot_gain = U(video, 1.05, 1.45);
        pp.blur = U(video, 0.3, 1.2) * pn_size / 112.0f;
        pp.halftone = video.chance(0.6) ? U(video, 0.05, 0.16) : 0.0f;
        pp.ht_period = U(video, 2.2, 4.5);
        pp.ht_angle = U(video, 0, 1.5708);
        pp.grain = U(video, 0.01, 0.05);
        pp.ink_k = U(video, 0.15, 0.7);
        pp.gloss = video.chance(0.4) ? U(video, 0.05, 0.2) : 0.0f;
        pp.paper_nir = U(video, 0.5, 0.75);
        pp.tint = {1 + N(video, 0, 0.03), 1 + N(video, 0, 0.02), 1 + N(video, 0, 0.04)};
        pp.cut_oval = video.chance(0.3);
        pp.eye_holes = video.chance(0.3);
        m.bend = video.chance(0.5) ? U(video, 0.15, 0.7) : 0.0f;
        m.ext_p = 1 + U(video, 0.0, 0.12);
        m.ext_q = 1 + U(video, 0.0, 0.12);
        // Gamut loss and dot gain, then blur; the halftone screen and the paper grain
        // are applied where the scene samples the sheet.
        blur3(img, pn_size, pp.blur);
        for (size_t i = 0; i < ink.size(); ++i) {
          float* c = &img[i * 3];
          float l = 0.3f * c[0] + 0.59f * c[1] + 0.11f * c[2];
          for (int k = 0; k < 3; ++k) {
            float v = lerp(l, c[k], pp.sat);
            v = dmath::pow(clamp01(v), pp.dot_gain);
            c[k] = pp.black + (pp.white - pp.black) * v;
          }
          ink[i] = dmath::pow(1 - clamp01(l), 1.5f);  // carbon (black) ink follows darkness
        }
      } else {
        rp.gamma = U(video, 0.7, 1.45);
        rp.white_shift = U(video, 0.0, 0.14);
        rp.black = U(video, 0.02, 0.08);
        rp.emission = U(video, 0.7, 1.25);
        rp.moire = U(video, 0.04, 0.18);
        rp.moire_period = U(video, 4.0, 22.0);
        rp.moire_angle = U(video, 0, 3.14159);
        rp.glare = U(video, 0.05, 0.5);
        rp.glare_x = U(video, -0.7, 0.7);
        rp.glare_y = U(video, -0.7, 0.7);
        rp.glare_r = U(video, 0.15, 0.5);
        rp.veil = U(video, 0.0, 0.08);
        rp.blur = U(video, 0.3, 1.0) * pn_size / 112.0f;
        rp.screen_nir = U(video, 0.01, 0.05);
        rp.hot = U(video, 0.1, 0.5);
        rp.hot_r = U(video, 0.05, 0.12);
        rp.bezel_nir = U(video, 0.04, 0.15);
        rp.hole_rate = U(video, 0.0, 0.25);
        float bz = U(video, 0.02, 0.12);
        rp.bezel = {bz, bz, bz * 1.1f};
        m.border = U(video, 0.05, 0.15);
        bool wide = video.chance(0.5);
        m.ext_p = (wide ? 1.0f : 0.8f) + m.border;
        m.ext_q = (wide ? 0.8f : 1.0f) + m.border;
        blur3(img, pn_size, rp.blur);
      }
      // Hand tremor: the medium moves a little between frames.
      m.tx += N(frame, 0, 0.008);
      m.ty += N(frame, 0, 0.008);
      m.rot += N(frame, 0, 0.01);
      float moire_phase = U(frame, 0, 6.2831853);
      float ca = dmath::cos(pp.ht_angle), sa = dmath::sin(pp.ht_angle);
      float cm = dmath::cos(rp.moire_angle), sm = dmath::sin(rp.moire_angle);
      std::vector<V3>& pn = rr.plane_normals();
      for (int y = 0; y < n; ++y)
        for (int x = 0; x < n; ++x) {
          Surface& o = rr.at(x, y);
          float sx = rr.px(x), sy = rr.px(y);
          eval_background(sc.background, sx, sy, o);
          Surface holder;  // the attacker behind the medium: clothes only
          if (eval_person(id, sc.person, pose, sx, sy, HeadStyle{}, holder) && holder.layer == kTorso) {
            holder.z = sc.z_face + 0.1f - holder.h * kMetresPerUnit;
            o = holder;
          }
          float p, q, w, theta;
          if (!medium_lookup(m, sx, sy, p, q, w, theta)) continue;
          Surface s;
          s.layer = kMedium;
          s.planar = true;
          V3 nrm = normalize({dmath::sin(theta) + m.px * 0.8f, m.py * 0.8f, dmath::cos(theta)});
          pn[static_cast<size_t>(y) * n + x] = nrm;
          s.h = 0;
          s.z = m.z * w + (m.bend > 0 ? (1 - dmath::cos(theta)) / m.bend * 0.06f : 0.0f);
          if (cx.kind == Kind::print && (pp.cut_oval || pp.eye_holes)) {
            float fu, fv;
            picture_to_face(pic_pose, p, q, fu, fv);
            if (pp.cut_oval && sq(fu / (id.A * 1.18f)) + sq((fv + 0.08f) / (id.B * 1.22f)) > 1) continue;  // cut away
            float e = sq((std::fabs(fu) - id.eye_dx) / (id.eye_w * 1.2f)) + sq((fv - id.eye_y) / (id.eye_h * 1.9f));
            if (pp.eye_holes && e < 1) {
              // Through the hole: the attacker's eye, a few centimetres behind, shaded.
              float d = std::sqrt(e);
              s.layer = kHead;
              s.planar = false;
              s.albedo = d < 0.3f ? V3{0.02f, 0.02f, 0.02f} : d < 0.6f ? V3{0.12f, 0.07f, 0.04f} : id.skin * 0.5f;
              s.nir = d < 0.3f ? 0.03f : 0.45f;
              s.z += 0.03f;
              s.hole = 0.3f;
              o = s;
              continue;
            }
          }
          if (cx.kind == Kind::print) {
            bool margin = std::fabs(p) > 1 || std::fabs(q) > 1;
            V3 c = margin ? V3{pp.white, pp.white, pp.white} : sample3(img, pn_size, p, q);
            auto cell = [&](float t) { return std::clamp(static_cast<int>((t + 1) * 0.5f * pn_size), 0, pn_size - 1); };
            float k = margin ? 0 : ink[static_cast<size_t>(cell(q)) * pn_size + cell(p)];
            float grain = pp.grain * noise(sx * n * 0.7f, sy * n * 0.7f, 77);
            float ht = 0;
            if (pp.halftone > 0 && !margin) {
              float l = 0.3f * c.x + 0.59f * c.y + 0.11f * c.z;
              float u = (ca * sx + sa * sy) * n / (2 * pp.ht_period), v = (-sa * sx + ca * sy) * n / (2 * pp.ht_period);
              float dots = dmath::cos(6.2831853f * u) * dmath::cos(6.2831853f * v);
              ht = pp.halftone * dots * 4 * l * (1 - l);
            }
            s.albedo = mul(c, pp.tint) * (1 + grain + ht);
            s.nir = pp.paper_nir * (1 - pp.ink_k * k) * (1 + grain + ht * 0.5f);
            s.spec = pp.gloss;
            s.shin = 8;
            s.hole = 0.01f;
          } else {
            bool bezel = std::fabs(p) > m.ext_p - m.border || std::fabs(q) > m.ext_q - m.border;
            if (bezel) {
              s.albedo = rp.bezel;
              s.nir = rp.bezel_nir;
              s.spec = 0.15f;
              s.shin = 30;
            } else {
              V3 c = sample3(img, pn_size, p, q);
              float ph = 6.2831853f * (cm * sx + sm * sy) * n / (2 * rp.moire_period) + moire_phase;
              float chan[3];
              for (int k = 0; k < 3; ++k) {
                float v = dmath::pow(clamp01(k == 0 ? c.x : k == 1 ? c.y : c.z), rp.gamma);
                v = rp.black + (1 - rp.black) * v;
                v *= 1 - rp.moire * (0.5f + 0.5f * dmath::cos(ph + 2.0943951f * k));
                chan[k] = v;
              }
              V3 e{chan[0] * (1 - rp.white_shift), chan[1], chan[2] * (1 + rp.white_shift)};
              float glare = rp.glare * dmath::exp(-0.5f * (sq((p - rp.glare_x) / rp.glare_r) + sq((q - rp.glare_y) / (rp.glare_r * 0.6f))));
              s.albedo = {0.03f, 0.03f, 0.03f};  // glass over a dark panel
              s.emitted = e * rp.emission + V3{1, 1, 1} * (glare + rp.veil);
              // The illuminator's reflection in the glass, where the screen faces the lens.
              float hot = rp.hot * dmath::exp(-0.5f * (sq((p + m.px * 4) / rp.hot_r) + sq((q + m.py * 4) / rp.hot_r)));
              s.nir = rp.screen_nir + hot;
              s.spec = 0;
              s.hole = rp.hole_rate * (0.5f + 0.5f * noise(p * 4, q * 4, 91)) + hot * 0.5f;
            }
          }
          o = s;
        }
      break;
    }
  }

  CaptureImages out;
  if (cx.want.rgb) out.rgb = rgb_camera(rr.shade_rgb(light, unit_per_px), n, cam, frame);
  if (cx.want.depth) out.depth = depth_camera(rr.surfaces(), n, cam, frame);
  if (cx.want.nir) out.nir = nir_camera(rr.shade_nir(cam, light, unit_per_px), n, cam, frame);
  return out;
}

}  // namespace

CaptureImages render_capture(uint64_t seed, int subject, Kind kind, int frame, int size, Want want) {
  return render(Context{seed, subject, frame, size, kind, want});
}

}  // namespace cmclip::data::synth
