// Scores and features (format cmclip.scores, docs/design.md §4, man fas-formats(5)):
// /score float32 [N] = P(live) (higher = more live), optional /features [N,D], the
// sample store's metadata copied row for row, and /index: each row's sample index
// in the store it came from (shards and merges are checked with it).
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "cmclip/h5/h5.hpp"

namespace cmclip {

class AtomicOutput;

inline constexpr const char* kScoresFormat = "cmclip.scores";
inline constexpr int64_t kScoresVersion = 1;

struct ScoreRow {
  int64_t index = 0;  // sample index in the source store (or line number of an image list)
  float score = 0;    // P(live); NaN where the output has features only
  int8_t label = 1;
  int16_t attack = 0;
  int8_t modality = 0;
  int32_t subject = -1;
  std::string video, source;
};

// Everything of a score file in memory (fas-eval and merge).
struct ScoreSet {
  std::string path;
  bool has_score = true;
  std::vector<float> score;
  std::vector<int8_t> label;
  std::vector<int16_t> attack;
  std::vector<std::string> attack_names{"bona fide"};
  std::vector<int8_t> modality;
  std::vector<int32_t> subject;
  std::vector<std::string> video, source;
  std::vector<int64_t> index;
  std::vector<float> features;  // N*D when read with features
  int64_t feature_dim = 0;
  std::map<std::string, h5::AttrValue> attrs;  // root attributes
  size_t size() const { return score.size(); }
};

class ScoreWriter {
 public:
  // feature_dim 0: no /features. with_score false: features only (plain CLIP embedding).
  ScoreWriter(const std::string& path, int64_t feature_dim, bool with_score = true);
  ~ScoreWriter();
  void set_attack_names(const std::vector<std::string>& names);
  void set_attr(const std::string& name, const h5::AttrValue& value);
  // `features`: feature_dim floats (ignored when feature_dim is 0).
  void append(const ScoreRow& row, const float* features = nullptr);
  int64_t size() const { return count_; }
  void commit();

 private:
  void flush_buffer();
  std::unique_ptr<AtomicOutput> out_;
  std::unique_ptr<h5::File> file_;
  int64_t dim_;
  bool with_score_;
  int64_t count_ = 0;
  std::vector<ScoreRow> rows_;
  std::vector<float> feats_;
  std::vector<std::string> attack_names_{"bona fide"};
  std::map<std::string, h5::AttrValue> attrs_;
};

// Reads and validates a score file; `require_score` rejects feature-only files.
ScoreSet read_scores(const std::string& path, bool with_features = false, bool require_score = true);
// Writes a whole ScoreSet (merge).
void write_scores(const std::string& path, const ScoreSet& set);
// Root attributes a ScoreWriter writes itself at commit (provenance, num_rows): a
// copy or merge of a score set must not carry them over.
bool is_writer_owned_attr(const std::string& name);

}  // namespace cmclip
