// The inputs of fas-eval: a cmclip.scores HDF5 file or a score TSV (told apart by
// content), or "-" for the TSV on stdin, reduced to what the metrics need and
// validated (finite scores, labels consistent with attack types, videos of one class).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace cmclip::metrics {

struct EvalSet {
  std::string name;    // as given ("-" for stdin)
  std::string format;  // "cmclip.scores" or "tsv"
  std::vector<float> score;
  std::vector<int16_t> cls;             // 0 bona fide, t >= 1 attack type type_names[t]
  std::vector<std::string> type_names;  // [0] "bona fide", then the attack types present
  // Videos, when loaded: unit[i] indexes unit_names. Rows without a video name are
  // units of their own (named "").
  std::vector<uint32_t> unit;
  std::vector<std::string> unit_names;
  int64_t frames = 0;          // rows read
  bool video_level = false;    // true after aggregate_video_mean
  int64_t rows_without_video = 0;
  // Conventions the file records (empty when it does not): compared between dev and test.
  std::string model_hash, score_meaning, label_meaning;

  size_t size() const { return score.size(); }
  int num_types() const { return static_cast<int>(type_names.size()) - 1; }
  // "line 12" (TSV) or "/score[10]" style location of row i, for messages.
  std::string record(size_t row, const std::string& dataset = "/score") const;
};

// Reads `path` ("-": the TSV from stdin). `with_videos` loads the video of each row
// (needed by --aggregate video-mean and --bootstrap). Errors are InputErrors (exit 2)
// naming the file and the row.
EvalSet read_eval_set(const std::string& path, bool with_videos);

// One row per video: the mean of its frame scores (summed in double in row order,
// then rounded to float32). Needs the videos; a row without a video name is an error.
EvalSet aggregate_video_mean(const EvalSet& frames);

}  // namespace cmclip::metrics
