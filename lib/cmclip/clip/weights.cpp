#include "cmclip/clip/weights.hpp"

#include <torch/script.h>
#include <torch/torch.h>

#include <cmath>
#include <fstream>
#include <map>
#include <random>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "cmclip/core/error.hpp"
#include "cmclip/core/fs.hpp"
#include "cmclip/core/log.hpp"
#include "cmclip/core/strings.hpp"
#include "cmclip/h5/checkpoint.hpp"
#include "cmclip/h5/h5.hpp"
#include "cmclip/h5/schema.hpp"

namespace cmclip::clip {

namespace {

std::string shape_of(const at::Tensor& t) { return fmt::format("[{}]", fmt::join(t.sizes(), ", ")); }

// "a, b, c and 7 more" for error messages.
std::string listing(const std::vector<std::string>& items, size_t shown = 8) {
  std::vector<std::string> head(items.begin(), items.begin() + std::min(shown, items.size()));
  std::string s = fmt::format("{}", fmt::join(head, ", "));
  if (items.size() > shown) s += fmt::format(" and {} more", items.size() - shown);
  return s;
}

bool is_hdf5_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char head[8] = {};
  in.read(head, sizeof head);
  return in.gcount() == 8 && std::string(head, 8) == std::string("\x89HDF\r\n\x1a\n", 8);
}

void check_float(const at::Tensor& t, const std::string& origin, const std::string& name) {
  if (!at::isFloatingType(t.scalar_type()))
    throw InputError(origin, name,
                     fmt::format("expected a floating-point tensor, found {}", c10::toString(t.scalar_type())));
}

}  // namespace

c10::ScalarType compute_dtype() { return at::kFloat; }

NamedTensorList read_torchscript_tensors(const std::string& path) {
  check_input_file(path);
  torch::jit::Module module;
  try {
    // The device argument matters: released archives name CUDA storages (docs/clip.md §3.4).
    module = torch::jit::load(path, torch::kCPU);
  } catch (const c10::Error& e) {
    std::string why = e.what_without_backtrace();
    why = why.substr(0, why.find('\n'));
    throw InputError(path, "",
                     fmt::format("not a TorchScript archive or a cmclip checkpoint ({}). A checkpoint saved with "
                                 "torch.save(state_dict) cannot be read by LibTorch: convert it to a "
                                 "TorchScript archive (see man fas-embed)",
                                 why));
  }
  static const std::set<std::string> bookkeeping{"input_resolution", "context_length", "vocab_size"};
  NamedTensorList tensors;
  int skipped = 0;
  auto take = [&](const std::string& name, const at::Tensor& value) {
    if (bookkeeping.count(name) || !at::isFloatingType(value.scalar_type())) {
      ++skipped;
      return;
    }
    tensors.emplace_back(name, value.detach());
  };
  for (const auto& p : module.named_parameters(true)) take(p.name, p.value);
  for (const auto& b : module.named_buffers(true)) take(b.name, b.value);
  log::debug("{}: {} tensors, {} non-weight entries skipped", path, tensors.size(), skipped);
  return tensors;
}

Clip clip_from_tensors(const NamedTensorList& tensors, const HeadOverrides& heads, ClipProvenance provenance,
                       const std::string& origin, bool allow_extra) {
  ClipConfig config = infer_clip_config(tensors, heads, origin);
  Clip clip(config);
  auto expected = clip->named_parameters(true);
  std::map<std::string, const at::Tensor*> given;
  std::vector<std::string> unexpected, missing, wrong_shape;
  for (const auto& [name, t] : tensors) {
    if (!expected.contains(name)) {
      if (!allow_extra) unexpected.push_back(name);
      continue;
    }
    given[name] = &t;
  }
  for (const auto& item : expected) {
    auto it = given.find(item.key());
    if (it == given.end()) missing.push_back(item.key());
    else if (it->second->sizes() != item.value().sizes())
      wrong_shape.push_back(
          fmt::format("{} is {}, expected {}", item.key(), shape_of(*it->second), shape_of(item.value())));
  }
  if (!missing.empty() || !wrong_shape.empty() || !unexpected.empty()) {
    std::vector<std::string> parts;
    if (!missing.empty()) parts.push_back(fmt::format("missing tensors: {}", listing(missing)));
    if (!wrong_shape.empty()) parts.push_back(fmt::format("wrong shapes: {}", listing(wrong_shape)));
    if (!unexpected.empty()) parts.push_back(fmt::format("unexpected tensors: {}", listing(unexpected)));
    std::string first = !missing.empty()       ? missing[0]
                        : !wrong_shape.empty() ? wrong_shape[0].substr(0, wrong_shape[0].find(' '))
                                               : unexpected[0];
    throw InputError(origin, first,
                     fmt::format("does not match a CLIP ViT with {} ({})", config.describe(), fmt::join(parts, "; ")));
  }
  torch::NoGradGuard no_grad;
  provenance.stored_dtype.clear();
  for (auto& item : expected) {
    const at::Tensor& src = *given.at(item.key());
    check_float(src, origin, item.key());
    provenance.stored_dtype[item.key()] = src.scalar_type();
    item.value().set_data(src.to(at::kCPU, compute_dtype()).contiguous().clone());
  }
  clip->set_provenance(std::move(provenance));
  clip->eval();
  log::debug("{}: CLIP {}", origin, config.describe());
  return clip;
}

NamedTensorList stored_tensors(const Clip& clip) {
  NamedTensorList out;
  const auto& dtypes = clip->provenance().stored_dtype;
  for (const auto& item : clip->named_parameters(true)) {
    auto it = dtypes.find(item.key());
    c10::ScalarType dtype = it == dtypes.end() ? item.value().scalar_type() : it->second;
    out.emplace_back(item.key(), item.value().detach().to(at::kCPU, dtype).contiguous().clone());
  }
  return out;
}

