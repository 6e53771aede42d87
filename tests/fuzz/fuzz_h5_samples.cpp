// libFuzzer target: the sample store reader (h5/samples: SampleStore) on mutated small
// stores written by SampleWriter (seeds: tests/fuzz/corpus/h5_samples, made by
// cmclip-fuzz-seeds). Everything a training or scoring run reads is read: the
// validated columns, every sample's metadata and image.
#include "cmclip/h5/samples.hpp"
#include "fuzz_support.hpp"
#include "fuzz_h5.hpp"

using namespace cmclip;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::read_h5_input(data, size, [](const std::string& path) {
    SampleStore s(path);
    CMCLIP_FUZZ_CHECK(s.labels().size() == size_t(s.size()) && s.modalities().size() == size_t(s.size()));
    std::vector<uint8_t> image(s.image_bytes());
    for (int64_t i = 0; i < s.size(); ++i) {
      SampleMeta m = s.meta(i);
      CMCLIP_FUZZ_CHECK(m.label == kLive || m.label == kAttack);
      CMCLIP_FUZZ_CHECK(m.attack >= 0 && size_t(m.attack) < s.attack_names().size());
      s.read_images(i, 1, image.data());
    }
    s.fingerprint();
  });
  return 0;
}
