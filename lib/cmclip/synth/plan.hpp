// The synthetic set's plan (render.hpp has the physics; the tool, fas-synth, is
// jobs/synth.hpp): subjects split into disjoint train/dev/test sets, the presentations'
// names and the split files' names.
#pragma once
#include <string>
#include <vector>

#include "cmclip/synth/render.hpp"

namespace cmclip::synth {

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

}  // namespace cmclip::synth
