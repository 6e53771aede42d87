// libFuzzer target: CLIP's text cleaning and BPE tokenizer (lib/cmclip/clip/
// text_clean, tokenizer) on any bytes, as fas-embed --text-file gives them after its
// UTF-8 check, and on invalid UTF-8 too (the library decodes it to U+FFFD). The
// byte-level vocabulary always; the real BPE vocabulary too when $CMCLIP_BPE names it.
#include <cstdlib>
#include <memory>

#include "cmclip/clip/text_clean.hpp"
#include "cmclip/clip/tokenizer.hpp"
#include "fuzz_support.hpp"

using namespace cmclip;

namespace {
std::unique_ptr<clip::Tokenizer> g_byte, g_bpe;
constexpr size_t kContext = 77;

void check_row(const clip::Tokenizer& t, const clip::TokenRow& row) {
  CMCLIP_FUZZ_CHECK(row.ids.size() == kContext);
  CMCLIP_FUZZ_CHECK(row.ids.front() == t.sot());
  CMCLIP_FUZZ_CHECK(row.full_length >= 2);
  size_t end = std::min(row.full_length, kContext) - 1;
  CMCLIP_FUZZ_CHECK(row.ids[end] == t.eot());
  for (size_t i = 0; i < kContext; ++i) {
    CMCLIP_FUZZ_CHECK(row.ids[i] >= 0 && row.ids[i] < t.vocab_size());
    if (i > end) CMCLIP_FUZZ_CHECK(row.ids[i] == 0);
  }
}
}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::quiet_logs();
  g_byte = std::make_unique<clip::Tokenizer>(clip::Tokenizer::byte_level());
  if (const char* bpe = std::getenv("CMCLIP_BPE"))
    g_bpe = std::make_unique<clip::Tokenizer>(clip::Tokenizer::from_bpe_file(bpe));
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 4096) return 0;  // prompts are lines; longer inputs only slow the search
  const std::string text(reinterpret_cast<const char*>(data), size);
  fuzz::expect_clean_errors([&] {
    const std::string cleaned = clip::clean_text(text);
    CMCLIP_FUZZ_CHECK(clip::valid_utf8(cleaned));
    for (const auto& piece : clip::pretokenize(cleaned)) CMCLIP_FUZZ_CHECK(!piece.empty());
    CMCLIP_FUZZ_CHECK(clip::u32_to_utf8(clip::utf8_to_u32(cleaned)) == cleaned);
    check_row(*g_byte, g_byte->tokenize(text, kContext));
    if (g_bpe) check_row(*g_bpe, g_bpe->tokenize(text, kContext));
  });
  return 0;
}
