// UTF-8 <-> UTF-32 without ICU (the tokenizer's byte table and its symbols, text
// cleaning).
#pragma once
#include <string>

namespace cmclip::clip {

// UTF-8 <-> UTF-32. Invalid UTF-8 decodes to U+FFFD per bad byte.
std::u32string utf8_to_u32(const std::string& s);
std::string u32_to_utf8(const std::u32string& s);
// Whether `s` is well-formed UTF-8; `error_offset` gets the first bad byte.
bool valid_utf8(const std::string& s, size_t* error_offset = nullptr);

}  // namespace cmclip::clip
