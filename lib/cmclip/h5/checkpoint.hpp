// Checkpoints (format cmclip.checkpoint, docs/design.md §4, man fas-formats(5)):
//   /config      attributes: architecture, method, adapter and prompt settings, ...
//   /params/<dotted.name>   one dataset per parameter (reference state-dict names)
//   /trainable   names of the parameters that training changes
//   /optimizer/<name>       optimiser state tensors (exact resume)
//   /state       attributes (step, epoch, ...) and tensors (RNG states)
//   root attribute `parent`: content hash of the checkpoint this one started from.
// Large arrays carry Fletcher-32 checksums, so corruption is reported by name.
#pragma once
#include <ATen/core/Tensor.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "cmclip/core/named_tensors.hpp"
#include "cmclip/h5/h5.hpp"

namespace cmclip {

inline constexpr const char* kCheckpointFormat = "cmclip.checkpoint";
inline constexpr int64_t kCheckpointVersion = 1;

struct Checkpoint {
  std::map<std::string, h5::AttrValue> config;
  NamedTensors params;
  std::vector<std::string> trainable;
  NamedTensors optimizer;
  std::map<std::string, h5::AttrValue> state;
  NamedTensors state_tensors;
  std::string parent;

  const at::Tensor* find_param(const std::string& name) const;
  // Config accessors that fail with a clear message naming the checkpoint.
  std::string config_string(const std::string& key) const;
  int64_t config_int(const std::string& key) const;
  double config_double(const std::string& key) const;
  bool has_config(const std::string& key) const { return config.count(key) > 0; }
  std::string path;  // set by read_checkpoint
};

// Writes atomically (temporary file, renamed when complete).
void write_checkpoint(const std::string& path, const Checkpoint& ckpt);
// Validates format, version and structure; `with_optimizer` false skips the
// optimiser and state tensors (inference).
Checkpoint read_checkpoint(const std::string& path, bool with_optimizer = true);
// The /config attributes only (cheap: no tensor is read); format checked.
std::map<std::string, h5::AttrValue> read_checkpoint_config(const std::string& path);
// True when `path` is an HDF5 file whose format is cmclip.checkpoint.
bool is_checkpoint_file(const std::string& path);

// Content hash (sha256 hex) of named tensors: names, dtypes, shapes and bytes, in
// name order. Identifies frozen weights stored by reference.
std::string tensors_hash(const NamedTensors& tensors);

}  // namespace cmclip
