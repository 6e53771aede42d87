#!/usr/bin/env bash
# fas-eval against the error table of man fas-errors(7): every kind of bad score input
# (TSV and HDF5) and every output that cannot be written gives its exit status, one
# message naming the file and record, and no output (previous outputs intact).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/errors_lib.sh"
export CMCLIP_PROGRESS_SECONDS=1000
ev=$bin/fas-eval

# Inputs: a score file of every modality (RGB, Depth, NIR), one of Depth alone, and the
# TSV, from an untrained tiny model (no training needed).
synth_and_model
"$bin/fas-embed" -q --model m.h5 --data s-test.h5 -o scores.h5
"$bin/fas-embed" -q --model m.h5 --data s-test.h5 --modality depth -o depth.h5
"$bin/fas-embed" -q --model m.h5 --data s-test.h5 -o - --format tsv >scores.tsv
expect 0 "$ev" -q --test depth.h5 -o out/ok.json
expect 0 "$ev" -q --test scores.tsv
expect 0 "$ev" -q --test scores.h5 --pool-modalities
rm out/ok.json

# --- several modalities under one threshold: refused unless --pool-modalities ----------
bad 2 "scores.h5|/modality|the test set holds 3 modalities|rgb|depth|nir|fas-embed --modality rgb|--pool-modalities" \
  "$ev" --test scores.h5 -o out/r.json --plot out/p.png
bad 2 "scores.h5|/modality|the dev set holds 3 modalities" "$ev" --dev scores.h5 --test depth.h5 -o out/r.json
bad 2 "scores.h5|/modality|3 modalities" "$ev" --test depth.h5 scores.h5 --aggregate video-mean -o out/r.json

# --- missing and unreadable inputs -----------------------------------------------------
bad 2 "nope.tsv|cannot open" "$ev" --test nope.tsv -o out/r.json
mkdir -p adir
bad 2 "adir|folder" "$ev" --test adir -o out/r.json
bad 2 "nope.h5|cannot open" "$ev" --dev nope.h5 --test scores.h5 -o out/r.json

# --- the score TSV ------------------------------------------------------------------------
tab=$'\t'
head -1 scores.tsv >h.tsv
: >empty.tsv
bad 2 "empty.tsv|line 1|empty input" "$ev" --test empty.tsv -o out/r.json
printf 'source,video,attack_type,label,score\n' >csv.tsv
bad 2 "csv.tsv|line 1|header" "$ev" --test csv.tsv -o out/r.json
{ cat h.tsv; printf 'a.png\tv1\t\tlive\t0.5\n'; printf 'b.png\tv2\tlive\t0.5\n'; } >fields.tsv
bad 2 "fields.tsv|line 3|5 tab-separated fields" "$ev" --test fields.tsv -o out/r.json
{ cat h.tsv; printf 'a.png\tv1\t\tgenuine\t0.5\n'; } >label.tsv
bad 2 "label.tsv|line 2|label 'genuine'" "$ev" --test label.tsv -o out/r.json
for value in nan inf -inf; do
  { cat h.tsv; printf 'a.png\tv1\t\tlive\t0.5\n'; printf "b.png${tab}v2${tab}print${tab}attack${tab}%s\n" $value; } >nan.tsv
  bad 2 "nan.tsv|line 3|score '$value' is not finite" "$ev" --test nan.tsv -o out/r.json
done
{ cat h.tsv; printf 'a.png\tv1\t\tlive\t0.5x\n'; } >num.tsv
bad 2 "num.tsv|line 2|not a number" "$ev" --test num.tsv -o out/r.json
{ cat h.tsv; printf 'a\\q.png\tv1\t\tlive\t0.5\n'; } >esc.tsv
bad 2 "esc.tsv|line 2|malformed escape" "$ev" --test esc.tsv -o out/r.json
{ cat h.tsv; printf 'a.png\tv1\t\tattack\t0.5\n'; } >type.tsv
bad 2 "type.tsv|line 2|no attack type" "$ev" --test type.tsv -o out/r.json
{ cat h.tsv; printf 'a.png\tv1\t\tlive\t0.5\n'; printf 'b.png\tv1\tprint\tattack\t0.25\n'; } >mixed.tsv
bad 2 "mixed.tsv|video 'v1' mixes classes" "$ev" --test mixed.tsv --aggregate video-mean -o out/r.json
bad 2 "stdin|line 1|header" "$ev" --test - -o out/r.json < csv.tsv
# One class only: no threshold can be chosen.
{ cat h.tsv; printf 'a.png\tv1\t\tlive\t0.5\n'; } >oneclass.tsv
bad 2 "oneclass.tsv|attack" "$ev" --dev oneclass.tsv --test scores.tsv -o out/r.json

