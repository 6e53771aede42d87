#include "cmclip/core/modality.hpp"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

#include "cmclip/core/error.hpp"

namespace cmclip {

const std::vector<std::string>& modality_names() {
  static const std::vector<std::string> names{"rgb", "depth", "nir", "thermal"};
  return names;
}

const std::string& modality_name(Modality m) { return modality_names().at(static_cast<size_t>(m)); }

Modality parse_modality(const std::string& name) {
  std::string s = name;
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  if (s == "rgb" || s == "color" || s == "colour") return Modality::rgb;
  if (s == "depth") return Modality::depth;
  if (s == "nir" || s == "ir" || s == "infrared") return Modality::nir;
  if (s == "thermal") return Modality::thermal;
  throw InputError(fmt::format("unknown modality '{}' (expected rgb, depth, nir or thermal)", name));
}

}  // namespace cmclip
