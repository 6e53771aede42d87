// fas-pretrain: stage 1 of CM-CLIP, training adapters and prompts on (RGB) source data.
#include "cmclip/core/app.hpp"
#include "cmclip/jobs/pretrain.hpp"

namespace {
const char* kDescription = R"(Trains a face anti-spoofing model over a frozen CLIP on a sample store (fas-preprocess,
fas-synth): by default CM-CLIP (ADC-Adapters in the image branch and fine-grained prompt
learning), or a baseline with --method. Only adapter, prompt and head parameters train.

Batches are balanced (half live, half attack) and augmented (crop, flip, rotation, colour
jitter). With --dev the model is evaluated each epoch (AUC, HTER at the dev EER threshold)
and the best epoch is kept in OUT; OUT.last.h5 always holds the latest state for --resume.
SIGTERM, SIGINT or SIGUSR1 (e.g. sbatch --signal=B:USR1@120) finish the current step,
write OUT.last.h5 and exit 0; run again with --resume to continue exactly.

Examples:
  fas-pretrain --clip builtin:tiny --train synth-train.h5 --dev synth-dev.h5 -o pretrain.h5
  fas-pretrain --clip ~/.cache/cmclip/ViT-B-16.pt --train surf-train.h5 --modality rgb \
               --dev surf-dev.h5 --epochs 20 --batch-size 32 -o surf-rgb.h5)";
const cmclip::ToolInfo kTool{"fas-pretrain", "Train CM-CLIP (or a baseline) on source data", kDescription};
}  // namespace

int main(int argc, char** argv) { return cmclip::run_tool(argc, argv, kTool, cmclip::jobs::run_pretrain); }
