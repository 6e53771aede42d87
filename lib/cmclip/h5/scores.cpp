#include "cmclip/h5/scores.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "cmclip/core/error.hpp"
#include "cmclip/core/fs.hpp"
#include "cmclip/h5/samples.hpp"
#include "cmclip/h5/schema.hpp"

namespace cmclip {

namespace {
constexpr size_t kChunkRows = 4096;

// A column: chunked, compressed, and checksummed (Fletcher-32; HDF5 skips it for the
// string columns), so a flipped bit in /score is an error naming it, not a wrong figure.
h5::DatasetOptions column(int64_t rows) { return h5::DatasetOptions::compressed({rows}, true); }
}  // namespace

ScoreWriter::ScoreWriter(const std::string& path, int64_t feature_dim, bool with_score)
    : out_(std::make_unique<AtomicOutput>(path)), dim_(feature_dim), with_score_(with_score) {
  file_ = std::make_unique<h5::File>(h5::File::create(*out_));
  const h5::Group& g = *file_;
  using h5::DType;
  if (with_score_)
    g.create_dataset("score", DType::f32, {0}, column(4096)).set_attr("meaning", "P(live): higher = more live");
  if (dim_ > 0) {
    auto o = h5::DatasetOptions::compressed({std::max<int64_t>(1, 65536 / dim_), dim_}, true);
    g.create_dataset("features", DType::f32, {0, dim_}, o);
  }
  g.create_dataset("index", DType::i64, {0}, column(4096));
  g.create_dataset("label", DType::i8, {0}, column(4096)).set_attr("meaning", "1 = live (bona fide), 0 = attack");
  g.create_dataset("attack", DType::i16, {0}, column(4096));
  g.create_dataset("modality", DType::i8, {0}, column(4096)).set_attr("names", modality_names());
  g.create_dataset("subject", DType::i32, {0}, column(4096));
  g.create_dataset("video", DType::string, {0}, column(1024));
  g.create_dataset("source", DType::string, {0}, column(1024));
}

ScoreWriter::~ScoreWriter() = default;

void ScoreWriter::set_attack_names(const std::vector<std::string>& names) { attack_names_ = names; }
void ScoreWriter::set_attr(const std::string& name, const h5::AttrValue& value) { attrs_[name] = value; }

void ScoreWriter::append(const ScoreRow& row, const float* features) {
  rows_.push_back(row);
  if (dim_ > 0) feats_.insert(feats_.end(), features, features + dim_);
  ++count_;
  if (rows_.size() >= kChunkRows) flush_buffer();
}

void ScoreWriter::flush_buffer() {
  if (rows_.empty()) return;
  const h5::Group& g = *file_;
  int64_t n = static_cast<int64_t>(rows_.size());
  int64_t start = count_ - n;
  std::vector<float> score;
  std::vector<int64_t> index;
  for (const auto& r : rows_) {
    score.push_back(r.score);
    index.push_back(r.index);
  }
  if (with_score_) g.dataset("score").write_rows(start, n, score.data());
  if (dim_ > 0) g.dataset("features").write_rows(start, n, feats_.data());
  g.dataset("index").write_rows(start, n, index.data());
  h5::write_shared_columns(g, start, rows_);
  rows_.clear();
  feats_.clear();
}

void ScoreWriter::commit() {
  flush_buffer();
  const h5::Group& g = *file_;
  g.write_strings("attack_names", attack_names_);
  h5::finish_file(file_, "num_rows", count_, attrs_, kScoresFormat, kScoresVersion);
  out_->commit();
}

ScoreSet read_scores(const std::string& path, bool with_features, bool require_score) {
  h5::File f = h5::File::open(path);
  h5::check_format(f, kScoresFormat, kScoresVersion);
  using h5::DType;
  ScoreSet s;
  s.path = path;
  h5::Dataset idx = f.dataset("index");
  int64_t n = idx.rows();
  idx.expect({DType::i64}, {n});
  s.has_score = f.has("score");
  if (!s.has_score && require_score)
    throw InputError(path, "/score", "missing dataset (this file holds features only; score it with a trained model)");
  if (s.has_score) {
    f.dataset("score").expect({DType::f32}, {n});
    s.score = f.read<float>("score");
  } else {
    s.score.assign(static_cast<size_t>(n), std::nanf(""));
  }
  h5::LabelColumns labels = h5::read_label_columns(f, path, n);
  s.label = std::move(labels.label);
  s.attack = std::move(labels.attack);
  s.attack_names = std::move(labels.attack_names);
  f.dataset("modality").expect({DType::i8}, {n});
  f.dataset("subject").expect({DType::i32}, {n});
  f.dataset("video").expect({DType::string}, {n});
  f.dataset("source").expect({DType::string}, {n});
  s.index = idx.read<int64_t>();
  s.modality = f.read<int8_t>("modality");
  h5::check_modality_codes(path, s.modality);
  s.subject = f.read<int32_t>("subject");
  s.video = f.read_strings("video");
  s.source = f.read_strings("source");
  if (with_features && f.has("features")) {
    h5::Dataset d = f.dataset("features");
    d.expect({DType::f32}, {n, -1});
    s.feature_dim = d.shape()[1];
    s.features = d.read<float>();
  }
  for (const auto& name : f.attr_names()) s.attrs[name] = f.attr(name);
  return s;
}

bool is_writer_owned_attr(const std::string& name) {
  static const std::vector<std::string> owned{"format",       "format_version", "created_by",
                                              "command_line", "created_at",     "num_rows"};
  return std::find(owned.begin(), owned.end(), name) != owned.end();
}

void write_scores(const std::string& path, const ScoreSet& set) {
  ScoreWriter w(path, set.features.empty() ? 0 : set.feature_dim, set.has_score);
  w.set_attack_names(set.attack_names);
  for (const auto& [name, value] : set.attrs)
    if (!is_writer_owned_attr(name)) w.set_attr(name, value);
  for (size_t i = 0; i < set.size(); ++i) {
    ScoreRow r{set.index[i],    set.score[i],   set.label[i], set.attack[i],
               set.modality[i], set.subject[i], set.video[i], set.source[i]};
    w.append(r, set.features.empty() ? nullptr : set.features.data() + i * set.feature_dim);
  }
  w.commit();
}

}  // namespace cmclip
