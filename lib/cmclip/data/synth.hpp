// fas-synth: a deterministic synthetic multi-modal FAS set (synth_render.hpp has the
// physics). Subjects are split into disjoint train/dev/test sets; each subject has one
// video per presentation (live, then each attack), `frames` frames each, and every
// frame (capture) gives one image per modality, sharing a record number.
//
// Output: a sample store (-o), and/or PNG files plus a tsv list (--images-out,
// --list-out) that `fas-preprocess --format tsv --detect none --size SIZE` turns into
// the same store: same images, labels and metadata.
#pragma once
#include <CLI/CLI.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "cmclip/core/app.hpp"
#include "cmclip/data/synth_render.hpp"
#include "cmclip/h5/samples.hpp"

namespace cmclip::data {

struct SynthOptions {
  int subjects = 12;
  std::string attacks = "print,replay";
  std::string modalities = "rgb,depth,nir";
  int size = 224;
  int frames = 3;
  std::string split;  // "", or names with optional weights: train,dev,test or train:3,dev:1,test:1
  std::string output, images_out, list_out, preview;
  void register_on(CLI::App& app);
};

// One split: its name ("" when there is none) and its subjects.
struct SplitPlan {
  std::string name;
  std::vector<int> subjects;
};
// Subjects 0..n-1 cut into consecutive blocks in proportion to the weights (each split
// gets at least one subject); UsageError on a malformed spec or too few subjects.
std::vector<SplitPlan> plan_splits(const std::string& spec, int subjects);
// The file of one split: "{split}" in `path` is replaced by the split's name; without
// it, several splits get "-<split>" before the extension (out.h5 -> out-train.h5).
std::string split_path(const std::string& path, const std::string& split, bool several);

const std::string& presentation_name(synth::Kind k);  // live, print, replay, mask
std::vector<synth::Kind> parse_attacks(const std::string& text);

struct SynthSummary {
  int64_t captures = 0, samples = 0;
  double seconds = 0;
};

SynthSummary run_synth(const SynthOptions& opts, const CommonOptions& common);

}  // namespace cmclip::data
