// fas-preprocess: a dataset's list -> face crops in a sample store (docs/design.md §4).
// Each option group registers itself on the command line (Kaldi style), so tools and
// tests compose them. The work runs on a thread pool with results written in list
// order, so the store is byte-identical for any --threads.
#pragma once
#include <CLI/CLI.hpp>

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "cmclip/core/app.hpp"
#include "cmclip/face/crop.hpp"
#include "cmclip/face/frames.hpp"
#include "cmclip/face/list_reader.hpp"

namespace cmclip::face {

// What to read: the list, its format and the dataset root.
struct ListOptions {
  std::string format;          // casia-surf | casia-fas | cefa | wmca | tsv
  std::string list;            // file, or "-" for stdin
  std::string root;            // default: the list's folder ("." for stdin)
  std::string modalities;      // comma list; default: each capture stores the modalities it has
  std::string label_polarity;  // "", live=1, live=0
  bool skip_missing = false;
  void register_on(CLI::App& app);
};

// Which frames of a video (or folder of frames, or frame container) and how 16-bit
// depth becomes 8-bit.
struct FrameOptions {
  std::string frames = "all";  // N frames spread evenly, or all
  std::string depth_range;     // "" (per frame) or NEAR:FAR
  void register_on(CLI::App& app);
  int wanted() const;          // 0 = all; UsageError when malformed
};

// Face detection and the crop.
struct CropOptions {
  std::string detect = "auto";     // auto (mtcnn if installed, else haar) | mtcnn | haar | none
  std::string on_no_face = "fail"; // fail | skip | center (also for faces below --min-score)
  std::string cascade;             // default kDefaultCascade
  std::string mtcnn_dir;           // default default_mtcnn_dir()
  std::string crop = "auto";       // auto (aligned with landmarks, else box) | aligned | box
  double margin = 0.15;            // box crops
  double align_margin = 0.25;      // aligned crops
  double min_score = 0.9;          // MTCNN probability of a confident face
  int size = 224;
  void register_on(CLI::App& app);
};

// The detector --detect selects (auto: MTCNN where its networks are installed, else
// Haar), loaded now and logged with the reason; InputError (exit 2) for a missing or
// damaged model file the user asked for.
std::unique_ptr<FaceFinder> make_detector(const CropOptions& o);
// The crop --crop selects for `detector` (null: no detection); auto: aligned where the
// detector gives landmarks.
CropKind crop_kind(const CropOptions& o, const FaceFinder* detector);

// The sample store written.
struct StoreOptions {
  std::string output;
  std::string dataset, protocol, split;
  std::string preview;  // optional PNG contact sheet of the result
  void register_on(CLI::App& app);
};

struct PreprocessOptions {
  ListOptions input;
  FrameOptions frames;
  CropOptions crop;
  StoreOptions store;
  void register_on(CLI::App& app);
};

struct PreprocessSummary {
  int64_t list_records = 0;     // records read from the list
  int64_t captures = 0;         // captures stored (each gives one sample per modality)
  int64_t frames_decoded = 0;   // captures decoded (before no-face handling)
  int64_t faces_found = 0;
  int64_t no_face = 0;          // captures without a detected face
  int64_t below_threshold = 0;  // captures whose faces all score below --min-score
  int64_t no_face_skipped = 0;  // ... of these two, skipped (--on-no-face skip)
  int64_t no_face_centered = 0; // ... of these two, cropped in the centre
  int64_t missing_skipped = 0;  // captures skipped for missing files (--skip-missing)
  int64_t samples = 0;
  // samples per modality and label: [modality][label]
  std::array<std::array<int64_t, 2>, kModalityCount> per_modality_label{};
  double seconds = 0;
};

// Runs the whole conversion; throws cmclip errors (exit 2 for bad input or usage).
PreprocessSummary run_preprocess(const PreprocessOptions& opts, const CommonOptions& common);

}  // namespace cmclip::face