# --- HDF5 score files -------------------------------------------------------------------------
cp depth.h5 modality.h5 && tamper modality.h5 set /modality 0 9
bad 2 "modality.h5|/modality[0]|code 9 is not a modality" "$ev" --test modality.h5 -o out/r.json
# Rows 0 and 1 are the two frames of one video: given two subjects, it is no presentation.
cp depth.h5 subject.h5 && tamper subject.h5 set /subject 1 99
bad 2 "subject.h5|/subject[1]|mixes subjects: 99 here" "$ev" --test subject.h5 --bootstrap 10 -o out/r.json
cp scores.h5 nan.h5 && tamper nan.h5 set /score 1 nan
bad 2 "nan.h5|/score[1]|finite" "$ev" --test nan.h5 -o out/r.json
corrupt_copy scores.h5 half.h5
bad 2 "half.h5|truncated" "$ev" --test half.h5 -o out/r.json
printf '\x89PNG\r\n\x1a\n' >fake.h5
bad 2 "fake.h5|not an HDF5 file" "$ev" --test fake.h5 -o out/r.json
bad 2 "s-test.h5|expected a cmclip.scores file, found cmclip.samples" "$ev" --test s-test.h5 -o out/r.json
cp scores.h5 v99.h5 && tamper v99.h5 attr / format_version int 99
bad 2 "v99.h5|version 99 is not supported" "$ev" --test v99.h5 -o out/r.json
# A file libhdf5 1.10 loops forever on (fuzz finding, tests/fuzz/corpus).
cp "$corpus/h5_scores/timeout-gheap-empty-free-space" loop.h5
bad 2 "loop.h5: /: damaged file: value 0: global heap collection at byte 4096|free space at byte 4592 is 0 bytes long" "$ev" --test loop.h5 -o out/r.json
cp scores.h5 noformat.h5 && tamper noformat.h5 rmattr / format
bad 2 "noformat.h5|no 'format' attribute" "$ev" --test noformat.h5 -o out/r.json
cp scores.h5 nolabel.h5 && tamper nolabel.h5 rm /label
bad 2 "nolabel.h5|/label|missing dataset" "$ev" --test nolabel.h5 -o out/r.json
cp scores.h5 dtype.h5 && tamper dtype.h5 retype /score float64
bad 2 "dtype.h5|/score|expected float32" "$ev" --test dtype.h5 -o out/r.json
cp scores.h5 shape.h5 && tamper shape.h5 rows /label 3
bad 2 "shape.h5|/label|expected int8 [" "$ev" --test shape.h5 -o out/r.json
cp scores.h5 badlabel.h5 && tamper badlabel.h5 set /label 0 7
bad 2 "badlabel.h5|/label[0]|neither 1 (live) nor 0 (attack)" "$ev" --test badlabel.h5 -o out/r.json
cp scores.h5 flipped.h5 && tamper flipped.h5 flip /score
bad 2 "flipped.h5|/score|checksum" "$ev" --test flipped.h5 -o out/r.json
find img -name '*.png' | head -3 >images.txt
"$bin/fas-embed" -q --model builtin:tiny --images images.txt -o featonly.h5
bad 2 "featonly.h5|/score|features only" "$ev" --test featonly.h5 -o out/r.json

# --- usage ----------------------------------------------------------------------------------
bad 2 "--threshold" "$ev" --test depth.h5 --threshold high -o out/r.json
bad 2 "--bootstrap" "$ev" --test depth.h5 --bootstrap -3 -o out/r.json

# --- outputs --------------------------------------------------------------------------------
bad 2 "out/missing/r.json|does not exist" "$ev" --test depth.h5 -o out/missing/r.json
bad 2 "out/missing/p.png|does not exist" "$ev" --test depth.h5 --plot out/missing/p.png
mkdir -p out/dir.json
bad 2 "out/dir.json|it is a folder" "$ev" --test depth.h5 -o out/dir.json
read_only "ro/r.json|not writable" "$ev" --test depth.h5 -o ro/r.json
# A full disk leaves neither the report nor the plot, and the previous report as it was.
mkdir -p full && echo "previous report" >full/r.json
full_disk "cannot write|disk full" 8 "$ev" --test depth.h5 --bootstrap 10 --format json -o full/r.json --plot full/p.png
file_limit "cannot write|disk full" 2 "$ev" --test depth.h5 --format json -o full/r.json --plot full/p.png
set +e; "$ev" -q --test depth.h5 >/dev/full 2>err.txt; got=$?; set -e
[[ $got == 1 ]] || fail "a report to a full stdout exited $got, expected 1"
check_one_error fas-eval "stdout" err.txt
tried=$((tried + 1))
no_temp_files out
summary fas-eval
