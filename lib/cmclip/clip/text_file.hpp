// Text features (format cmclip.text, man fas-formats(5)), written by
// fas-embed --text-file:
//   /text      vlen UTF-8 [N]      the prompts, as read
//   /line      int64 [N]           their line numbers in the prompt file
//   /tokens    int64 [N, context]  clip.tokenize rows (SOT, ids, EOT, zero padding)
//   /features  float32 [N, D]      encode_text, projected, not L2-normalised
// Root attributes: provenance, num_rows, and what the writer is given (model, sha256).
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "cmclip/h5/h5.hpp"

namespace cmclip {
class AtomicOutput;
}

namespace cmclip::clip {

inline constexpr const char* kTextFormat = "cmclip.text";
inline constexpr int64_t kTextVersion = 1;

class TextFeatureWriter {
 public:
  TextFeatureWriter(const std::string& path, int64_t context_length, int64_t feature_dim);
  ~TextFeatureWriter();
  void set_attr(const std::string& name, const h5::AttrValue& value);
  // tokens: context_length ids; features: feature_dim floats.
  void append(const std::string& text, int64_t line, const int64_t* tokens, const float* features);
  int64_t size() const { return rows_; }
  void commit();  // atomic: the file appears only now

 private:
  std::unique_ptr<AtomicOutput> out_;
  std::unique_ptr<h5::File> file_;
  int64_t context_, dim_, rows_ = 0;
  std::map<std::string, h5::AttrValue> attrs_;
};

struct TextFeatures {
  std::vector<std::string> text;
  std::vector<int64_t> line;
  std::vector<int64_t> tokens;  // N * context
  std::vector<float> features;  // N * dim
  int64_t context_length = 0, feature_dim = 0;
  size_t size() const { return text.size(); }
};
// Reads and validates a cmclip.text file (InputError naming file and dataset).
TextFeatures read_text_features(const std::string& path);

}  // namespace cmclip::clip
