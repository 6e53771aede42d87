// The BPE vocabulary file of the tokenizer (gzip, zlib) and the choice of vocabulary for
// a model: apart from tokenizer.cpp so that the byte-level tokenizer builds without
// zlib (bench/gpu).
#include "cmclip/clip/tokenizer.hpp"

#include <zlib.h>

#include <cstdlib>

#include <fmt/format.h>

#include "cmclip/clip/utf8.hpp"
#include "cmclip/core/error.hpp"
#include "cmclip/core/fs.hpp"
#include "cmclip/core/log.hpp"
#include "cmclip/core/sha256.hpp"

namespace cmclip::clip {

namespace {
constexpr size_t kMergesUsed = 49152 - 256 - 2;  // fields 1 .. 48894 of the file

std::string gunzip_file(const std::string& path) {
  check_input_file(path);
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) throw InputError(path, "", "cannot open");
  std::string out;
  char buf[1 << 16];
  int n;
  while ((n = gzread(f, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  int err = 0;
  const char* msg = gzerror(f, &err);
  std::string why = msg ? msg : "";
  gzclose(f);
  if (n < 0 || (err != Z_OK && err != Z_STREAM_END))
    throw InputError(path, "", fmt::format("not a readable gzip file ({})", why));
  return out;
}
}  // namespace

std::string default_bpe_path() { return cmclip_home() + "/" + kBpeFileName; }

std::string resolve_bpe_path(const std::string& option) {
  const char* env = std::getenv("CMCLIP_BPE");
  std::string path = !option.empty() ? option : env && *env ? env : default_bpe_path();
  std::string from = !option.empty() ? "--bpe" : env && *env ? "$CMCLIP_BPE" : "the default path";
  if (!file_exists(path))
    throw InputError(path, "",
                     fmt::format("BPE vocabulary not found (from {}); give --bpe FILE, set $CMCLIP_BPE, or run "
                                 "scripts/fetch-clip.sh to download {}",
                                 from, kBpeFileName));
  return path;
}

Tokenizer Tokenizer::from_bpe_file(const std::string& path) {
  std::string text = gunzip_file(path);
  if (!valid_utf8(text)) throw InputError(path, "", "not UTF-8 text");
  std::vector<std::pair<std::string, std::string>> merges;
  size_t pos = text.find('\n');  // field 0 is a header
  size_t line = 1;
  while (pos != std::string::npos && merges.size() < kMergesUsed) {
    size_t start = pos + 1;
    pos = text.find('\n', start);
    std::string field = text.substr(start, pos == std::string::npos ? std::string::npos : pos - start);
    ++line;
    if (field.empty() && pos == std::string::npos) break;  // the final newline
    size_t space = field.find(' ');
    if (space == std::string::npos || space == 0 || field.find(' ', space + 1) != std::string::npos ||
        space + 1 == field.size())
      throw InputError(path, fmt::format("line {}", line),
                       fmt::format("expected a merge of two space-separated symbols, found '{}'", field));
    merges.emplace_back(field.substr(0, space), field.substr(space + 1));
  }
  if (merges.size() < kMergesUsed)
    throw InputError(path, "",
                     fmt::format("holds {} merges; CLIP's vocabulary uses the first {}", merges.size(), kMergesUsed));
  std::string sha = sha256_file(path);
  if (sha != kBpeSha256)
    log::warn("{}: sha256 {} is not that of the reference vocabulary {} (ids will differ from OpenAI CLIP's)", path,
              sha, kBpeFileName);
  Tokenizer t;
  t.kind_ = "bpe";
  t.source_ = path;
  t.build(merges);
  return t;
}

Tokenizer tokenizer_for(const std::string& vocabulary, int64_t vocab_size, const std::string& bpe_option,
                        const std::string& model_name) {
  Tokenizer t = vocabulary == "byte" ? Tokenizer::byte_level()
                : vocabulary == "bpe"
                    ? Tokenizer::from_bpe_file(resolve_bpe_path(bpe_option))
                    : throw InputError(model_name, "clip_vocabulary",
                                       fmt::format("unknown vocabulary '{}' (bpe or byte)", vocabulary));
  if (t.vocab_size() != vocab_size)
    throw InputError(
        model_name, "token_embedding.weight",
        fmt::format("the model has {} tokens but the vocabulary {} has {}", vocab_size, t.source(), t.vocab_size()));
  return t;
}

}  // namespace cmclip::clip