std::string clip_weights_hash(const Clip& clip) { return tensors_hash(stored_tensors(clip)); }

void add_clip_to_checkpoint(Checkpoint& ckpt, const Clip& clip, bool embed_weights) {
  NamedTensorList tensors = stored_tensors(clip);
  for (const auto& [name, value] : clip->config().fields()) ckpt.config["clip_" + name] = value;
  ckpt.config["clip_vocabulary"] = clip->provenance().vocabulary;
  ckpt.config["clip_source"] = clip->provenance().source;
  ckpt.config["clip_weights_sha256"] = tensors_hash(tensors);
  ckpt.config["clip_weights_embedded"] = int64_t(embed_weights ? 1 : 0);
  if (!embed_weights) return;
  for (auto& [name, t] : tensors) {
    if (ckpt.find_param(name))
      throw RuntimeFailure(fmt::format("checkpoint already holds a parameter named '{}'", name));
    ckpt.params.emplace_back(name, std::move(t));
  }
}

Clip clip_from_checkpoint(const Checkpoint& ckpt, const HeadOverrides& heads) {
  if (!ckpt.has_config("clip_vocabulary"))
    throw InputError(ckpt.path, "/config", "holds no CLIP model (no clip_* attributes)");
  HeadOverrides h = heads;
  if (!h.vision_heads) h.vision_heads = ckpt.config_int("clip_vision_heads");
  if (!h.text_heads) h.text_heads = ckpt.config_int("clip_text_heads");
  const std::string source = ckpt.config_string("clip_source");
  const std::string hash = ckpt.config_string("clip_weights_sha256");
  Clip clip{nullptr};
  if (ckpt.find_param("visual.proj")) {
    ClipProvenance p{source, ckpt.config_string("clip_vocabulary"), {}};
    clip = clip_from_tensors(ckpt.params, h, p, ckpt.path, /*allow_extra=*/true);
    if (clip_weights_hash(clip) != hash)
      throw InputError(ckpt.path, "/params",
                       "the CLIP tensors do not match the checkpoint's clip_weights_sha256 (edited or damaged file)");
  } else {
    if (ckpt.has_config("clip_weights_embedded") && ckpt.config_int("clip_weights_embedded") != 0)
      throw InputError(ckpt.path, "/params/visual.proj", "missing tensor (the checkpoint says its CLIP is embedded)");
    // Refers to its CLIP by content hash: load the source (relative to the checkpoint).
    std::string path = source;
    if (!starts_with(source, "builtin:") && !file_exists(source)) path = join_path(dirname_of(ckpt.path), source);
    if (!starts_with(source, "builtin:") && !file_exists(path))
      throw InputError(ckpt.path, "/config",
                       fmt::format("refers to its CLIP weights '{}', which do not exist (looked at {})", source, path));
    clip = load_clip(path, ClipLoadOptions{h});
    if (clip_weights_hash(clip) != hash)
      throw InputError(
          ckpt.path, "/config",
          fmt::format("refers to CLIP weights {} with sha256 {}, but {} holds other weights", source, hash, path));
    ClipProvenance p = clip->provenance();
    p.source = source;
    clip->set_provenance(std::move(p));
  }
  // The stored configuration must agree with the tensors (heads: what was used).
  for (const auto& [field, value] : clip->config().fields()) {
    const std::string key = "clip_" + field;
    if (!ckpt.has_config(key)) continue;
    if ((field == "vision_heads" && heads.vision_heads) || (field == "text_heads" && heads.text_heads)) {
      if (ckpt.config_int(key) != value)
        log::warn("{}: using {} {} instead of the checkpoint's {}", ckpt.path, field, value, ckpt.config_int(key));
      continue;
    }
    if (ckpt.config_int(key) != value)
      throw InputError(
          ckpt.path, "/config",
          fmt::format("attribute {} = {}, but the CLIP tensors give {}", key, ckpt.config_int(key), value));
  }
  return clip;
}

Clip load_clip(const std::string& spec, const ClipLoadOptions& options) {
  if (starts_with(spec, "builtin:")) {
    if (spec != kBuiltinTiny && spec != kBuiltinVitB16Random)
      throw UsageError(
          fmt::format("unknown built-in model '{}' (known: {}, {})", spec, kBuiltinTiny, kBuiltinVitB16Random));
    Clip clip = spec == kBuiltinTiny ? builtin_tiny() : builtin_vit_b_16_random();
    const ClipConfig& c = clip->config();
    if ((options.heads.vision_heads && *options.heads.vision_heads != c.vision_heads) ||
        (options.heads.text_heads && *options.heads.text_heads != c.text_heads))
      throw UsageError(
          fmt::format("{} has fixed head counts ({} vision, {} text)", spec, c.vision_heads, c.text_heads));
    return clip;
  }
  check_input_file(spec);
  if (is_hdf5_file(spec)) {
    if (!is_checkpoint_file(spec)) {
      h5::File f = h5::File::open(spec);
      std::string format = h5::format_of(f);
      throw InputError(
          spec, "/",
          fmt::format("an HDF5 file but not a cmclip checkpoint (format: {})", format.empty() ? "none" : format));
    }
    return clip_from_checkpoint(read_checkpoint(spec, /*with_optimizer=*/false), options.heads);
  }
  ClipProvenance p{spec, "bpe", {}};
  return clip_from_tensors(read_torchscript_tensors(spec), options.heads, p, spec);
}

}  // namespace cmclip::clip
