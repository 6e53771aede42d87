#!/usr/bin/env bash
# WMCA (Idiap), grandtest protocol, CDIT station: RGB pretraining, then K-shot Depth and
# K-shot NIR adaptation over several seeds, thresholds from the dev set.
#
#   examples/wmca/run.sh /data/WMCA LISTDIR [WORKDIR]
#
# Expected layout:
#   WMCA/preprocessed-face-station_CDIT/<date>/<client>_<session>_<presenter>_<type>_<pai>.hdf5
#   LISTDIR/grandtest-{train,dev,eval}.txt   one .hdf5 path per line, relative to the
#                                            CDIT folder (from the grandtest protocol)
# The files hold face crops (FrameContainers): no detection; 10 frames per video.
# Figures are video level (fas-eval --aggregate video-mean: the mean frame score of each
# video of one modality), as the protocol's published results are; AGGREGATE=frame for
# frame level.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
: "${AGGREGATE:=video-mean}"
source "$here/lib/cross-modal.sh"
root=${1:?usage: run.sh WMCA-ROOT LISTDIR [WORKDIR]}
lists=${2:?usage: run.sh WMCA-ROOT LISTDIR [WORKDIR]}
WORK=$(mkdir -p "${3:-wmca-work}" && cd "${3:-wmca-work}" && pwd)
cdit="$root/preprocessed-face-station_CDIT"
missing=0
require_file "$cdit" "the WMCA CDIT station folder" || missing=1
for split in train dev eval; do require_file "$lists/grandtest-$split.txt" "grandtest list" || missing=1; done
check_clip || missing=1
((missing == 0)) || { echo "see the layout at the top of $0" >&2; exit 2; }

prep() {  # list split
  [[ -s "$WORK/$2.h5" ]] || fas fas-preprocess --format wmca --root "$cdit" --list "$lists/grandtest-$1.txt" \
    --modalities rgb,depth,nir --detect none --size 224 --frames 10 --protocol grandtest --split "$2" -o "$WORK/$2.h5"
}
prep train train
prep dev dev
prep eval test
run_cross_modal_protocol
