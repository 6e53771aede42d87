// fas-synth as a library call: a deterministic synthetic multi-modal FAS set. Each
// subject has one video per presentation (live, then each attack), `frames` frames
// each, and every frame (capture) gives one image per modality, sharing a record number.
//
// Output: a sample store (-o), and/or PNG files plus a tsv list (--images-out,
// --list-out) that `fas-preprocess --format tsv --detect none --size SIZE` turns into
// the same store: same images, labels and metadata.
#pragma once
#include <CLI/CLI.hpp>

#include <cstdint>
#include <string>

#include "cmclip/core/app.hpp"

namespace cmclip::jobs {

struct SynthOptions {
  int subjects = 12;
  std::string attacks = "print,replay";
  std::string modalities = "rgb,depth,nir";
  int size = 224;
  int frames = 3;
  std::string split;  // "", or names with optional weights: train,dev,test or train:3,dev:1,test:1
  std::string output, images_out, list_out, preview;
  void register_on(CLI::App& app);
  void validate() const;
};

struct SynthSummary {
  int64_t captures = 0, samples = 0;
  double seconds = 0;
};

SynthSummary run_synth(const SynthOptions& opts, const CommonOptions& common);

}  // namespace cmclip::jobs
