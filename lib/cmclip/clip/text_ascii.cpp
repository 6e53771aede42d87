#include "cmclip/clip/text_ascii.hpp"

#include <fmt/format.h>

#include "cmclip/core/error.hpp"

namespace cmclip::clip {

namespace {
bool accepted(unsigned char c) { return (c >= 0x20 && c <= 0x7E && c != '&') || c == '\t' || c == '\n'; }
// Python's \s and str.strip() on ASCII (0x1C-0x1F are not accepted input).
bool space(unsigned char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }
bool letter(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool digit(unsigned char c) { return c >= '0' && c <= '9'; }
char lower(unsigned char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : static_cast<char>(c); }

void refuse(const std::string& text, size_t at, const char* what) {
  throw UsageError(
      fmt::format("text \"{}\": byte 0x{:02x} at offset {} is outside {} (this build cleans text "
                  "without ICU)",
                  text, static_cast<unsigned char>(text[at]), at, what));
}
}  // namespace

bool ascii_cleanable(const std::string& text) {
  for (unsigned char c : text)
    if (!accepted(c)) return false;
  return true;
}

std::string clean_ascii_text(const std::string& text) {
  for (size_t i = 0; i < text.size(); ++i)
    if (!accepted(static_cast<unsigned char>(text[i]))) refuse(text, i, "printable ASCII without '&'");
  std::string out;
  for (size_t i = 0; i < text.size();) {
    if (space(static_cast<unsigned char>(text[i]))) {
      while (i < text.size() && space(static_cast<unsigned char>(text[i]))) ++i;
      if (!out.empty() && i < text.size()) out += ' ';  // inner runs become one space; ends are stripped
    } else {
      out += lower(static_cast<unsigned char>(text[i++]));
    }
  }
  return out;
}

std::vector<std::string> pretokenize_ascii(const std::string& s) {
  static const char* const literals[] = {
      "<|startoftext|>", "<|endoftext|>", "'s", "'t", "'re", "'ve", "'m", "'ll", "'d"};
  for (size_t i = 0; i < s.size(); ++i)
    if (static_cast<unsigned char>(s[i]) >= 0x80) refuse(s, i, "ASCII");
  auto at = [&](size_t i) { return static_cast<unsigned char>(s[i]); };
  std::vector<std::string> out;
  for (size_t i = 0; i < s.size();) {
    size_t end = i;
    for (const char* lit : literals) {  // case-insensitive, as the reference pattern
      const std::string l(lit);
      size_t k = 0;
      while (k < l.size() && i + k < s.size() && lower(at(i + k)) == l[k]) ++k;
      if (k == l.size()) {
        end = i + k;
        break;
      }
    }
    if (end == i) {
      if (letter(at(i))) {
        while (end < s.size() && letter(at(end))) ++end;
      } else if (digit(at(i))) {
        end = i + 1;
      } else if (!space(at(i))) {
        while (end < s.size() && !space(at(end)) && !letter(at(end)) && !digit(at(end))) ++end;
      } else {
        ++i;
        continue;
      }
    }
    out.push_back(s.substr(i, end - i));
    i = end;
  }
  return out;
}

}  // namespace cmclip::clip
