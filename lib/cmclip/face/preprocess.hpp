// The option groups of face preprocessing: the list read, the frames taken and the
// face crop. Each registers itself on the command line (Kaldi style); the tool's job,
// fas-preprocess, is jobs/preprocess.hpp.
#pragma once
#include <CLI/CLI.hpp>

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "cmclip/face/crop.hpp"
#include "cmclip/face/frames.hpp"
#include "cmclip/core/names.hpp"
#include "cmclip/datasets/list_reader.hpp"

namespace cmclip::face {

// The list a run reads (datasets/): face/ works on its records.
using datasets::LabelPolarity;
using datasets::ListFormat;
using datasets::ListRecord;
using datasets::ParsedList;

// What to read: the list, its format and the dataset root.
struct ListOptions {
  std::string format;          // casia-surf | casia-fas | cefa | wmca | tsv
  std::string list;            // file, or "-" for stdin
  std::string root;            // default: the list's folder ("." for stdin)
  std::string modalities;      // comma list; default: each capture stores the modalities it has
  std::string label_polarity;  // "", live=1, live=0
  bool skip_missing = false;
  void register_on(CLI::App& app);
  void validate() const;  // UsageError for an unknown format or polarity
};

// Which frames of a video (or folder of frames, or frame container) and how 16-bit
// depth becomes 8-bit.
struct FrameOptions {
  std::string frames = "all";  // N frames spread evenly, or all
  std::string depth_range;     // "" (per frame) or NEAR:FAR
  void register_on(CLI::App& app);
  void validate() const;
  int wanted() const;  // 0 = all; UsageError when malformed
};

// The choices of --detect, --crop and --on-no-face.
enum class DetectChoice { automatic, mtcnn, haar, none };
enum class CropChoice { automatic, aligned, box };
enum class NoFace { fail, skip, center };
const NameTable<DetectChoice>& detect_names();
const NameTable<CropChoice>& crop_names();
const NameTable<NoFace>& no_face_names();

// Face detection and the crop.
struct CropOptions {
  std::string detect = "auto";      // auto (mtcnn if installed, else haar) | mtcnn | haar | none
  std::string on_no_face = "fail";  // fail | skip | center (also for faces below --min-score)
  std::string cascade;              // default kDefaultCascade
  std::string mtcnn_dir;            // default default_mtcnn_dir()
  std::string crop = "auto";        // auto (aligned with landmarks, else box) | aligned | box
  double margin = 0.15;             // box crops
  double align_margin = 0.25;       // aligned crops
  double min_score = 0.9;           // MTCNN probability of a confident face
  int size = 224;
  void register_on(CLI::App& app);
  void validate() const;
};

// The detector --detect selects (auto: MTCNN where its networks are installed, else
// Haar), loaded now and logged with the reason; InputError (exit 2) for a missing or
// damaged model file the user asked for.
std::unique_ptr<FaceFinder> make_detector(const CropOptions& o);
// The crop --crop selects for `detector` (null: no detection); auto: aligned where the
// detector gives landmarks.
CropKind crop_kind(const CropOptions& o, const FaceFinder* detector);

}  // namespace cmclip::face
