#!/usr/bin/env bash
# CASIA-SURF CeFA, protocol 4.1 of the CASIA-FAS-Dataset re-packaging (video-level lists,
# 0 = live): RGB pretraining, then K-shot Depth and K-shot NIR adaptation over several
# seeds, thresholds from the target's dev set.
#
#   examples/cefa/run.sh /data/CASIA-FAS [WORKDIR]    (PROTOCOL=p4.1 by default)
#
# Expected layout of your copy:
#   CASIA-FAS/protocol/CASIA_CeFA@p4.1_video_{train,dev,test}.txt   <video folder> <0|1>
#   CASIA-FAS/CASIA_CeFA/Ethnicity/AF/AF-120/1_120_3_1_4/{color,depth,ir}/0001.jpg
# Frames are face crops already; 10 frames per video are taken, spread evenly.
# Figures are video level (fas-eval --aggregate video-mean: the mean frame score of each
# video of one modality), as the protocol's published results are; AGGREGATE=frame for
# frame level.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
: "${AGGREGATE:=video-mean}"
source "$here/lib/cross-modal.sh"
root=${1:?usage: run.sh CASIA-FAS-ROOT [WORKDIR]}
WORK=$(mkdir -p "${2:-cefa-work}" && cd "${2:-cefa-work}" && pwd)
: "${PROTOCOL:=p4.1}" "${FRAMES:=10}"
missing=0
for split in train dev test; do
  require_file "$root/protocol/CASIA_CeFA@${PROTOCOL}_video_$split.txt" "CeFA protocol list" || missing=1
done
require_file "$root/CASIA_CeFA" "CeFA frames" || missing=1
check_clip || missing=1
((missing == 0)) || { echo "see the layout at the top of $0" >&2; exit 2; }

for split in train dev test; do
  [[ -s "$WORK/$split.h5" ]] || fas fas-preprocess --format casia-fas --root "$root" \
    --list "$root/protocol/CASIA_CeFA@${PROTOCOL}_video_$split.txt" --modalities rgb,depth,nir \
    --detect none --size 224 --frames "$FRAMES" --protocol "$PROTOCOL" --split "$split" -o "$WORK/$split.h5"
done
run_cross_modal_protocol
