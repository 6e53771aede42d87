// fas-eval: presentation attack detection metrics (ISO/IEC 30107-3 as in bob.pad.base)
// from score files or score TSV. All the work is in cmclip/jobs/eval.hpp and cmclip/metrics/.
#include "cmclip/core/app.hpp"
#include "cmclip/jobs/eval.hpp"

namespace {
const char* kDescription =
    "Reads score sets (cmclip.scores HDF5 files from fas-embed, or the TSV of `fas-embed -o - --format tsv`,\n"
    "'-' for stdin), picks a threshold on --dev and reports the test sets with every convention written out.\n"
    "Scores: higher = more live. At threshold t an attack is accepted when score >= t and a bona fide is\n"
    "rejected when score < t (--tie reject: score > t accepts, score <= t rejects).\n"
    "  APCER = max over attack types of (accepted attacks of the type / attacks of the type); APCER pooled\n"
    "  = accepted attacks / attacks; BPCER = rejected bona fide / bona fide; ACER = (APCER + BPCER) / 2;\n"
    "  HTER = (APCER pooled + BPCER) / 2; EER and AUC on the test set itself; TPR@FPR on the step ROC\n"
    "  (--positive); BPCER10/BPCER20 = BPCER where every attack type has APCER <= 10% / 5%.\n"
    "Threshold modes, named in every report: dev-eer (default), dev-min-hter (--threshold min-hter), fixed\n"
    "(--threshold VALUE), test-eer (the test set's own EER threshold: --threshold test-eer, as papers report\n"
    "it, any --dev ignored; also the mode without --dev). test-eer is optimistic and said in capitals.\n"
    "A set of several modalities (/modality) is refused unless --pool-modalities; video-mean averages a\n"
    "video's frames within one modality; --bootstrap resamples subjects (videos where none is recorded).\n\n"
    "Examples:\n"
    "  fas-eval --dev dev.h5 --test test.h5\n"
    "  fas-eval --dev dev.h5 --test seed1.h5 seed2.h5 seed3.h5 --format json -o result.json\n"
    "  fas-eval --dev dev.h5 --test test.h5 --aggregate video-mean --bootstrap 1000 --plot det.png\n"
    "  fas-eval --threshold test-eer --test test.h5 --aggregate video-mean\n"
    "  fas-embed --model ckpt.h5 --data test.h5 -o - --format tsv | fas-eval --dev dev.h5 --test -";
const cmclip::ToolInfo kTool{"fas-eval",
                             "fas-eval: APCER, BPCER, ACER, HTER, EER, AUC, TPR@FPR of face anti-spoofing scores",
                             kDescription, /*runs_model=*/false};
}  // namespace

int main(int argc, char** argv) { return cmclip::run_tool(argc, argv, kTool, cmclip::jobs::run_eval); }
