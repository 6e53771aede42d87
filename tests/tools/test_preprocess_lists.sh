#!/usr/bin/env bash
# fas-preprocess on lists of mixed modalities: a tsv list whose lines name single images
# of different modalities stores one sample a line by default (each capture stores the
# modalities it has), while an explicit --modalities keeps its strict meaning; the face
# geometry datasets; --help naming Haar as the fallback. No download needed.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
pre=$bin/fas-preprocess

expect 0 "$pre" --help
grep -q "fallback that needs no download" out.txt || fail "--help does not name Haar as the fallback"
grep -q -- "--crop" out.txt && grep -q -- "--min-score" out.txt || fail "--help lacks --crop or --min-score"

"$bin/fas-synth" -q --subjects 2 --attacks print --size 48 --frames 1 --seed 5 \
  --images-out img --list-out grouped.tsv -o direct.h5
# One image a line and no video column: each line is its own capture.
cut -f1-5 grouped.tsv > mixed.tsv
lines=$(($(wc -l < mixed.tsv) - 1))

# The default --modalities: one sample a line, each of its own modality.
"$pre" -q --format tsv --root img --list mixed.tsv --detect none --size 32 -o mixed.h5
h5dump -a num_samples mixed.h5 | grep -q "(0): $lines\$" || fail "expected $lines samples: $(h5dump -a num_samples mixed.h5)"
for m in rgb depth nir; do
  want=$(awk -F'\t' -v m=$m 'NR > 1 && $3 == m' mixed.tsv | wc -l)
  ((want > 0)) || fail "the synthetic list has no $m line"
done
h5dump -d modality mixed.h5 | grep -q "0, 1, 2" || fail "modalities not stored line by line: $(h5dump -d modality mixed.h5 | head -20)"
# Explicit --modalities: strict, every capture must have each one.
expect 2 "$pre" --format tsv --root img --list mixed.tsv --detect none --size 32 --modalities rgb,depth -o x.h5
grep -q "no depth path for this capture" err.txt || fail "strict --modalities: $(cat err.txt)"
expect 0 "$pre" --format tsv --root img --list mixed.tsv --detect none --size 32 --modalities rgb --skip-missing -o rgb.h5
want=$(awk -F'\t' 'NR > 1 && $3 == "rgb"' mixed.tsv | wc -l)
h5dump -a num_samples rgb.h5 | grep -q "(0): $want\$" || fail "--modalities rgb --skip-missing: expected $want samples"
# With detection, a Depth- or NIR-only line is searched itself; no face: centre crop.
expect 0 "$pre" --format tsv --root img --list mixed.tsv --detect haar --size 32 --on-no-face center -o det.h5
h5dump -a num_samples det.h5 | grep -q "(0): $lines\$" || fail "detection changed the sample count"
grep -q "faces found" err.txt || fail "no summary"
for d in landmarks crop_transform detector_score bbox; do
  h5ls det.h5 | grep -q "^$d " || fail "/$d missing from the store"
done
[[ ! -e x.h5 ]] || fail "output written on an error"

no_temp_files
