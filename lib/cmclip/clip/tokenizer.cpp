#include "cmclip/clip/tokenizer.hpp"

#include <ATen/ATen.h>

#include <limits>

#include <fmt/format.h>

#include "cmclip/clip/text_clean.hpp"  // clean_text, pretokenize (bench/gpu: text_ascii.hpp)
#include "cmclip/core/error.hpp"

namespace cmclip::clip {

namespace {
constexpr const char* kSot = "<|startoftext|>";
constexpr const char* kEot = "<|endoftext|>";

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
}  // namespace

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
      throw InputError(
          "", fmt::format("text {}", i),
          fmt::format("{} tokens with start and end, longer than the context length {}", row.full_length, context));
    std::copy(row.ids.begin(), row.ids.end(), p + i * context);
  }
  return out;
}

}  // namespace cmclip::clip
