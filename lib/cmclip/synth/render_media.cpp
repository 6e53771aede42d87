#include "cmclip/synth/render_media.hpp"

#include <algorithm>
#include <cmath>
#include <utility>

#include "cmclip/core/portable_math.hpp"
#include "cmclip/core/random.hpp"

namespace cmclip::synth::detail {

namespace {

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

// Separable Gaussian blur of an interleaved RGB image, in place.
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

// Picture coordinates -> face coordinates of the pictured face (yaw ignored).
void picture_to_face(const Pose& p, float x, float y, float& u, float& v) {
  float dx = x - p.cx, dy = y - p.cy, c = dmath::cos(p.roll), s = dmath::sin(p.roll);
  u = (c * dx + s * dy) / p.scale;
  v = (-s * dx + c * dy) / p.scale;
}

}  // namespace

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

float hand_tremor(Medium& m, Rng& frame) {
  m.tx += N(frame, 0, 0.008);
  m.ty += N(frame, 0, 0.008);
  m.rot += N(frame, 0, 0.01);
  return U(frame, 0, 6.2831853);
}

// ------------------------------------------------------------------ print

Sheet print_sheet(std::vector<float> img, int size, const Pose& pic_pose, Medium& m, Rng& video) {
  Sheet sh{};
  PrintParams& pp = sh.pp;
  pp.sat = U(video, 0.45, 0.85);
  pp.white = U(video, 0.72, 0.92);
  pp.black = U(video, 0.04, 0.14);
  pp.dot_gain = U(video, 1.05, 1.45);
  pp.blur = U(video, 0.3, 1.2) * size / 112.0f;
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
  blur3(img, size, pp.blur);
  sh.ink.resize(static_cast<size_t>(size) * size);
  for (size_t i = 0; i < sh.ink.size(); ++i) {
    float* c = &img[i * 3];
    float l = 0.3f * c[0] + 0.59f * c[1] + 0.11f * c[2];
    for (int k = 0; k < 3; ++k) {
      float v = lerp(l, c[k], pp.sat);
      v = dmath::pow(clamp01(v), pp.dot_gain);
      c[k] = pp.black + (pp.white - pp.black) * v;
    }
    sh.ink[i] = dmath::pow(1 - clamp01(l), 1.5f);  // carbon (black) ink follows darkness
  }
  sh.size = size;
  sh.img = std::move(img);
  sh.pic_pose = pic_pose;
  sh.ca = dmath::cos(pp.ht_angle);
  sh.sa = dmath::sin(pp.ht_angle);
  return sh;
}

bool sheet_surface(const Sheet& sh, const Identity& id, int n, float sx, float sy, float p, float q, Surface& s) {
  const PrintParams& pp = sh.pp;
  if (pp.cut_oval || pp.eye_holes) {
    float fu, fv;
    picture_to_face(sh.pic_pose, p, q, fu, fv);
    if (pp.cut_oval && sq(fu / (id.A * 1.18f)) + sq((fv + 0.08f) / (id.B * 1.22f)) > 1) return false;  // cut away
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
      return true;
    }
  }
  const int size = sh.size;
  bool margin = std::fabs(p) > 1 || std::fabs(q) > 1;
  V3 c = margin ? V3{pp.white, pp.white, pp.white} : sample3(sh.img, size, p, q);
  auto cell = [&](float t) { return std::clamp(static_cast<int>((t + 1) * 0.5f * size), 0, size - 1); };
  float k = margin ? 0 : sh.ink[static_cast<size_t>(cell(q)) * size + cell(p)];
  float grain = pp.grain * noise(sx * n * 0.7f, sy * n * 0.7f, 77);
  float ht = 0;
  if (pp.halftone > 0 && !margin) {
    float l = 0.3f * c.x + 0.59f * c.y + 0.11f * c.z;
    float u = (sh.ca * sx + sh.sa * sy) * n / (2 * pp.ht_period),
          v = (-sh.sa * sx + sh.ca * sy) * n / (2 * pp.ht_period);
    float dots = dmath::cos(6.2831853f * u) * dmath::cos(6.2831853f * v);
    ht = pp.halftone * dots * 4 * l * (1 - l);
  }
  s.albedo = mul(c, pp.tint) * (1 + grain + ht);
  s.nir = pp.paper_nir * (1 - pp.ink_k * k) * (1 + grain + ht * 0.5f);
  s.spec = pp.gloss;
  s.shin = 8;
  s.hole = 0.01f;
  return true;
}

// ------------------------------------------------------------------ replay

Screen replay_screen(std::vector<float> img, int size, Medium& m, Rng& video) {
  Screen sc{};
  ReplayParams& rp = sc.rp;
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
  rp.blur = U(video, 0.3, 1.0) * size / 112.0f;
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
  blur3(img, size, rp.blur);
  sc.size = size;
  sc.img = std::move(img);
  sc.cm = dmath::cos(rp.moire_angle);
  sc.sm = dmath::sin(rp.moire_angle);
  return sc;
}

void screen_surface(const Screen& sc, const Medium& m, int n, float sx, float sy, float p, float q, Surface& s) {
  const ReplayParams& rp = sc.rp;
  bool bezel = std::fabs(p) > m.ext_p - m.border || std::fabs(q) > m.ext_q - m.border;
  if (bezel) {
    s.albedo = rp.bezel;
    s.nir = rp.bezel_nir;
    s.spec = 0.15f;
    s.shin = 30;
    return;
  }
  V3 c = sample3(sc.img, sc.size, p, q);
  float ph = 6.2831853f * (sc.cm * sx + sc.sm * sy) * n / (2 * rp.moire_period) + sc.moire_phase;
  float chan[3];
  for (int k = 0; k < 3; ++k) {
    float v = dmath::pow(clamp01(k == 0 ? c.x : k == 1 ? c.y : c.z), rp.gamma);
    v = rp.black + (1 - rp.black) * v;
    v *= 1 - rp.moire * (0.5f + 0.5f * dmath::cos(ph + 2.0943951f * k));
    chan[k] = v;
  }
  V3 e{chan[0] * (1 - rp.white_shift), chan[1], chan[2] * (1 + rp.white_shift)};
  float glare =
      rp.glare * dmath::exp(-0.5f * (sq((p - rp.glare_x) / rp.glare_r) + sq((q - rp.glare_y) / (rp.glare_r * 0.6f))));
  s.albedo = {0.03f, 0.03f, 0.03f};  // glass over a dark panel
  s.emitted = e * rp.emission + V3{1, 1, 1} * (glare + rp.veil);
  // The illuminator's reflection in the glass, where the screen faces the lens.
  float hot = rp.hot * dmath::exp(-0.5f * (sq((p + m.px * 4) / rp.hot_r) + sq((q + m.py * 4) / rp.hot_r)));
  s.nir = rp.screen_nir + hot;
  s.spec = 0;
  s.hole = rp.hole_rate * (0.5f + 0.5f * noise(p * 4, q * 4, 91)) + hot * 0.5f;
}

}  // namespace cmclip::synth::detail
