// The imaging modalities of a sample (docs/design.md §4: the samples store's
// /modality codes) and their names. The model's prompts and the sample store both use
// them, so they live here rather than with the HDF5 schema.
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

}  // namespace cmclip
