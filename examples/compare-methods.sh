#!/usr/bin/env bash
# The methods side by side on built-in synthetic data: for each --method, RGB
# pretraining, then K-shot Depth adaptation over several seeds (the protocol of the
# dataset recipes, examples/lib/cross-modal.sh: the last few-shot epoch kept, thresholds
# from the RGB dev samples, no Depth labels beyond the K shots). Prints the pretraining
# time per epoch and the Depth test AUC and HTER before and after adaptation (mean ± std
# over seeds).
#
#   FAS_BIN=build/bin examples/compare-methods.sh [WORKDIR]
#
# Settings (environment): METHODS ("cm-clip coop cocoop linear-probe zero-shot"),
# CLIP (builtin:tiny here; a real ViT-B-16.pt works the same), SHOTS (5), SEEDS
# ("1 2 3"), PRETRAIN_EPOCHS (8), FEWSHOT_EPOCHS (30), BATCH (16), SUBJECTS (60).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
: "${METHODS:=cm-clip coop cocoop linear-probe zero-shot}" "${CLIP:=builtin:tiny}" "${SEEDS:=1 2 3}"
: "${PRETRAIN_EPOCHS:=8}" "${BATCH:=16}" "${SUBJECTS:=60}"
TARGETS=depth
source "$here/lib/cross-modal.sh"
root=$(mkdir -p "${1:-methods-work}" && cd "${1:-methods-work}" && pwd)
cd "$root"
export CMCLIP_PROGRESS_SECONDS=${CMCLIP_PROGRESS_SECONDS:-1000}

synthetic_stores "$SUBJECTS"

# fig FILE ROW KEY: KEY (auc, hter) of ROW (a score file's name, or "mean"/"std") in a fas-eval TSV.
fig() { awk -F'\t' -v row="$2" -v key="$3" '$1 == row && $2 == key { printf "%.3f", $3 }' "$1"; }

table="method         s/epoch   Depth test AUC / HTER before   after ${SHOTS}-shot (seeds: $SEEDS)"
for method in $METHODS; do
  WORK=$root/$method
  mkdir -p "$WORK"
  for f in train.h5 dev.h5 test.h5; do ln -sf "../$f" "$WORK/$f"; done
  start=$(date +%s.%N)
  (cd "$WORK" && [[ -s pretrain.h5 ]] || fas fas-pretrain --clip "$CLIP" --method "$method" --train train.h5 \
    --modality rgb --dev dev.h5 --epochs "$PRETRAIN_EPOCHS" --batch-size "$BATCH" -o pretrain.h5)
  per_epoch=$(awk -v a="$start" -v b="$(date +%s.%N)" -v n="$PRETRAIN_EPOCHS" 'BEGIN { printf "%.1f", (b - a) / n }')
  METHOD=$method run_cross_modal_protocol > /dev/null
  cd "$WORK"
  devs=() tests=()
  for seed in $SEEDS; do devs+=("depth-rgb-dev-seed$seed.h5"); tests+=("depth-test-seed$seed.h5"); done
  fas fas-eval --dev rgb-dev-before.h5 --test depth-test-before.h5 --format tsv -o test-before.tsv 2> /dev/null
  fas fas-eval --dev "${devs[@]}" --test "${tests[@]}" --format tsv -o test-after.tsv 2> /dev/null
  before="$(fig test-before.tsv depth-test-before.h5 auc) / $(fig test-before.tsv depth-test-before.h5 hter)"
  if (( ${#tests[@]} > 1 )); then
    after="$(fig test-after.tsv mean auc) ± $(fig test-after.tsv std auc) / $(fig test-after.tsv mean hter) ± $(fig test-after.tsv std hter)"
  else
    after="$(fig test-after.tsv "${tests[0]}" auc) / $(fig test-after.tsv "${tests[0]}" hter)"
  fi
  table+=$'\n'$(printf "%-14s %7s   %-28s   %s" "$method" "$per_epoch" "$before" "$after")
done
echo "$table" | tee "$root/methods.txt"
echo "(before: the RGB-trained model on Depth; HTER at the threshold of the RGB dev samples (dev EER);"
echo " s/epoch: RGB pretraining wall time per epoch, dev evaluation included)"
