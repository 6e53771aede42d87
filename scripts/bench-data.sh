#!/usr/bin/env bash
# Throughput of the data tools on this machine:
#  - fas-synth: captures/s (one rgb + depth + nir image each) per size and thread count;
#  - fas-preprocess: frames/s with Haar detection on 640x640 generated PNG frames in the
#    CASIA-SURF layout (decode 3 modalities, detect on RGB, crop + INTER_AREA resize to
#    224, HDF5 write), for --threads 1 and 2.
# Usage: scripts/bench-data.sh [BUILD_DIR] [SUBJECTS]
# The data goes to a temporary folder removed at exit.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:-${CMCLIP_BUILD_DIR:-$root/build}}
subjects=${2:-20}
bin=$build/bin
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

now() { date +%s.%N; }
report() {  # label count unit t0 t1
  awk -v l="$1" -v n="$2" -v u="$3" -v a="$4" -v b="$5" \
    'BEGIN { printf "%-52s %6d %s in %6.2f s: %7.1f %s/s\n", l, n, u, b - a, n / (b - a), u }'
}

for size in 96 224; do
  for threads in 1 2; do
    t0=$(now)
    "$bin/fas-synth" -q --subjects "$subjects" --attacks print,replay,mask --size "$size" --frames 3 \
      --threads "$threads" --seed 1 -o "$work/s.h5"
    t1=$(now)
    report "fas-synth --size $size --threads $threads" $((subjects * 4 * 3)) captures "$t0" "$t1"
    rm -f "$work/s.h5"
  done
done

# 640x640 captures in the CASIA-SURF layout with a casia-surf list.
"$bin/fas-synth" -q --subjects "$subjects" --attacks print,replay --size 640 --frames 2 --seed 3 \
  --images-out "$work/png" --list-out "$work/png.tsv"
tail -n +2 "$work/png.tsv" | while IFS=$'\t' read -r path label modality attack subject video frame; do
  part=real_part
  [[ $label == attack ]] && part=fake_part
  base=Training/$part/S${subject}/${video//\//_}.rssdk
  case $modality in rgb) folder=color ;; depth) folder=depth ;; *) folder=ir ;; esac
  mkdir -p "$work/surf/$base/$folder"
  ln "$work/png/$path" "$work/surf/$base/$folder/$frame.png"
  if [[ $modality == rgb ]]; then
    [[ $label == live ]] && l=1 || l=0
    echo "$base/color/$frame.png $base/depth/$frame.png $base/ir/$frame.png $l" >> "$work/list.txt"
  fi
done
frames=$(wc -l < "$work/list.txt")
for threads in 1 2; do
  t0=$(now)
  "$bin/fas-preprocess" -q --format casia-surf --root "$work/surf" --list "$work/list.txt" --size 224 \
    --on-no-face center --threads "$threads" -o "$work/p.h5"
  t1=$(now)
  report "fas-preprocess haar 640px PNG x3 -> 224 --threads $threads" "$frames" frames "$t0" "$t1"
  rm -f "$work/p.h5"
done
