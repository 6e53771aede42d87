// fas-preprocess: a FAS dataset's list -> face crops in a sample store.
#include "cmclip/core/app.hpp"
#include "cmclip/jobs/preprocess.hpp"

namespace {
const char* kDescription = R"(Reads a dataset's own list (CASIA-SURF, CASIA-FAS re-packaged, CeFA challenge,
WMCA frame containers, or a generic tsv list), finds the face on each RGB frame
and crops it, applies the same crop to the co-registered Depth/NIR frames, resizes to
--size and writes uint8 crops with labels (1 = live inside the toolkit, whatever the
list's polarity), attack type, subject, video, frame, source path, face box,
landmarks, crop transform and detector score. Output order and bytes do not depend on
--threads. A summary (records, frames, faces found / no face / below --min-score,
skipped, samples per modality and label) ends the run.

Faces: --detect auto (the default) runs MTCNN (five landmarks, OpenCV DNN) where its
networks are installed (scripts/fetch-models.sh), else the Haar cascade, the fallback
that needs no download; the log says which and why. The largest face whose
probability reaches --min-score is chosen. MTCNN's crops are aligned: the landmarks go
onto the 112-px face template scaled to --size (--align-margin adds context); --crop
box takes the detector's square box grown by --margin instead (Haar's only crop).

Modalities: without --modalities each capture stores the modalities it has, so a tsv
list of single images of different modalities gives one sample a line; --modalities
is strict (every capture must have each one).

List formats (paths relative to --root):
  casia-surf  rgb depth ir label       1 = live; modality from color/depth/ir in each path
  casia-fas   <frame or folder> label  0 = live; a folder means its color/depth/ir frames
  cefa        <frame or folder> [label] 1 = live; RGB under 'profile', Depth/IR by name swap
  wmca        <file.hdf5> [label]      0 = live; label/attack from the file name if absent
  tsv         header path,label,modality[,attack_type,subject,video,frame]; live|attack

Example:
  fas-preprocess --format casia-surf --root CASIA-SURF --list CASIA-SURF/train_list.txt \
      --frames all --size 224 --split train -o surf-train.h5
  scripts/fetch-models.sh && fas-preprocess --format tsv --list photos.tsv \
      --on-no-face skip --preview sheet.png -o photos.h5)";
const cmclip::ToolInfo kTool{"fas-preprocess", "Face detection and cropping of FAS datasets into a sample store",
                             kDescription, /*runs_model=*/false};
}  // namespace

int main(int argc, char** argv) { return cmclip::run_tool(argc, argv, kTool, cmclip::jobs::run_preprocess); }
