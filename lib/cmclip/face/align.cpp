#include "cmclip/face/align.hpp"

#include <algorithm>
#include <cmath>

#include <opencv2/imgproc.hpp>

namespace cmclip::face {

namespace {
// The 112 x 112 template of ArcFace-style face recognition crops.
constexpr float kTemplate112[5][2] = {
    {38.2946f, 51.6963f}, {73.5318f, 51.5014f}, {56.0252f, 71.7366f}, {41.5493f, 92.3655f}, {70.7299f, 92.2041f}};
}  // namespace

Landmarks face_template(int size, double margin) {
  Landmarks t;
  double scale = size / 112.0 / (1.0 + 2.0 * margin), c = size / 2.0;
  for (size_t i = 0; i < 5; ++i)
    t[i] = cv::Point2f(float(c + (kTemplate112[i][0] - 56.0) * scale), float(c + (kTemplate112[i][1] - 56.0) * scale));
  return t;
}

// The least-squares similarity without reflection, in closed form: with both point
// sets centred, u = a x - b y, v = b x + a y where a = sum(x u + y v) / sum(x^2 + y^2)
// and b = sum(x v - y u) / sum(x^2 + y^2) (Umeyama's solution in two dimensions).
cv::Mat similarity_transform(const Landmarks& from, const Landmarks& to) {
  cv::Point2d mf(0, 0), mt(0, 0);
  for (size_t i = 0; i < 5; ++i) {
    mf += cv::Point2d(from[i]) / 5.0;
    mt += cv::Point2d(to[i]) / 5.0;
  }
  double sxx = 0, sa = 0, sb = 0;
  for (size_t i = 0; i < 5; ++i) {
    cv::Point2d p = cv::Point2d(from[i]) - mf, q = cv::Point2d(to[i]) - mt;
    sxx += p.dot(p);
    sa += p.x * q.x + p.y * q.y;
    sb += p.x * q.y - p.y * q.x;
  }
  double a = sxx > 0 ? sa / sxx : 1.0, b = sxx > 0 ? sb / sxx : 0.0;
  cv::Mat t = (cv::Mat_<double>(2, 3) << a, -b, 0, b, a, 0);
  t.at<double>(0, 2) = mt.x - (a * mf.x - b * mf.y);
  t.at<double>(1, 2) = mt.y - (b * mf.x + a * mf.y);
  return t;
}

cv::Mat box_transform(const cv::Rect& box, int size) {
  double sx = double(size) / box.width, sy = double(size) / box.height;
  return (cv::Mat_<double>(2, 3) << sx, 0, (0.5 - box.x) * sx - 0.5, 0, sy, (0.5 - box.y) * sy - 0.5);
}

cv::Mat rescale_transform(const cv::Mat& t, cv::Size from, cv::Size to) {
  if (from == to) return t.clone();
  // A pixel x of `to` lies at (x + 0.5) * from / to - 0.5 in `from`.
  double kx = double(from.width) / to.width, ky = double(from.height) / to.height;
  cv::Mat s = (cv::Mat_<double>(3, 3) << kx, 0, 0.5 * kx - 0.5, 0, ky, 0.5 * ky - 0.5, 0, 0, 1);
  return t * s;
}

void warp_crop(const cv::Mat& image, const cv::Mat& t, int size, uint8_t* out) {
  cv::Mat rgb;
  if (image.channels() == 1) cv::cvtColor(image, rgb, cv::COLOR_GRAY2RGB);
  else rgb = image;
  double scale = std::sqrt(std::abs(cv::determinant(t.colRange(0, 2))));
  int k = scale > 0 ? static_cast<int>(std::floor(1.0 / scale)) : 1;
  cv::Mat src = rgb, m = t;
  if (k >= 2) {
    cv::resize(rgb, src, cv::Size(std::max(1, rgb.cols / k), std::max(1, rgb.rows / k)), 0, 0, cv::INTER_AREA);
    m = rescale_transform(t, rgb.size(), src.size());
  }
  cv::Mat dst(size, size, CV_8UC3, out);
  cv::warpAffine(src, dst, m, dst.size(), cv::INTER_LINEAR, cv::BORDER_CONSTANT, cv::Scalar(0, 0, 0));
}

cv::Point2f apply(const cv::Mat& t, cv::Point2f p) {
  return cv::Point2f(float(t.at<double>(0, 0) * p.x + t.at<double>(0, 1) * p.y + t.at<double>(0, 2)),
                     float(t.at<double>(1, 0) * p.x + t.at<double>(1, 1) * p.y + t.at<double>(1, 2)));
}

}  // namespace cmclip::face
