// The planar media of fas-synth's print and replay attacks (internal to lib/cmclip/synth,
// for render.cpp): where a sheet or screen lies in the scene, what the printer or
// the screen makes of the subject's picture, and what each point of the medium shows
// the three sensors. Same determinism rules as render.hpp.
#pragma once
#include <vector>

#include "cmclip/synth/face.hpp"

namespace cmclip::synth::detail {

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
bool medium_lookup(const Medium& m, float x, float y, float& p, float& q, float& w, float& theta);

// The medium placed so the face of the picture (pose `pic`) lands where a live face
// would be (pose `target`).
Medium place_medium(const Pose& target, const Pose& pic, Rng& r);

// Hand tremor: the medium moves a little between frames. Returns the frame's moire
// phase, which only screens use; prints draw it too, because the camera noise comes
// next from the same stream (leaving the draw out would change every print's bytes).
float hand_tremor(Medium& m, Rng& frame);

// ------------------------------------------------------------------ print

struct PrintParams {
  float sat, white, black, dot_gain, blur, halftone, ht_period, ht_angle, grain, ink_k, gloss, paper_nir;
  V3 tint;
  bool cut_oval, eye_holes;  // the sheet cut around the head; the eyes cut out (CASIA-SURF style)
};

// The subject's picture as printed on the sheet.
struct Sheet {
  PrintParams pp;
  int size;                // picture pixels across
  std::vector<float> img;  // printed colour: interleaved RGB over [-1, 1]^2
  std::vector<float> ink;  // carbon (black) ink per picture pixel
  Pose pic_pose;           // the face in the picture, for the cut-outs
  float ca, sa;            // the halftone screen's angle
};

// Draws the printer and the paper from `video` (bending and sizing `m`), then prints
// `img` (size * size RGB, the face at `pic_pose`).
Sheet print_sheet(std::vector<float> img, int size, const Pose& pic_pose, Medium& m, Rng& video);

// The sheet at picture point (p, q), seen at scene point (sx, sy) by an n-pixel camera,
// into `s`; false where the sheet is cut away. Through an eye hole: the attacker's eye.
bool sheet_surface(const Sheet& sh, const Identity& id, int n, float sx, float sy, float p, float q, Surface& s);

// ------------------------------------------------------------------ replay

struct ReplayParams {
  float gamma, white_shift, black, emission, moire, moire_period, moire_angle, glare, glare_x, glare_y, glare_r, veil,
      blur, screen_nir, hot, hot_r, bezel_nir, hole_rate;
  V3 bezel;
};

// The subject's video frame as shown on the screen.
struct Screen {
  ReplayParams rp;
  int size;                // picture pixels across
  std::vector<float> img;  // the frame, blurred: interleaved RGB over [-1, 1]^2
  float cm, sm;            // the moire's angle
  float moire_phase;       // this frame's (hand_tremor)
};

// Draws the screen from `video` (its bezel and aspect sizing `m`), then blurs `img`
// (size * size RGB). moire_phase is left for hand_tremor.
Screen replay_screen(std::vector<float> img, int size, Medium& m, Rng& video);

// The screen (medium `m`) at picture point (p, q), seen at scene point (sx, sy) by an
// n-pixel camera, into `s`.
void screen_surface(const Screen& sc, const Medium& m, int n, float sx, float sy, float p, float q, Surface& s);

}  // namespace cmclip::synth::detail
