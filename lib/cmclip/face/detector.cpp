#include "cmclip/face/detector.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <vector>

#include <fmt/format.h>
#include <opencv2/imgproc.hpp>
#include <opencv2/objdetect.hpp>

#include "cmclip/core/error.hpp"
#include "cmclip/core/fs.hpp"

namespace cmclip::face {

namespace {
std::unique_ptr<cv::CascadeClassifier> load_cascade(const std::string& path) {
  auto c = std::make_unique<cv::CascadeClassifier>();
  try {
    if (c->load(path) && !c->empty()) return c;
  } catch (const cv::Exception&) {
  }
  return nullptr;
}

const cv::CascadeClassifier& thread_cascade(const std::string& path) {
  thread_local std::map<std::string, std::unique_ptr<cv::CascadeClassifier>> cache;
  auto& slot = cache[path];
  if (!slot) {
    slot = load_cascade(path);
    if (!slot) throw RuntimeFailure(path, "", "cannot load the face detector cascade");
  }
  return *slot;
}
}  // namespace

FaceDetector::FaceDetector(std::string cascade_path, bool user_given) : path_(std::move(cascade_path)) {
  if (!file_exists(path_)) {
    std::string what = user_given ? "face detector cascade not found (--cascade)"
                                  : "face detector cascade not found: install the Debian package opencv-data, "
                                    "name a cascade with --cascade FILE, or use --detect none for pre-cropped faces";
    if (user_given) throw InputError(path_, "", what);
    throw RuntimeFailure(path_, "", what);
  }
  if (!load_cascade(path_)) {
    std::string what = "not an OpenCV cascade classifier (XML)";
    if (user_given) throw InputError(path_, "", what);
    throw RuntimeFailure(path_, "", what);
  }
}

std::vector<Face> FaceDetector::find(const cv::Mat& image) const {
  cv::Mat grey;
  if (image.channels() == 3) cv::cvtColor(image, grey, cv::COLOR_RGB2GRAY);
  else grey = image;
  cv::equalizeHist(grey, grey);
  int shorter = std::min(grey.cols, grey.rows);
  int min_side = std::max(24, shorter / 8);
  if (shorter < min_side) return {};
  std::vector<cv::Rect> rects;
  std::vector<int> neighbours;
  // const_cast: detectMultiScale is not const, but each thread has its own classifier.
  auto& cascade = const_cast<cv::CascadeClassifier&>(thread_cascade(path_));
  cascade.detectMultiScale(grey, rects, neighbours, 1.1, 4, 0, cv::Size(min_side, min_side));
  std::vector<Face> faces(rects.size());
  for (size_t i = 0; i < rects.size(); ++i) {
    faces[i].box = cv::Rect2f(rects[i]);
    faces[i].score = i < neighbours.size() ? float(neighbours[i]) : 0.f;
  }
  return faces;
}

std::optional<cv::Rect> FaceDetector::detect(const cv::Mat& image) const {
  FaceChoice c = choose_face(find(image), 0.f, false);
  if (c.outcome != Outcome::found) return std::nullopt;
  return cv::Rect(c.face.box);
}

FaceChoice choose_face(const std::vector<Face>& faces, float min_score, bool has_probabilities) {
  FaceChoice out;
  if (faces.empty()) return out;
  auto larger = [](const Face& a, const Face& b) {
    float aa = a.box.area(), ab = b.box.area();
    if (aa != ab) return aa > ab;
    if (a.score != b.score) return a.score > b.score;
    if (a.box.y != b.box.y) return a.box.y < b.box.y;
    return a.box.x < b.box.x;
  };
  const Face* best = nullptr;
  for (const Face& f : faces)
    if ((!has_probabilities || f.score >= min_score) && (!best || larger(f, *best))) best = &f;
  if (best) {
    out.outcome = Outcome::found;
    out.face = *best;
    return out;
  }
  out.outcome = Outcome::below_threshold;
  out.face =
      *std::max_element(faces.begin(), faces.end(), [](const Face& a, const Face& b) { return a.score < b.score; });
  return out;
}

cv::Rect square_box(const cv::Rect& face, double margin, cv::Size image) {
  double cx = face.x + face.width / 2.0, cy = face.y + face.height / 2.0;
  int side = static_cast<int>(std::lround(std::max(face.width, face.height) * (1.0 + 2.0 * margin)));
  side = std::max(1, std::min(side, std::min(image.width, image.height)));
  int x = static_cast<int>(std::lround(cx - side / 2.0));
  int y = static_cast<int>(std::lround(cy - side / 2.0));
  x = std::clamp(x, 0, image.width - side);
  y = std::clamp(y, 0, image.height - side);
  return {x, y, side, side};
}

cv::Rect center_box(cv::Size image) {
  int side = std::min(image.width, image.height);
  return {(image.width - side) / 2, (image.height - side) / 2, side, side};
}

cv::Rect map_box(const cv::Rect& box, cv::Size from, cv::Size to) {
  if (from == to) return box;
  double sx = double(to.width) / from.width, sy = double(to.height) / from.height;
  int x = static_cast<int>(std::lround(box.x * sx)), y = static_cast<int>(std::lround(box.y * sy));
  int x2 = static_cast<int>(std::lround((box.x + box.width) * sx));
  int y2 = static_cast<int>(std::lround((box.y + box.height) * sy));
  x = std::clamp(x, 0, to.width - 1);
  y = std::clamp(y, 0, to.height - 1);
  x2 = std::clamp(x2, x + 1, to.width);
  y2 = std::clamp(y2, y + 1, to.height);
  return {x, y, x2 - x, y2 - y};
}

void crop_resize(const cv::Mat& image, const cv::Rect& box, int size, uint8_t* out) {
  cv::Mat crop = image(box & cv::Rect(0, 0, image.cols, image.rows));
  cv::Mat rgb;
  if (crop.channels() == 1) cv::cvtColor(crop, rgb, cv::COLOR_GRAY2RGB);
  else rgb = crop;
  cv::Mat dst(size, size, CV_8UC3, out);
  if (rgb.cols == size && rgb.rows == size) {
    rgb.copyTo(dst);
    return;
  }
  bool shrink = rgb.cols > size || rgb.rows > size;
  cv::resize(rgb, dst, cv::Size(size, size), 0, 0, shrink ? cv::INTER_AREA : cv::INTER_LINEAR);
}

}  // namespace cmclip::face
