// fas-fewshot: stage 2 of CM-CLIP, adapting a trained model to Depth or NIR from K shots.
#include "cmclip/core/app.hpp"
#include "cmclip/train/jobs.hpp"

namespace {
const char* kDescription = R"(Adapts a trained model (fas-pretrain output) to a target modality from K labelled
videos per class (--shots K; K frames per class where the store has no video keys), drawn
deterministically from --seed; the chosen videos are recorded in the checkpoint. Each epoch
takes one frame of every chosen video. --replay mixes source samples (RGB) into every
batch at --replay-ratio. The checkpoint refers to the frozen CLIP weights by path and
content hash (a few-shot checkpoint stays small); --embed-clip copies them instead.

Run it once per seed and report mean and standard deviation (fas-eval does, given one
--test file per seed).

Examples:
  fas-fewshot --init pretrain.h5 --train synth-train.h5 --modality depth --shots 5 \
              --seed 1 --dev synth-dev.h5 -o depth-seed1.h5
  fas-fewshot --init surf-rgb.h5 --train surf-train.h5 --modality nir --shots 10 \
              --replay surf-train.h5 --replay-ratio 0.5 --seed 3 -o nir-k10-s3.h5)";
}  // namespace

int main(int argc, char** argv) {
  cmclip::Tool tool("fas-fewshot", "Adapt a trained model to Depth or NIR from K shots", kDescription);
  cmclip::train::FewshotOptions options;
  options.register_on(tool.cli());
  return tool.run(argc, argv, [&] { cmclip::train::run_fewshot(options, tool.common()); });
}
