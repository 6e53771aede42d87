#include "cmclip/face/frames.hpp"

#include <dirent.h>

#include <algorithm>
#include <cctype>
#include <cmath>

#include <fmt/format.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "cmclip/core/error.hpp"
#include "cmclip/core/fs.hpp"
#include "cmclip/core/image_file.hpp"
#include "cmclip/datasets/list_reader.hpp"
#include "cmclip/h5/h5.hpp"

namespace cmclip::face {

// ---- 16-bit rules ----

DepthRule DepthRule::parse(const std::string& spec) {
  DepthRule r;
  if (spec.empty() || spec == "frame") return r;
  size_t colon = spec.find(':');
  try {
    if (colon == std::string::npos) throw std::invalid_argument("no colon");
    size_t used = 0;
    r.near = std::stod(spec.substr(0, colon), &used);
    if (used != colon) throw std::invalid_argument("trailing text");
    std::string far = spec.substr(colon + 1);
    r.far = std::stod(far, &used);
    if (used != far.size()) throw std::invalid_argument("trailing text");
  } catch (const std::exception&) {
    throw UsageError(fmt::format("--depth-range '{}': expected NEAR:FAR, two numbers such as 300:1500", spec));
  }
  if (!(r.near >= 0 && r.far > r.near))
    throw UsageError(fmt::format("--depth-range '{}': expected 0 <= NEAR < FAR", spec));
  r.fixed = true;
  return r;
}

std::string DepthRule::describe() const {
  if (fixed) return fmt::format("16-bit depth: fixed range {}:{} (near 255, far 1, 0 kept)", near, far);
  return "16-bit depth: per-frame range of the non-zero values (near 255, far 1, 0 kept)";
}

namespace {

cv::Mat depth16_to_8(const cv::Mat& d16, const DepthRule& rule) {
  double near = rule.near, far = rule.far;
  if (!rule.fixed) {
    double lo = 0, hi = 0;
    cv::minMaxLoc(d16, nullptr, &hi);
    if (hi <= 0) return cv::Mat::zeros(d16.size(), CV_8UC1);
    cv::Mat valid = d16 > 0;
    cv::minMaxLoc(d16, &lo, &hi, nullptr, nullptr, valid);
    near = lo;
    far = hi;
  }
  cv::Mat out(d16.size(), CV_8UC1);
  double span = far - near;
  for (int y = 0; y < d16.rows; ++y) {
    const uint16_t* s = d16.ptr<uint16_t>(y);
    uint8_t* o = out.ptr<uint8_t>(y);
    for (int x = 0; x < d16.cols; ++x) {
      if (s[x] == 0) {
        o[x] = 0;
        continue;
      }
      double v = span > 0 ? 1.0 + 254.0 * (far - s[x]) / span : 255.0;
      o[x] = static_cast<uint8_t>(std::lround(std::clamp(v, 1.0, 255.0)));
    }
  }
  return out;
}

bool natural_less(const std::string& a, const std::string& b) {
  size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    if (std::isdigit(static_cast<unsigned char>(a[i])) && std::isdigit(static_cast<unsigned char>(b[j]))) {
      size_t i2 = i, j2 = j;
      while (i2 < a.size() && std::isdigit(static_cast<unsigned char>(a[i2]))) ++i2;
      while (j2 < b.size() && std::isdigit(static_cast<unsigned char>(b[j2]))) ++j2;
      std::string na = a.substr(i, i2 - i), nb = b.substr(j, j2 - j);
      na.erase(0, std::min(na.find_first_not_of('0'), na.size()));
      nb.erase(0, std::min(nb.find_first_not_of('0'), nb.size()));
      if (na.size() != nb.size()) return na.size() < nb.size();
      if (na != nb) return na < nb;
      i = i2;
      j = j2;
      continue;
    }
    if (a[i] != b[j]) return a[i] < b[j];
    ++i;
    ++j;
  }
  if (a.size() - i != b.size() - j) return a.size() - i < b.size() - j;
  return a < b;  // equal under the natural order ("01" vs "1"): plain order decides
}

}  // namespace

