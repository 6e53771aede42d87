#!/usr/bin/env bash
# fas-preprocess against the error table of man fas-errors(7): bad lists of every
# format, missing, truncated and undecodable frames, unreadable videos, bad frame
# containers, and outputs that cannot be written: each gives its exit status, one
# message naming the file and record (list line), and no output.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/errors_lib.sh"
export CMCLIP_PROGRESS_SECONDS=1000
pre=$bin/fas-preprocess

"$bin/fas-synth" -q --subjects 2 --attacks print --size 32 --frames 2 --seed 3 --images-out img --list-out list.tsv
run=("$pre" --format tsv --detect none --size 32)
expect 0 "${run[@]}" -q --root img --list list.tsv -o out/ok.h5
rm out/ok.h5
header=$(head -1 list.tsv)
rgb=$(awk -F'\t' 'NR == 2 {print $1}' list.tsv)
# A one-row tsv list whose frame is FILE: tsv_of FILE > LIST
tsv_of() { printf '%s\n%s\tlive\trgb\t\t1\tv1\t0\n' "$header" "$1"; }

# --- lists -----------------------------------------------------------------------------
bad 2 "nowhere.tsv|cannot open" "${run[@]}" --list nowhere.tsv -o out/x.h5
bad 2 "img|expected a file, found a folder" "${run[@]}" --list img -o out/x.h5
: >empty.tsv
bad 2 "empty.tsv|empty tsv list" "${run[@]}" --list empty.tsv -o out/x.h5
printf '%s\nimg/a.png\tmaybe\trgb\t\t1\tv1\t0\n' "$header" >label.tsv
bad 2 "label.tsv|line 2|label 'maybe'" "${run[@]}" --list label.tsv -o out/x.h5
printf '%s\nimg/a.png\tlive\trgb\t\t1\n' "$header" >fields.tsv
bad 2 "fields.tsv|line 2|expected 7 tab-separated" "${run[@]}" --list fields.tsv -o out/x.h5
printf '%s\nimg/a.png\tlive\tuv\t\t1\tv1\t0\n' "$header" >modality.tsv
bad 2 "modality.tsv|line 2|modality 'uv'" "${run[@]}" --list modality.tsv -o out/x.h5
printf '%s\nimg/a.png\tlive\trgb\t\t1\tv1\t-3\n' "$header" >frame.tsv
bad 2 "frame.tsv|line 2|frame '-3'" "${run[@]}" --list frame.tsv -o out/x.h5
bad 2 "<stdin>|line 2|label 'maybe'" "${run[@]}" --list - -o out/x.h5 <label.tsv
# The dataset formats (their own columns and conventions).
echo "Val/0/1-color.jpg Val/0/1-depth.jpg Val/0/1-ir.jpg 2" >surf.txt
bad 2 "surf.txt|line 1|label '2' is not 0 or 1" "$pre" --format casia-surf --list surf.txt -o out/x.h5
echo "Val/0/1-color.jpg Val/0/1-depth.jpg Val/0/1.jpg 1" >surf2.txt
bad 2 "surf2.txt|line 1|cannot tell the modality" "$pre" --format casia-surf --list surf2.txt -o out/x.h5
echo "a 0 1" >fas.txt
bad 2 "fas.txt|line 1|expected 2" "$pre" --format casia-fas --list fas.txt -o out/x.h5
echo "dev/003000" >cefa.txt
bad 2 "cefa.txt|line 1|no label" "$pre" --format cefa --list cefa.txt -o out/x.h5
echo "x/video.avi 0" >wmca.txt
bad 2 "wmca.txt|line 1|not an HDF5 frame container" "$pre" --format wmca --list wmca.txt -o out/x.h5
printf '# only a comment\n\n' >comment.txt
bad 2 "comment.txt|no records" "$pre" --format casia-fas --list comment.txt -o out/x.h5

