#!/usr/bin/env bash
# The few-shot protocol's fixes on and off, on built-in synthetic data (builtin:tiny):
# one RGB-pretrained model, then K-shot Depth adaptation for each variant and shot seed,
# each scored on the Depth test set with the threshold of the RGB dev samples.
#   default       RGB replay 50%, last epoch kept (no Depth labels beyond the shots)
#   no-replay     --replay-ratio 0: batches of Depth shots only (CE(modality) drops out)
#   target-dev    --select target-dev: the epoch with the best Depth dev AUC (a leak)
#   same-copies   --oversampled-copies identical: the copies of an oversampled shot share
#                 one augmentation draw (the sampler before the fix)
# Prints test AUC and HTER, mean ± std over the seeds, per variant.
#
#   FAS_BIN=build/bin examples/ablation-fewshot.sh [WORKDIR]
#
# Settings (environment): SEEDS ("1 2 3"), SHOTS (5), FEWSHOT_EPOCHS (30), SUBJECTS (60).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
: "${SEEDS:=1 2 3}" "${SHOTS:=5}" "${FEWSHOT_EPOCHS:=30}" "${SUBJECTS:=60}"
CLIP=builtin:tiny
source "$here/lib/cross-modal.sh"
work=$(mkdir -p "${1:-ablation-work}" && cd "${1:-ablation-work}" && pwd)
cd "$work"
export CMCLIP_PROGRESS_SECONDS=${CMCLIP_PROGRESS_SECONDS:-1000}

synthetic_stores "$SUBJECTS"
[[ -s pretrain.h5 ]] || fas fas-pretrain -q --clip "$CLIP" --train train.h5 --modality rgb --dev dev.h5 \
  --epochs 8 --batch-size 16 -o pretrain.h5

declare -A variant_args=([default]="" [no-replay]="--replay-ratio 0" [target-dev]="--select target-dev --dev dev.h5"
  [same-copies]="--oversampled-copies identical")
fig() { awk -F'\t' -v row="$2" -v key="$3" '$1 == row && $2 == key { printf "%.3f", $3 }' "$1"; }
printf "%-12s %-22s %s\n" variant "test AUC" "test HTER (RGB dev threshold)"
for variant in default no-replay target-dev same-copies; do
  devs=() tests=()
  for seed in $SEEDS; do
    out=$variant-seed$seed
    # shellcheck disable=SC2086 # the variant's arguments are words
    [[ -s $out.h5 ]] || fas fas-fewshot -q --init pretrain.h5 --train train.h5 --modality depth \
      --shots "$SHOTS" --shot-seed "$seed" --seed "$seed" --exclude test.h5 --epochs "$FEWSHOT_EPOCHS" \
      --batch-size 16 ${variant_args[$variant]} -o "$out.h5"
    fas fas-embed -q --model "$out.h5" --data dev.h5 --modality rgb -o "$out-rgbdev.h5"
    fas fas-embed -q --model "$out.h5" --data test.h5 --modality depth -o "$out-test.h5"
    devs+=("$out-rgbdev.h5") tests+=("$out-test.h5")
  done
  fas fas-eval --dev "${devs[@]}" --test "${tests[@]}" --format tsv -o "$variant.tsv" 2>/dev/null
  printf "%-12s %-22s %s\n" "$variant" "$(fig "$variant.tsv" mean auc) ± $(fig "$variant.tsv" std auc)" \
    "$(fig "$variant.tsv" mean hter) ± $(fig "$variant.tsv" std hter)"
done | tee -a "$work/ablation.txt"
