#!/usr/bin/env bash
# fas-synth against the error table of man fas-errors(7): it reads no input, so the
# rows are its options and its outputs (stores per split, images and lists, preview):
# each failure gives its exit status, one message, and none of the outputs (a run
# writing several files writes all of them or none; previous outputs intact).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/errors_lib.sh"
export CMCLIP_PROGRESS_SECONDS=1000
sy=$bin/fas-synth
small=(--subjects 3 --attacks print --size 32 --frames 1 --seed 1)

# --- options ---------------------------------------------------------------------------------
bad 2 "nothing to write" "$sy" "${small[@]}"
bad 2 "'paper' is not print, replay or mask" "$sy" --attacks print,paper -o out/x.h5
bad 2 "--modalities" "$sy" --modalities rgb,uv -o out/x.h5
bad 2 "needs at least 3 subjects" "$sy" --subjects 2 --split train,dev,test -o out/x.h5
bad 2 "--size" "$sy" --size 8 -o out/x.h5
bad 2 "--frames" "$sy" --frames 0 -o out/x.h5
bad 2 "go together" "$sy" "${small[@]}" --images-out out/img
bad 2 "--preview needs -o" "$sy" "${small[@]}" --images-out out/img --list-out out/l.tsv --preview out/p.png

# --- outputs ---------------------------------------------------------------------------------
bad 2 "out/missing/x.h5|does not exist" "$sy" "${small[@]}" -o out/missing/x.h5
bad 2 "out/missing/img|does not exist" "$sy" "${small[@]}" --images-out out/missing/img --list-out out/l.tsv
bad 2 "out/missing/l.tsv|does not exist" "$sy" "${small[@]}" --images-out out/img --list-out out/missing/l.tsv
bad 2 "out/missing/p.png|does not exist" "$sy" "${small[@]}" -o out/x.h5 --preview out/missing/p.png
mkdir -p out/full-img && touch out/full-img/keep
bad 2 "out/full-img|not empty" "$sy" "${small[@]}" --images-out out/full-img --list-out out/l.tsv
rm -r out/full-img
read_only "ro/x-train.h5|not writable" "$sy" "${small[@]}" --split train,test -o ro/x.h5
read_only "ro/img|not writable" "$sy" "${small[@]}" --images-out ro/img --list-out ro/l.tsv
# A full disk: no store of any split, no images, no lists, no preview; the previous
# store untouched. The second case has room for the stores but not for the images.
"$sy" -q "${small[@]}" --split train,test -o sizes.h5 --images-out sizes-img --list-out sizes.tsv --preview sizes.png
mkdir -p full && cp sizes-train.h5 full/x-train.h5
full_disk "disk full" 48 "$sy" "${small[@]}" --split train,test -o full/x.h5
stores=$(($(stat -c %s sizes-train.h5) + $(stat -c %s sizes-test.h5)))
kib=$(((stores + $(du -sb sizes-img | cut -f1) / 3) / 1024))
full_disk "disk full" $kib "$sy" "${small[@]}" --split train,test -o full/x.h5 --images-out full/img --list-out full/l.tsv
kib=$(((stores + $(stat -c %s sizes.png) / 3) / 1024 + 8))
full_disk "full/p.png|disk full" $kib "$sy" "${small[@]}" --split train,test -o full/x.h5 --preview full/p.png
file_limit "disk full" 8 "$sy" "${small[@]}" --split train,test -o full/x.h5
no_temp_files out
summary fas-synth
