// Small ASCII string helpers shared by the list readers, the CLIP loaders and the CPU
// probes. ASCII only: text that may hold other scripts goes through clip/utf8 and ICU.
#pragma once
#include <string>
#include <vector>

namespace cmclip {

bool starts_with(const std::string& s, const std::string& prefix);
bool ends_with(const std::string& s, const std::string& suffix);
std::string ascii_lower(std::string s);
std::string ascii_upper(std::string s);
// Without leading and trailing spaces, tabs and line ends.
std::string trim(const std::string& s);
// The fields between the separators, empty ones included (Python's str.split(sep)):
// split("a,,b", ',') is {"a", "", "b"}, split("", ',') is {""}.
std::vector<std::string> split(const std::string& s, char separator);
// True for a non-empty string of 0-9 only.
bool all_digits(const std::string& s);

}  // namespace cmclip
