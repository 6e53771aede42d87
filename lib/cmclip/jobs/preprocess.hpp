// fas-preprocess as a library call: a dataset's list -> face crops in a sample store.
// The work runs on a thread pool with results written in list order, so the store is
// byte-identical for any --threads.
#pragma once
#include <CLI/CLI.hpp>

#include <array>
#include <cstdint>
#include <string>

#include "cmclip/core/app.hpp"
#include "cmclip/core/modality.hpp"
#include "cmclip/face/preprocess.hpp"

namespace cmclip::jobs {

// The sample store written.
struct StoreOptions {
  std::string output;
  std::string dataset, protocol, split;
  std::string preview;  // optional PNG contact sheet of the result
  void register_on(CLI::App& app);
};

struct PreprocessOptions {
  face::ListOptions input;
  face::FrameOptions frames;
  face::CropOptions crop;
  StoreOptions store;
  void register_on(CLI::App& app);
  void validate() const;
};

struct PreprocessSummary {
  int64_t list_records = 0;    // records read from the list
  int64_t captures = 0;        // captures stored (each gives one sample per modality)
  int64_t frames_decoded = 0;  // captures decoded (before no-face handling)
  int64_t faces_found = 0;
  int64_t no_face = 0;           // captures without a detected face
  int64_t below_threshold = 0;   // captures whose faces all score below --min-score
  int64_t no_face_skipped = 0;   // ... of these two, skipped (--on-no-face skip)
  int64_t no_face_centered = 0;  // ... of these two, cropped in the centre
  int64_t missing_skipped = 0;   // captures skipped for missing files (--skip-missing)
  int64_t samples = 0;
  // samples per modality and label: [modality][label]
  std::array<std::array<int64_t, 2>, kModalityCount> per_modality_label{};
  double seconds = 0;
};

// Runs the whole conversion; throws cmclip errors (exit 2 for bad input or usage).
PreprocessSummary run_preprocess(const PreprocessOptions& opts, const CommonOptions& common);

}  // namespace cmclip::jobs
