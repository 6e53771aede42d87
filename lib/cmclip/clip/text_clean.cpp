#include "cmclip/clip/text_clean.hpp"

#include <unicode/locid.h>
#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>

#include <algorithm>
#include <cstring>
#include <mutex>
#include <unordered_map>

#include "cmclip/core/error.hpp"

namespace cmclip::clip {

namespace {

// ---------------------------------------------------------------- ICU helpers

icu::UnicodeString to_icu(const std::u32string& s) {
  return icu::UnicodeString::fromUTF32(reinterpret_cast<const UChar32*>(s.data()), static_cast<int32_t>(s.size()));
}

std::u32string from_icu(const icu::UnicodeString& u) {
  std::string utf8;
  u.toUTF8String(utf8);
  return utf8_to_u32(utf8);
}

const icu::Normalizer2& normalizer(bool nfkc) {
  UErrorCode status = U_ZERO_ERROR;
  const icu::Normalizer2* n =
      nfkc ? icu::Normalizer2::getNFKCInstance(status) : icu::Normalizer2::getNFCInstance(status);
  if (U_FAILURE(status) || !n) throw RuntimeFailure("ICU: cannot load the Unicode normalisation data");
  return *n;
}

std::u32string normalize(const std::u32string& s, bool nfkc) {
  UErrorCode status = U_ZERO_ERROR;
  icu::UnicodeString out = normalizer(nfkc).normalize(to_icu(s), status);
  if (U_FAILURE(status)) throw RuntimeFailure("ICU: normalisation failed");
  return from_icu(out);
}

bool is_letter(char32_t c) { return (U_GET_GC_MASK(static_cast<UChar32>(c)) & U_GC_L_MASK) != 0; }
bool is_number(char32_t c) { return (U_GET_GC_MASK(static_cast<UChar32>(c)) & U_GC_N_MASK) != 0; }
// The regex module's \s: Unicode White_Space.
bool is_regex_space(char32_t c) { return u_hasBinaryProperty(static_cast<UChar32>(c), UCHAR_WHITE_SPACE); }
// Python's str.isspace (what strip() removes): White_Space plus U+001C..U+001F.
bool is_python_space(char32_t c) { return (c >= 0x1C && c <= 0x1F) || is_regex_space(c); }
bool is_ascii_alnum(char32_t c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// ---------------------------------------------------------------- HTML references

struct Entity {
  const char* name;
  const char* utf8;
};
const Entity kEntities[] = {
#include "cmclip/clip/html_entities.inc"
};

const char* html5_lookup(const std::string& name) {
  auto end = std::end(kEntities);
  auto it = std::lower_bound(std::begin(kEntities), end, name,
                             [](const Entity& e, const std::string& n) { return std::strcmp(e.name, n.c_str()) < 0; });
  return it != end && name == it->name ? it->utf8 : nullptr;
}

// windows-1252 for 0x80..0x9F; 0 where it is undefined (0x81, 0x8D, 0x8F, 0x90, 0x9D).
constexpr char32_t kCp1252High[32] = {0x20AC, 0,      0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
                                      0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0,      0x017D, 0,
                                      0,      0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
                                      0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0,      0x017E, 0x0178};

// Python's html._replace_charref for one reference `ref` (without the '&').
std::u32string replace_charref(const std::u32string& ref) {
  if (ref[0] == U'#') {
    bool hex = ref.size() > 1 && (ref[1] == U'x' || ref[1] == U'X');
    uint64_t num = 0;
    bool overflow = false;
    for (size_t i = hex ? 2 : 1; i < ref.size() && ref[i] != U';'; ++i) {
      char32_t c = ref[i];
      uint64_t digit = c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
      num = num * (hex ? 16 : 10) + digit;
      if (num > 0x10FFFF) overflow = true, num = 0x110000;
    }
    if (!overflow && num >= 0x80 && num <= 0x9F)
      return std::u32string(1, kCp1252High[num - 0x80] ? kCp1252High[num - 0x80] : static_cast<char32_t>(num));
    if (num == 0) return U"\uFFFD";
    if (num == 0x0D) return U"\r";
    if (overflow || (num >= 0xD800 && num <= 0xDFFF)) return U"\uFFFD";
    bool invalid = (num >= 0x1 && num <= 0x8) || (num >= 0xE && num <= 0x1F) || num == 0x7F || num == 0xB ||
                   (num >= 0xFDD0 && num <= 0xFDEF) || (num & 0xFFFE) == 0xFFFE;
    if (invalid) return U"";
    return std::u32string(1, static_cast<char32_t>(num));
  }
  std::string name = u32_to_utf8(ref);
  if (const char* r = html5_lookup(name)) return utf8_to_u32(r);
  // The longest prefix that is a reference (the HTML5 rule), at least 2 characters.
  for (size_t x = ref.size() - 1; x > 1; --x) {
    if (const char* r = html5_lookup(u32_to_utf8(ref.substr(0, x)))) return utf8_to_u32(r) + ref.substr(x);
  }
  return U"&" + ref;
}

// Copies `s`, replacing the character references found at its '&'s: `match(i, r)`
// returns the end of the reference that starts at s[i] and sets its replacement r, or
// returns 0 where none starts there (the '&' is kept).
template <class Match>
std::u32string replace_references(const std::u32string& s, Match match) {
  std::u32string out;
  size_t i = 0;
  while (i < s.size()) {
    std::u32string replacement;
    size_t end = s[i] == U'&' ? match(i, replacement) : 0;
    if (!end) {
      out += s[i++];
      continue;
    }
    out += replacement;
    i = end;
  }
  return out;
}

std::u32string python_html_unescape(const std::u32string& s) {
  if (s.find(U'&') == std::u32string::npos) return s;
  return replace_references(s, [&s](size_t i, std::u32string& replacement) -> size_t {
    // &(#[0-9]+;? | #[xX][0-9a-fA-F]+;? | [^\t\n\f <&#;]{1,32};?)
    size_t j = i + 1, end = 0;
    if (j < s.size() && s[j] == U'#') {
      size_t k = j + 1;
      if (k < s.size() && (s[k] == U'x' || s[k] == U'X')) {
        size_t d = k + 1;
        while (d < s.size() && ((s[d] >= '0' && s[d] <= '9') || ((s[d] | 0x20) >= 'a' && (s[d] | 0x20) <= 'f'))) ++d;
        if (d > k + 1) end = d;
      }
      if (!end) {
        size_t d = k;
        while (d < s.size() && s[d] >= '0' && s[d] <= '9') ++d;
        if (d > k) end = d;
      }
    } else {
      size_t d = j;
      static const std::u32string stop = U"\t\n\f <&#;";
      while (d < s.size() && d - j < 32 && stop.find(s[d]) == std::u32string::npos) ++d;
      if (d > j) end = d;
    }
    if (!end) return 0;
    if (end < s.size() && s[end] == U';') ++end;
    replacement = replace_charref(s.substr(j, end - j));
    return end;
  });
}

std::u32string to_upper(const std::u32string& s) {
  icu::UnicodeString u = to_icu(s);
  u.toUpper(icu::Locale::getRoot());
  return from_icu(u);
}

// ftfy's HTML_ENTITIES: every HTML5 name with its ';', plus the upper-cased form of
// the all-lower-case names whose upper-cased form html.unescape leaves alone.
const std::unordered_map<std::u32string, std::u32string>& ftfy_entities() {
  static const auto table = [] {
    std::unordered_map<std::u32string, std::u32string> t;
    for (const Entity& e : kEntities) {
      std::string name = e.name;
      if (name.empty() || name.back() != ';') continue;
      std::u32string value = utf8_to_u32(e.utf8);
      t[U"&" + utf8_to_u32(name)] = value;
      std::string upper = name;
      for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      std::string lower = name;
      for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (name != lower) continue;
      std::u32string entity_upper = U"&" + utf8_to_u32(upper);
      if (python_html_unescape(entity_upper) == entity_upper) t[entity_upper] = to_upper(value);
    }
    return t;
  }();
  return table;
}

// ftfy.fixes.unescape_html: &#?[0-9A-Za-z]{1,24}; only.
std::u32string ftfy_unescape_html(const std::u32string& s) {
  return replace_references(s, [&s](size_t i, std::u32string& replacement) -> size_t {
    size_t start = i + 1 < s.size() && s[i + 1] == U'#' ? i + 2 : i + 1;  // '#' is not alphanumeric
    size_t d = start;
    while (d < s.size() && is_ascii_alnum(s[d])) ++d;
    if (d == start || d - start > 24 || d >= s.size() || s[d] != U';') return 0;
    std::u32string text = s.substr(i, d + 1 - i);
    replacement = text;
    const auto& table = ftfy_entities();
    auto it = table.find(text);
    if (it != table.end()) {
      replacement = it->second;
    } else if (text[1] == U'#') {
      // Numeric: only when html.unescape consumes the whole reference.
      std::u32string unescaped = python_html_unescape(text);
      if (unescaped.find(U';') == std::u32string::npos) replacement = unescaped;
    }
    return d + 1;
  });
}

// ---------------------------------------------------------------- ftfy fixers

// The common mojibake: UTF-8 bytes read as Latin-1 or (sloppy) windows-1252.
std::u32string fix_mojibake(const std::u32string& s) {
  bool non_ascii = false, latin1 = true, sloppy1252 = true;
  for (char32_t c : s) {
    if (c < 0x80) continue;
    non_ascii = true;
    if (c > 0xFF) latin1 = false;
    bool in1252 = c >= 0xA0 ? c <= 0xFF : (kCp1252High[c - 0x80] == 0);  // undefined bytes map to themselves
    if (c > 0xFF) in1252 = std::find(std::begin(kCp1252High), std::end(kCp1252High), c) != std::end(kCp1252High);
    if (!in1252) sloppy1252 = false;
  }
  if (!non_ascii || (!latin1 && !sloppy1252)) return s;
  std::string bytes;
  for (char32_t c : s) {
    unsigned char b;
    if (c < 0x80 || latin1 || (c >= 0xA0 && c <= 0xFF)) {
      b = static_cast<unsigned char>(c);
    } else if (c <= 0x9F) {
      b = static_cast<unsigned char>(c);  // one of the five undefined windows-1252 bytes
    } else {
      b = static_cast<unsigned char>(
          0x80 + (std::find(std::begin(kCp1252High), std::end(kCp1252High), c) - std::begin(kCp1252High)));
    }
    bytes += static_cast<char>(b);
  }
  if (!valid_utf8(bytes)) return s;
  return utf8_to_u32(bytes);
}

std::u32string fix_c1_controls(std::u32string s) {
  for (char32_t& c : s)
    if (c >= 0x80 && c <= 0x9F && kCp1252High[c - 0x80]) c = kCp1252High[c - 0x80];
  return s;
}

std::u32string fix_latin_ligatures(const std::u32string& s) {
  static const std::unordered_map<char32_t, std::u32string> ligatures{
      {U'\u0132', U"IJ"},      {U'\u0133', U"ij"}, {U'\u0149', U"\u02BCn"}, {U'\u01F1', U"DZ"},
      {U'\u01F2', U"Dz"},      {U'\u01F3', U"dz"}, {U'\u01C4', U"D\u017D"}, {U'\u01C5', U"D\u017E"},
      {U'\u01C6', U"d\u017E"}, {U'\u01C7', U"LJ"}, {U'\u01C8', U"Lj"},      {U'\u01C9', U"lj"},
      {U'\u01CA', U"NJ"},      {U'\u01CB', U"Nj"}, {U'\u01CC', U"nj"},      {U'\uFB00', U"ff"},
      {U'\uFB01', U"fi"},      {U'\uFB02', U"fl"}, {U'\uFB03', U"ffi"},     {U'\uFB04', U"ffl"},
      {U'\uFB05', U"\u017Ft"}, {U'\uFB06', U"st"}};
  std::u32string out;
  for (char32_t c : s) {
    auto it = ligatures.find(c);
    if (it == ligatures.end()) out += c;
    else out += it->second;
  }
  return out;
}

std::u32string fix_character_width(const std::u32string& s) {
  std::u32string out;
  for (char32_t c : s) {
    if (c == 0x3000) out += U' ';
    else if (c >= 0xFF01 && c <= 0xFFEF) out += normalize(std::u32string(1, c), /*nfkc=*/true);
    else out += c;
  }
  return out;
}

std::u32string uncurl_quotes(std::u32string s) {
  for (char32_t& c : s) {
    if (c == 0x02BC || (c >= 0x2018 && c <= 0x201B)) c = U'\'';
    else if (c >= 0x201C && c <= 0x201F) c = U'"';
  }
  return s;
}

std::u32string fix_line_breaks(const std::u32string& s) {
  std::u32string out;
  for (size_t i = 0; i < s.size(); ++i) {
    char32_t c = s[i];
    if (c == U'\r' && i + 1 < s.size() && s[i + 1] == U'\n') continue;  // CRLF -> LF
    out += (c == U'\r' || c == 0x2028 || c == 0x2029 || c == 0x85) ? U'\n' : c;
  }
  return out;
}

// ESC '[' (digits | ';')* letter
std::u32string remove_terminal_escapes(const std::u32string& s) {
  std::u32string out;
  size_t i = 0;
  while (i < s.size()) {
    if (s[i] == 0x1B && i + 1 < s.size() && s[i + 1] == U'[') {
      size_t j = i + 2;
      while (j < s.size() && (s[j] == U';' || u_isdigit(static_cast<UChar32>(s[j])))) ++j;
      if (j < s.size() && ((s[j] >= 'a' && s[j] <= 'z') || (s[j] >= 'A' && s[j] <= 'Z'))) {
        i = j + 1;
        continue;
      }
    }
    out += s[i++];
  }
  return out;
}

std::u32string remove_control_chars(const std::u32string& s) {
  std::u32string out;
  for (char32_t c : s) {
    bool control = c <= 0x08 || c == 0x0B || (c >= 0x0E && c <= 0x1F) || c == 0x7F || (c >= 0x206A && c <= 0x206F) ||
                   c == 0xFEFF || (c >= 0xFFF9 && c <= 0xFFFC);
    if (!control) out += c;
  }
  return out;
}

std::u32string fix_segment(std::u32string s, bool unescape_html) {
  for (;;) {
    std::u32string before = s;
    if (unescape_html) s = ftfy_unescape_html(s);
    s = fix_mojibake(s);
    s = fix_c1_controls(std::move(s));
    s = fix_latin_ligatures(s);
    s = fix_character_width(s);
    s = uncurl_quotes(std::move(s));
    s = fix_line_breaks(s);
    s = remove_terminal_escapes(s);
    s = remove_control_chars(s);
    s = normalize(s, /*nfkc=*/false);
    if (s == before) return s;
  }
}

std::u32string strip_python(const std::u32string& s) {
  size_t a = 0, b = s.size();
  while (a < b && is_python_space(s[a])) ++a;
  while (b > a && is_python_space(s[b - 1])) --b;
  return s.substr(a, b - a);
}

// Simple case folding, for the pattern's case-insensitive literals.
bool matches_folded(const std::u32string& s, size_t at, const std::u32string& literal) {
  if (at + literal.size() > s.size()) return false;
  for (size_t k = 0; k < literal.size(); ++k)
    if (u_foldCase(static_cast<UChar32>(s[at + k]), U_FOLD_CASE_DEFAULT) != static_cast<UChar32>(literal[k]))
      return false;
  return true;
}

}  // namespace

std::string html_unescape(const std::string& text) { return u32_to_utf8(python_html_unescape(utf8_to_u32(text))); }

std::string ftfy_lite(const std::string& text) {
  std::u32string s = utf8_to_u32(text), out;
  bool unescape = true;  // "auto": off for the rest of the text once a line holds '<'
  size_t pos = 0;
  while (pos < s.size()) {
    size_t nl = s.find(U'\n', pos);
    size_t end = nl == std::u32string::npos ? s.size() : nl + 1;
    std::u32string segment = s.substr(pos, end - pos);
    if (unescape && segment.find(U'<') != std::u32string::npos) unescape = false;
    out += fix_segment(segment, unescape);
    pos = end;
  }
  return u32_to_utf8(out);
}

std::string clean_text(const std::string& text) {
  std::u32string s = utf8_to_u32(ftfy_lite(text));
  s = python_html_unescape(python_html_unescape(s));
  s = strip_python(s);
  std::u32string collapsed;
  for (size_t i = 0; i < s.size();) {
    if (is_regex_space(s[i])) {
      collapsed += U' ';
      while (i < s.size() && is_regex_space(s[i])) ++i;
    } else {
      collapsed += s[i++];
    }
  }
  s = strip_python(collapsed);
  icu::UnicodeString u = to_icu(s);
  u.toLower(icu::Locale::getRoot());  // full mapping, final sigma: Python's str.lower()
  return u32_to_utf8(from_icu(u));
}

std::vector<std::string> pretokenize(const std::string& cleaned) {
  static const std::u32string literals[] = {
      U"<|startoftext|>", U"<|endoftext|>", U"'s", U"'t", U"'re", U"'ve", U"'m", U"'ll", U"'d"};
  std::u32string s = utf8_to_u32(cleaned);
  std::vector<std::string> out;
  size_t i = 0;
  while (i < s.size()) {
    size_t end = i;
    for (const auto& lit : literals)
      if (matches_folded(s, i, lit)) {
        end = i + lit.size();
        break;
      }
    if (end == i) {
      if (is_letter(s[i])) {
        while (end < s.size() && is_letter(s[end])) ++end;
      } else if (is_number(s[i])) {
        end = i + 1;
      } else if (!is_regex_space(s[i])) {
        while (end < s.size() && !is_regex_space(s[end]) && !is_letter(s[end]) && !is_number(s[end])) ++end;
      } else {
        ++i;  // whitespace separates, never part of a pre-token
        continue;
      }
    }
    out.push_back(u32_to_utf8(s.substr(i, end - i)));
    i = end;
  }
  return out;
}

}  // namespace cmclip::clip
