// FasModel in and out of checkpoints, and fresh models over a CLIP spec (weights files,
// the BPE vocabulary): apart from fas_model.cpp so that the model itself builds without
// HDF5, zlib and ICU (bench/gpu).
#include "cmclip/model/fas_model.hpp"

#include <torch/torch.h>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "cmclip/clip/weights.hpp"
#include "cmclip/core/error.hpp"
#include "cmclip/core/random.hpp"
#include "cmclip/core/runtime.hpp"
#include "cmclip/h5/checkpoint.hpp"

namespace cmclip::model {

void FasModelImpl::save_to(Checkpoint& ckpt) {
  options_.to_config(ckpt.config);
  ckpt.config["architecture"] = std::string("cmclip/clip-vit");
  for (auto& [name, t] : trainable()) {
    ckpt.params.emplace_back(name, t.detach().to(at::kCPU).clone());
    ckpt.trainable.push_back(name);
  }
}

void FasModelImpl::load_from(const Checkpoint& ckpt) {
  torch::NoGradGuard g;
  for (auto& [name, t] : trainable()) {
    const at::Tensor* src = ckpt.find_param(name);
    if (!src)
      throw InputError(ckpt.path, "/params/" + name,
                       fmt::format("missing: a {} model needs it (was the checkpoint written with other "
                                   "model options?)",
                                   options_.method));
    if (!src->sizes().equals(t.sizes()))
      throw InputError(ckpt.path, "/params/" + name,
                       fmt::format("shape [{}] does not fit the model's [{}]", fmt::join(src->sizes(), ", "),
                                   fmt::join(t.sizes(), ", ")));
    t.copy_(*src);
  }
}

namespace {
// A CLIP this narrow (builtin:tiny: width 128) gives each operation too little work to
// share between threads: with the sleeping idle threads of the waiting policy
// (core/runtime.hpp), waking the second thread for every operation costs more than it
// saves. Measured on 2 cores (docs/performance.md): 5-shot training on builtin:tiny
// ran at 62 images/s on one thread and 26 on two, and one thread is not slowed by a
// busy process beside it.
void fit_threads_to(const clip::ClipConfig& c) {
  constexpr int64_t kNarrowWidth = 256;
  const int64_t width = std::max(c.vision_width, c.text_width);
  if (width <= kNarrowWidth)
    cap_default_compute_threads(1, fmt::format("this CLIP's width of {} gives each operation too little "
                                               "work to share",
                                               width));
}
}  // namespace

LoadedModel load_model_checkpoint(const std::string& path, const std::string& bpe_option) {
  Checkpoint ck = read_checkpoint(path, /*with_optimizer=*/false);
  if (!ck.has_config("method"))
    throw InputError(path, "/config",
                     "holds CLIP weights but no trained model (no 'method'); "
                     "train one with fas-pretrain");
  ModelOptions options = ModelOptions::from_config(ck);
  clip::Clip c = clip::clip_from_checkpoint(ck);
  fit_threads_to(c->config());
  clip::Tokenizer tok =
      clip::tokenizer_for(ck.config_string("clip_vocabulary"), c->config().vocab_size, bpe_option, path);
  FasModel model(c, tok, options);
  model->load_from(ck);
  model->eval();
  NamedTensors trained = model->trainable();
  std::string hash = tensors_hash(trained) + ":" + ck.config_string("clip_weights_sha256").substr(0, 16);
  return LoadedModel{model, tok, path, hash};
}

LoadedModel new_model(const std::string& clip_spec, const ModelOptions& options, const std::string& bpe_option,
                      const clip::HeadOverrides& heads, uint64_t seed) {
  clip::ClipLoadOptions lo;
  lo.heads = heads;
  clip::Clip c = clip::load_clip(clip_spec, lo);
  fit_threads_to(c->config());
  clip::Tokenizer tok = clip::tokenizer_for(c->provenance().vocabulary, c->config().vocab_size, bpe_option, clip_spec);
  torch::manual_seed(derive_seed(seed, {0x696e6974ULL /* "init" */}));
  FasModel model(c, tok, options);
  return LoadedModel{model, tok, clip_spec, ""};
}

}  // namespace cmclip::model
