// ModelOptions on the command line (CLI11) and read back from checkpoints (HDF5),
// apart from options.cpp so that the model builds without CLI11 and HDF5 (bench/gpu).
#include "cmclip/model/options.hpp"

#include <CLI/CLI.hpp>

#include <map>
#include <set>
#include <variant>

#include <fmt/format.h>

#include "cmclip/core/app.hpp"
#include "cmclip/core/error.hpp"
#include "cmclip/h5/checkpoint.hpp"
#include "cmclip/model/option_fields.hpp"

namespace cmclip::model {

using detail::Field;
using detail::fields;

void ModelOptions::register_on(CLI::App& app) {
  // Each option remembers its config key, so fas-fewshot can tell what was asked for.
  cli_options_.clear();
  std::map<std::string, CLI::App*> groups;
  for (const Field& f : fields()) {
    CLI::App*& g = groups[f.group];
    if (!g) g = app.add_option_group(f.group);
    CLI::Option* option = std::visit(
        [&](auto ref) -> CLI::Option* {
          auto& value = ref(*this);
          using T = std::decay_t<decltype(value)>;
          if constexpr (std::is_same_v<T, bool>) {
            return g->add_flag(f.flag, value, f.help);
          } else {
            CLI::Option* o = g->add_option(f.flag, value, f.help);
            if constexpr (std::is_same_v<T, std::vector<std::string>>) {
              o->delimiter(f.delimiter);
              if (f.expected) o->expected(f.expected);
            }
            o->capture_default_str();
            if (!f.choices.empty()) o->check(one_of(f.choices));
            return o;
          }
        },
        f.ref);
    cli_options_.emplace_back(f.key, option);
  }
}

std::set<std::string> ModelOptions::given_keys() const {
  std::set<std::string> keys;
  for (const auto& [key, option] : cli_options_)
    if (option->count() > 0) keys.insert(key);
  return keys;
}

ModelOptions ModelOptions::from_config(const Checkpoint& ck) {
  auto strings = [&](const std::string& key) {
    auto it = ck.config.find(key);
    if (it == ck.config.end()) throw InputError(ck.path, "/config", fmt::format("attribute '{}' is missing", key));
    if (auto* v = std::get_if<std::vector<std::string>>(&it->second)) return *v;
    if (auto* v = std::get_if<std::string>(&it->second)) return std::vector<std::string>{*v};
    throw InputError(ck.path, "/config", fmt::format("attribute '{}' should be a list of strings", key));
  };
  ModelOptions o;
  for (const Field& f : fields()) {
    // Options newer than the checkpoint keep their defaults, which are what it was
    // trained with (random context, the method's layout, the plain L_dec).
    if (f.optional && !ck.has_config(f.key)) continue;
    std::visit(
        [&](auto ref) {
          auto& value = ref(o);
          using T = std::decay_t<decltype(value)>;
          if constexpr (std::is_same_v<T, bool>) value = ck.config_int(f.key) != 0;
          else if constexpr (std::is_same_v<T, int64_t>) value = ck.config_int(f.key);
          else if constexpr (std::is_same_v<T, double>) value = ck.config_double(f.key);
          else if constexpr (std::is_same_v<T, std::string>) value = ck.config_string(f.key);
          else value = strings(f.key);
        },
        f.ref);
  }
  try {
    o.validate();
  } catch (const UsageError& e) {
    throw InputError(ck.path, "/config", std::string("inconsistent model settings: ") + e.what());
  }
  return o;
}

}  // namespace cmclip::model
