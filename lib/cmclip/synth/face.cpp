#include "cmclip/synth/face.hpp"

#include <algorithm>

namespace cmclip::synth {

namespace {

inline float lattice(int64_t x, int64_t y, uint64_t seed) {
  uint64_t h = mix64(seed ^ mix64(static_cast<uint64_t>(x) * 0x9E3779B97F4A7C15ull ^
                                  static_cast<uint64_t>(y) * 0xC2B2AE3D27D4EB4Full));
  return static_cast<float>(h >> 40) * (2.0f / 16777216.0f) - 1.0f;
}

// Eye opening at (du, dv) from the eye centre: 0 outside, else the lid half-height.
float eye_lid(const Identity& f, float du) {
  if (std::fabs(du) >= f.eye_w) return 0;
  return f.eye_h * dmath::pow(1 - sq(du / f.eye_w), 0.7f);
}

// What face_appearance() paints at a point; each feature below paints over the last.
struct Paint {
  V3 a;  // albedo
  float nir, spec, shin, wrap, ao;
};

// Skin: tone and texture, blush, pores and freckles; its NIR and oily sheen.
Paint skin(const Identity& f, float u, float v, const HeadStyle& s) {
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
  return {a, nir, spec, shin, wrap, ao};
}

// Beard stubble below the nose.
void beard(const Identity& f, float u, float v, float r, Paint& p) {
  if (f.beard > 0 && v > f.nose_tip + 0.05f && r < 0.97f) {
    float stub = f.beard * smoothstep(f.nose_tip + 0.05f, f.nose_tip + 0.12f, v) *
                 (0.6f + 0.4f * noise(u * 50, v * 50, f.tex + 5));
    p.a = lerp(p.a, f.hair, clamp01(stub * 0.8f));
    p.nir = lerp(p.nir, f.nir_hair, clamp01(stub * 0.5f));
  }
}

// Brows: a tapered arc above each eye with hair strands.
void brows(const Identity& f, float u, float v, Paint& p) {
  float au = std::fabs(u);
  float up = au - (f.eye_dx + 0.02f), bw = f.eye_w * 1.35f;
  if (std::fabs(up) < bw) {
    float vb = f.eye_y - f.brow_gap - f.brow_arch * (1 - sq(up / bw));
    float th = f.brow_thick * (1.15f - 0.45f * (up + bw) / (2 * bw));
    float strands = 0.75f + 0.25f * noise(u * 90, v * 25, f.tex + 6);
    float m = smoothstep(th, th * 0.55f, std::fabs(v - vb)) * smoothstep(bw, bw * 0.7f, std::fabs(up)) *
              f.brow_density * strands;
    p.a = lerp(p.a, f.brow, clamp01(m));
    p.nir = lerp(p.nir, f.nir_hair, clamp01(0.35f * m));
  }
}

// Eyes: almond opening, sclera, iris, pupil, lash line; wet (sharp highlights).
void eyes(const Identity& f, float u, float v, Paint& p) {
  float au = std::fabs(u);
  float du = au - f.eye_dx, dv = v - f.eye_y;
  float lid = eye_lid(f, du);
  if (lid > 0 && std::fabs(dv) < lid) {
    float side = u < 0 ? -1.0f : 1.0f;
    float ri = f.eye_h * 1.25f;
    float dist = std::sqrt(sq(u - side * f.eye_dx - f.gaze) + sq(dv));
    V3 sclera{0.70f, 0.66f, 0.62f};
    if (dist < 0.42f * ri) {
      p.a = {0.02f, 0.02f, 0.02f};
      p.nir = 0.03f;
    } else if (dist < ri) {
      p.a = f.iris * (0.8f + 0.4f * noise(dmath::atan2(dv, u) * 6, dist * 80, f.tex + 7));
      p.nir = f.nir_iris;
    } else {
      p.a = sclera;
      p.nir = 0.55f;
    }
    float shade = smoothstep(-lid, -lid + 0.02f, dv);  // the upper lid shades the eye
    p.a = p.a * (0.55f + 0.45f * shade);
    p.spec = 0.6f;
    p.shin = 80;
    p.wrap = 0;
  } else if (lid > 0 && dv < 0 && dv > -lid - 0.014f) {
    p.a = p.a * 0.25f;  // lashes
    p.nir *= 0.6f;
  } else if (lid > 0 && dv > 0 && dv < lid + 0.006f) {
    p.a = p.a * 0.75f;
  }
  p.ao *= 1 - 0.35f * gauss(du, dv + 0.02f, 0.13f, 0.07f);  // the socket under the brow
}

// Lips and the mouth line.
void mouth(const Identity& f, float u, float v, const HeadStyle& s, Paint& p) {
  float au = std::fabs(u);
  float m = smoothstep(1.0f, 0.75f, sq(u / f.mouth_w) + sq((v - f.mouth_y - 0.008f) / f.lip_h));
  p.a = lerp(p.a, f.lip, m);
  p.nir = lerp(p.nir, f.nir_skin * 0.93f, m);
  if (au < f.mouth_w * 0.9f) {
    float line = dmath::exp(-0.5f * sq((v - f.mouth_y) / 0.006f)) * smoothstep(f.mouth_w * 0.9f, f.mouth_w * 0.6f, au);
    p.a = p.a * (1 - 0.65f * line * s.detail - 0.3f * line * (1 - s.detail));
    p.nir *= 1 - 0.3f * line;
  }
}

// Nostrils.
void nostrils(const Identity& f, float u, float v, Paint& p) {
  float au = std::fabs(u);
  float g = gauss(au - 0.045f, v - (f.nose_tip + 0.03f), 0.018f, 0.009f);
  p.a = p.a * (1 - 0.75f * g);
  p.nir *= 1 - 0.5f * g;
  p.ao *= 1 - 0.3f * gauss(u, v - f.nose_tip - 0.05f, 0.1f, 0.03f);
}

// Scalp hair above the hairline and at the temples: it also raises the relief and
// scatters the depth pattern (o.h, o.hole).
void scalp_hair(const Identity& f, float u, float v, Paint& p, Surface& o) {
  if (f.hair_style == 3) return;
  float au = std::fabs(u);
  float hl = f.hairline + 0.14f * sq(u / f.A);
  bool hair = v < hl || (au > f.A * 0.86f && v < f.eye_y + 0.02f);
  if (hair) {
    float strands = 0.65f + 0.7f * (0.5f + 0.5f * noise(u * 10, v * 70, f.tex + 8));
    p.a = f.hair * strands;
    p.nir = f.nir_hair * (0.8f + 0.3f * strands);
    p.spec = 0.12f;
    p.shin = 25;
    p.wrap = 0.1f;
    o.hole = 0.25f + 0.5f * (1 - f.nir_hair);  // dark hair scatters the depth pattern
    o.h += f.hair_volume * 0.06f;
  }
}

// Skin, brows, eyes, lips, nostrils, beard and hair of a live face.
void face_appearance(const Identity& f, float u, float v, float r, const HeadStyle& s, Surface& o) {
  Paint p = skin(f, u, v, s);
  beard(f, u, v, r, p);
  brows(f, u, v, p);
  eyes(f, u, v, p);
  mouth(f, u, v, s, p);
  nostrils(f, u, v, p);
  scalp_hair(f, u, v, p, o);
  o.albedo = p.a;
  o.nir = p.nir;
  o.spec = p.spec;
  o.shin = p.shin;
  o.wrap = p.wrap;
  o.ao = p.ao;
}

}  // namespace

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
  static const V3 irises[] = {
      {0.20f, 0.11f, 0.05f}, {0.07f, 0.045f, 0.03f}, {0.22f, 0.32f, 0.42f}, {0.22f, 0.27f, 0.13f}};
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
  F += f.ridge_h * dmath::exp(-0.5f * sq((v - (f.eye_y - f.brow_gap + 0.02f)) / (0.05f * fs))) *
       dmath::exp(-0.5f * sq(u / 0.42f));
  float t = (v - f.nose_top) / (f.nose_tip - f.nose_top);
  if (t > 0 && t <= 1)
    F += f.nose_h * dmath::pow(t, 1.4f) * dmath::exp(-0.5f * sq(u / (f.nose_w * fs * (0.45f + 0.55f * t))));
  else if (t > 1)
    F += f.nose_h * dmath::exp(-0.5f * sq((v - f.nose_tip) / (0.045f * fs))) *
         dmath::exp(-0.5f * sq(u / (f.nose_w * fs)));
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

namespace {
// A height over the head's own frame (u, v) as the camera sees it, the head turned by
// the pose's yaw and pitch.
struct HeadView {
  const Pose& p;
  float u, v;
  float height(float h) const {
    return h * dmath::cos(p.yaw) * dmath::cos(p.pitch) - u * dmath::sin(p.yaw) - v * dmath::sin(p.pitch);
  }
};

// Hair volume around the skull.
bool hair_at(const Identity& f, const HeadView& view, Surface& o) {
  if (f.hair_style == 3) return false;
  const float u = view.u, v = view.v;
  float vol = f.hair_volume;
  float ax = f.A * (f.hair_style == 0 ? 1.04f : 1.08f + 0.1f * vol),
        by = f.B * (f.hair_style == 0 ? 1.02f : 1.05f + 0.04f * vol);
  float hv = sq(u / ax) + sq((v + 0.08f) / by);
  bool inside = hv < 1 && v < (f.hair_style == 0 ? f.eye_y - 0.05f : f.eye_y + 0.25f);
  if (f.hair_style == 2 && std::fabs(u) < f.A * 1.25f && std::fabs(u) > f.A * 0.78f && v < f.B * 1.45f) inside = true;
  if (!inside) return false;
  float strands = 0.65f + 0.7f * (0.5f + 0.5f * noise(u * 10, v * 70, f.tex + 8));
  o.layer = kHead;
  o.h = view.height(0.55f * f.D * std::sqrt(std::max(0.0f, 1 - std::min(hv, 1.0f))) - 0.05f);
  o.albedo = f.hair * strands;
  o.nir = f.nir_hair * (0.8f + 0.3f * strands);
  o.spec = 0.1f;
  o.shin = 25;
  o.wrap = 0.1f;
  o.hole = 0.25f + 0.5f * (1 - f.nir_hair);
  return true;
}

bool ear_at(const Identity& f, const HeadView& view, Surface& o) {
  const float u = view.u, v = view.v;
  for (float side : {-1.0f, 1.0f}) {
    float e = sq((u - side * (f.A * 0.97f + 0.03f)) / (0.075f * f.ear_size)) + sq((v - f.ear_y) / (0.15f * f.ear_size));
    if (e < 1) {
      o.layer = kHead;
      o.h = view.height(0.12f * f.D * (1 - e));
      o.albedo = f.skin * 0.9f;
      o.nir = f.nir_skin * 0.95f;
      o.spec = f.oil * 0.5f;
      o.shin = 15;
      o.wrap = 0.35f;
      o.ao = 0.8f + 0.2f * e;
      return true;
    }
  }
  return false;
}

// The neck (in shadow under the chin), then shoulders and clothes, in the image
// plane's head coordinates (u1, v1).
bool body_at(const Identity& f, const PersonStyle& ps, float u1, float v1, Surface& o) {
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
  float top = f.B * 1.3f;
  if (v1 <= top) return false;
  float half = f.A * (0.75f + 2.2f * std::sqrt(v1 - top));
  if (std::fabs(u1) >= half) return false;
  o.layer = kTorso;
  o.h = -0.6f + 0.25f * std::sqrt(std::max(0.0f, 1 - sq(u1 / half)));
  o.albedo = ps.cloth * (0.85f + 0.3f * fbm(u1 * 2.5f, v1 * 2.5f, ps.cloth_tex, 3));
  o.nir = ps.cloth_nir;
  o.spec = 0.02f;
  o.shin = 6;
  return true;
}
}  // namespace

bool eval_person(const Identity& f, const PersonStyle& ps, const Pose& p, float x, float y, const HeadStyle& hs,
                 Surface& o) {
  float dx = x - p.cx, dy = y - p.cy;
  float c = dmath::cos(p.roll), s = dmath::sin(p.roll);
  float u1 = (c * dx + s * dy) / p.scale, v1 = (-s * dx + c * dy) / p.scale;
  float hb = f.D * std::sqrt(std::max(0.0f, 1 - sq(u1 / f.A) - sq(v1 / f.B)));
  float u = (u1 - dmath::sin(p.yaw) * hb) / dmath::cos(p.yaw);
  float v = (v1 - dmath::sin(p.pitch) * hb) / dmath::cos(p.pitch);
  const HeadView view{p, u, v};
  float r = outline(f, u, v);
  if (r < 1) {
    o.layer = kHead;
    o.h = face_height(f, u, v, r, hs);
    face_appearance(f, u, v, r, hs, o);
    o.h = view.height(o.h);
    return true;
  }
  return hair_at(f, view, o) || ear_at(f, view, o) || body_at(f, ps, u1, v1, o);
}

}  // namespace cmclip::synth
