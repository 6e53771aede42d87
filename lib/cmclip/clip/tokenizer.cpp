#include "cmclip/clip/tokenizer.hpp"

#include <ATen/ATen.h>
#include <zlib.h>

#include <cstdlib>
#include <limits>

#include <fmt/format.h>

#include "cmclip/clip/text_clean.hpp"
#include "cmclip/core/error.hpp"
#include "cmclip/core/fs.hpp"
#include "cmclip/core/log.hpp"
#include "cmclip/core/sha256.hpp"

namespace cmclip::clip {

namespace {
constexpr const char* kSot = "<|startoftext|>";
constexpr const char* kEot = "<|endoftext|>";
constexpr size_t kMergesUsed = 49152 - 256 - 2;  // fields 1 .. 48894 of the file

// bytes_to_unicode: the 188 printable bytes map to themselves, the other 68 (in byte
// order) to U+0100, U+0101, ...; `order` lists the bytes in vocabulary order.
void byte_table(std::string symbols[256], std::vector<int>& order) {
  auto printable = [](int b) { return (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE); };
  std::u32string cps(256, 0);
  for (int b = 0; b < 256; ++b)
    if (printable(b)) cps[b] = static_cast<char32_t>(b), order.push_back(b);
  char32_t next = 0x100;
  for (int b = 0; b < 256; ++b)
    if (!printable(b)) cps[b] = next++, order.push_back(b);
  for (int b = 0; b < 256; ++b) symbols[b] = u32_to_utf8(std::u32string(1, cps[b]));
}

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

std::string default_bpe_path() {
  const char* home = std::getenv("CMCLIP_HOME");
  std::string dir = home && *home ? home : std::string(std::getenv("HOME") ? std::getenv("HOME") : ".") + "/.cache/cmclip";
  return dir + "/" + kBpeFileName;
}

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

void Tokenizer::build(const std::vector<std::pair<std::string, std::string>>& merges) {
  std::vector<int> order;
  byte_table(byte_symbol_, order);
  for (int b : order) vocab_.push_back(byte_symbol_[b]);
  for (int b : order) vocab_.push_back(byte_symbol_[b] + "</w>");
  for (size_t i = 0; i < merges.size(); ++i) {
    vocab_.push_back(merges[i].first + merges[i].second);
    ranks_.insert_or_assign(merges[i].first + " " + merges[i].second, static_cast<int64_t>(i));
  }
  vocab_.push_back(kSot);
  vocab_.push_back(kEot);
  // dict(zip(vocab, range(n))): a string listed twice keeps its last id.
  for (size_t i = 0; i < vocab_.size(); ++i) encoder_.insert_or_assign(vocab_[i], static_cast<int64_t>(i));
  sot_ = encoder_.at(kSot);
  eot_ = encoder_.at(kEot);
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
    throw InputError(path, "", fmt::format("holds {} merges; CLIP's vocabulary uses the first {}", merges.size(),
                                           kMergesUsed));
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

Tokenizer Tokenizer::byte_level() {
  Tokenizer t;
  t.kind_ = "byte";
  t.source_ = "byte-level";
  t.build({});
  return t;
}

std::vector<int64_t> Tokenizer::bpe(const std::string& pretoken) const {
  {
    std::lock_guard<std::mutex> lock(*cache_mutex_);
    auto it = cache_->find(pretoken);
    if (it != cache_->end()) return it->second;
  }
  std::vector<int64_t> ids;
  std::string mapped;
  for (unsigned char b : pretoken) mapped += byte_symbol_[b];
  if (mapped == kSot || mapped == kEot) {
    ids.push_back(encoder_.at(mapped));
  } else {
    // One symbol per table character, "</w>" on the last one.
    std::vector<std::string> word;
    std::u32string chars = utf8_to_u32(mapped);
    for (char32_t c : chars) word.push_back(u32_to_utf8(std::u32string(1, c)));
    word.back() += "</w>";
    while (word.size() > 1) {
      int64_t best = std::numeric_limits<int64_t>::max();
      size_t best_at = 0;
      for (size_t i = 0; i + 1 < word.size(); ++i) {
        auto it = ranks_.find(word[i] + " " + word[i + 1]);
        if (it != ranks_.end() && it->second < best) best = it->second, best_at = i;
      }
      if (best == std::numeric_limits<int64_t>::max()) break;
      const std::string first = word[best_at], second = word[best_at + 1];
      std::vector<std::string> merged;
      for (size_t i = 0; i < word.size();) {  // every occurrence, left to right, no overlap
        if (word[i] == first && i + 1 < word.size() && word[i + 1] == second) {
          merged.push_back(first + second);
          i += 2;
        } else {
          merged.push_back(word[i++]);
        }
      }
      word.swap(merged);
    }
    for (const auto& symbol : word) {
      auto it = encoder_.find(symbol);
      if (it == encoder_.end())
        throw RuntimeFailure(fmt::format("tokenizer ({}): symbol '{}' is not in the vocabulary", source_, symbol));
      ids.push_back(it->second);
    }
  }
  std::lock_guard<std::mutex> lock(*cache_mutex_);
  if (cache_->size() < 1000000) cache_->emplace(pretoken, ids);
  return ids;
}

std::vector<int64_t> Tokenizer::encode(const std::string& text) const {
  std::vector<int64_t> ids;
  for (const auto& pretoken : pretokenize(clean_text(text))) {
    auto part = bpe(pretoken);
    ids.insert(ids.end(), part.begin(), part.end());
  }
  return ids;
}

TokenRow Tokenizer::tokenize(const std::string& text, size_t context) const {
  TokenRow row;
  row.ids.push_back(sot_);
  auto ids = encode(text);
  row.ids.insert(row.ids.end(), ids.begin(), ids.end());
  row.ids.push_back(eot_);
  row.full_length = row.ids.size();
  if (row.ids.size() > context) {
    row.ids.resize(context);
    row.ids.back() = eot_;
  }
  row.ids.resize(context, 0);
  return row;
}

at::Tensor Tokenizer::tokenize(const std::vector<std::string>& texts, size_t context, bool truncate) const {
  at::Tensor out = at::zeros({static_cast<int64_t>(texts.size()), static_cast<int64_t>(context)}, at::kLong);
  int64_t* p = out.data_ptr<int64_t>();
  for (size_t i = 0; i < texts.size(); ++i) {
    TokenRow row = tokenize(texts[i], context);
    if (row.too_long(context) && !truncate)
      throw InputError("", fmt::format("text {}", i),
                       fmt::format("{} tokens with start and end, longer than the context length {}", row.full_length,
                                   context));
    std::copy(row.ids.begin(), row.ids.end(), p + i * context);
  }
  return out;
}

Tokenizer tokenizer_for(const std::string& vocabulary, int64_t vocab_size, const std::string& bpe_option,
                        const std::string& model_name) {
  Tokenizer t = vocabulary == "byte" ? Tokenizer::byte_level()
                : vocabulary == "bpe" ? Tokenizer::from_bpe_file(resolve_bpe_path(bpe_option))
                                      : throw InputError(model_name, "clip_vocabulary",
                                                         fmt::format("unknown vocabulary '{}' (bpe or byte)", vocabulary));
  if (t.vocab_size() != vocab_size)
    throw InputError(model_name, "token_embedding.weight",
                     fmt::format("the model has {} tokens but the vocabulary {} has {}", vocab_size, t.source(),
                                 t.vocab_size()));
  return t;
}

}  // namespace cmclip::clip
