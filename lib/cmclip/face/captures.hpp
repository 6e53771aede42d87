// fas-preprocess's work on captures: the list's records planned into work units (a
// still capture, a video, a frame container), and each unit decoded, its face found
// and cropped. The job (jobs/preprocess.hpp) runs the units on a thread pool and stores
// their results in list order.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "cmclip/core/modality.hpp"
#include "cmclip/face/crop.hpp"
#include "cmclip/face/detector.hpp"
#include "cmclip/face/frames.hpp"
#include "cmclip/datasets/list_reader.hpp"
#include "cmclip/face/preprocess.hpp"

namespace cmclip::face {

// The run's settings, parsed and checked from the options (jobs/preprocess.cpp).
struct CaptureSettings {
  ListFormat format = ListFormat::tsv;
  LabelPolarity polarity = LabelPolarity::reader_default;
  std::vector<Modality> stored;    // canonical order (rgb, depth, nir, thermal)
  bool strict_modalities = false;  // --modalities given: every capture has each one
  bool detect = true;
  NoFace no_face = NoFace::fail;
  CropSettings crop;
  float min_score = 0.9f;
  bool probabilities = false;  // the detector's scores can be compared with min_score
  int size = 224;
  int wanted = 0;
  DepthRule depth;
  std::string list_name, root;
  bool skip_missing = false;
};

// "rgb,depth" for the log and errors.
std::string join_modalities(const std::vector<Modality>& ms);

// ---------------------------------------------------------------- planning

enum class UnitKind { still, video, container };

// One piece of work: a still capture, a video, or a frame container.
struct Unit {
  UnitKind kind = UnitKind::still;
  int32_t record = 0;
  int32_t frame = -1;                           // still: the frame number
  int8_t detect_from = -1;                      // modality the face is found on (-1: no detection)
  std::vector<Modality> stored;                 // this capture's stored modalities
  std::array<std::string, kModalityCount> rel;  // relative path of each modality read
};

// The units of every record of `list`. A missing file is an InputError, or under
// skip_missing counted in `missing_skipped` and logged (the first few).
std::vector<Unit> plan_units(const CaptureSettings& s, const ParsedList& list, int64_t& missing_skipped);

// ---------------------------------------------------------------- processing

struct CaptureOut {
  int32_t frame = 0;
  std::vector<Modality> stored;  // empty: skipped (no face)
  std::vector<uint8_t> pixels;   // stored modalities in order, size*size*3 each
  std::array<std::string, kModalityCount> source;
  std::array<CropGeometry, kModalityCount> geometry{};
};

struct UnitResult {
  std::vector<CaptureOut> captures;
  int64_t decoded = 0, found = 0, no_face = 0, below = 0, skipped = 0, centered = 0;
  std::vector<std::string> warnings;  // per capture without a usable face
};

// Decodes, detects and crops one unit; an InputError names the list line of its file.
UnitResult process_unit(const CaptureSettings& s, const ParsedList& list, const FaceFinder* detector, const Unit& u);

}  // namespace cmclip::face
