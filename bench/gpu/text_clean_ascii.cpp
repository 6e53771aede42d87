// The tokenizer's text cleaning in the Torch-only build (no ICU): clean_text and
// pretokenize of clip/text_clean.hpp for printable ASCII text, through
// clip/text_ascii.hpp, which gives exactly the full cleaning's result on the texts it
// accepts and refuses the others (a UsageError naming the character). The check's
// prompts are such texts.
#include "cmclip/clip/text_ascii.hpp"
#include "cmclip/clip/text_clean.hpp"

namespace cmclip::clip {

std::string clean_text(const std::string& text) { return clean_ascii_text(text); }

std::vector<std::string> pretokenize(const std::string& cleaned) { return pretokenize_ascii(cleaned); }

}  // namespace cmclip::clip
