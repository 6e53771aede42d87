// clip/ tokenizer: ids identical to the reference for every fixture prompt and the
// tokenizer fixture (331 strings: ftfy, HTML, scripts, emoji, specials, long texts),
// the byte-level vocabulary of builtin:tiny, and the vocabulary file's errors.
#include <boost/test/unit_test.hpp>

#include <ATen/ATen.h>
#include <zlib.h>

#include <cstdlib>
#include <random>

#include "cmclip/clip/text_ascii.hpp"
#include "cmclip/clip/text_clean.hpp"
#include "cmclip/clip/tokenizer.hpp"
#include "cmclip/h5/h5.hpp"
#include "cmclip/h5/tensor.hpp"
#include "test_support.hpp"

using namespace cmclip;
using namespace cmclip::clip;
using cmclip::test::expect_error;
using cmclip::test::ScratchDir;

namespace {
std::string bpe_file() {
  std::string dir = test::shared_dir();
  if (dir.empty()) {
    BOOST_TEST_MESSAGE("SKIPPED: ../shared/data/" << kBpeFileName << " not found (../shared is absent)");
    return "";
  }
  return dir + "/data/" + kBpeFileName;
}

const Tokenizer& reference_tokenizer() {
  static const Tokenizer t = Tokenizer::from_bpe_file(bpe_file());
  return t;
}

std::vector<int64_t> row(const at::Tensor& t, int64_t i, int64_t n) {
  at::Tensor r = t[i].narrow(0, 0, n).contiguous();
  return std::vector<int64_t>(r.data_ptr<int64_t>(), r.data_ptr<int64_t>() + n);
}

// Latin script (or no letters at all): every letter below U+0250 or in Latin Extended
// Additional, and no symbol outside Latin-1 punctuation.
bool ascii_or_latin(const std::string& text) {
  for (char32_t c : utf8_to_u32(text))
    if (c >= 0x250 && !(c >= 0x1E00 && c <= 0x1EFF)) return false;
  return true;
}

void write_gz(const std::string& path, const std::string& content) {
  gzFile f = gzopen(path.c_str(), "wb");
  gzwrite(f, content.data(), static_cast<unsigned>(content.size()));
  gzclose(f);
}
}  // namespace

BOOST_AUTO_TEST_SUITE(clip_tokenizer)

BOOST_AUTO_TEST_CASE(vocabulary_layout_is_the_reference, CMCLIP_NEEDS_SHARED(test::kSharedBpe)) {
  if (bpe_file().empty()) return;
  const Tokenizer& t = reference_tokenizer();
  BOOST_TEST(t.vocab_size() == 49408);
  BOOST_TEST(t.sot() == 49406);
  BOOST_TEST(t.eot() == 49407);
  BOOST_TEST(t.symbol(0) == "!");
  BOOST_TEST(t.symbol(93) == "~");
  BOOST_TEST(t.symbol(187) == "\xC3\xBF");  // 'ÿ'
  BOOST_TEST(t.symbol(188) == "\xC4\x80");  // 'Ā' = byte 0x00
  BOOST_TEST(t.symbol(255) == "\xC5\x83");  // 'Ń' = byte 0xAD
  BOOST_TEST(t.symbol(256) == "!</w>");
  BOOST_TEST((t.encode("a photo of a cat") == std::vector<int64_t>{320, 1125, 539, 320, 2368}));
  BOOST_TEST(t.encode("").empty());
  BOOST_TEST(t.encode(" \t ").empty());
}

BOOST_AUTO_TEST_CASE(fixture_prompts_give_identical_token_ids,
                     CMCLIP_NEEDS_SHARED(test::kSharedBpe, "fixtures/clip-tiny", "fixtures/clip-tiny-h64")) {
  if (bpe_file().empty()) return;
  for (const std::string name : {"clip-tiny", "clip-tiny-h64"}) {
    std::string exp = test::fixture(name + "/expected.h5");
    if (exp.empty()) return;
    h5::File f = h5::File::open(exp);
    std::vector<std::string> prompts = f.read_strings("prompts");
    at::Tensor want = h5::read_tensor(f, "tokens");
    at::Tensor got = reference_tokenizer().tokenize(prompts, 77, /*truncate=*/true);
    BOOST_TEST(at::equal(got, want), name << ": token ids of the prompts");
    // Without truncation the long prompt is refused, naming it.
    expect_error([&] { reference_tokenizer().tokenize(prompts, 77, false); }, ExitCode::bad_input,
                 {"longer than the context length 77"});
  }
}

