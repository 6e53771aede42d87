// libFuzzer target: the BPE vocabulary reader (Tokenizer::from_bpe_file, --bpe FILE)
// and the tokenizer built from what it read. The input's lines are the first merges of
// a vocabulary file (after its header line); the rest of the 48894 merges CLIP uses
// come from the real vocabulary when $CMCLIP_BPE names it, else from made-up merges,
// so that inputs reach the tokenizer instead of ending in "too few merges". The file
// is plain text: gzopen reads it as it reads a .gz file.
#include <zlib.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "cmclip/clip/tokenizer.hpp"
#include "fuzz_support.hpp"

using namespace cmclip;

namespace {
constexpr size_t kMerges = 48894;
std::vector<std::string> g_merges;  // the filler, one merge per entry

std::vector<std::string> real_merges(const char* path) {
  std::vector<std::string> out;
  gzFile f = gzopen(path, "rb");
  if (!f) return out;
  std::string text;
  char buf[1 << 16];
  int n;
  while ((n = gzread(f, buf, sizeof buf)) > 0) text.append(buf, size_t(n));
  gzclose(f);
  std::istringstream in(text);
  std::string line;
  std::getline(in, line);  // header
  while (out.size() < kMerges && std::getline(in, line)) out.push_back(line);
  return out;
}

void check_row(const clip::Tokenizer& t, const clip::TokenRow& row) {
  CMCLIP_FUZZ_CHECK(row.ids.size() == 77 && row.ids.front() == t.sot());
  for (int64_t id : row.ids) CMCLIP_FUZZ_CHECK(id >= 0 && id < t.vocab_size());
}
}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::quiet_logs();
  if (const char* bpe = std::getenv("CMCLIP_BPE")) g_merges = real_merges(bpe);
  if (g_merges.size() < kMerges) {
    g_merges.clear();
    for (size_t i = 0; g_merges.size() < kMerges; ++i)
      g_merges.push_back(std::string(1, char('a' + i % 26)) + " " + std::to_string(i));
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 4096) return 0;  // a few merges are enough to vary; the filler is the bulk
  std::string file = "#version: 0.2\n";
  file.append(reinterpret_cast<const char*>(data), size);
  if (!file.empty() && file.back() != '\n') file += '\n';
  size_t lines = 0;
  for (char c : file) lines += c == '\n';
  for (size_t i = lines - 1; i < kMerges && i < g_merges.size(); ++i) file += g_merges[i] + "\n";
  const std::string& path = fuzz::write_input_file(reinterpret_cast<const uint8_t*>(file.data()), file.size(), ".txt");
  fuzz::expect_clean_errors([&] {
    clip::Tokenizer t = clip::Tokenizer::from_bpe_file(path);
    CMCLIP_FUZZ_CHECK(t.vocab_size() > t.eot() && t.eot() > t.sot() && t.sot() > 0);
    for (const char* text : {"a photo of a real face", "spoof print attack", "Ünïcödé 😀 mask", "a 3d mask, 2 eyes"})
      check_row(t, t.tokenize(text, 77));
    // The input itself as a text, through the merges it defined.
    check_row(t, t.tokenize(std::string(reinterpret_cast<const char*>(data), size), 77));
  });
  return 0;
}
