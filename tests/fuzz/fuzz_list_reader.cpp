// libFuzzer target: the list readers of every fas-preprocess format
// (lib/cmclip/datasets/list_reader). The first byte picks the format and the label
// polarity; the rest is the list.
#include <sstream>

#include "cmclip/datasets/list_reader.hpp"
#include "fuzz_support.hpp"

using namespace cmclip;

CMCLIP_FUZZ_QUIET_INITIALIZE

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const auto& formats = datasets::list_format_names();
  const datasets::ListFormat format = datasets::parse_list_format(formats[data[0] % formats.size()]);
  const auto polarity = static_cast<datasets::LabelPolarity>((data[0] / formats.size()) % 3);
  std::istringstream in(std::string(reinterpret_cast<const char*>(data) + 1, size - 1));
  fuzz::expect_clean_errors([&] {
    datasets::ParsedList list = datasets::read_list(in, "fuzz.lst", format, polarity);
    // What the planner relies on.
    CMCLIP_FUZZ_CHECK(!list.records.empty());
    int previous = 0;
    for (const auto& r : list.records) {
      CMCLIP_FUZZ_CHECK(r.line >= 1 && r.line <= list.lines && r.line >= previous);
      previous = r.line;
      CMCLIP_FUZZ_CHECK(r.label == kLive || r.label == kAttack);
      CMCLIP_FUZZ_CHECK(!r.video.empty());
      // An attack needs a type: code 0 means bona fide in the store.
      CMCLIP_FUZZ_CHECK(r.label == kLive || !r.attack_type.empty());
      CMCLIP_FUZZ_CHECK(r.frame >= -1);
      bool any = false;
      for (const auto& p : r.path) any = any || !p.empty();
      CMCLIP_FUZZ_CHECK(any);
    }
  });
  return 0;
}