cv::Mat to_modality_image(const cv::Mat& decoded, Modality m, const DepthRule& rule, const std::string& where) {
  if (decoded.empty()) throw InputError(where, "", "empty image");
  int ch = decoded.channels();
  if (decoded.depth() != CV_8U && decoded.depth() != CV_16U)
    throw InputError(where, "", "unsupported pixel type: expected 8- or 16-bit integers");
  if (ch != 1 && ch != 3 && ch != 4)
    throw InputError(where, "", fmt::format("unsupported image with {} channels: expected 1, 3 or 4", ch));
  cv::Mat img = decoded;
  if (ch == 4) cv::cvtColor(img, img, cv::COLOR_BGRA2BGR);
  if (m == Modality::rgb) {
    if (img.depth() == CV_16U) img.convertTo(img, CV_8U, 1.0 / 257.0);
    cv::Mat rgb;
    cv::cvtColor(img, rgb, img.channels() == 1 ? cv::COLOR_GRAY2RGB : cv::COLOR_BGR2RGB);
    return rgb;
  }
  cv::Mat grey;
  if (img.channels() == 3) cv::cvtColor(img, grey, cv::COLOR_BGR2GRAY);  // 16U is supported too
  else grey = img;
  if (grey.depth() == CV_16U) {
    if (m == Modality::depth) return depth16_to_8(grey, rule);
    grey.convertTo(grey, CV_8U, 1.0 / 257.0);
  }
  return grey.isContinuous() ? grey : grey.clone();
}

cv::Mat read_frame(const std::string& path, Modality m, const DepthRule& rule) {
  return to_modality_image(read_image_file(path), m, rule, path);
}

std::vector<std::string> list_frame_files(const std::string& dir) {
  DIR* d = opendir(dir.c_str());
  if (!d) throw InputError(dir, "", "cannot open folder of frames");
  std::vector<std::string> names;
  while (dirent* e = readdir(d)) {
    std::string n = e->d_name;
    if (n.empty() || n[0] == '.') continue;
    if (datasets::has_image_extension(n)) names.push_back(n);
  }
  closedir(d);
  std::sort(names.begin(), names.end(), natural_less);
  return names;
}

std::vector<int64_t> spread_frames(int64_t total, int wanted) {
  std::vector<int64_t> out;
  if (total <= 0) return out;
  if (wanted <= 0 || wanted >= total) {
    for (int64_t i = 0; i < total; ++i) out.push_back(i);
    return out;
  }
  for (int i = 0; i < wanted; ++i) out.push_back(((2 * int64_t(i) + 1) * total) / (2 * int64_t(wanted)));
  return out;
}

// ---- videos ----

VideoFrames::VideoFrames(std::string path) : path_(std::move(path)) { rewind(); }

void VideoFrames::rewind() {
  cap_.release();
  // FFmpeg only: CAP_ANY also tries GStreamer (which lists the USB devices, leaks, and
  // prints half a dozen warnings) and the image-sequence backend, each complaining
  // about a file that none of them reads.
  if (!cap_.open(path_, cv::CAP_FFMPEG)) {
    if (!file_exists(path_)) throw InputError(path_, "", "no such file");
    throw InputError(path_, "", "cannot open video (no OpenCV backend decodes it)");
  }
}

int64_t VideoFrames::count() {
  if (count_ >= 0) return count_;
  double n = cap_.get(cv::CAP_PROP_FRAME_COUNT);
  if (n >= 1 && n < 1e9) {
    count_ = static_cast<int64_t>(n);
    return count_;
  }
  int64_t counted = 0;  // the container does not say: decode to count
  while (cap_.grab()) ++counted;
  rewind();
  count_ = counted;
  return count_;
}

bool VideoFrames::next(cv::Mat* frame_bgr) {
  if (!cap_.grab()) return false;
  if (frame_bgr && !cap_.retrieve(*frame_bgr)) throw InputError(path_, "", "cannot decode a frame");
  return true;
}

// ---- WMCA frame containers ----

