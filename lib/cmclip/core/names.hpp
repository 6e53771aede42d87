// One name table per enum (or fixed choice list): parsing, printing, validation and the
// --help text all read the same entries, in the order --help lists them. Header-only
// and free of CLI11 and LibTorch; core/app.hpp's one_of(names()) checks a command-line
// value against it.
#pragma once
#include <initializer_list>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "cmclip/core/error.hpp"

namespace cmclip {

// "a, b or c", for help texts and messages.
inline std::string either(const std::vector<std::string>& names) {
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) out += (i == 0 ? "" : i + 1 == names.size() ? " or " : ", ") + names[i];
  return out;
}

template <typename E>
class NameTable {
 public:
  NameTable(std::initializer_list<std::pair<E, const char*>> entries) : entries_(entries) {}
  explicit NameTable(std::vector<std::pair<E, const char*>> entries) : entries_(std::move(entries)) {}

  const char* name(E value) const {
    for (const auto& [v, n] : entries_)
      if (v == value) return n;
    return "?";
  }
  std::optional<E> find(const std::string& text) const {
    for (const auto& [v, n] : entries_)
      if (text == n) return v;
    return std::nullopt;
  }
  // UsageError "--option 'text': expected a, b or c".
  E parse(const std::string& text, const std::string& option) const {
    if (auto v = find(text)) return *v;
    throw UsageError(option + " '" + text + "': expected " + either());
  }
  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const auto& entry : entries_) out.emplace_back(entry.second);
    return out;
  }
  std::string either() const { return cmclip::either(names()); }

 private:
  std::vector<std::pair<E, const char*>> entries_;
};

// The names an option kept as a string may take, in the order --help lists them.
class Choices {
 public:
  Choices(std::initializer_list<const char*> names) : table_(entries(names)) {}
  // UsageError "--option 'text': expected a, b or c".
  void check(const std::string& text, const std::string& option) const { table_.parse(text, option); }
  std::vector<std::string> names() const { return table_.names(); }
  std::string either() const { return table_.either(); }

 private:
  static std::vector<std::pair<std::string, const char*>> entries(std::initializer_list<const char*> names) {
    std::vector<std::pair<std::string, const char*>> out;
    for (const char* n : names) out.emplace_back(n, n);
    return out;
  }
  NameTable<std::string> table_;
};

}  // namespace cmclip
