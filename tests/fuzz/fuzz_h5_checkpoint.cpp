// libFuzzer target: the checkpoint reader (h5/checkpoint: read_checkpoint, with the
// optimiser and state, as --resume reads it) and the model configuration parser
// (model/options: ModelOptions::from_config, as fas-embed and fas-fewshot read it) on
// mutated small checkpoints written by write_checkpoint (seeds:
// tests/fuzz/corpus/h5_checkpoint).
#include <ATen/ATen.h>

#include "cmclip/h5/checkpoint.hpp"
#include "cmclip/model/options.hpp"
#include "fuzz_support.hpp"
#include "fuzz_h5.hpp"

using namespace cmclip;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::read_h5_input(data, size, [](const std::string& path) {
    if (!is_checkpoint_file(path)) return;
    Checkpoint c = read_checkpoint(path, /*with_optimizer=*/true);
    for (const auto& name : c.trainable) CMCLIP_FUZZ_CHECK(c.find_param(name) != nullptr);
    tensors_hash(c.params);
    model::ModelOptions::from_config(c);
  });
  return 0;
}
