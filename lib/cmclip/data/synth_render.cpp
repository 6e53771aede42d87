#include "cmclip/data/synth_render.hpp"

#include <algorithm>
#include <cmath>

#include "cmclip/data/synth_face.hpp"
#include "cmclip/core/portable_math.hpp"
#include "cmclip/core/random.hpp"

namespace cmclip::data::synth {

namespace {


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
        // Glossy paint scatters the depth sensor's projected pattern: speckled dropouts
        // across the mask (matte skin returns almost everywhere).
        m.hole = plaster ? 0.08f : 0.12f + 0.8f * sheen;
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
