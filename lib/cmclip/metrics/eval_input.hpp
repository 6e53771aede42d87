// The inputs of fas-eval: a cmclip.scores HDF5 file or a score TSV (told apart by
// content), or "-" for the TSV on stdin, reduced to what the metrics need and
// validated (finite scores, labels consistent with attack types, videos of one class
// and one subject).
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace cmclip::metrics {

inline constexpr int8_t kNoModality = -1;

struct EvalSet {
  std::string name;    // as given ("-" for stdin)
  std::string format;  // "cmclip.scores" or "tsv"
  std::vector<float> score;
  std::vector<int16_t> cls;             // 0 bona fide, t >= 1 attack type type_names[t]
  std::vector<std::string> type_names;  // [0] "bona fide", then the attack types present
  // Modality code of each row (Modality: 0 rgb, 1 depth, ...), kNoModality where the
  // input does not record it (the score TSV).
  std::vector<int8_t> modality;
  // Videos, when loaded: unit[i] indexes unit_names. A video is a (modality, video
  // name) pair, so the RGB, Depth and NIR frames of one capture are separate units.
  // Rows without a video name are units of their own (named "").
  std::vector<uint32_t> unit;
  std::vector<std::string> unit_names;
  std::vector<int8_t> unit_modality;  // per unit
  // Subject of each row (-1: not recorded), loaded with the videos.
  std::vector<int32_t> subject;
  int64_t frames = 0;        // rows read
  bool video_level = false;  // true after aggregate_video_mean
  int64_t rows_without_video = 0;
  // Conventions the file records (empty when it does not): compared between dev and test.
  std::string model_hash, score_meaning, label_meaning;

  size_t size() const { return score.size(); }
  int num_types() const { return static_cast<int>(type_names.size()) - 1; }
  // "line 12" (TSV) or "/score[10]" style location of row i, for messages.
  std::string record(size_t row, const std::string& dataset = "/score") const;
  // Rows per modality present (kNoModality for rows whose modality is not recorded).
  std::map<int8_t, int64_t> modality_counts() const;
  // How unit u is named in messages: "video 'v1'", with its modality when the set holds
  // several.
  std::string unit_label(uint32_t u) const;
};

// "rgb", "depth", ... or "unrecorded".
std::string modality_label(int8_t code);
// "depth 40, rgb 40" (rows per modality, for messages and reports).
std::string describe_modalities(const std::map<int8_t, int64_t>& counts);

// Reads `path` ("-": the TSV from stdin). `with_videos` loads the video and subject of
// each row (needed by --aggregate video-mean and --bootstrap). Errors are InputErrors
// (exit 2) naming the file and the row.
EvalSet read_eval_set(const std::string& path, bool with_videos);

// One row per video (per modality of a video name): the mean of its frame scores
// (summed in double in row order, then rounded to float32). Needs the videos; a row
// without a video name is an error.
EvalSet aggregate_video_mean(const EvalSet& frames);

}  // namespace cmclip::metrics
