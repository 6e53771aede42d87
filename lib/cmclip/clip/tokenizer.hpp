// CLIP's byte-level BPE tokenizer (docs/clip.md §6): cleaning (text_clean.hpp), the
// reference pre-tokenisation, bytes mapped to printable characters, merges with the
// "</w>" end-of-word suffix, start/end tokens, context length.
//
// Two vocabularies:
//  - "bpe": the reference's bpe_simple_vocab_16e6.txt.gz (49408 tokens), read from
//    --bpe FILE, else $CMCLIP_BPE, else ${CMCLIP_HOME:-$HOME/.cache/cmclip}/
//    bpe_simple_vocab_16e6.txt.gz (where scripts/fetch-clip.sh puts it);
//  - "byte": the 256 byte symbols, their "</w>" forms and the two special tokens
//    (514 tokens, no merges), for builtin:tiny.
#pragma once
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace cmclip::clip {

inline constexpr const char* kBpeFileName = "bpe_simple_vocab_16e6.txt.gz";
inline constexpr const char* kBpeSha256 = "924691ac288e54409236115652ad4aa250f48203de50a9e4722a6ecd48d6804a";

// ${CMCLIP_HOME:-$HOME/.cache/cmclip}/bpe_simple_vocab_16e6.txt.gz
std::string default_bpe_path();
// `option` if given, else $CMCLIP_BPE, else default_bpe_path(). Fails (exit status 2)
// with a message saying how to get the file when the chosen path does not exist.
std::string resolve_bpe_path(const std::string& option);

// One tokenized text: [SOT, ids..., EOT] cut or zero-padded to the context length.
struct TokenRow {
  std::vector<int64_t> ids;  // exactly `context` ids
  size_t full_length = 0;    // SOT + text tokens + EOT before any truncation
  bool too_long(size_t context) const { return full_length > context; }
};

class Tokenizer {
 public:
  static Tokenizer from_bpe_file(const std::string& path);
  static Tokenizer byte_level();

  // Token ids of the text, without start/end tokens (SimpleTokenizer.encode).
  std::vector<int64_t> encode(const std::string& text) const;
  // clip.tokenize of one text with truncate=True: too long rows keep SOT, the first
  // context-2 text tokens and EOT. Check full_length to refuse instead.
  TokenRow tokenize(const std::string& text, size_t context) const;
  // [N, context] int64 rows; too long texts fail (InputError naming the index) unless
  // `truncate`.
  at::Tensor tokenize(const std::vector<std::string>& texts, size_t context, bool truncate) const;

  int64_t vocab_size() const { return static_cast<int64_t>(vocab_.size()); }
  int64_t sot() const { return sot_; }
  int64_t eot() const { return eot_; }
  const std::string& kind() const { return kind_; }      // "bpe" or "byte"
  const std::string& source() const { return source_; }  // file path or "byte-level"
  // The symbol of an id ("hello</w>"), for messages and tests.
  const std::string& symbol(int64_t id) const { return vocab_.at(static_cast<size_t>(id)); }

 private:
  Tokenizer() = default;
  void build(const std::vector<std::pair<std::string, std::string>>& merges);
  std::vector<int64_t> bpe(const std::string& pretoken) const;

  std::string kind_, source_;
  std::vector<std::string> vocab_;
  std::unordered_map<std::string, int64_t> encoder_;
  std::unordered_map<std::string, int64_t> ranks_;  // "first second" -> merge rank
  std::string byte_symbol_[256];                    // UTF-8 of each byte's table character
  int64_t sot_ = 0, eot_ = 0;
  // Pre-token -> ids; the reference caches the same way (no effect on output).
  std::shared_ptr<std::mutex> cache_mutex_ = std::make_shared<std::mutex>();
  std::shared_ptr<std::unordered_map<std::string, std::vector<int64_t>>> cache_ =
      std::make_shared<std::unordered_map<std::string, std::vector<int64_t>>>();
};

// The tokenizer a model needs: vocabulary "byte" -> Tokenizer::byte_level(), "bpe" ->
// the file resolve_bpe_path(bpe_option) names. Its size must equal the model's
// vocab_size (InputError naming the model otherwise).
Tokenizer tokenizer_for(const std::string& vocabulary, int64_t vocab_size, const std::string& bpe_option,
                        const std::string& model_name);

}  // namespace cmclip::clip
