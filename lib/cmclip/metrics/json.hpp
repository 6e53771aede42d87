// A small streaming JSON writer (RFC 8259): objects, arrays, strings with full
// escaping (invalid UTF-8 bytes become U+FFFD), numbers in their shortest round-trip
// form, and null for NaN, infinities and absent optionals. Indented two spaces.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace cmclip::metrics {

class JsonWriter {
 public:
  JsonWriter& begin_object();
  JsonWriter& end_object();
  JsonWriter& begin_array();
  JsonWriter& end_array();
  JsonWriter& key(const std::string& name);  // inside an object, before each value

  JsonWriter& value(const std::string& s);
  JsonWriter& value(const char* s) { return value(std::string(s)); }
  JsonWriter& value(double x);
  JsonWriter& value(float x);  // shortest form of the float itself ("0.7", not 0.699999988)
  JsonWriter& value(int64_t x);
  JsonWriter& value(int x) { return value(int64_t(x)); }
  JsonWriter& value(bool b);
  JsonWriter& value(std::optional<double> x);
  JsonWriter& null();

  // key(name).value(v) in one call.
  template <class T>
  JsonWriter& field(const std::string& name, const T& v) {
    key(name);
    return value(v);
  }

  // The document, ending in a newline; every container must be closed.
  std::string str() const;

  static std::string quote(const std::string& s);

 private:
  void before_value();
  void newline();
  JsonWriter& open(char bracket);  // '{' or '['
  JsonWriter& close(char bracket, const char* what);
  std::string out_;
  std::vector<bool> first_;  // per open container: no element written yet
  std::vector<char> kind_;   // '{' or '['
  bool after_key_ = false;
};

}  // namespace cmclip::metrics
