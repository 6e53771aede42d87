// Training augmentation and evaluation transform of face crops (uint8 RGB, HWC),
// as the group's FAS code does it, scaled to the model's resolution R:
//   train: resize to round(R·300/224), random crop R, horizontal flip, rotation,
//          colour jitter (each with its probability);
//   eval:  resize to R, no crop.
// Parameters are drawn once per record, so co-registered modalities of one capture
// get identical geometry and jitter.
#pragma once
#include <opencv2/core/mat.hpp>

#include <array>
#include <cstdint>

namespace CLI {
class App;
}

namespace cmclip {
class Rng;
}

namespace cmclip::data {

struct AugmentOptions {
  bool enabled = true;
  double resize_ratio = 300.0 / 224.0;  // resize before the random crop, relative to R
  double flip_prob = 0.5;
  double rotate_prob = 0.5;
  double max_angle = 180.0;  // degrees, U(-max, max)
  double jitter_prob = 0.5;
  double jitter_strength = 0.5;  // b, c, s, h strengths drawn from U(0, this)

  void register_on(CLI::App& app);
  void validate() const;
};

struct AugmentParams {
  int crop_x = 0, crop_y = 0;
  bool flip = false;
  double angle = 0;  // degrees; 0 = none
  bool jitter = false;
  double brightness = 1, contrast = 1, saturation = 1, hue = 0;  // factors; hue in turns
  std::array<int, 4> order{0, 1, 2, 3};                          // brightness, contrast, saturation, hue
};

AugmentParams draw_augment(Rng& rng, const AugmentOptions& o, int resolution);
// Train-time transform of one crop to R x R.
cv::Mat augment_image(const cv::Mat& rgb, const AugmentParams& p, const AugmentOptions& o, int resolution);
// Evaluation transform: resize to R x R.
cv::Mat eval_image(const cv::Mat& rgb, int resolution);

// torchvision-style colour operations on uint8 RGB (factor 1 = identity).
cv::Mat adjust_brightness(const cv::Mat& rgb, double factor);
cv::Mat adjust_contrast(const cv::Mat& rgb, double factor);
cv::Mat adjust_saturation(const cv::Mat& rgb, double factor);
cv::Mat adjust_hue(const cv::Mat& rgb, double shift_turns);  // shift in [-0.5, 0.5]

}  // namespace cmclip::data
