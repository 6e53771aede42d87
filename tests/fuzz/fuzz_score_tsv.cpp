// libFuzzer target: the score TSV reader (lib/cmclip/metrics/score_tsv) that fas-eval
// uses for `fas-embed -o - --format tsv` output. A set that reads without error must
// survive a write and a second read unchanged (the writer and reader agree).
#include <cstring>
#include <sstream>

#include "cmclip/h5/samples.hpp"  // kLive
#include "cmclip/metrics/score_tsv.hpp"
#include "fuzz_support.hpp"

using namespace cmclip;

CMCLIP_FUZZ_QUIET_INITIALIZE

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::istringstream in(std::string(reinterpret_cast<const char*>(data), size));
  fuzz::expect_clean_errors([&] {
    ScoreSet a = metrics::read_score_tsv(in, "fuzz.tsv");
    CMCLIP_FUZZ_CHECK(a.label.size() == a.size() && a.attack.size() == a.size() && a.source.size() == a.size());
    for (size_t i = 0; i < a.size(); ++i) {
      CMCLIP_FUZZ_CHECK(std::isfinite(a.score[i]));
      CMCLIP_FUZZ_CHECK(a.attack[i] >= 0 && size_t(a.attack[i]) < a.attack_names.size());
      CMCLIP_FUZZ_CHECK((a.label[i] == kLive) == (a.attack[i] == 0));
    }
    std::ostringstream out;
    metrics::write_score_tsv(out, a);
    std::istringstream again(out.str());
    ScoreSet b = metrics::read_score_tsv(again, "again.tsv");
    CMCLIP_FUZZ_CHECK(b.size() == a.size());
    CMCLIP_FUZZ_CHECK(b.source == a.source && b.video == a.video && b.label == a.label && b.attack == a.attack);
    CMCLIP_FUZZ_CHECK(b.attack_names == a.attack_names);
    CMCLIP_FUZZ_CHECK(a.size() == 0 || std::memcmp(a.score.data(), b.score.data(), a.size() * sizeof(float)) == 0);
  });
  return 0;
}
