// Face detection and cropping: the detectors' common interface and the choice among
// faces; OpenCV's Haar cascade (Debian package opencv-data), the fallback that needs
// no download; a square box enlarged by a margin and kept inside the image; the same
// box on the co-registered Depth/NIR frames; resizing to the stored size. MTCNN lives
// in mtcnn.hpp, the aligned crop in align.hpp.
#pragma once
#include <opencv2/core.hpp>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace cmclip::face {

inline constexpr const char* kDefaultCascade = "/usr/share/opencv4/haarcascades/haarcascade_frontalface_default.xml";

// A detected face in image coordinates. Landmarks (MTCNN only) in the order left eye,
// right eye, nose, left and right mouth corner, "left" meaning the image's left.
struct Face {
  cv::Rect2f box;
  float score = 0;  // MTCNN: O-Net's face probability; Haar: the neighbours merged
  bool has_landmarks = false;
  std::array<cv::Point2f, 5> landmarks{};
};

// A face detector usable from several threads at once.
class FaceFinder {
 public:
  virtual ~FaceFinder() = default;
  virtual std::vector<Face> find(const cv::Mat& image) const = 0;  // 8-bit grey or RGB
  virtual std::string name() const = 0;                            // haar, mtcnn
  virtual std::string model() const = 0;                           // the cascade file or the networks' folder
  // Whether Face::score is a probability that --min-score can be compared with.
  virtual bool has_probabilities() const = 0;
};

// What the detector gave on one capture.
enum class Outcome { found, not_found, below_threshold };
struct FaceChoice {
  Outcome outcome = Outcome::not_found;
  Face face;  // the chosen face (found), or the best-scoring one (below threshold)
};
// The largest confident face: among the faces whose score is at least `min_score`
// (every face when the detector has no probabilities), the one of largest box area;
// ties go to the higher score, then the top-most, then the left-most. No face at all:
// not_found; faces, none confident: below_threshold.
FaceChoice choose_face(const std::vector<Face>& faces, float min_score, bool has_probabilities);

// Thread-safe: each thread that calls detect() loads its own classifier once
// (OpenCV's CascadeClassifier must not be shared between threads).
class FaceDetector : public FaceFinder {
 public:
  // Loads the cascade now so a missing or broken file fails before any work: a
  // RuntimeFailure (exit 1) for the default path (install opencv-data), an InputError
  // (exit 2) for a path the user gave.
  explicit FaceDetector(std::string cascade_path, bool user_given = false);
  // The largest face (ties: the top-left one) in an 8-bit grey or RGB image.
  // Parameters: histogram-equalised grey, scale step 1.1, 4 neighbours, smallest face
  // 1/8 of the shorter image side (at least 24 px).
  std::optional<cv::Rect> detect(const cv::Mat& image) const;
  // Every face the cascade gives, scored by the number of neighbours merged.
  std::vector<Face> find(const cv::Mat& image) const override;
  std::string name() const override { return "haar"; }
  std::string model() const override { return path_; }
  bool has_probabilities() const override { return false; }
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
