# The cross-modal few-shot protocol shared by the dataset recipes (sourced, not run).
# Given sample stores train.h5, dev.h5 and test.h5 (all modalities) in $WORK:
#   1. fas-pretrain on the RGB training samples (dev-selected on RGB dev);
#   2. for each target modality in $TARGETS (depth, nir): the RGB model before
#      adaptation, then fas-fewshot with K = $SHOTS videos per class for each seed in
#      $SEEDS (shot seed and training seed), RGB replay, the last epoch kept, and the
#      shots checked against the dev and test stores;
#   3. fas-eval on the target's test samples, with thresholds from the RGB dev samples
#      scored by the same model: no labelled target data beyond the K shots is used
#      anywhere. Each seed is reported, then mean ± std; a ROC plot per target.
# The baselines (METHOD coop, cocoop, linear-probe) adapt with their papers' settings
# (fas-fewshot's --method presets: CoOp SGD 0.002, CoCoOp batch 1 for 10 epochs,
# the linear probe's L-BFGS), unless FEWSHOT_EPOCHS is set in the environment.
# Settings (environment): FAS_BIN (folder of the tools, default: on PATH), CLIP
# (default ~/.cache/cmclip/ViT-B-16.pt), SHOTS (5), SEEDS ("1 2 3 4 5"), TARGETS
# ("depth nir"), PRETRAIN_EPOCHS (10), FEWSHOT_EPOCHS (30), BATCH (32), THREADS,
# JOBS (1: how many shot seeds adapt at once; each job's tools get THREADS, else the
# CPUs divided among the jobs, and its log lines are marked "[seed N]"),
# METHOD (cm-clip; or coop, cocoop, linear-probe, zero-shot: see fas-pretrain(1)),
# AGGREGATE (fas-eval --aggregate: frame, or video-mean where the dataset's protocol
# reports videos).

FEWSHOT_EPOCHS_GIVEN=${FEWSHOT_EPOCHS:-}
: "${CLIP:=${CMCLIP_HOME:-$HOME/.cache/cmclip}/ViT-B-16.pt}"
: "${SHOTS:=5}" "${SEEDS:=1 2 3 4 5}" "${TARGETS:=depth nir}"
: "${PRETRAIN_EPOCHS:=10}" "${FEWSHOT_EPOCHS:=30}" "${BATCH:=32}" "${METHOD:=cm-clip}" "${AGGREGATE:=frame}"
: "${JOBS:=1}"

# fas TOOL ARGS...: runs a tool from $FAS_BIN or PATH.
fas() {
  local tool=$1; shift
  if [[ -n "${FAS_BIN:-}" ]]; then "$FAS_BIN/$tool" ${THREADS:+--threads "$THREADS"} "$@"
  else "$tool" ${THREADS:+--threads "$THREADS"} "$@"; fi
}

# require_file PATH WHAT: stops with a message saying what is missing.
require_file() {
  [[ -e "$1" ]] && return 0
  echo "missing: $2 ($1)" >&2
  return 1
}

check_clip() {
  if [[ "$CLIP" != builtin:* ]] && [[ ! -f "$CLIP" ]]; then
    echo "missing: the CLIP weights $CLIP; run scripts/fetch-clip.sh, or set CLIP=/path/to/ViT-B-16.pt" >&2
    return 1
  fi
}

# synthetic_stores SUBJECTS: train.h5, dev.h5 and test.h5 in the current folder from
# fas-synth (RGB + Depth + NIR, 64 px, disjoint subjects), unless train.h5 exists.
synthetic_stores() {
  [[ -s train.h5 ]] && return 0
  fas fas-synth -q --subjects "$1" --attacks print,replay,mask --size 64 --split train,dev,test --seed 7 \
    -o synth.h5
  for split in train dev test; do mv "synth-$split.h5" "$split.h5"; done
}

