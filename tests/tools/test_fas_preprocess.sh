#!/usr/bin/env bash
# fas-preprocess's command-line contract: --help, exit statuses and messages naming the
# file and line, lists from stdin, the synth -> images+tsv -> preprocess round trip,
# output independent of --threads, no partial output.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
pre=$bin/fas-preprocess

expect 0 "$pre" --help
grep -q "Example" out.txt || fail "--help has no example"
for f in casia-surf casia-fas cefa wmca tsv; do grep -q "$f" out.txt || fail "--help does not mention $f"; done

# Data: a synthetic set as images and a tsv list, and the same set as a store.
"$bin/fas-synth" -q --subjects 2 --attacks print,replay --size 48 --frames 2 --seed 9 \
  --images-out img --list-out list.tsv -o direct.h5

# Usage and input errors: exit 2, message, no output.
expect 2 "$pre" --list list.tsv -o x.h5
grep -q -- "--format" err.txt || fail "no message for the missing --format"
expect 2 "$pre" --format oulu --list list.tsv -o x.h5
expect 2 "$pre" --format tsv --list nowhere.tsv -o x.h5
grep -q "nowhere.tsv" err.txt || fail "the missing list is not named"
expect 2 "$pre" --format tsv --list list.tsv --root img --modalities thermal -o x.h5
grep -q "asks for thermal" err.txt
expect 2 "$pre" --format tsv --list list.tsv --root img --detect haar --cascade none.xml -o x.h5
grep -q "none.xml" err.txt
printf 'path\tlabel\tmodality\nimg/a.png\tmaybe\trgb\n' > bad.tsv
expect 2 "$pre" --format tsv --list bad.tsv -o x.h5
grep -q "bad.tsv: line 2: label 'maybe'" err.txt || fail "malformed line not located: $(cat err.txt)"
# The casia-surf polarity trap: a 0 on a real_part path.
mkdir -p Training/real_part/A_1/real.rssdk/{color,depth,ir}
echo "Training/real_part/A_1/real.rssdk/color/1.jpg Training/real_part/A_1/real.rssdk/depth/1.jpg Training/real_part/A_1/real.rssdk/ir/1.jpg 0" > surf.txt
expect 2 "$pre" --format casia-surf --list surf.txt -o x.h5
grep -q "label-polarity" err.txt || fail "polarity trap not explained"
expect 2 "$pre" --format casia-surf --list surf.txt --label-polarity live=0 -o x.h5
grep -q "no such rgb file" err.txt || fail "missing frame not reported"
grep -q "line 1 of surf.txt" err.txt
[[ ! -e x.h5 ]] || fail "output written on an error"
no_temp_files

# The round trip: same datasets as fas-synth -o.
"$pre" -q --format tsv --root img --list list.tsv --detect none --size 48 --threads 2 -o pre.h5
for d in images label attack modality subject video frame source bbox record attack_names; do
  h5diff -q direct.h5 pre.h5 /$d /$d || fail "/$d differs between fas-synth -o and fas-preprocess"
done
# The list from standard input, one thread: the same store.
"$pre" -q --format tsv --root img --list - --detect none --size 48 --threads 1 -o stdin.h5 < list.tsv
h5diff -q pre.h5 stdin.h5 /images /images || fail "stdin/threads changed the images"
h5dump -a /list stdin.h5 | grep -q '<stdin>'

# Face detection on the generated faces, with a summary on stderr.
"$pre" --format tsv --root img --list list.tsv --size 32 --on-no-face center -o det.h5 --preview det.png 2> log.txt
grep -q "faces found" log.txt || fail "no summary"
grep -q "samples per modality" log.txt
[[ -f det.png ]] || fail "no preview"
h5dump -a /detect det.h5 | grep -Eq "haar|mtcnn"  # mtcnn where its networks are installed
no_temp_files
# The manual renders without warnings.
man_renders "$src/man/fas-preprocess.1"
echo "fas-preprocess tool tests passed"
