// The tokenizer's text cleaning and pre-tokenisation (text_clean.hpp) for plain ASCII
// text, without ICU: what the Torch-only build of bench/gpu links in place of
// text_clean.cpp. On the texts it accepts it returns exactly what clean_text and
// pretokenize return (test_clip_tokenizer checks it); every other text is refused, never
// cleaned differently.
//
// Accepted: the printable ASCII characters 0x20-0x7E, tab and newline, except '&'
// (the start of an HTML entity, which the full cleaning unescapes). On such text every
// ftfy step is the identity, so cleaning is: strip, collapse whitespace runs to one
// space, lower-case; and the pattern's letter and number classes are [A-Za-z] and [0-9].
#pragma once
#include <string>
#include <vector>

namespace cmclip::clip {

// Whether clean_ascii_text takes `text`.
bool ascii_cleanable(const std::string& text);
// clean_text(text) for an accepted text; UsageError naming the first refused
// character otherwise.
std::string clean_ascii_text(const std::string& text);
// pretokenize(cleaned) for cleaned ASCII text; UsageError on a non-ASCII byte.
std::vector<std::string> pretokenize_ascii(const std::string& cleaned);

}  // namespace cmclip::clip
