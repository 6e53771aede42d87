#include "cmclip/metrics/json.hpp"

#include <cmath>

#include <fmt/format.h>

#include "cmclip/core/error.hpp"

namespace cmclip::metrics {

namespace {
// Length of the valid UTF-8 sequence at s[i], or 0 when it is not one.
size_t utf8_length(const std::string& s, size_t i) {
  auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = byte(i);
  size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
  if (n == 0 || i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k)
    if ((byte(i + k) >> 6) != 0x2) return 0;
  if (n == 2 && c < 0xC2) return 0;  // overlong
  if (n == 3) {
    unsigned char d = byte(i + 1);
    if ((c == 0xE0 && d < 0xA0) || (c == 0xED && d >= 0xA0)) return 0;  // overlong, surrogate
  }
  if (n == 4) {
    unsigned char d = byte(i + 1);
    if ((c == 0xF0 && d < 0x90) || c > 0xF4 || (c == 0xF4 && d >= 0x90)) return 0;
  }
  return n;
}
}  // namespace

std::string JsonWriter::quote(const std::string& s) {
  std::string out = "\"";
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    switch (c) {
      case '"':
        out += "\\\"";
        ++i;
        continue;
      case '\\':
        out += "\\\\";
        ++i;
        continue;
      case '\n':
        out += "\\n";
        ++i;
        continue;
      case '\r':
        out += "\\r";
        ++i;
        continue;
      case '\t':
        out += "\\t";
        ++i;
        continue;
      case '\b':
        out += "\\b";
        ++i;
        continue;
      case '\f':
        out += "\\f";
        ++i;
        continue;
      default:
        break;
    }
    if (c < 0x20 || c == 0x7F) {
      out += fmt::format("\\u{:04x}", c);
      ++i;
      continue;
    }
    size_t n = utf8_length(s, i);
    if (n == 0) {
      out += "\\ufffd";
      ++i;
    } else {
      out.append(s, i, n);
      i += n;
    }
  }
  return out + "\"";
}

void JsonWriter::newline() {
  out_ += '\n';
  out_.append(2 * kind_.size(), ' ');
}

void JsonWriter::before_value() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (kind_.empty()) {
    if (!out_.empty()) throw RuntimeFailure("JsonWriter: a second top-level value");
    return;
  }
  if (kind_.back() == '{') throw RuntimeFailure("JsonWriter: a value in an object needs a key");
  if (!first_.back()) out_ += ',';
  first_.back() = false;
  newline();
}

JsonWriter& JsonWriter::key(const std::string& name) {
  if (kind_.empty() || kind_.back() != '{' || after_key_) throw RuntimeFailure("JsonWriter: misplaced key " + name);
  if (!first_.back()) out_ += ',';
  first_.back() = false;
  newline();
  out_ += quote(name);
  out_ += ": ";
  after_key_ = true;
  return *this;
}

JsonWriter& JsonWriter::open(char bracket) {
  before_value();
  out_ += bracket;
  kind_.push_back(bracket);
  first_.push_back(true);
  return *this;
}

JsonWriter& JsonWriter::close(char bracket, const char* what) {
  // An object may not end between a key and its value.
  if (kind_.empty() || kind_.back() != bracket || (bracket == '{' && after_key_))
    throw RuntimeFailure(std::string("JsonWriter: unbalanced ") + what);
  bool empty = first_.back();
  kind_.pop_back();
  first_.pop_back();
  if (!empty) newline();
  out_ += bracket == '{' ? '}' : ']';
  return *this;
}

JsonWriter& JsonWriter::begin_object() { return open('{'); }
JsonWriter& JsonWriter::begin_array() { return open('['); }
JsonWriter& JsonWriter::end_object() { return close('{', "object"); }
JsonWriter& JsonWriter::end_array() { return close('[', "array"); }

JsonWriter& JsonWriter::value(const std::string& s) {
  before_value();
  out_ += quote(s);
  return *this;
}

JsonWriter& JsonWriter::value(double x) {
  before_value();
  out_ += std::isfinite(x) ? fmt::format("{}", x) : "null";
  return *this;
}

JsonWriter& JsonWriter::value(float x) {
  before_value();
  out_ += std::isfinite(x) ? fmt::format("{}", x) : "null";
  return *this;
}

JsonWriter& JsonWriter::value(int64_t x) {
  before_value();
  out_ += fmt::format("{}", x);
  return *this;
}

JsonWriter& JsonWriter::value(bool b) {
  before_value();
  out_ += b ? "true" : "false";
  return *this;
}

JsonWriter& JsonWriter::value(std::optional<double> x) { return x ? value(*x) : null(); }

JsonWriter& JsonWriter::null() {
  before_value();
  out_ += "null";
  return *this;
}

std::string JsonWriter::str() const {
  if (!kind_.empty() || after_key_) throw RuntimeFailure("JsonWriter: unclosed container");
  return out_ + "\n";
}

}  // namespace cmclip::metrics
