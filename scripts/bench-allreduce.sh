#!/usr/bin/env bash
# Benchmark (not a test): fas-pretrain on one rank with batch 2B against two local
# ranks (Gloo over loopback) with batch B each, the same global batch and the same
# cores in total (1 rank x 2 threads vs 2 ranks x 1 thread by default). Reports the
# mean time per step and, from the -v log of every rank, the time spent per step in
# the gradient all-reduce and in the stop/divergence agreement (each includes waiting
# for the slower rank: the smaller of the two ranks' figures is the closest to the
# cost of the transfer itself). Epoch 1 is left out (warm-up).
#
#   scripts/bench-allreduce.sh                 builtin:tiny, default model (22 k trainable floats)
#   scripts/bench-allreduce.sh --large         also --adapter-dim 64 --n-ctx 32 (~0.5 M floats,
#                                              the order of ViT-B/16's CM-CLIP gradients)
#   options: --epochs N (default 4), --batch B (per rank, default 8), --threads T (total,
#   default 2), --subjects N (fas-synth, default 24); environment: CMCLIP_BUILD_DIR
#   (default build/), CMCLIP_BENCH_DIR (work folder; default $CMCLIP_BUILD_DIR/bench/allreduce)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${CMCLIP_BUILD_DIR:-$root/build}
work=${CMCLIP_BENCH_DIR:-$build/bench/allreduce}
epochs=4 batch=8 threads=2 subjects=24 large=0
while (($#)); do
  case $1 in
    --large) large=1 ;;
    --epochs|--batch|--threads|--subjects) printf -v "${1#--}" %s "$2"; shift ;;  # --NAME VALUE sets $NAME
    -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench-allreduce: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
for t in fas-synth fas-pretrain; do
  [[ -x $build/bin/$t ]] || { echo "bench-allreduce: $build/bin/$t not found; build first (scripts/build.sh)" >&2; exit 2; }
done
(( threads >= 2 && threads % 2 == 0 )) || { echo "bench-allreduce: --threads must be even and >= 2" >&2; exit 2; }
mkdir -p "$work"
cd "$work"
export CMCLIP_PROGRESS_SECONDS=100000
unset WORLD_SIZE RANK LOCAL_RANK MASTER_ADDR MASTER_PORT
for v in $(env | grep -o '^SLURM_[A-Z_]*' || true); do unset "$v"; done

[[ -s b-train.h5 && $(cat synth.args 2>/dev/null) == "$subjects" ]] || {
  "$build/bin/fas-synth" -q --subjects "$subjects" --attacks print,replay,mask --size 64 --split train,dev --seed 11 -o b.h5
  echo "$subjects" >synth.args
}

free_port() {
  local used port
  used=$(ss -Htan 2>/dev/null | awk '{ n = split($4, a, ":"); print a[n] }' | sort -u)
  while :; do port=$((20000 + RANDOM % 30000)); grep -qx "$port" <<<"$used" || { echo "$port"; return; }; done
}

# summary LOG: "step_ms allreduce_ms agree_ms" averaged over epochs 2..N of one rank's -v log.
summary() {
  grep -o 'epoch [0-9]*: [0-9.]* ms per step; collectives per step: gradient all-reduce [0-9.]* ms.*agreement [0-9.]* ms' "$1" |
    awk '{ e = $2 + 0; if (e < 2) next; n++; s += $3; r += $12; a += $(NF - 1) }
         END { if (n == 0) { print "nan nan nan"; exit } printf "%.1f %.2f %.2f\n", s / n, r / n, a / n }'
}

run_config() {
  local name=$1; shift
  local args=(--clip builtin:tiny --train b-train.h5 --epochs "$epochs" --seed 1 -v "$@")
  local half=$((threads / 2))
  "$build/bin/fas-pretrain" "${args[@]}" --threads "$threads" --batch-size $((2 * batch)) -o "$name-1.h5" 2>"$name-1.log"
  local port; port=$(free_port)
  WORLD_SIZE=2 RANK=1 MASTER_PORT=$port "$build/bin/fas-pretrain" "${args[@]}" --threads "$half" --batch-size "$batch" \
    -o "$name-2.h5" 2>"$name-2.r1.log" &
  local p1=$!
  WORLD_SIZE=2 RANK=0 MASTER_PORT=$port "$build/bin/fas-pretrain" "${args[@]}" --threads "$half" --batch-size "$batch" \
    -o "$name-2.h5" 2>"$name-2.r0.log"
  wait $p1
  local floats; floats=$(grep -o '[0-9]* floats' "$name-2.r0.log" | head -1 | cut -d' ' -f1)
  read -r s1 _ _ < <(summary "$name-1.log")
  read -r s2 r0 a0 < <(summary "$name-2.r0.log")
  read -r s2b r1 a1 < <(summary "$name-2.r1.log")
  printf '%-8s %9s floats | 1 rank x %d thr, batch %3d: %7.1f ms/step | 2 ranks x %d thr, batch %3d: %7.1f ms/step (x%.2f)\n' \
    "$name" "$floats" "$threads" $((2 * batch)) "$s1" "$half" "$batch" "$s2" "$(awk -v a="$s2" -v b="$s1" 'BEGIN { print a / b }')"
  printf '%-8s %9s          all-reduce per step: rank 0 %.2f ms, rank 1 %.2f ms; agreement: rank 0 %.2f ms, rank 1 %.2f ms\n' \
    "" "" "$r0" "$r1" "$a0" "$a1"
}

echo "bench-allreduce: fas-pretrain, $epochs epochs on a fas-synth set of $subjects subjects, $(nproc) cores ($(uname -n))"
run_config default
(( large )) && run_config large --adapter-dim 64 --n-ctx 32
echo "logs in $work"
