#include "cmclip/face/crop.hpp"

#include <cmath>
#include <limits>

#include "cmclip/h5/samples.hpp"

namespace cmclip::face {

namespace {

std::array<float, 6> flat(const cv::Mat& t) {
  std::array<float, 6> a;
  for (int i = 0; i < 6; ++i) a[static_cast<size_t>(i)] = float(t.at<double>(i / 3, i % 3));
  return a;
}

// A point of the detection frame in a co-registered frame (pixel centres kept).
cv::Point2f to_frame(cv::Point2f p, cv::Size from, cv::Size to) {
  double kx = double(to.width) / from.width, ky = double(to.height) / from.height;
  return {float((p.x + 0.5) * kx - 0.5), float((p.y + 0.5) * ky - 0.5)};
}

}  // namespace

CropGeometry crop_frame(const cv::Mat& image, const CropPlan& plan, const CropSettings& s, uint8_t* out) {
  CropGeometry g{unknown_floats<4>(), unknown_floats<10>(), unknown_floats<6>(),
                 std::numeric_limits<float>::quiet_NaN()};
  cv::Size size = image.size();
  cv::Mat t;
  if (plan.from == CropPlan::From::face) {
    const Face& f = plan.face;
    double kx = double(size.width) / plan.frame.width, ky = double(size.height) / plan.frame.height;
    g.bbox = {float(f.box.x * kx), float(f.box.y * ky), float(f.box.width * kx), float(f.box.height * ky)};
    g.score = f.score;
    if (f.has_landmarks)
      for (size_t i = 0; i < 5; ++i) {
        cv::Point2f p = to_frame(f.landmarks[i], plan.frame, size);
        g.landmarks[2 * i] = p.x;
        g.landmarks[2 * i + 1] = p.y;
      }
    if (s.kind == CropKind::aligned && f.has_landmarks) {
      t = rescale_transform(similarity_transform(f.landmarks, face_template(s.size, s.align_margin)), plan.frame, size);
      warp_crop(image, t, s.size, out);
      g.transform = flat(t);
      return g;
    }
    cv::Rect face(cvRound(f.box.x), cvRound(f.box.y), std::max(1, cvRound(f.box.width)),
                  std::max(1, cvRound(f.box.height)));
    cv::Rect b = map_box(square_box(face, s.margin, plan.frame), plan.frame, size);
    crop_resize(image, b, s.size, out);
    g.transform = flat(box_transform(b, s.size));
    return g;
  }
  cv::Rect b = plan.from == CropPlan::From::centre ? map_box(center_box(plan.frame), plan.frame, size)
                                                   : cv::Rect(0, 0, size.width, size.height);
  if (plan.from == CropPlan::From::whole_frame) g.bbox = {0.f, 0.f, float(size.width), float(size.height)};
  crop_resize(image, b, s.size, out);
  g.transform = flat(box_transform(b, s.size));
  return g;
}

}  // namespace cmclip::face
