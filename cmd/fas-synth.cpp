// fas-synth: a deterministic synthetic multi-modal FAS set.
#include "cmclip/core/app.hpp"
#include "cmclip/jobs/synth.hpp"

namespace {
const char* kDescription = R"(Renders procedural subjects (head shape, skin tone, features, hair; pose, lighting,
background and sensor noise vary) as RGB, Depth and NIR captures of live faces and of
presentation attacks whose cues follow the physics of each sensor:
  live    RGB shaded from a 3-D relief; Depth = the relief; NIR skin-bright, texture-poor
  print   gamut loss, halftone/paper grain, blur; a flat or bent plane; ink on paper in NIR
  replay  screen moire, gamma and white-point shift, glare, bezel; flat; nearly dark NIR
  mask    rigid relief without fine detail, seam, eye holes, sheen; NIR unlike skin
Each subject has one video per presentation of --frames frames; the modalities of a
frame share a record number. The same --seed gives the same bytes for any --threads.

Outputs: -o samples.h5 (one store per split: out.h5 -> out-train.h5, out-dev.h5, ...,
or put {split} in the name), and/or --images-out DIR --list-out list.tsv (PNG files
under DIR/<split>/s<subject>/<presentation>/f<frame>_<modality>.png and a tsv list per
split) that 'fas-preprocess --format tsv --root DIR --detect none --size SIZE' turns
into the same store.

Example:
  fas-synth --subjects 30 --attacks print,replay,mask --size 96 --split train,dev,test \
      --seed 7 -o synth.h5 --preview synth.png)";
const cmclip::ToolInfo kTool{"fas-synth", "A synthetic multi-modal face anti-spoofing set", kDescription,
                             /*runs_model=*/false};
}  // namespace

int main(int argc, char** argv) { return cmclip::run_tool(argc, argv, kTool, cmclip::jobs::run_synth); }
