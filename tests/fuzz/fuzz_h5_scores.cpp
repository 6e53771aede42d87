// libFuzzer target: the score file readers (h5/scores: read_scores, as fas-embed
// --merge reads them; metrics/eval_input: read_eval_set, as fas-eval reads them) on
// mutated small score files written by ScoreWriter (seeds: tests/fuzz/corpus/h5_scores).
#include <cmath>

#include "cmclip/h5/scores.hpp"
#include "cmclip/metrics/eval_input.hpp"
#include "fuzz_support.hpp"
#include "fuzz_h5.hpp"

using namespace cmclip;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::read_h5_input(data, size, [](const std::string& path) {
    ScoreSet s = read_scores(path, /*with_features=*/true, /*require_score=*/false);
    CMCLIP_FUZZ_CHECK(s.label.size() == s.size() && s.video.size() == s.size() && s.index.size() == s.size());
    CMCLIP_FUZZ_CHECK(s.features.size() == s.size() * size_t(s.feature_dim));
    for (size_t i = 0; i < s.size(); ++i)
      CMCLIP_FUZZ_CHECK(s.attack[i] >= 0 && size_t(s.attack[i]) < s.attack_names.size());
  });
  fuzz::read_h5_input(data, size, [](const std::string& path) {
    metrics::EvalSet e = metrics::read_eval_set(path, /*with_videos=*/true);
    CMCLIP_FUZZ_CHECK(e.cls.size() == e.score.size() && e.unit.size() == e.score.size());
    for (size_t i = 0; i < e.score.size(); ++i) {
      CMCLIP_FUZZ_CHECK(std::isfinite(e.score[i]));
      CMCLIP_FUZZ_CHECK(e.cls[i] >= 0 && size_t(e.cls[i]) < e.type_names.size());
      CMCLIP_FUZZ_CHECK(e.unit[i] < e.unit_names.size());
    }
  });
  return 0;
}
