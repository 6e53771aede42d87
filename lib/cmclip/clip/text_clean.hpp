// CLIP's text cleaning (docs/clip.md §6.4, §6.7), on UTF-8 strings:
//   ftfy_lite -> html_unescape twice -> strip -> collapse whitespace -> lower-case.
//
// ftfy_lite reproduces ftfy.fix_text (v6.3.1 defaults) line by line: HTML entities
// (off for the rest of the text once a line contains '<'), C1 controls as
// windows-1252, Latin ligatures, full/half-width forms, curly quotes, line breaks,
// terminal escapes, control characters, NFC; repeated until the text is stable.
// ftfy's mojibake repair (fix_encoding) is reduced to its common case: a line whose
// non-ASCII characters all come from Latin-1 or windows-1252 and whose bytes in that
// encoding form valid UTF-8 (with at least one multi-byte sequence) is decoded as
// UTF-8 ("cafÃ© au lait" -> "café au lait", "â€œquotedâ€\x9d" -> "\"quoted\"").
// Not reproduced: ftfy's "badness" score (so a line that is legitimately such
// Latin-1 text is decoded too, which real text almost never is), mojibake through
// other code pages (windows-1250/1251/1253/1254, ISO-8859-2, MacRoman, cp437),
// partially broken lines (decode_inconsistent_utf8, restore_byte_a0,
// replace_lossy_sequences) and the utf-8-variants decoder.
#pragma once
#include <string>
#include <vector>

#include "cmclip/clip/utf8.hpp"  // utf8_to_u32, u32_to_utf8, valid_utf8 (declared here before)

namespace cmclip::clip {

std::string ftfy_lite(const std::string& text);
// Python's html.unescape (HTML5 named and numeric references, also without ';').
std::string html_unescape(const std::string& text);
// The whole cleaning: what the reference tokenizer's BPE sees.
std::string clean_text(const std::string& text);
// The reference pre-tokenisation pattern on cleaned text (special tokens,
// contractions, letter runs, single numbers, runs of other non-space characters).
std::vector<std::string> pretokenize(const std::string& cleaned);

}  // namespace cmclip::clip
