#!/usr/bin/env bash
# The README's first command: installs what the tools need, builds them (not the
# tests), and runs the whole CM-CLIP pipeline on built-in data with the small built-in
# CLIP (builtin:tiny):
#   fas-synth (train/dev/test; RGB, Depth, NIR), then the cross-modal protocol of the
#   dataset recipes (examples/lib/cross-modal.sh): fas-pretrain on RGB, the Depth
#   test set BEFORE adaptation, fas-fewshot with K = 5 Depth shots for 3 shot seeds
#   (RGB replay, last epoch), the Depth test set AFTER (mean ± std), thresholds from
#   the RGB dev samples: no Depth label beyond the shots is used. A table, a ROC plot.
#
#   scripts/demo.sh [WORKDIR]      (default: demo-work/ in the repository)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
work=$(mkdir -p "${1:-$root/demo-work}" && cd "${1:-$root/demo-work}" && pwd)
source "$root/scripts/libtorch.sh"
build=$cmclip_build_dir
start=$(date +%s)

"$root/scripts/install-deps.sh" --for demo
CMCLIP_BUILD_TARGET=cmclip-tools "$root/scripts/build.sh"
bin=$build/bin
built=$(date +%s)
export CMCLIP_PROGRESS_SECONDS=${CMCLIP_PROGRESS_SECONDS:-60}
cd "$work"
step() { echo; echo "== $*"; }
log() { "$@" 2> >(sed 's/^/   /' >&2); }

step "1/3 fas-synth: 60 synthetic subjects (live, print, replay, mask; RGB + Depth + NIR), disjoint train/dev/test"
log "$bin/fas-synth" --subjects 60 --attacks print,replay,mask --modalities rgb,depth,nir --size 64 \
  --split train,dev,test --seed 7 -o synth.h5 --preview synth.png
for split in train dev test; do mv "synth-$split.h5" "$split.h5"; done

step "2/3 the cross-modal protocol (examples/lib/cross-modal.sh): fas-pretrain on RGB (builtin:tiny CLIP,
    frozen); fas-fewshot, K = 5 Depth videos per class, shot seeds 1 2 3 at once; fas-embed"
source "$root/examples/lib/cross-modal.sh"
# builtin:tiny's operations are too small to share between threads (the tools would cap
# it at one themselves, after restarting for the waiting policy): one thread per run,
# and the three shot seeds adapt side by side instead.
WORK=$work FAS_BIN=$bin CLIP=builtin:tiny SHOTS=5 SEEDS="1 2 3" TARGETS=depth PRETRAIN_EPOCHS=8 \
  FEWSHOT_EPOCHS=30 BATCH=16 THREADS=1 JOBS=3 log run_cross_modal_protocol

step "3/3 fas-eval: the Depth test set, thresholds from the RGB dev samples"
devs=(depth-rgb-dev-seed{1,2,3}.h5) tests=(depth-test-seed{1,2,3}.h5)
"$bin/fas-eval" --dev rgb-dev-before.h5 --test depth-test-before.h5 --format tsv -o before.tsv 2>/dev/null
"$bin/fas-eval" --dev "${devs[@]}" --test "${tests[@]}" --format tsv -o after.tsv 2>/dev/null
"$bin/fas-eval" --dev rgb-dev-before.h5 "${devs[@]}" --test depth-test-before.h5 "${tests[@]}" --plot roc.png \
  -o report.txt 2>/dev/null
cp depth-k5.txt after.txt

# figure FILE ROW KEY: the value of KEY for ROW (a test file, "mean" or "std") as a percentage or a number.
figure() { awk -F'\t' -v row="$2" -v key="$3" '$1 == row && $2 == key { print $3 }' "$1"; }
pct() { awk -v v="$1" 'BEGIN { printf "%5.1f%%", 100 * v }'; }
num() { awk -v v="$1" 'BEGIN { printf "%6.3f", v }'; }
row() {  # label file row kind(mean/plain)
  local line
  line=$(printf "%-34s" "$1")
  for key in auc hter acer apcer bpcer; do
    local v; v=$(figure "$2" "$3" "$key")
    if [[ $key == auc ]]; then v=$(num "$v"); else v=$(pct "$v"); fi
    if [[ $3 == mean ]]; then
      local s; s=$(figure "$2" std "$key")
      if [[ $key == auc ]]; then s=$(awk -v v="$s" 'BEGIN { printf "%.3f", v }'); else s=$(awk -v v="$s" 'BEGIN { printf "%.1f", 100 * v }'); fi
      v="$v±$s"
    fi
    # Pad by characters, not bytes: "±" is two bytes in UTF-8.
    local LC_ALL=C.UTF-8 width=${#v}
    line+=" $v$(printf "%*s" $((14 - width)) "")"
  done
  echo "$line"
}
end=$(date +%s)
cat <<TABLE

cmclip demo: few-shot cross-modal face anti-spoofing, RGB -> Depth (synthetic data, builtin:tiny)

Depth test (RGB dev EER threshold) AUC            HTER           ACER           APCER (max)    BPCER
$(row "before adaptation (RGB training)" before.tsv depth-test-before.h5)
$(row "after 5-shot Depth, 3 seeds" after.tsv mean)

What the numbers mean
  AUC: probability that a live face scores above an attack (1 = perfect, 0.5 = chance).
  HTER, ACER, APCER, BPCER: error rates (lower is better) on the Depth test set at
  the threshold chosen on the RGB dev samples (their EER point), so that no Depth
  label beyond the 5 + 5 shots is used; APCER is the worst attack type (ISO/IEC
  30107-3). After adaptation: mean ± standard deviation over three shot draws (shot
  seeds 1, 2, 3); each run keeps its last epoch.
  The data are synthetic and builtin:tiny is a small CLIP with random weights, so
  these figures show the pipeline working, not what CM-CLIP reaches on real data.
  For real work: scripts/fetch-clip.sh (OpenAI ViT-B/16), fas-preprocess on your
  dataset, and the recipes in examples/ (see README.md and man fas-pipeline).

Files in $work
  synth.png        samples of the synthetic data (RGB, Depth, NIR per presentation)
  roc.png          ROC curves: before adaptation and the three adapted models
  *.shots.tsv      the shots each run trained on (fas-fewshot --shots-in reads them)
  report.txt       the full fas-eval report (every figure and convention)
  after.txt        the adapted models' report with mean ± std
  *.h5             sample stores, checkpoints and score files (inspect with h5ls -r)

Time: build $((built - start)) s, pipeline $((end - built)) s.
TABLE
