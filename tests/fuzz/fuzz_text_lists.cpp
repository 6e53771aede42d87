// libFuzzer target: the line files of fas-embed (lib/cmclip/clip/text_lists): image
// lists (--images) and prompt files (--text-file). The first byte picks the reader; the
// rest is the file. An image list's lines name files relative to the list's folder
// (the fuzzer's scratch folder, where few exist): both "no such file" and real entries
// are reached.
#include "cmclip/clip/text_clean.hpp"
#include "cmclip/clip/text_lists.hpp"
#include "fuzz_support.hpp"

using namespace cmclip;

CMCLIP_FUZZ_QUIET_INITIALIZE

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const bool image_list = data[0] & 1;
  const std::string& path = fuzz::write_input_file(data + 1, size - 1, ".txt");
  fuzz::expect_clean_errors([&] {
    if (image_list) {
      int64_t previous = 0;
      for (const auto& e : clip::read_image_list(path)) {
        CMCLIP_FUZZ_CHECK(e.line > previous);
        previous = e.line;
        CMCLIP_FUZZ_CHECK(!e.text.empty() && clip::valid_utf8(e.text) && !e.path.empty());
      }
    } else {
      const auto prompts = clip::read_prompt_file(path);
      CMCLIP_FUZZ_CHECK(!prompts.empty());
      int64_t previous = 0;
      for (const auto& p : prompts) {
        CMCLIP_FUZZ_CHECK(p.line > previous);
        previous = p.line;
        CMCLIP_FUZZ_CHECK(clip::valid_utf8(p.text));
        CMCLIP_FUZZ_CHECK(p.text.find('\0') == std::string::npos && p.text.find('\n') == std::string::npos);
        CMCLIP_FUZZ_CHECK(p.text.find_first_not_of(" \t") != std::string::npos);
      }
    }
  });
  return 0;
}
