#include "cmclip/metrics/eval_input.hpp"

#include <sys/stat.h>

#include <cmath>
#include <fstream>
#include <iostream>
#include <map>
#include <unordered_map>

#include <fmt/format.h>

#include "cmclip/core/error.hpp"
#include "cmclip/core/fs.hpp"
#include "cmclip/h5/h5.hpp"
#include "cmclip/h5/samples.hpp"
#include "cmclip/h5/schema.hpp"
#include "cmclip/h5/scores.hpp"
#include "cmclip/metrics/score_merge.hpp"
#include "cmclip/metrics/score_tsv.hpp"

namespace cmclip::metrics {

namespace {
// An HDF5 file starts with the byte 0x89 (its signature is \x89HDF\r\n\x1a\n); a score
// TSV starts with its header. Peeking one byte leaves pipes (`--test <(...)`) readable.
constexpr int kHdf5FirstByte = 0x89;

bool is_regular_file(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

// Assigns video ids in order of first appearance, one per (modality, video name): the
// frames of one capture in RGB, Depth and NIR are three videos. "" is a unit of its
// own each time.
class UnitTable {
 public:
  explicit UnitTable(EvalSet& set) : set_(set) {}
  void add(const std::string& video, int8_t modality) {
    if (video.empty()) {
      ++set_.rows_without_video;
      push("", modality);
      return;
    }
    std::string key(1, static_cast<char>(modality));
    key += video;
    auto [it, inserted] = ids_.emplace(std::move(key), static_cast<uint32_t>(set_.unit_names.size()));
    if (inserted) {
      set_.unit_names.push_back(video);
      set_.unit_modality.push_back(modality);
    }
    set_.unit.push_back(it->second);
  }

 private:
  void push(const std::string& name, int8_t modality) {
    set_.unit.push_back(static_cast<uint32_t>(set_.unit_names.size()));
    set_.unit_names.push_back(name);
    set_.unit_modality.push_back(modality);
  }
  EvalSet& set_;
  std::unordered_map<std::string, uint32_t> ids_;
};

// Renumbers the attack types to those present (1..T, in the order of `order`).
void compact_types(EvalSet& set, const std::vector<std::string>& all_names) {
  std::vector<int64_t> count(all_names.size(), 0);
  for (int16_t c : set.cls) ++count[c];
  std::vector<int16_t> remap(all_names.size(), 0);
  set.type_names = {"bona fide"};
  for (size_t c = 1; c < all_names.size(); ++c)
    if (count[c] > 0) {
      remap[c] = static_cast<int16_t>(set.type_names.size());
      set.type_names.push_back(all_names[c]);
    }
  for (int16_t& c : set.cls) c = remap[c];
}

// Every row of a video must be of one class (a video is one presentation) and of one
// subject.
void check_videos(const EvalSet& set) {
  std::vector<int64_t> first_row(set.unit_names.size(), -1);
  for (size_t i = 0; i < set.size(); ++i) {
    int64_t& first = first_row[set.unit[i]];
    if (first < 0) {
      first = static_cast<int64_t>(i);
    } else if (set.cls[first] != set.cls[i]) {
      throw InputError(
          display_name(set.name), set.record(i, "/video"),
          fmt::format("{} mixes classes: {} here, {} at {}", set.unit_label(set.unit[i]), set.type_names[set.cls[i]],
                      set.type_names[set.cls[first]], set.record(first, "/video")));
    } else if (!set.subject.empty() && set.subject[first] != set.subject[i]) {
      throw InputError(display_name(set.name), set.record(i, "/subject"),
                       fmt::format("{} mixes subjects: {} here, {} at {}", set.unit_label(set.unit[i]), set.subject[i],
                                   set.subject[first], set.record(first, "/subject")));
    }
  }
}

EvalSet read_hdf5(const std::string& path, bool with_videos) {
  using h5::DType;
  h5::File f = h5::File::open(path);
  h5::check_format(f, kScoresFormat, kScoresVersion);
  EvalSet set;
  set.name = path;
  set.format = kScoresFormat;
  if (!f.has("score"))
    throw InputError(path, "/score", "missing dataset (this file holds features only; score it with a trained model)");
  h5::Dataset score = f.dataset("score");
  const int64_t n = score.rows();
  score.expect({DType::f32}, {n});
  h5::LabelColumns labels = h5::read_label_columns(f, path, n);
  set.score = score.read<float>();
  if (score.has_attr("meaning")) set.score_meaning = score.attr_string("meaning");
  if (f.dataset("label").has_attr("meaning")) set.label_meaning = f.dataset("label").attr_string("meaning");
  if (f.has_attr(kShardModelHash)) set.model_hash = f.attr_string(kShardModelHash);

  set.cls.resize(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    if (!std::isfinite(set.score[i]))
      throw InputError(path, fmt::format("/score[{}]", i),
                       fmt::format("score is {} (every sample needs a finite score)", set.score[i]));
    set.cls[i] = labels.attack[i];
  }
  set.frames = n;
  compact_types(set, labels.attack_names);
  set.modality.assign(static_cast<size_t>(n), kNoModality);
  if (f.has("modality")) {
    f.dataset("modality").expect({DType::i8}, {n});
    set.modality = f.read<int8_t>("modality");
    h5::check_modality_codes(path, set.modality);
  }
  if (with_videos) {
    h5::Dataset video = f.dataset("video");
    video.expect({DType::string}, {n});
    UnitTable units(set);
    std::vector<std::string> videos = video.read_strings();
    for (int64_t i = 0; i < n; ++i) units.add(videos[i], set.modality[i]);
    set.subject.assign(static_cast<size_t>(n), -1);
    if (f.has("subject")) {
      f.dataset("subject").expect({DType::i32}, {n});
      set.subject = f.read<int32_t>("subject");
    }
  }
  return set;
}

EvalSet read_tsv(std::istream& in, const std::string& name, bool with_videos) {
  EvalSet set;
  set.name = name;
  set.format = "tsv";
  std::map<std::string, int16_t> codes;
  std::vector<std::string> names{"bona fide"};
  UnitTable units(set);
  read_score_tsv(in, name, [&](const ScoreTsvRow& r) {
    int16_t code = 0;
    if (r.label == kAttack) {
      auto it = codes.find(r.attack_type);
      if (it != codes.end()) {
        code = it->second;
      } else {
        if (names.size() > 32767)
          throw InputError(display_name(name), fmt::format("line {}", r.line), "more than 32767 attack types");
        code = static_cast<int16_t>(names.size());
        codes.emplace(r.attack_type, code);
        names.push_back(r.attack_type);
      }
    }
    set.score.push_back(r.score);
    set.cls.push_back(code);
    set.modality.push_back(kNoModality);  // the TSV records neither modality nor subject
    if (with_videos) {
      units.add(r.video, kNoModality);
      set.subject.push_back(-1);
    }
  });
  set.frames = static_cast<int64_t>(set.score.size());
  compact_types(set, names);
  return set;
}
}  // namespace

std::string EvalSet::record(size_t row, const std::string& dataset) const {
  if (video_level) return unit_label(static_cast<uint32_t>(row));
  if (format == "tsv") return fmt::format("line {}", row + 2);
  return fmt::format("{}[{}]", dataset, row);
}

std::map<int8_t, int64_t> EvalSet::modality_counts() const {
  std::map<int8_t, int64_t> counts;
  for (int8_t m : modality) ++counts[m];
  return counts;
}

std::string EvalSet::unit_label(uint32_t u) const {
  const int8_t m = unit_modality.at(u);
  bool several = false;
  for (int8_t other : unit_modality) several = several || other != m;
  return several ? fmt::format("video '{}' ({})", unit_names.at(u), modality_label(m))
                 : fmt::format("video '{}'", unit_names.at(u));
}

std::string modality_label(int8_t code) {
  if (code < 0 || code >= kModalityCount) return "unrecorded";
  return modality_name(static_cast<Modality>(code));
}

std::string describe_modalities(const std::map<int8_t, int64_t>& counts) {
  std::string out;
  for (const auto& [m, n] : counts) out += fmt::format("{}{} {}", out.empty() ? "" : ", ", modality_label(m), n);
  return out.empty() ? "(none)" : out;
}

EvalSet read_eval_set(const std::string& path, bool with_videos) {
  EvalSet set;
  if (path == "-") {
    set = read_tsv(std::cin, path, with_videos);
  } else {
    check_input_file(path);
    std::ifstream in(path, std::ios::binary);
    if (!in) throw InputError(path, "", "cannot open");
    if (in.peek() == kHdf5FirstByte) {
      if (!is_regular_file(path))
        throw InputError(path, "", "an HDF5 score file must be read from a regular file, not a pipe");
      in.close();
      set = read_hdf5(path, with_videos);
    } else {
      set = read_tsv(in, path, with_videos);
    }
  }
  if (with_videos) check_videos(set);
  return set;
}

EvalSet aggregate_video_mean(const EvalSet& frames) {
  if (frames.unit.size() != frames.size())
    throw RuntimeFailure("aggregate_video_mean: the videos of " + frames.name + " were not loaded");
  if (frames.rows_without_video > 0) {
    for (size_t i = 0; i < frames.size(); ++i)
      if (frames.unit_names[frames.unit[i]].empty())
        throw InputError(display_name(frames.name), frames.record(i, "/video"),
                         fmt::format("no video name ({} rows have none); --aggregate video-mean needs one on every row",
                                     frames.rows_without_video));
  }
  EvalSet v;
  v.name = frames.name;
  v.format = frames.format;
  v.type_names = frames.type_names;
  v.frames = frames.frames;
  v.video_level = true;
  v.model_hash = frames.model_hash;
  v.score_meaning = frames.score_meaning;
  v.label_meaning = frames.label_meaning;
  v.unit_names = frames.unit_names;
  v.unit_modality = frames.unit_modality;
  v.modality = frames.unit_modality;
  const size_t videos = frames.unit_names.size();
  std::vector<double> sum(videos, 0.0);
  std::vector<int64_t> count(videos, 0);
  v.cls.assign(videos, 0);
  if (!frames.subject.empty()) v.subject.assign(videos, -1);
  for (size_t i = 0; i < frames.size(); ++i) {
    sum[frames.unit[i]] += frames.score[i];
    ++count[frames.unit[i]];
    v.cls[frames.unit[i]] = frames.cls[i];
    if (!frames.subject.empty()) v.subject[frames.unit[i]] = frames.subject[i];
  }
  v.score.resize(videos);
  v.unit.resize(videos);
  for (size_t k = 0; k < videos; ++k) {
    v.score[k] = static_cast<float>(sum[k] / double(count[k]));
    v.unit[k] = static_cast<uint32_t>(k);
  }
  return v;
}

}  // namespace cmclip::metrics
