// The imaging modalities of a sample (docs/design.md §4: the samples store's
// /modality codes) and their names, and its labels. The model's prompts, the dataset
// list readers and the sample store all use them, so they live here rather than with
// the HDF5 schema.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace cmclip {

enum class Modality : int8_t { rgb = 0, depth = 1, nir = 2, thermal = 3 };
inline constexpr int kModalityCount = 4;
const std::vector<std::string>& modality_names();  // rgb, depth, nir, thermal
// "rgb"/"color"/"colour", "depth", "nir"/"ir"/"infrared", "thermal"; InputError otherwise.
Modality parse_modality(const std::string& name);
const std::string& modality_name(Modality m);

// A sample's label (the sample store's /label): live (bona fide) or attack.
inline constexpr int8_t kLive = 1;
inline constexpr int8_t kAttack = 0;

}  // namespace cmclip