BOOST_AUTO_TEST_CASE(tokenizer_fixture_matches_the_reference,
                     CMCLIP_NEEDS_SHARED(test::kSharedBpe, "fixtures/clip-tiny")) {
  std::string path = test::fixture("clip-tiny/tokenizer.h5");
  if (path.empty() || bpe_file().empty()) return;
  h5::File f = h5::File::open(path);
  auto texts = f.read_strings("texts"), cleaned = f.read_strings("cleaned"), category = f.read_strings("category");
  at::Tensor ids = h5::read_tensor(f, "ids"), lengths = h5::read_tensor(f, "lengths");
  at::Tensor tok77 = h5::read_tensor(f, "tokenize77");
  const Tokenizer& t = reference_tokenizer();
  int same = 0, same_clean = 0, latin = 0, latin_same = 0;
  for (size_t i = 0; i < texts.size(); ++i) {
    const int64_t n = lengths[static_cast<int64_t>(i)].item<int64_t>();
    bool ok = t.encode(texts[i]) == row(ids, static_cast<int64_t>(i), n);
    TokenRow r = t.tokenize(texts[i], 77);
    ok = ok && r.ids == row(tok77, static_cast<int64_t>(i), 77);
    bool clean_ok = clean_text(texts[i]) == cleaned[i];
    same += ok;
    same_clean += clean_ok;
    if (ascii_or_latin(texts[i])) {
      ++latin;
      latin_same += ok;
      BOOST_TEST(ok, "ASCII/Latin string " << i << " (" << category[i] << ") differs: '" << texts[i] << "'");
    }
    if (!ok || !clean_ok)
      BOOST_TEST_MESSAGE("differs: string " << i << " (" << category[i] << "): '" << texts[i] << "' cleaned to '"
                                            << clean_text(texts[i]) << "', reference '" << cleaned[i] << "'");
  }
  BOOST_TEST_MESSAGE("tokenizer fixture: ids identical for "
                     << same << "/" << texts.size() << " strings, cleaned text for " << same_clean << "/"
                     << texts.size() << "; ASCII/Latin: " << latin_same << "/" << latin);
  BOOST_TEST(same * 100 >= static_cast<int>(texts.size()) * 99);
  BOOST_TEST(latin_same == latin);
}

BOOST_AUTO_TEST_CASE(cleaning_rules_of_the_reference) {
  // html.unescape twice after ftfy, Python whitespace, full lower-casing.
  BOOST_TEST(html_unescape("this&not that") == "this\xC2\xAC that");
  BOOST_TEST(html_unescape("&amp") == "&");
  BOOST_TEST(html_unescape("&notit;") == "\xC2\xACit;");
  BOOST_TEST(html_unescape("&#x41;&#66;&#0;") == "AB\xEF\xBF\xBD");
  BOOST_TEST(html_unescape("&#128;") == "\xE2\x82\xAC");
  BOOST_TEST(clean_text("&amp;amp;amp;") == "&");
  BOOST_TEST(clean_text("P&EACUTE;REZ") == "p\xC3\xA9rez");
  BOOST_TEST(clean_text("<b>&ldquo;x&rdquo;</b>") == "<b>\xE2\x80\x9Cx\xE2\x80\x9D</b>");  // '<': ftfy leaves entities
  BOOST_TEST(clean_text("\xC4\xB0") == "i\xCC\x87");  // 'İ' lower-cases to two code points
  BOOST_TEST(clean_text("\xCE\x9F\xCE\x94\xCE\x9F\xCE\xA3") == "\xCE\xBF\xCE\xB4\xCE\xBF\xCF\x82");  // final sigma
  BOOST_TEST(clean_text("caf\xC3\x83\xC2\xA9 au lait") == "caf\xC3\xA9 au lait");                    // mojibake
  BOOST_TEST(clean_text("  a\u00A0\u2003b  ") == "a b");
  BOOST_TEST(clean_text("soft\xC2\xADhyphen") == "soft\xC2\xADhyphen");
  auto pre = pretokenize("it's 2024! <|endoftext|>\xC3\xA9t\xC3\xA9");
  BOOST_TEST(
      (pre == std::vector<std::string>{"it", "'s", "2", "0", "2", "4", "!", "<|endoftext|>", "\xC3\xA9t\xC3\xA9"}));
}

BOOST_AUTO_TEST_CASE(byte_level_vocabulary_for_builtin_tiny) {
  Tokenizer t = Tokenizer::byte_level();
  BOOST_TEST(t.vocab_size() == 514);
  BOOST_TEST(t.sot() == 512);
  BOOST_TEST(t.eot() == 513);
  // No merges: one id per UTF-8 byte, the last of a word in its </w> form.
  BOOST_TEST((t.encode("ab c") == std::vector<int64_t>{64, 256 + 65, 256 + 66}));
  BOOST_TEST(t.encode("\xC3\xA9").size() == 2u);
  TokenRow r = t.tokenize("hi <|endoftext|>", 77);
  BOOST_TEST(
      (std::vector<int64_t>(r.ids.begin(), r.ids.begin() + 5) == std::vector<int64_t>{512, 71, 256 + 72, 513, 513}));
  BOOST_TEST(tokenizer_for("byte", 514, "", "builtin:tiny").vocab_size() == 514);
  expect_error([] { tokenizer_for("byte", 49408, "", "model.pt"); }, ExitCode::bad_input, {"model.pt", "49408", "514"});
}

