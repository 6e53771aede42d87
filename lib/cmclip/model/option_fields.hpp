// Internal to model/: the table of model options (options.cpp) that registration,
// to_config, from_config, validation and given_keys all read. options.cpp holds what
// needs neither CLI11 nor HDF5; options_io.cpp the command line and the checkpoint side.
#pragma once
#include <string>
#include <variant>
#include <vector>

#include "cmclip/model/options.hpp"

namespace cmclip::model::detail {

// One row per model option: its /config key, its command-line flag ("!--no-x": a flag
// that sets false), the option group, where the value lives, the choices it takes
// (none: any value), and its help.
template <typename T>
using Ref = T& (*)(ModelOptions&);
using AnyRef = std::variant<Ref<std::string>, Ref<int64_t>, Ref<double>, Ref<bool>, Ref<std::vector<std::string>>>;

struct Field {
  const char* key;
  const char* flag;
  const char* group;
  AnyRef ref;
  std::string help;
  std::vector<std::string> choices = {};
  char delimiter = 0;     // list options: the separator
  int expected = 0;       // list options: the exact count (0: any)
  bool optional = false;  // may be empty, and absent from checkpoints older than the option
};

const std::vector<Field>& fields();

template <typename T>
T& value_of(const Field& f, ModelOptions& o) {
  return std::get<Ref<T>>(f.ref)(o);
}

}  // namespace cmclip::model::detail
