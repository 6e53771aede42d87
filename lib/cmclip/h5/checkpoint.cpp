#include "cmclip/h5/checkpoint.hpp"

#include <ATen/ATen.h>

#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "cmclip/core/error.hpp"
#include "cmclip/core/fs.hpp"
#include "cmclip/core/sha256.hpp"
#include "cmclip/h5/schema.hpp"
#include "cmclip/h5/tensor.hpp"

namespace cmclip {

namespace {
h5::DatasetOptions tensor_options(const at::Tensor& t) {
  // Checksummed chunks for anything larger than a few KiB; weights barely compress,
  // so no deflate (it would cost seconds per 100 MB).
  if (t.dim() == 0 || t.numel() * t.element_size() < 16384) return {};
  h5::DatasetOptions o;
  o.fletcher32 = true;
  return o;
}

void write_named(const h5::Group& g, const NamedTensors& tensors) {
  for (const auto& [name, t] : tensors) h5::write_tensor(g, name, t, tensor_options(t));
}

// Datasets below `g`, recursively, named by their path relative to `g`.
void read_named(const h5::Group& g, const std::string& prefix, NamedTensors& out) {
  for (const auto& child : g.children()) {
    std::string name = prefix.empty() ? child : prefix + "/" + child;
    if (g.is_dataset(child)) out.emplace_back(name, h5::read_tensor(g, child));
    else read_named(g.group(child), name, out);
  }
}

[[noreturn]] void config_error(const Checkpoint& c, const std::string& key, const std::string& what) {
  throw InputError(c.path, "/config", fmt::format("attribute '{}' {}", key, what));
}
}  // namespace

const at::Tensor* Checkpoint::find_param(const std::string& name) const {
  for (const auto& p : params)
    if (p.first == name) return &p.second;
  return nullptr;
}

std::string Checkpoint::config_string(const std::string& key) const {
  auto it = config.find(key);
  if (it == config.end()) config_error(*this, key, "is missing");
  if (auto* s = std::get_if<std::string>(&it->second)) return *s;
  config_error(*this, key, "should be a string");
}

int64_t Checkpoint::config_int(const std::string& key) const {
  auto it = config.find(key);
  if (it == config.end()) config_error(*this, key, "is missing");
  if (auto* v = std::get_if<int64_t>(&it->second)) return *v;
  config_error(*this, key, "should be an integer");
}

double Checkpoint::config_double(const std::string& key) const {
  auto it = config.find(key);
  if (it == config.end()) config_error(*this, key, "is missing");
  if (auto* v = std::get_if<double>(&it->second)) return *v;
  if (auto* v = std::get_if<int64_t>(&it->second)) return static_cast<double>(*v);
  config_error(*this, key, "should be a number");
}

void write_checkpoint(const std::string& path, const Checkpoint& c) {
  AtomicOutput out(path);
  {
    h5::File f = h5::File::create(out);
    h5::Group config = f.create_group("config");
    for (const auto& [k, v] : c.config) config.set_attr(k, v);
    write_named(f.create_group("params"), c.params);
    f.write_strings("trainable", c.trainable);
    write_named(f.create_group("optimizer"), c.optimizer);
    h5::Group state = f.create_group("state");
    for (const auto& [k, v] : c.state) state.set_attr(k, v);
    write_named(state, c.state_tensors);
    // The format attribute last (h5::seal): a temporary file cut short by SIGKILL
    // never claims to be a checkpoint (the rename below is what makes it one).
    f.set_attr("parent", c.parent);
    h5::seal(f, kCheckpointFormat, kCheckpointVersion);
    f.close();
  }
  out.commit();
}

std::map<std::string, h5::AttrValue> read_checkpoint_config(const std::string& path) {
  h5::File f = h5::File::open(path);
  h5::check_format(f, kCheckpointFormat, kCheckpointVersion);
  std::map<std::string, h5::AttrValue> config;
  h5::Group g = f.group("config");
  for (const auto& name : g.attr_names()) config[name] = g.attr(name);
  return config;
}

bool is_checkpoint_file(const std::string& path) {
  if (!file_exists(path)) return false;
  auto l = h5::lock();
  if (H5Fis_hdf5(path.c_str()) <= 0) return false;
  h5::File f = h5::File::open(path);
  return h5::format_of(f) == kCheckpointFormat;
}

Checkpoint read_checkpoint(const std::string& path, bool with_optimizer) {
  h5::File f = h5::File::open(path);
  h5::check_format(f, kCheckpointFormat, kCheckpointVersion);
  Checkpoint c;
  c.path = path;
  if (f.has_attr("parent")) c.parent = f.attr_string("parent");
  h5::Group config = f.group("config");
  for (const auto& name : config.attr_names()) c.config[name] = config.attr(name);
  h5::Group params = f.group("params");
  for (const auto& name : params.children()) {
    if (!params.is_dataset(name))
      throw InputError(path, "/params/" + name, "expected a dataset per parameter, found a group");
    try {
      c.params.emplace_back(name, h5::read_tensor(params, name));
    } catch (const InputError& e) {
      throw InputError(path, "/params/" + name, "cannot read (damaged file or failed Fletcher-32 checksum)");
    }
  }
  h5::Dataset trainable = f.dataset("trainable");
  trainable.expect({h5::DType::string}, {-1});
  c.trainable = trainable.read_strings();
  for (const auto& name : c.trainable)
    if (!c.find_param(name))
      throw InputError(path, "/trainable", fmt::format("names '{}', which /params does not hold", name));
  h5::Group state = f.group("state");
  for (const auto& name : state.attr_names()) c.state[name] = state.attr(name);
  if (with_optimizer) {
    read_named(f.group("optimizer"), "", c.optimizer);
    read_named(state, "", c.state_tensors);
  }
  return c;
}

std::string tensors_hash(const NamedTensors& tensors) {
  std::vector<const std::pair<std::string, at::Tensor>*> sorted;
  for (const auto& t : tensors) sorted.push_back(&t);
  std::sort(sorted.begin(), sorted.end(), [](auto* a, auto* b) { return a->first < b->first; });
  Sha256 h;
  for (const auto* p : sorted) {
    at::Tensor t = p->second.detach().to(at::kCPU).contiguous();
    h.update(fmt::format("{}|{}|{}|", p->first, c10::toString(t.scalar_type()), fmt::join(t.sizes(), ",")));
    h.update(t.data_ptr(), static_cast<size_t>(t.numel() * t.element_size()));
  }
  return h.hex_digest();
}

}  // namespace cmclip