BOOST_AUTO_TEST_CASE(vocabulary_file_errors_and_search_order) {
  ScratchDir dir("bpe");
  write_gz(dir.file("short.txt.gz"), "header\na b\nc d\n");
  expect_error([&] { Tokenizer::from_bpe_file(dir.file("short.txt.gz")); }, ExitCode::bad_input,
               {"short.txt.gz", "2 merges", "48894"});
  write_gz(dir.file("bad.txt.gz"), "header\na b\nthree parts here\n");
  expect_error([&] { Tokenizer::from_bpe_file(dir.file("bad.txt.gz")); }, ExitCode::bad_input,
               {"bad.txt.gz", "line 3", "three parts here"});
  test::write_text(dir.file("plain.txt.gz"), std::string("\x1f\x8b\x08\x00garbage", 12));
  expect_error([&] { Tokenizer::from_bpe_file(dir.file("plain.txt.gz")); }, ExitCode::bad_input, {"plain.txt.gz"});
  expect_error([&] { Tokenizer::from_bpe_file(dir.file("absent.gz")); }, ExitCode::bad_input, {"absent.gz"});

  // --bpe, then $CMCLIP_BPE, then ${CMCLIP_HOME}/bpe_simple_vocab_16e6.txt.gz.
  setenv("CMCLIP_HOME", dir.path().c_str(), 1);
  unsetenv("CMCLIP_BPE");
  BOOST_TEST(default_bpe_path() == dir.path() + "/" + kBpeFileName);
  expect_error([] { resolve_bpe_path(""); }, ExitCode::bad_input, {kBpeFileName, "fetch-clip.sh"});
  test::write_text(dir.file(kBpeFileName), "x");
  BOOST_TEST(resolve_bpe_path("") == dir.path() + "/" + kBpeFileName);
  setenv("CMCLIP_BPE", dir.file("short.txt.gz").c_str(), 1);
  BOOST_TEST(resolve_bpe_path("") == dir.file("short.txt.gz"));
  BOOST_TEST(resolve_bpe_path(dir.file("bad.txt.gz")) == dir.file("bad.txt.gz"));
  expect_error([&] { resolve_bpe_path(dir.file("none.gz")); }, ExitCode::bad_input, {"none.gz", "--bpe"});
  unsetenv("CMCLIP_BPE");
  unsetenv("CMCLIP_HOME");
}

// The ICU-free cleaning of the Torch-only build (bench/gpu) is the full cleaning on the
// texts it accepts, and refuses the others.
BOOST_AUTO_TEST_CASE(ascii_cleaning_equals_the_full_cleaning) {
  std::vector<std::string> texts{"fake.",
                                 "live.",
                                 "fake color.",
                                 "live ir.",
                                 "a photo of a spoof face",
                                 "  A  Photo\tOF\n a REAL face  ",
                                 "<|startoftext|>x<|ENDOFTEXT|>",
                                 "it's they'RE we'll",
                                 "x1234y",
                                 "a<b>c",
                                 "--==!!",
                                 "",
                                 " ",
                                 "\n\t\n"};
  std::mt19937 gen(21);
  const std::string alphabet = "abcXYZ019 .,'<|>!?-_\t\nstartofextdlmrv";
  for (int n = 0; n < 2000; ++n) {
    std::string t;
    for (size_t k = gen() % 24; k > 0; --k) t += alphabet[gen() % alphabet.size()];
    texts.push_back(t);
  }
  for (const auto& t : texts) {
    BOOST_REQUIRE(ascii_cleanable(t));
    const std::string cleaned = clean_text(t);
    BOOST_TEST(clean_ascii_text(t) == cleaned, "text \"" << t << "\"");
    BOOST_TEST(pretokenize_ascii(cleaned) == pretokenize(cleaned), "text \"" << t << "\"");
  }
  for (std::string bad : {"caf\xc3\xa9", "a &amp; b", "bell\x07", "cr\r"}) {
    BOOST_TEST(!ascii_cleanable(bad));
    expect_error([&] { clean_ascii_text(bad); }, ExitCode::bad_input, {"ICU"});
  }
  expect_error([] { pretokenize_ascii("caf\xc3\xa9"); }, ExitCode::bad_input, {"ASCII"});
}

BOOST_AUTO_TEST_SUITE_END()