FrameContainer::FrameContainer(const std::string& path)
    : path_(path), file_(std::make_shared<h5::File>(h5::File::open(path))) {
  const h5::File& f = *file_;
  std::vector<std::pair<int, std::string>> found;
  for (const auto& name : f.children()) {
    if (name == "FrameIndexes") continue;  // bob's record of the frame order
    if (name.rfind("Frame_", 0) != 0) continue;
    std::string k = name.substr(6);
    if (k.empty() || k.size() > 9 || !std::all_of(k.begin(), k.end(), [](unsigned char c) { return std::isdigit(c); }))
      throw InputError(path, "/" + name, "group name is not Frame_<number>");
    found.emplace_back(std::stoi(k), name);
  }
  if (found.empty()) throw InputError(path, "/", "no Frame_<k> groups (not a WMCA frame container)");
  std::sort(found.begin(), found.end());  // numerically: Frame_2 before Frame_10
  for (const auto& [k, name] : found) {
    h5::Dataset a = f.dataset(name + "/array");
    h5::Shape s = a.shape();
    h5::DType t = a.dtype();
    if (t != h5::DType::u8 && t != h5::DType::u16)
      throw InputError(path, a.path(), fmt::format("dtype {}: expected uint8 or uint16", h5::dtype_name(t)));
    int c = 0, h = 0, w = 0;
    bool chw = true;
    if (s.size() == 3 && (s[0] == 4 || s[0] == 3)) {
      c = static_cast<int>(s[0]);
      h = static_cast<int>(s[1]);
      w = static_cast<int>(s[2]);
    } else if (s.size() == 3 && s[2] == 3) {
      c = 3;
      h = static_cast<int>(s[0]);
      w = static_cast<int>(s[1]);
      chw = false;
    } else {
      throw InputError(
          path, a.path(),
          fmt::format("shape {}: expected [4, H, W] (C-D-I-T), [3, H, W] or [H, W, 3] (RGB)", h5::shape_str(s)));
    }
    if (frames_.empty()) {
      channels_ = c;
      height_ = h;
      width_ = w;
      chw_ = chw;
      wide_ = t == h5::DType::u16;
    } else if (c != channels_ || h != height_ || w != width_ || chw != chw_ || wide_ != (t == h5::DType::u16)) {
      throw InputError(path, a.path(),
                       fmt::format("shape {} differs from the first frame's ({})", h5::shape_str(s), layout()));
    }
    frames_.push_back(k);
  }
}

bool FrameContainer::provides(Modality m) const { return channels_ == 4 || m == Modality::rgb; }

std::string FrameContainer::layout() const {
  return fmt::format("{} {}x{}x{}{}", channels_ == 4 ? "C-D-I-T" : "RGB", chw_ ? channels_ : height_,
                     chw_ ? height_ : width_, chw_ ? width_ : channels_, wide_ ? " uint16" : "");
}

std::vector<cv::Mat> FrameContainer::read(int k, const std::vector<Modality>& ms, const DepthRule& rule) const {
  std::string ds = fmt::format("Frame_{}/array", k);
  for (Modality m : ms)
    if (!provides(m))
      throw InputError(
          path_, "/" + ds,
          fmt::format("layout {} has no {} channel (the RGB station has colour only)", layout(), modality_name(m)));
  h5::Dataset a = file_->dataset(ds);
  size_t plane = static_cast<size_t>(height_) * width_;
  int type = wide_ ? CV_16U : CV_8U;
  cv::Mat all(1, static_cast<int>(plane * channels_), type);
  if (wide_) a.read_rows(0, a.rows(), all.ptr<uint16_t>());
  else a.read_rows(0, a.rows(), all.ptr<uint8_t>());
  auto plane_of = [&](int c) { return cv::Mat(height_, width_, type, all.data + c * plane * all.elemSize()); };
  std::string where = fmt::format("{}: /{}", path_, ds);
  std::vector<cv::Mat> out;
  for (Modality m : ms) {
    cv::Mat image;
    if (!chw_) {
      cv::cvtColor(cv::Mat(height_, width_, CV_MAKETYPE(type, 3), all.data), image, cv::COLOR_RGB2BGR);
    } else if (channels_ == 3) {
      cv::merge(std::vector<cv::Mat>{plane_of(2), plane_of(1), plane_of(0)}, image);  // CHW RGB -> BGR
    } else {
      image = plane_of(static_cast<int>(m));  // C-D-I-T: channel index = Modality code
    }
    out.push_back(to_modality_image(image, m, rule, where).clone());
  }
  return out;
}

}  // namespace cmclip::face
