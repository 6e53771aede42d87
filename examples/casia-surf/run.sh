#!/usr/bin/env bash
# CASIA-SURF (CVPR'19 challenge release): RGB pretraining, then K-shot Depth and K-shot
# NIR adaptation over several seeds, thresholds from the target's dev set.
#
#   examples/casia-surf/run.sh /data/CASIA-SURF [WORKDIR]
#
# Expected layout of your copy (the challenge lists have 4 fields, 1 = live):
#   CASIA-SURF/train_list.txt          Training/real_part/CLKJ_AS0005/real.rssdk/color/31.jpg ... 1
#   CASIA-SURF/val_private_list.txt    Val/0000/000000-color.jpg Val/0000/000000-depth.jpg ... 0
#   CASIA-SURF/test_private_list.txt   Testing/...
#   CASIA-SURF/{Training,Val,Testing}/...
# The frames are face crops already (no detection). Settings: see examples/lib/cross-modal.sh.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$here/lib/cross-modal.sh"
root=${1:?usage: run.sh CASIA-SURF-ROOT [WORKDIR]}
WORK=$(mkdir -p "${2:-surf-work}" && cd "${2:-surf-work}" && pwd)
missing=0
for list in train_list.txt val_private_list.txt test_private_list.txt; do
  require_file "$root/$list" "CASIA-SURF list" || missing=1
done
for dir in Training Val Testing; do require_file "$root/$dir" "CASIA-SURF frames" || missing=1; done
check_clip || missing=1
((missing == 0)) || { echo "see the layout at the top of $0" >&2; exit 2; }

prep() {  # list split
  [[ -s "$WORK/$2.h5" ]] || fas fas-preprocess --format casia-surf --root "$root" --list "$root/$1" \
    --modalities rgb,depth,nir --detect none --size 224 --protocol challenge --split "$2" -o "$WORK/$2.h5"
}
prep train_list.txt train
prep val_private_list.txt dev
prep test_private_list.txt test
run_cross_modal_protocol
