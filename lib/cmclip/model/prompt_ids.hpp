// The token ids of CM-CLIP's three prompt families as PromptLearner builds them, for
// the PyTorch sides of the benchmarks (scripts/bench/cm_clip_step.py), which splice
// their context vectors in at the same positions and so encode the same sequences.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "cmclip/clip/tokenizer.hpp"

namespace cmclip::model {

struct PromptFamilyIds {
  std::vector<std::vector<int64_t>> category;  // per class: [SOT] n_ctx × 0, "class.", [EOT]
  std::vector<std::vector<int64_t>> modality;  // per modality: [SOT] n_ctx × 0, "modality.", [EOT]
  std::vector<std::vector<int64_t>> fine;      // per (class, modality): [SOT] 2 n_ctx × 0, "class modality.", [EOT]
};

// The fine-grained prompts' words: "class modality" for every class, then modality.
std::vector<std::string> fine_prompt_words(const std::vector<std::string>& class_words,
                                           const std::vector<std::string>& modality_words);

PromptFamilyIds prompt_family_ids(const clip::Tokenizer& tok, const std::vector<std::string>& class_words,
                                  const std::vector<std::string>& modality_words, int64_t n_ctx);

}  // namespace cmclip::model
