// CLIP weights in and out (docs/clip.md §3, docs/design.md §4):
//  - OpenAI TorchScript archives (ViT-B-16.pt ...; fp16 or fp32, CPU- or CUDA-tagged);
//  - cmclip checkpoints (format cmclip.checkpoint): /params/<state-dict name> and the
//    config attributes clip_* (see add_clip_to_checkpoint), which CM-CLIP
//    checkpoints carry too;
//  - "builtin:tiny": a small seeded random model with a byte-level vocabulary;
//  - "builtin:vit-b-16-random": ViT-B/16 of the real shapes with seeded random weights
//    and the BPE vocabulary (benchmarks: the real work, no download of weights).
// The dtype used for compute is decided in one place (compute_dtype()).
#pragma once
#include <string>
#include <vector>

#include "cmclip/clip/builtin.hpp"  // builtin_tiny, builtin_vit_b_16_random, vit_b_16_config
#include "cmclip/clip/config.hpp"
#include "cmclip/clip/model.hpp"

namespace cmclip {
struct Checkpoint;
}

namespace cmclip::clip {

// The dtype every CLIP tensor is converted to for compute (fp32 on CPU, as the
// reference's clip.load(device="cpu") does). fp16 sources are upcast here.
c10::ScalarType compute_dtype();

struct ClipLoadOptions {
  HeadOverrides heads;  // explicit head counts (else: checkpoint attribute, else width/64)
};

// Loads a model from an OpenAI TorchScript archive, a cmclip checkpoint (.h5), or a
// built-in name. Bad input (not an archive, missing or mis-shaped tensor, unknown
// built-in) fails with an InputError/UsageError (exit status 2) naming the file and
// the tensor. The model is in eval mode, on the CPU, in compute_dtype().
Clip load_clip(const std::string& spec, const ClipLoadOptions& options = {});

// The floating-point tensors of a TorchScript archive (named_parameters and
// named_buffers), without the archive's bookkeeping entries (input_resolution,
// context_length, vocab_size) and any other non-floating tensor. Loaded onto the CPU
// whatever device the archive's storages name.
NamedTensorList read_torchscript_tensors(const std::string& path);

// Builds a model from state-dict tensors: infers the configuration, checks that every
// expected tensor is there with its shape and that nothing unexpected is (errors name
// `origin` and every offending tensor), copies them in (upcast to compute_dtype()).
// `allow_extra` accepts tensors that are not CLIP's (a CM-CLIP checkpoint's adapters).
Clip clip_from_tensors(const NamedTensorList& tensors, const HeadOverrides& heads, ClipProvenance provenance,
                       const std::string& origin, bool allow_extra = false);

// The model's tensors in their source dtypes (fp16 stays fp16), named as in the
// reference state dict, in its order.
NamedTensorList stored_tensors(const Clip& clip);
// tensors_hash of stored_tensors: identifies the weights (clip_weights_sha256).
std::string clip_weights_hash(const Clip& clip);

// Adds the CLIP tensors to ckpt.params (as /params/<state-dict name>) and the config
// attributes clip_embed_dim, clip_image_resolution, clip_vision_layers/width/patch/heads,
// clip_context_length, clip_vocab_size, clip_text_width/heads/layers, clip_vocabulary,
// clip_source, clip_weights_sha256. With embed_weights false only the attributes are
// written: the checkpoint then refers to clip_source by content hash (small few-shot
// checkpoints over a frozen CLIP).
void add_clip_to_checkpoint(Checkpoint& ckpt, const Clip& clip, bool embed_weights = true);
// The CLIP of a checkpoint (tensors other than CLIP's are ignored). Head counts come
// from `heads` if given, else from the clip_*_heads attributes. A checkpoint that refers
// to its CLIP by hash loads clip_source and checks the hash.
Clip clip_from_checkpoint(const Checkpoint& ckpt, const HeadOverrides& heads = {});

}  // namespace cmclip::clip
