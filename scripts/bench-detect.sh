#!/usr/bin/env bash
# Benchmark (not a test): fas-preprocess's face detectors, MTCNN against Haar, on the
# hand-labelled photos and video frames of tests/data/faces/real-media.tsv (Debian's
# opencv-doc and python3-skimage) repeated to make a few hundred captures, 224-px crops,
# with --threads. Prints each detector's captures per second (median of the runs, the
# whole tool run: list, decoding, detection, crop, store) and the ratio MTCNN/Haar.
#
#   scripts/bench-detect.sh                  8 items x 25 = 200 captures, 3 runs each
#   options: --repeat R, --runs N, --threads T (default: the tool's default)
#   environment: CMCLIP_BUILD_DIR (default build/), CMCLIP_BENCH_DIR (scratch; default
#   $CMCLIP_BUILD_DIR/bench/detect), CMCLIP_HOME (where the MTCNN networks are)
#
# Needs a built fas-preprocess, the two Debian packages and the MTCNN networks
# (scripts/fetch-models.sh). Exit 1 when MTCNN runs at less than half Haar's rate.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export CMCLIP_SOURCE_DIR=$root
build=${CMCLIP_BUILD_DIR:-$root/build}
pre=$build/bin/fas-preprocess
repeat=25 runs=3 threads=()
while (($#)); do
  case $1 in
    --repeat) repeat=$2; shift ;;
    --runs) runs=$2; shift ;;
    --threads) threads=(--threads "$2"); shift ;;
    -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench-detect: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
source "$root/tests/tools/real_media_lib.sh"
[[ -x $pre ]] || { echo "bench-detect: $pre is not built" >&2; exit 1; }
missing=$(real_media_missing)
[[ -z $missing ]] || { echo "bench-detect: not installed: $(echo $missing)" >&2; exit 1; }
why=$(real_media_models) || { echo "bench-detect: $why" >&2; exit 1; }

work=${CMCLIP_BENCH_DIR:-$build/bench/detect}
mkdir -p "$work"
real_media_list "$work/list.tsv" "$repeat"
n=$(($(wc -l < "$work/list.tsv") - 1))
declare -A rate
for d in haar mtcnn; do
  times=()
  for ((r = 0; r < runs; ++r)); do
    start=$(date +%s.%N)
    "$pre" -q --format tsv --list "$work/list.tsv" --root / --detect $d --size 224 --on-no-face center \
      "${threads[@]}" -o "$work/$d.h5" 2> "$work/$d.log" || { cat "$work/$d.log" >&2; exit 1; }
    times+=("$(awk -v a="$(date +%s.%N)" -v b="$start" 'BEGIN { print a - b }')")
  done
  median=$(printf '%s\n' "${times[@]}" | sort -g | sed -n "$(((runs + 1) / 2))p")
  rate[$d]=$(awk -v n="$n" -v t="$median" 'BEGIN { print n / t }')
  printf 'bench-detect: %-5s %d captures, median %.2f s: %.1f captures/s\n' $d "$n" "$median" "${rate[$d]}"
done
ratio=$(awk -v a="${rate[mtcnn]}" -v b="${rate[haar]}" 'BEGIN { print a / b }')
printf 'bench-detect: mtcnn/haar throughput ratio %.2f (--threads %s, %d CPUs)\n' "$ratio" \
  "${threads[1]:-default}" "$(nproc)"
awk -v r="$ratio" 'BEGIN { exit !(r >= 0.5) }' || { echo "bench-detect: MTCNN is more than 2x slower than Haar" >&2; exit 1; }
