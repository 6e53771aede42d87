#!/usr/bin/env bash
# Throughput of the data tools on this machine:
#  - fas-synth: captures/s (one rgb + depth + nir image each) per size and thread count;
#  - fas-preprocess: frames/s with Haar detection on 640x640 generated PNG frames in the
#    CASIA-SURF layout (decode 3 modalities, detect on RGB, crop + INTER_AREA resize to
#    224, HDF5 write), for --threads 1 and 2.
# Usage: scripts/bench-data.sh [BUILD_DIR] [SUBJECTS]
# Wall time is what users see; CPU time shows the parallel work when other jobs share
# the cores. The data goes to a temporary folder removed at exit.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:-${CMCLIP_BUILD_DIR:-$root/build}}
subjects=${2:-20}
bin=$build/bin
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Runs a command; prints wall seconds and CPU (user + system) seconds of it.
timed() {
  local TIMEFORMAT='%R %U %S'
  { time "$@" >/dev/null 2>&1; } 2>&1 | awk '{ printf "%s %s\n", $1, $2 + $3 }'
}
report() {  # label count unit wall cpu
  awk -v l="$1" -v n="$2" -v u="$3" -v w="$4" -v c="$5" \
    'BEGIN { printf "%-50s %5d %s: %6.2f s wall, %6.2f s CPU, %7.1f %s/s\n", l, n, u, w, c, n / w, u }'
}

for size in 96 224; do
  for threads in 1 2; do
    read -r wall cpu < <(timed "$bin/fas-synth" -q --subjects "$subjects" --attacks print,replay,mask \
      --size "$size" --frames 3 --threads "$threads" --seed 1 -o "$work/s.h5")
    report "fas-synth --size $size --threads $threads" $((subjects * 4 * 3)) captures "$wall" "$cpu"
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
  read -r wall cpu < <(timed "$bin/fas-preprocess" -q --format casia-surf --root "$work/surf" \
    --list "$work/list.txt" --size 224 --on-no-face center --threads "$threads" -o "$work/p.h5")
  report "fas-preprocess haar, 640px PNG x3 -> 224, --threads $threads" "$frames" frames "$wall" "$cpu"
  rm -f "$work/p.h5"
done
