#!/usr/bin/env bash
# Both face detectors on real photos and a video that Debian packages ship (opencv-doc,
# python3-skimage), against the hand-labelled faces of tests/data/faces/real-media.tsv:
# the IoU of each stored /bbox per image for MTCNN and Haar (printed), MTCNN finding
# every labelled face (IoU >= 0.5), and the labelled eye centres of the aligned crops
# within 10% of the crop width of the template's. Skipped (exit 77, naming what is
# missing) without those packages or without the MTCNN networks, which it fetches with
# scripts/fetch-models.sh unless CMCLIP_OFFLINE=1. Throughput: scripts/bench-detect.sh.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$src/tests/tools/real_media_lib.sh"
pre=$bin/fas-preprocess

missing=$(real_media_missing)
if [[ -n $missing ]]; then
  echo "SKIPPED: not installed: $(echo $missing) (apt-get install opencv-doc python3-skimage, or scripts/install-deps.sh)"
  exit 77
fi
if ! why=$(real_media_models); then echo "SKIPPED: $why"; exit 77; fi
python=/usr/bin/python3
[[ -x $python ]] || python=$(command -v python3)
$python -c 'import h5py, numpy' 2>/dev/null || fail "python3 with h5py and numpy is needed (scripts/install-deps.sh)"

real_media_list list.tsv
for d in mtcnn haar; do
  "$pre" --format tsv --list list.tsv --root / --detect $d --size 224 --on-no-face center --threads 2 \
         -o $d.h5 --preview $d.png 2> $d.log || { cat $d.log >&2; fail "fas-preprocess --detect $d failed"; }
  grep -q "face detector: $d" $d.log || fail "the log does not say the detector is $d"
  [[ -f $d.png ]] || fail "no contact sheet $d.png"
done
# The same store for any --threads (each thread runs its own networks).
"$pre" -q --format tsv --list list.tsv --root / --detect mtcnn --size 224 --on-no-face center --threads 1 -o one.h5
for d in images bbox landmarks crop_transform detector_score; do
  h5diff -q mtcnn.h5 one.h5 /$d /$d || fail "/$d differs between --threads 2 and 1"
done
grep -q "faces found 8; no face 0" mtcnn.log || fail "MTCNN did not find the 8 faces: $(grep 'faces found' mtcnn.log)"
$python "$src/tests/tools/faces_real_media.py" "$real_media_fixture" mtcnn.h5 haar.h5
# A face below --min-score is an outcome of its own: an error with --on-no-face fail.
{ head -n 1 list.tsv; grep messi5 list.tsv; } > one.tsv  # MTCNN's probability 0.9999
expect 2 "$pre" --format tsv --list one.tsv --root / --detect mtcnn --min-score 1 --size 64 -o x.h5
grep -q "messi5.jpg: line 2 of one.tsv, frame 0: no face reaches --min-score 1 (best 0.99" err.txt \
  || fail "below-threshold outcome not reported: $(cat err.txt)"
expect 0 "$pre" --format tsv --list one.tsv --root / --detect mtcnn --min-score 1 --on-no-face center --size 64 -o y.h5
grep -q "messi5.jpg: line 2 of one.tsv, frame 0: no face reaches --min-score 1 .*; centre-cropped" err.txt \
  || fail "no warning naming the file: $(cat err.txt)"
grep -q "below --min-score 1: 1" err.txt || fail "below-threshold not counted: $(grep 'faces found' err.txt)"
[[ ! -e x.h5 ]] || fail "output written on an error"
echo "contact sheets: $PWD/mtcnn.png $PWD/haar.png"