# --- frames --------------------------------------------------------------------------------
tsv_of img/missing.png >missing.tsv
bad 2 "img/missing.png|line 2 of missing.tsv|no such rgb file" "${run[@]}" --list missing.tsv -o out/x.h5
broken_images broken "img/$rgb"
for f in half.png half.jpg text.png empty.png short.bmp huge.jpg; do
  tsv_of "broken/$f" >one.tsv
  bad 2 "broken/$f|line 2 of one.tsv|$(image_problem $f)" "${run[@]}" --list one.tsv -o out/x.h5
done
mkdir -p frames/empty
printf '%s\nframes/empty\tlive\trgb\t\t1\tv1\t\n' "$header" >folder.tsv
bad 2 "frames/empty|line 2 of folder.tsv|no image files" "${run[@]}" --list folder.tsv -o out/x.h5
bad 2 "nowhere|not a folder" "${run[@]}" --list list.tsv --root nowhere -o out/x.h5

# --- videos ---------------------------------------------------------------------------------
frames=()
for f in $(awk -F'\t' '$3 == "rgb" {print "img/" $1}' list.tsv | head -6); do frames+=("$f"); done
tamper ok.avi video "${frames[@]}"
printf '%s\nok.avi\tlive\trgb\t\t1\tv1\t\n' "$header" >video.tsv
expect 0 "${run[@]}" -q --list video.tsv -o out/ok.h5
rm out/ok.h5
echo "RIFF but not a video" >fake.avi
printf '%s\nfake.avi\tlive\trgb\t\t1\tv1\t\n' "$header" >fake.tsv
bad 2 "fake.avi|line 2 of fake.tsv|video" "${run[@]}" --list fake.tsv -o out/x.h5
head -c 400 ok.avi >half.avi
printf '%s\nhalf.avi\tlive\trgb\t\t1\tv1\t\n' "$header" >halfv.tsv
bad 2 "half.avi|line 2 of halfv.tsv|video" "${run[@]}" --list halfv.tsv -o out/x.h5

# --- WMCA frame containers ------------------------------------------------------------------
mkdir -p wmca
echo "not hdf5" >wmca/005_03_000_0_01.hdf5
echo "wmca/005_03_000_0_01.hdf5" >c1.txt
bad 2 "005_03_000_0_01.hdf5|line 1 of c1.txt|not an HDF5 file" "$pre" --format wmca --detect none --list c1.txt -o out/x.h5
"$bin/fas-synth" -q --subjects 1 --attacks print --size 32 --frames 1 --seed 3 -o store.h5
cp store.h5 wmca/006_03_000_0_01.hdf5
echo "wmca/006_03_000_0_01.hdf5" >c2.txt
bad 2 "006_03_000_0_01.hdf5|no Frame_<k> groups" "$pre" --format wmca --detect none --list c2.txt -o out/x.h5

# --- outputs --------------------------------------------------------------------------------
bad 2 "out/missing/x.h5|does not exist" "${run[@]}" --root img --list list.tsv -o out/missing/x.h5
bad 2 "out/missing/p.png|does not exist" "${run[@]}" --root img --list list.tsv -o out/x.h5 --preview out/missing/p.png
read_only "ro/x.h5|not writable" "${run[@]}" --root img --list list.tsv -o ro/x.h5
mkdir -p full && cp store.h5 full/x.h5
full_disk "full/x.h5|disk full" 24 "${run[@]}" --root img --list list.tsv -o full/x.h5
# Room for the store but not for its preview: neither is left.
"${run[@]}" -q --root img --list list.tsv -o sizes.h5 --preview sizes.png
kib=$((($(stat -c %s sizes.h5) + $(stat -c %s sizes.png) / 2) / 1024 + 4))
full_disk "full/p.png|disk full" $kib "${run[@]}" --root img --list list.tsv -o full/x.h5 --preview full/p.png
file_limit "full/x.h5|disk full" 16 "${run[@]}" --root img --list list.tsv -o full/x.h5
no_temp_files out
summary fas-preprocess
