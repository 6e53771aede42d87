// The built-in CLIP models with seeded random weights (docs/clip.md §3.3, §4.5), apart
// from weights.cpp (archives and checkpoints) so that they build without HDF5
// (bench/gpu). weights.hpp includes this header.
#pragma once
#include "cmclip/clip/config.hpp"
#include "cmclip/clip/model.hpp"

namespace cmclip::clip {

inline constexpr const char* kBuiltinTiny = "builtin:tiny";
inline constexpr const char* kBuiltinVitB16Random = "builtin:vit-b-16-random";

// The built-in random model: image 64/8, vision 128x2 (2 heads), text 128x2 (2 heads),
// context 77, embed 64, byte-level vocabulary (514 tokens). Initialised like the
// reference initialize_parameters (docs/clip.md §4.5) from a fixed seed: the same bytes
// on every run and machine.
Clip builtin_tiny();

// The configuration of OpenAI's ViT-B/16: embed 512, image 224/16, vision 768x12 (12
// heads), text 512x12 (8 heads), context 77, vocabulary 49408.
ClipConfig vit_b_16_config();
// ViT-B/16 shapes with the reference initialisation from a fixed seed (a few seconds:
// 150 M draws), vocabulary "bpe" (prompts need the BPE file). For benchmarks: its
// features mean nothing.
Clip builtin_vit_b_16_random();

// A model of configuration `c` initialised as the built-in ones from `seed`, recorded as
// source `name` with vocabulary `vocabulary` ("bpe" or "byte"), in eval mode on the CPU.
Clip seeded_clip(const ClipConfig& c, const std::string& name, const std::string& vocabulary, uint64_t seed);

}  // namespace cmclip::clip
