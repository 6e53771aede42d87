// Face detection and cropping: OpenCV's Haar cascade (Debian package opencv-data),
// the largest face, a square box enlarged by a margin and kept inside the image; the
// same box on the co-registered Depth/NIR frames; resizing to the stored size.
#pragma once
#include <opencv2/core.hpp>

#include <cstdint>
#include <optional>
#include <string>

namespace cmclip::face {

inline constexpr const char* kDefaultCascade =
    "/usr/share/opencv4/haarcascades/haarcascade_frontalface_default.xml";

// Thread-safe: each thread that calls detect() loads its own classifier once
// (OpenCV's CascadeClassifier must not be shared between threads).
class FaceDetector {
 public:
  // Loads the cascade now so a missing or broken file fails before any work: a
  // RuntimeFailure (exit 1) for the default path (install opencv-data), an InputError
  // (exit 2) for a path the user gave.
  explicit FaceDetector(std::string cascade_path, bool user_given = false);
  // The largest face (ties: the top-left one) in an 8-bit grey or RGB image.
  // Parameters: histogram-equalised grey, scale step 1.1, 4 neighbours, smallest face
  // 1/8 of the shorter image side (at least 24 px).
  std::optional<cv::Rect> detect(const cv::Mat& image) const;
  const std::string& cascade_path() const { return path_; }

 private:
  std::string path_;
};

// The square crop around a detected face: side = max(w, h) * (1 + 2 * margin), same
// centre, rounded to whole pixels; shrunk to the shorter image side when larger, then
// shifted to lie inside the image (never padded).
cv::Rect square_box(const cv::Rect& face, double margin, cv::Size image);
// The centred square of the shorter image side (--on-no-face center).
cv::Rect center_box(cv::Size image);
// The box of a co-registered frame of another size (same field of view): scaled by the
// ratio of the sizes and clamped to the frame.
cv::Rect map_box(const cv::Rect& box, cv::Size from, cv::Size to);

// Crops `box` out of an 8-bit grey or RGB image and resizes it to size x size into
// `out` (size*size*3 bytes, HWC RGB; grey is replicated to three channels). Shrinking
// uses cv::INTER_AREA (pixel-area averaging, no aliasing), enlarging cv::INTER_LINEAR;
// a crop of the target size is copied unchanged.
void crop_resize(const cv::Mat& image, const cv::Rect& box, int size, uint8_t* out);

}  // namespace cmclip::face
