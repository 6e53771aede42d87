// The crop of one capture: the face the detector chose (or none), turned into a crop of
// each co-registered frame, with the geometry the sample store records (face box,
// landmarks, source -> crop transform, detector score) in that frame's coordinates.
#pragma once
#include <opencv2/core.hpp>

#include <array>
#include <cstdint>
#include <optional>

#include "cmclip/face/align.hpp"
#include "cmclip/face/detector.hpp"

namespace cmclip::face {

enum class CropKind { box, aligned };

struct CropSettings {
  CropKind kind = CropKind::box;
  double margin = 0.15;        // box: enlargement on each side, a fraction of the face's side
  double align_margin = 0.25;  // aligned: the template's margin (face_template)
  int size = 224;
};

// What a capture's crops are taken from, in the frame detection ran on.
struct CropPlan {
  enum class From { whole_frame, face, centre } from = From::whole_frame;
  Face face;       // From::face
  cv::Size frame;  // the detection frame's size (From::face, From::centre)
};

struct CropGeometry {
  std::array<float, 4> bbox;        // the face box (whole frame: the frame; centre: NaN)
  std::array<float, 10> landmarks;  // NaN without landmarks
  std::array<float, 6> transform;   // frame -> crop
  float score;                      // NaN without a face
};

// Crops `image` (a frame of the capture, of any size with the same field of view as
// the detection frame) into size x size RGB bytes at `out`. An aligned crop needs
// landmarks; a face without them (Haar) is box-cropped.
CropGeometry crop_frame(const cv::Mat& image, const CropPlan& plan, const CropSettings& s, uint8_t* out);

}  // namespace cmclip::face
