// fas-embed: CLIP features of images and prompts, and scores of a sample store. One mode
// per run, chosen by its input option (lib/cmclip/jobs/embed.hpp).
#include "cmclip/core/app.hpp"
#include "cmclip/jobs/embed.hpp"

namespace {
const char* kDescription = R"(Embeds images or prompts with a CLIP model (an OpenAI TorchScript archive such as
ViT-B-16.pt, a cmclip checkpoint, or builtin:tiny). Features are the projected,
un-normalised embeddings of the reference encode_image/encode_text.

Modes (give exactly one input):
  --data STORE       score a sample store with a trained checkpoint (fas-pretrain,
                     fas-fewshot): /score = P(live) and the store's metadata in a
                     cmclip.scores file, or with --format tsv the lines
                     source<TAB>video<TAB>attack_type<TAB>label<TAB>score (-o - prints
                     them for a pipe into fas-eval --test -); --shard I/N scores one
                     contiguous part (SLURM job arrays), --modality only one modality
  --merge A B ...    join shard files into the file an unsharded run writes, after
                     checking they come from one model and store and cover it once
  --images LIST      one image path per line, relative to the list's folder; writes a
                     cmclip.scores file with /features float32 [N,D] and /source (no /score)
  --text-file FILE   one UTF-8 prompt per line; writes a cmclip.text file with /tokens
                     int64 [N,77], /features float32 [N,D], /text and /line
Blank lines are not entries. Images are resized exactly as the reference does (Pillow
bicubic, centre crop). Prompts need the BPE vocabulary (--bpe, $CMCLIP_BPE, or
scripts/fetch-clip.sh), except with builtin:tiny, whose vocabulary is byte-level.

Examples:
  scripts/fetch-clip.sh
  fas-embed --model ~/.cache/cmclip/ViT-B-16.pt --images faces.txt -o faces.h5
  fas-embed --model ~/.cache/cmclip/ViT-B-16.pt --text-file prompts.txt -o prompts.h5
  fas-embed --model builtin:tiny --images faces.txt -o demo.h5
  fas-embed --model fewshot.h5 --data test.h5 --modality depth -o scores.h5
  fas-embed --model fewshot.h5 --data test.h5 -o - --format tsv | fas-eval --test -
  fas-embed --model m.h5 --data big.h5 --shard $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT -o part$SLURM_ARRAY_TASK_ID.h5
  fas-embed --merge part*.h5 -o all.h5)";
const cmclip::ToolInfo kTool{"fas-embed", "CLIP features of images and prompts", kDescription};
}  // namespace

int main(int argc, char** argv) { return cmclip::run_tool(argc, argv, kTool, cmclip::jobs::run_embed); }
