// Frames: still images (JPEG/PNG/..., 8- or 16-bit), folders of frames, videos (OpenCV
// VideoCapture) and WMCA frame containers (HDF5), all delivered as 8-bit images of one
// modality: RGB as CV_8UC3 in RGB order, Depth/NIR/thermal as CV_8UC1 grey.
#pragma once
#include <opencv2/core.hpp>
#include <opencv2/videoio.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "cmclip/h5/h5.hpp"
#include "cmclip/h5/samples.hpp"

namespace cmclip::face {

// How a 16-bit Depth frame becomes 8 bits. Near is bright, as in the 8-bit depth of
// CASIA-SURF and CeFA, and 0 (no measurement) stays 0.
//  - per frame (default): the valid (non-zero) values are stretched linearly so the
//    nearest becomes 255 and the farthest 1;
//  - fixed range NEAR:FAR (--depth-range, in the file's units, e.g. millimetres):
//    v8 = clamp(1 + 254 * (FAR - v) / (FAR - NEAR), 1, 255) for v > 0.
// Other 16-bit images (RGB, NIR, thermal) keep their top byte: v8 = round(v / 257).
struct DepthRule {
  bool fixed = false;
  double near = 0, far = 0;
  static DepthRule parse(const std::string& spec);  // "" or "NEAR:FAR"
  std::string describe() const;
};

// Converts a decoded image (8U or 16U; 1, 3 or 4 channels in OpenCV's BGR(A) order) to
// the 8-bit image of modality `m`. Colour becomes grey for Depth/NIR/thermal; grey is
// replicated to RGB. `where` names the source in messages.
cv::Mat to_modality_image(const cv::Mat& decoded, Modality m, const DepthRule& rule, const std::string& where);
// Reads an image file (any depth, any channels) as modality `m`. InputError when the
// file cannot be decoded.
cv::Mat read_frame(const std::string& path, Modality m, const DepthRule& rule);

// Image files in a folder, in natural order (frame 2 before frame 10).
std::vector<std::string> list_frame_files(const std::string& dir);
// `wanted` frames spread evenly over `total`: index floor((i + 0.5) * total / wanted),
// i = 0..wanted-1, so the choice is deterministic and centred. wanted <= 0 or
// wanted >= total: every frame.
std::vector<int64_t> spread_frames(int64_t total, int wanted);

// One video file read forward. The frame count comes from the container; when it is
// missing the frames are counted by decoding.
class VideoFrames {
 public:
  explicit VideoFrames(std::string path);
  const std::string& path() const { return path_; }
  int64_t count();
  // Decodes the next frame into `frame_bgr` (or skips it when null); false at the end.
  bool next(cv::Mat* frame_bgr);
  void rewind();

 private:
  std::string path_;
  cv::VideoCapture cap_;
  int64_t count_ = -1;
};

// A WMCA (bob FrameContainer) file: groups Frame_<k>, each with a dataset `array`, and
// a FrameIndexes group (skipped). Frames are ordered by k numerically. Layouts:
//   [4, H, W] uint8/uint16: C-D-I-T (the CDIT station: colour as grey, depth,
//                            infrared, thermal) -> rgb (grey), depth, nir, thermal;
//   [3, H, W] or [H, W, 3]:  RGB (the RGB station) -> rgb only.
class FrameContainer {
 public:
  explicit FrameContainer(const std::string& path);
  const std::vector<int>& frames() const { return frames_; }  // k of each Frame_<k>
  bool provides(Modality m) const;
  std::string layout() const;  // "C-D-I-T 4x128x128" for messages and attributes
  // The images of modalities `ms` in frame `k` (one read of the frame's array).
  std::vector<cv::Mat> read(int k, const std::vector<Modality>& ms, const DepthRule& rule) const;

 private:
  std::string path_;
  std::shared_ptr<h5::File> file_;
  std::vector<int> frames_;
  int channels_ = 0, height_ = 0, width_ = 0;
  bool chw_ = true, wide_ = false;  // wide_: uint16
};

}  // namespace cmclip::face
