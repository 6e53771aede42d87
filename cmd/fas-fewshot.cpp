// fas-fewshot: stage 2 of CM-CLIP, adapting a trained model to Depth or NIR from K shots.
#include "cmclip/core/app.hpp"
#include "cmclip/jobs/fewshot.hpp"

namespace {
const char* kDescription = R"(Adapts a trained model (fas-pretrain output) to a target modality from K labelled
shots, and no other labelled target data unless asked:
  - shots: K videos per class (stills where the store has no video keys) drawn with
    --shot-seed, and N fixed frames of each (--frames-per-shot, default 1); every epoch
    trains on exactly these frames, oversampled with a fresh augmentation per copy.
    The list is stored in the checkpoint and, with --shots-out, in a plain file that
    --shots-in reads back (another run's shots, or a peer's). --exclude refuses shots
    whose video or subject is in a dev or test store (--dev is always checked).
  - source replay (default): half of each batch is source (RGB) samples, from --replay,
    else --train, else the store the checkpoint was trained on; --replay-ratio 0
    trains on the shots alone (L_mod then drops out: it needs two modalities).
  - the kept epoch (--select): last (default), source-dev (best on the RGB samples of
    --dev), or target-dev (best on the target samples of --dev: a leak of labelled
    target data beyond the K shots, to be reported as such).
The checkpoint refers to the frozen CLIP weights by path and content hash (a few-shot
checkpoint stays small); --embed-clip copies them instead.

Run it for several shot seeds and report mean and standard deviation (fas-eval does,
given one --test file per run).

Examples:
  fas-fewshot --init pretrain.h5 --train synth-train.h5 --modality depth --shots 5 \
              --shot-seed 1 --seed 1 --exclude synth-dev.h5 --exclude synth-test.h5 \
              --shots-out depth-shots1.tsv -o depth-seed1.h5
  fas-fewshot --init surf-rgb.h5 --train surf-train.h5 --modality nir \
              --shots-in peer-5shot.tsv --replay surf-train.h5 --replay-ratio 0.5 \
              --select source-dev --dev surf-dev.h5 -o nir-k5.h5)";
const cmclip::ToolInfo kTool{"fas-fewshot", "Adapt a trained model to Depth or NIR from K shots", kDescription};
}  // namespace

int main(int argc, char** argv) { return cmclip::run_tool(argc, argv, kTool, cmclip::jobs::run_fewshot); }