# adapt_seed TARGET SEED FEWSHOT-OPTIONS...: fas-fewshot with one shot seed (unless its
# checkpoint exists), then the adapted model's scores on the RGB dev samples (for the
# thresholds) and on the target's test samples.
adapt_seed() {
  local target=$1 seed=$2
  shift 2
  local ckpt="$target-k$SHOTS-seed$seed.h5"
  if [[ ! -s "$ckpt" ]]; then
    fas fas-fewshot --init pretrain.h5 --train train.h5 --modality "$target" \
      --shots "$SHOTS" --shot-seed "$seed" --seed "$seed" --exclude dev.h5 --exclude test.h5 \
      --shots-out "$target-k$SHOTS-seed$seed.shots.tsv" "$@" -o "$ckpt" || return 1
  fi
  fas fas-embed --model "$ckpt" --data dev.h5 --modality rgb -o "$target-rgb-dev-seed$seed.h5" || return 1
  fas fas-embed --model "$ckpt" --data test.h5 --modality "$target" -o "$target-test-seed$seed.h5"
}

# adapt_seeds TARGET FEWSHOT-OPTIONS...: adapt_seed for every seed of $SEEDS, $JOBS at
# a time; fails when any of them does (after all have ended).
adapt_seeds() {
  local target=$1 seed
  shift
  if ((JOBS <= 1)); then
    for seed in $SEEDS; do adapt_seed "$target" "$seed" "$@" || return 1; done
    return 0
  fi
  local threads=${THREADS:-$(( $(nproc) / JOBS > 0 ? $(nproc) / JOBS : 1 ))} running=0 failed=0
  for seed in $SEEDS; do
    THREADS=$threads adapt_seed "$target" "$seed" "$@" 2> >(sed -u "s/^/[seed $seed] /" >&2) &
    running=$((running + 1))
    if ((running >= JOBS)); then
      wait -n || failed=1
      running=$((running - 1))
    fi
  done
  while ((running > 0)); do
    wait -n || failed=1
    running=$((running - 1))
  done
  return "$failed"
}

run_cross_modal_protocol() {
  cd "$WORK"
  for f in train.h5 dev.h5 test.h5; do require_file "$f" "a preprocessed sample store" || return 1; done
  check_clip || return 1
  [[ -s pretrain.h5 ]] || fas fas-pretrain --clip "$CLIP" --method "$METHOD" --train train.h5 --modality rgb --dev dev.h5 \
    --epochs "$PRETRAIN_EPOCHS" --batch-size "$BATCH" -o pretrain.h5
  # Thresholds come from the RGB dev samples, scored by each model.
  fas fas-embed --model pretrain.h5 --data dev.h5 --modality rgb -o rgb-dev-before.h5
  # cm-clip adapts with this recipe's schedule; the baselines with their papers'
  # settings (the --method presets of fas-fewshot), unless FEWSHOT_EPOCHS is set.
  local schedule=()
  if [[ "$METHOD" == cm-clip || -n "${FEWSHOT_EPOCHS_GIVEN:-}" ]]; then
    schedule=(--epochs "$FEWSHOT_EPOCHS" --batch-size "$((SHOTS * 4 < BATCH ? SHOTS * 4 : BATCH))")
  fi
  for target in $TARGETS; do
    fas fas-embed --model pretrain.h5 --data test.h5 --modality "$target" -o "$target-test-before.h5"
    adapt_seeds "$target" "${schedule[@]}" || return 1
    local devs=() tests=()
    for seed in $SEEDS; do
      devs+=("$target-rgb-dev-seed$seed.h5")
      tests+=("$target-test-seed$seed.h5")
    done
    fas fas-eval --aggregate "$AGGREGATE" --dev rgb-dev-before.h5 --test "$target-test-before.h5" \
      -o "$target-before.txt"
    fas fas-eval --aggregate "$AGGREGATE" --dev "${devs[@]}" --test "${tests[@]}" --plot "$target-roc.png" \
      -o "$target-k$SHOTS.txt"
    echo "$target: before adaptation in $WORK/$target-before.txt, after $SHOTS-shot in $WORK/$target-k$SHOTS.txt"
  done
}
