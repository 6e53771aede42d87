#include "cmclip/data/augment.hpp"

#include <CLI/CLI.hpp>
#include <opencv2/imgproc.hpp>

#include <cmath>

#include <fmt/format.h>

#include "cmclip/core/error.hpp"
#include "cmclip/core/random.hpp"

namespace cmclip::data {

void AugmentOptions::register_on(CLI::App& app) {
  auto* g = app.add_option_group("Augmentation");
  g->add_flag("!--no-augment", enabled, "Train on the evaluation transform (resize only)");
  g->add_option("--flip-prob", flip_prob, "Probability of a horizontal flip")->capture_default_str();
  g->add_option("--rotate-prob", rotate_prob, "Probability of a rotation")->capture_default_str();
  g->add_option("--max-angle", max_angle, "Rotation angle range in degrees, U(-a, a)")->capture_default_str();
  g->add_option("--jitter-prob", jitter_prob, "Probability of colour jitter")->capture_default_str();
  g->add_option("--jitter-strength", jitter_strength,
                "Brightness/contrast/saturation/hue strengths are drawn from U(0, this)")
      ->capture_default_str();
}

void AugmentOptions::validate() const {
  for (auto [name, p] :
       {std::pair{"--flip-prob", flip_prob}, {"--rotate-prob", rotate_prob}, {"--jitter-prob", jitter_prob}})
    if (p < 0 || p > 1) throw UsageError(fmt::format("{} {} must be a probability in [0, 1]", name, p));
  if (max_angle < 0 || max_angle > 180) throw UsageError("--max-angle must be in [0, 180]");
  if (jitter_strength < 0 || jitter_strength > 0.5)
    throw UsageError("--jitter-strength must be in [0, 0.5] (hue shifts at most half a turn)");
  if (resize_ratio < 1) throw UsageError("resize ratio must be at least 1");
}

namespace {
int resized_side(const AugmentOptions& o, int resolution) {
  return static_cast<int>(std::lround(resolution * o.resize_ratio));
}

cv::Mat resize_to(const cv::Mat& img, int w, int h) {
  if (img.cols == w && img.rows == h) return img.clone();
  cv::Mat out;
  bool down = w < img.cols || h < img.rows;
  cv::resize(img, out, cv::Size(w, h), 0, 0, down ? cv::INTER_AREA : cv::INTER_CUBIC);
  return out;
}

cv::Mat grey_of(const cv::Mat& rgb) {
  cv::Mat g;
  cv::cvtColor(rgb, g, cv::COLOR_RGB2GRAY);
  return g;
}

// out = a·img + (1-a)·other, saturated to uint8 (torchvision's _blend).
cv::Mat blend(const cv::Mat& img, const cv::Mat& other, double a) {
  cv::Mat out;
  cv::addWeighted(img, a, other, 1.0 - a, 0.0, out);
  return out;
}
}  // namespace

cv::Mat adjust_brightness(const cv::Mat& rgb, double f) {
  return blend(rgb, cv::Mat::zeros(rgb.size(), rgb.type()), f);
}

cv::Mat adjust_contrast(const cv::Mat& rgb, double f) {
  double mean = cv::mean(grey_of(rgb))[0];
  return blend(rgb, cv::Mat(rgb.size(), rgb.type(), cv::Scalar::all(mean)), f);
}

cv::Mat adjust_saturation(const cv::Mat& rgb, double f) {
  cv::Mat grey3;
  cv::cvtColor(grey_of(rgb), grey3, cv::COLOR_GRAY2RGB);
  return blend(rgb, grey3, f);
}

cv::Mat adjust_hue(const cv::Mat& rgb, double shift) {
  if (shift == 0) return rgb.clone();
  cv::Mat hsv;
  cv::cvtColor(rgb, hsv, cv::COLOR_RGB2HSV_FULL);  // hue in 0..255 = one turn
  int delta = static_cast<int>(std::lround(shift * 256.0));
  for (int y = 0; y < hsv.rows; ++y) {
    auto* p = hsv.ptr<cv::Vec3b>(y);
    for (int x = 0; x < hsv.cols; ++x) p[x][0] = static_cast<uint8_t>((p[x][0] + delta) & 255);
  }
  cv::Mat out;
  cv::cvtColor(hsv, out, cv::COLOR_HSV2RGB_FULL);
  return out;
}

AugmentParams draw_augment(Rng& rng, const AugmentOptions& o, int resolution) {
  AugmentParams p;
  int side = resized_side(o, resolution);
  p.crop_x = static_cast<int>(rng.below(side - resolution + 1));
  p.crop_y = static_cast<int>(rng.below(side - resolution + 1));
  p.flip = rng.chance(o.flip_prob);
  if (rng.chance(o.rotate_prob)) p.angle = rng.uniform(-o.max_angle, o.max_angle);
  p.jitter = rng.chance(o.jitter_prob);
  if (p.jitter) {
    double b = rng.uniform(0, o.jitter_strength), c = rng.uniform(0, o.jitter_strength);
    double s = rng.uniform(0, o.jitter_strength), h = rng.uniform(0, o.jitter_strength);
    p.brightness = rng.uniform(1 - b, 1 + b);
    p.contrast = rng.uniform(1 - c, 1 + c);
    p.saturation = rng.uniform(1 - s, 1 + s);
    p.hue = rng.uniform(-h, h);
    std::vector<int> order{0, 1, 2, 3};
    rng.shuffle(order);
    std::copy(order.begin(), order.end(), p.order.begin());
  }
  return p;
}

cv::Mat augment_image(const cv::Mat& rgb, const AugmentParams& p, const AugmentOptions& o, int resolution) {
  if (!o.enabled) return eval_image(rgb, resolution);
  int side = resized_side(o, resolution);
  cv::Mat img = resize_to(rgb, side, side);
  img = img(cv::Rect(p.crop_x, p.crop_y, resolution, resolution)).clone();
  if (p.flip) cv::flip(img, img, 1);
  if (p.angle != 0) {
    cv::Mat rot = cv::getRotationMatrix2D(cv::Point2f((resolution - 1) / 2.f, (resolution - 1) / 2.f), p.angle, 1.0);
    cv::Mat out;
    cv::warpAffine(img, out, rot, img.size(), cv::INTER_LINEAR, cv::BORDER_CONSTANT, cv::Scalar::all(0));
    img = out;
  }
  if (p.jitter) {
    for (int op : p.order) {
      switch (op) {
        case 0:
          img = adjust_brightness(img, p.brightness);
          break;
        case 1:
          img = adjust_contrast(img, p.contrast);
          break;
        case 2:
          img = adjust_saturation(img, p.saturation);
          break;
        default:
          img = adjust_hue(img, p.hue);
          break;
      }
    }
  }
  return img;
}

cv::Mat eval_image(const cv::Mat& rgb, int resolution) { return resize_to(rgb, resolution, resolution); }

}  // namespace cmclip::data
