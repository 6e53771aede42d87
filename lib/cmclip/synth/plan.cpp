#include "cmclip/synth/plan.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <numeric>
#include <stdexcept>

#include <fmt/format.h>

#include "cmclip/core/error.hpp"
#include "cmclip/core/strings.hpp"

namespace cmclip::synth {

const std::string& presentation_name(Kind k) {
  static const std::string names[] = {"live", "print", "replay", "mask"};
  return names[static_cast<int>(k)];
}

std::vector<Kind> parse_attacks(const std::string& text) {
  std::vector<Kind> out;
  for (const std::string& name : split(text, ',')) {
    Kind k;
    if (name == "print") k = Kind::print;
    else if (name == "replay") k = Kind::replay;
    else if (name == "mask") k = Kind::mask;
    else throw UsageError(fmt::format("--attacks '{}': '{}' is not print, replay or mask", text, name));
    if (std::find(out.begin(), out.end(), k) != out.end())
      throw UsageError(fmt::format("--attacks '{}': {} is named twice", text, name));
    out.push_back(k);
  }
  return out;
}

std::vector<SplitPlan> plan_splits(const std::string& spec, int subjects) {
  std::vector<std::string> names;
  std::vector<double> weights;
  if (spec.empty()) {
    names.push_back("");
    weights.push_back(1);
  } else {
    for (const std::string& part : split(spec, ',')) {
      size_t colon = part.find(':');
      std::string name = part.substr(0, colon);
      double w = 1;
      if (colon != std::string::npos) {
        try {
          size_t used = 0;
          w = std::stod(part.substr(colon + 1), &used);
          if (used != part.size() - colon - 1) throw std::invalid_argument("trailing");
        } catch (const std::exception&) {
          w = -1;
        }
        if (!(w > 0))
          throw UsageError(fmt::format("--split '{}': weight of '{}' is not a positive number", spec, name));
      }
      if (name.empty() || !std::all_of(name.begin(), name.end(),
                                       [](unsigned char c) { return std::isalnum(c) || c == '_' || c == '-'; }))
        throw UsageError(fmt::format("--split '{}': split names are letters, digits, '-' and '_'", spec));
      if (std::find(names.begin(), names.end(), name) != names.end())
        throw UsageError(fmt::format("--split '{}': '{}' is named twice", spec, name));
      names.push_back(name);
      weights.push_back(w);
    }
  }
  int k = static_cast<int>(names.size());
  if (subjects < k)
    throw UsageError(
        fmt::format("--split '{}' needs at least {} subjects (one per split), --subjects is {}", spec, k, subjects));
  double total = std::accumulate(weights.begin(), weights.end(), 0.0);
  std::vector<int> count(static_cast<size_t>(k));
  std::vector<std::pair<double, int>> rest;
  int given = 0;
  for (int i = 0; i < k; ++i) {
    double exact = subjects * weights[static_cast<size_t>(i)] / total;
    count[static_cast<size_t>(i)] = static_cast<int>(std::floor(exact));
    given += count[static_cast<size_t>(i)];
    rest.emplace_back(-(exact - std::floor(exact)), i);  // largest remainder first, then earlier
  }
  std::sort(rest.begin(), rest.end());
  for (int i = 0; given < subjects; ++i, ++given) ++count[static_cast<size_t>(rest[static_cast<size_t>(i % k)].second)];
  for (int i = 0; i < k; ++i)
    while (count[static_cast<size_t>(i)] == 0) {
      auto big = std::max_element(count.begin(), count.end());
      --*big;
      ++count[static_cast<size_t>(i)];
    }
  std::vector<SplitPlan> out;
  int next = 0;
  for (int i = 0; i < k; ++i) {
    SplitPlan p;
    p.name = names[static_cast<size_t>(i)];
    for (int j = 0; j < count[static_cast<size_t>(i)]; ++j) p.subjects.push_back(next++);
    out.push_back(std::move(p));
  }
  return out;
}

std::string split_path(const std::string& path, const std::string& split, bool several) {
  size_t brace = path.find("{split}");
  if (brace != std::string::npos)
    return path.substr(0, brace) + (split.empty() ? "all" : split) + path.substr(brace + 7);
  if (!several) return path;
  size_t slash = path.find_last_of('/');
  size_t dot = path.find_last_of('.');
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash) ||
      dot == (slash == std::string::npos ? 0 : slash + 1))
    return path + "-" + split;
  return path.substr(0, dot) + "-" + split + path.substr(dot);
}

}  // namespace cmclip::synth
