#include "cmclip/synth/render.hpp"

#include <algorithm>
#include <cmath>
#include <utility>

#include "cmclip/synth/face.hpp"
#include "cmclip/synth/render_media.hpp"
#include "cmclip/synth/sensors.hpp"
#include "cmclip/core/portable_math.hpp"
#include "cmclip/core/random.hpp"

namespace cmclip::synth {

using namespace detail;  // the print and replay media (render_media.cpp), the sensors (sensors.cpp)

namespace {

// ------------------------------------------------------------------ scene

struct Light {
  V3 key_dir, key_col, amb_col;
  float key = 0.8f, amb = 0.4f, fill = 0.1f;
};

struct Background {
  V3 c0, c1;
  float gx, gy;  // gradient direction
  struct Box {
    float x0, y0, x1, y1;
    V3 col;
    float nir, z;
  };
  std::vector<Box> boxes;
  float wall_z;  // metres; 0 = out of the depth sensor's range
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
        if (s.spec > 0 && nl > 0)
          c = c + l.key_col * (s.spec * l.key * dmath::pow(std::max(0.0f, dot(nrm, half)), s.shin));
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
        float v = s.nir * (fall * (0.25f + 0.75f * nv) +
                           cam.ir_amb * std::max(0.0f, (dot(nrm, l.key_dir) + s.wrap) / (1 + s.wrap)));
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

// ------------------------------------------------------------------ presentations

struct Context {
  uint64_t seed;
  int subject, frame, n;
  Kind kind;
  Want want;
};

// One frame of a video: the subject, the video's scene, and this frame's pose, light and
// camera.
struct Shot {
  Context cx;
  Identity id;
  SceneParams sc;
  Pose pose;
  Light light;
  Camera cam;
};

// `video` draws what all frames of the video share (the scene), `frame` what moves
// between them.
Shot shoot(const Context& cx, Rng& video, Rng& frame) {
  Shot s;
  s.cx = cx;
  s.id = make_identity(derive_seed(cx.seed, {1, static_cast<uint64_t>(cx.subject)}));
  s.sc = make_scene(video);
  s.pose = jitter(s.sc.pose, frame);
  s.light = s.sc.light;
  s.light.key_dir = normalize(s.light.key_dir + V3{N(frame, 0, 0.03), N(frame, 0, 0.03), 0});
  s.cam = s.sc.camera;
  s.cam.exposure *= 1 + N(frame, 0, 0.03);
  return s;
}

// The subject as a photo or a video frame: RGB radiance over [-1, 1]^2 (the picture)
// with the face at `pose`. No sensor noise: the source is a good picture.
std::vector<float> picture(const Identity& f, const SceneParams& sc, const Pose& pose, int n) {
  Render rr(n);
  rr.person(f, sc, pose, HeadStyle{}, [](float, float, Surface&, const Pose&) {});
  std::vector<float> lin = rr.shade_rgb(sc.light, 2.0f / n / pose.scale);
  for (size_t i = 0; i < lin.size(); ++i) lin[i] = std::clamp(lin[i] * sc.camera.exposure, 0.0f, 1.0f);
  return lin;
}

// The subject, live, before the background.
void present_live(Render& rr, const Shot& s) {
  rr.person(s.id, s.sc, s.pose, HeadStyle{}, [](float, float, Surface&, const Pose&) {});
}

// The mask: the subject's relief, smoothed, rigid, painted, with eye holes and a seam.
struct Mask {
  HeadStyle rigid;
  bool plaster;
  V3 paint;
  float nir, sheen, shin;
  float cover;  // its size relative to the face
  float top;    // its upper edge (face units)
  uint64_t paint_tex;
};

Mask make_mask(const Identity& id, Rng& video) {
  Mask k;
  k.rigid = HeadStyle{0.0f, U(video, 1.25, 1.5), U(video, 0.65, 0.85)};
  k.plaster = video.chance(0.25);
  k.paint = k.plaster ? V3{0.80f, 0.77f, 0.70f} * U(video, 0.85, 1.0)
                      : mul(id.skin, V3{U(video, 0.95, 1.15), U(video, 0.9, 1.1), U(video, 0.8, 1.05)});
  k.nir = k.plaster ? U(video, 0.75, 0.88) : U(video, 0.25, 0.48);
  k.sheen = U(video, 0.15, 0.45);
  k.shin = U(video, 25, 70);
  k.cover = U(video, 0.9, 0.96);
  k.top = -id.B * U(video, 0.55, 0.7);
  k.paint_tex = video.next();
  return k;
}

// Painted brows and lips, and the eye holes with the wearer's eyes behind, at mask
// coordinates (u, v); an eye hole also lowers the relief h.
void paint_mask(const Mask& k, const Identity& id, const Identity& wearer, float u, float v, Surface& m, float& h) {
  // Painted brows and lips: flat colour with hard edges.
  float au = std::fabs(u) / k.cover, vv = v / k.cover;
  float up = au - (id.eye_dx + 0.02f), bw = id.eye_w * 1.35f;
  if (!k.plaster && std::fabs(up) < bw &&
      std::fabs(vv - (id.eye_y - id.brow_gap - id.brow_arch * (1 - sq(up / bw)))) < id.brow_thick * 0.8f)
    m.albedo = id.hair * 0.9f;
  if (!k.plaster && sq(u / k.cover / id.mouth_w) + sq((vv - id.mouth_y - 0.008f) / id.lip_h) < 0.8f)
    m.albedo = lerp(m.albedo, id.lip, 0.8f);
  // Eye holes: the wearer's eyes, recessed and shaded.
  float du = au - id.eye_dx, dv = vv - id.eye_y;
  if (sq(du / (id.eye_w * 1.1f)) + sq(dv / (id.eye_h * 1.7f)) < 1) {
    float dist = std::sqrt(sq(du) + sq(dv));
    m.albedo = dist < id.eye_h * 0.55f  ? V3{0.02f, 0.02f, 0.02f}
               : dist < id.eye_h * 1.3f ? wearer.iris * 0.6f
                                        : V3{0.35f, 0.33f, 0.3f};
    m.nir = dist < id.eye_h * 0.55f ? 0.03f : 0.3f;
    m.spec = 0.3f;
    m.shin = 60;
    h -= 0.06f;
    m.ao = 0.5f;
  }
}

// The mask of `id` on the wearer's face at scene point (x, y), pose p: into `o` where it
// covers the face.
void put_mask(const Mask& k, const Identity& id, const Identity& wearer, float z_face, float x, float y, const Pose& p,
              Surface& o) {
  float dx = x - p.cx, dy = y - p.cy;
  float c = dmath::cos(p.roll), s = dmath::sin(p.roll);
  float u1 = (c * dx + s * dy) / p.scale, v1 = (-s * dx + c * dy) / p.scale;
  float hb = id.D * std::sqrt(std::max(0.0f, 1 - sq(u1 / id.A) - sq(v1 / id.B)));
  float u = (u1 - dmath::sin(p.yaw) * hb) / dmath::cos(p.yaw),
        v = (v1 - dmath::sin(p.pitch) * hb) / dmath::cos(p.pitch);
  float r = outline(id, u / k.cover, v / k.cover);
  if (r >= 1 || v < k.top) return;
  float h = face_height(id, u / k.cover, v / k.cover, r, k.rigid) + 0.03f;
  float edge = std::min(1 - r, (v - k.top) / 0.1f);
  Surface m;
  m.layer = kHead;
  m.albedo = k.paint * (1 + 0.015f * fbm(u * 2, v * 2, k.paint_tex, 2));
  m.nir = k.nir;
  m.spec = k.sheen;
  m.shin = k.shin;
  // Glossy paint scatters the depth sensor's projected pattern: speckled dropouts
  // across the mask (matte skin returns almost everywhere).
  m.hole = k.plaster ? 0.08f : 0.12f + 0.8f * k.sheen;
  m.wrap = 0;
  m.ao = 1;
  paint_mask(k, id, wearer, u, v, m, h);
  // The seam where the mask meets the wearer: a thin shadow.
  if (edge < 0.04f) {
    m.albedo = m.albedo * (0.45f + 0.55f * edge / 0.04f);
    m.ao = 0.7f;
  }
  m.h = h * dmath::cos(p.yaw) * dmath::cos(p.pitch) - u * dmath::sin(p.yaw) - v * dmath::sin(p.pitch);
  m.z = z_face - m.h * kMetresPerUnit;
  o = m;
}

// The wearer (another person's head, hair, neck and clothes) in a mask of the subject.
void present_mask(Render& rr, const Shot& s, Rng& video) {
  Identity wearer = make_identity(derive_seed(s.cx.seed, {4, static_cast<uint64_t>(s.cx.subject)}));
  Mask k = make_mask(s.id, video);
  rr.person(wearer, s.sc, s.pose, HeadStyle{},
            [&](float x, float y, Surface& o, const Pose& p) { put_mask(k, s.id, wearer, s.sc.z_face, x, y, p, o); });
}

// The picture of a print or replay: the subject photographed (or filmed) elsewhere, and
// the medium placed for it.
struct Picture {
  Pose pose;  // the face in the picture
  int size;   // pixels across
  std::vector<float> img;
  Medium m;
};

Picture take_picture(const Shot& s, Rng& video, Rng& frame) {
  const Context& cx = s.cx;
  Rng pic_rng(derive_seed(cx.seed, {5, static_cast<uint64_t>(cx.subject), static_cast<uint64_t>(cx.kind)}));
  SceneParams pic = make_scene(pic_rng);
  // The picture's framing decides how much of the sheet or screen is in view.
  pic.pose.scale = cx.kind == Kind::print ? U(pic_rng, 0.55, 1.0) : U(pic_rng, 0.5, 0.9);
  if (cx.kind == Kind::print) {  // a portrait: frontal, flash-lit
    pic.pose.yaw *= 0.5f;
    pic.light.key_dir = normalize(pic.light.key_dir * 0.4f + V3{0, 0, 1});
  }
  Picture out;
  out.pose = cx.kind == Kind::replay ? jitter(pic.pose, frame) : pic.pose;
  out.size = (3 * cx.n + 1) / 2;  // pictures are sharper than the camera
  out.img = picture(s.id, pic, out.pose, out.size);
  out.m = place_medium(s.pose, out.pose, video);
  return out;
}

// The attacker holding medium `m` before the background (their clothes show around it).
// surface_at(sx, sy, p, q, s) fills the medium's surface `s` at scene point (sx, sy),
// picture point (p, q), or returns false where the medium is cut away.
template <class SurfaceAt>
void hold_medium(Render& rr, const Shot& shot, const Medium& m, SurfaceAt surface_at) {
  const int n = rr.n();
  std::vector<V3>& pn = rr.plane_normals();
  for (int y = 0; y < n; ++y)
    for (int x = 0; x < n; ++x) {
      Surface& o = rr.at(x, y);
      float sx = rr.px(x), sy = rr.px(y);
      eval_background(shot.sc.background, sx, sy, o);
      Surface holder;  // the attacker behind the medium: clothes only
      if (eval_person(shot.id, shot.sc.person, shot.pose, sx, sy, HeadStyle{}, holder) && holder.layer == kTorso) {
        holder.z = shot.sc.z_face + 0.1f - holder.h * kMetresPerUnit;
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
      if (surface_at(sx, sy, p, q, s)) o = s;
    }
}

// A print attack: the subject's photo on a sheet held before the camera.
void present_print(Render& rr, const Shot& s, Rng& video, Rng& frame) {
  Picture pic = take_picture(s, video, frame);
  Sheet sheet = print_sheet(std::move(pic.img), pic.size, pic.pose, pic.m, video);
  hand_tremor(pic.m, frame);  // (the moire phase it returns is for screens)
  hold_medium(rr, s, pic.m, [&](float sx, float sy, float p, float q, Surface& o) {
    return sheet_surface(sheet, s.id, s.cx.n, sx, sy, p, q, o);
  });
}

// A replay attack: the subject's video on a screen held before the camera.
void present_replay(Render& rr, const Shot& s, Rng& video, Rng& frame) {
  Picture pic = take_picture(s, video, frame);
  Screen screen = replay_screen(std::move(pic.img), pic.size, pic.m, video);
  screen.moire_phase = hand_tremor(pic.m, frame);
  hold_medium(rr, s, pic.m, [&](float sx, float sy, float p, float q, Surface& o) {
    screen_surface(screen, pic.m, s.cx.n, sx, sy, p, q, o);
    return true;
  });
}

// The three sensors; `frame` draws their noise.
CaptureImages capture(Render& rr, const Shot& s, Rng& frame) {
  const int n = s.cx.n;
  float unit_per_px = 2.0f / n / s.pose.scale;
  CaptureImages out;
  if (s.cx.want.rgb) out.rgb = rgb_camera(rr.shade_rgb(s.light, unit_per_px), n, s.cam, frame);
  if (s.cx.want.depth) out.depth = depth_camera(rr.surfaces(), n, s.cam, frame);
  if (s.cx.want.nir) out.nir = nir_camera(rr.shade_nir(s.cam, s.light, unit_per_px), n, s.cam, frame);
  return out;
}

CaptureImages render(const Context& cx) {
  Rng video(derive_seed(cx.seed, {2, static_cast<uint64_t>(cx.subject), static_cast<uint64_t>(cx.kind)}));
  Rng frame(derive_seed(cx.seed, {3, static_cast<uint64_t>(cx.subject), static_cast<uint64_t>(cx.kind),
                                  static_cast<uint64_t>(cx.frame)}));
  Shot s = shoot(cx, video, frame);
  Render rr(cx.n);
  switch (cx.kind) {
    case Kind::live:
      present_live(rr, s);
      break;
    case Kind::mask:
      present_mask(rr, s, video);
      break;
    case Kind::print:
      present_print(rr, s, video, frame);
      break;
    case Kind::replay:
      present_replay(rr, s, video, frame);
      break;
  }
  return capture(rr, s, frame);
}

}  // namespace

CaptureImages render_capture(uint64_t seed, int subject, Kind kind, int frame, int size, Want want) {
  return render(Context{seed, subject, frame, size, kind, want});
}

}  // namespace cmclip::synth
