#!/usr/bin/env bash
# fas-synth's command-line contract: --help, exit statuses and messages, the files it
# writes (per split), determinism across runs and thread counts, no partial output
# (also when interrupted by a signal).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
synth=$bin/fas-synth

# Help that teaches, and the version.
expect 0 "$synth" --help
grep -q "Example" out.txt || fail "--help has no example"
grep -q -- "--images-out" out.txt || fail "--help lacks --images-out"
grep -q "Exit status" out.txt || fail "--help lacks the exit statuses"
expect 0 "$synth" --version
grep -q "fas-synth" out.txt

# Bad usage: exit 2, a message, nothing written.
expect 2 "$synth" --subjects 2
grep -q "nothing to write" err.txt || fail "no message for a missing output"
expect 2 "$synth" --subjects 0 -o x.h5
expect 2 "$synth" --attacks print,paper -o x.h5
grep -q "'paper' is not print, replay or mask" err.txt || fail "unclear --attacks error"
expect 2 "$synth" --split train,dev,test --subjects 2 -o x.h5
grep -q "needs at least 3 subjects" err.txt || fail "unclear --split error"
expect 2 "$synth" -o missing/x.h5
grep -q "does not exist" err.txt
expect 2 "$synth" --images-out img
grep -q "go together" err.txt
expect 2 "$synth" --no-such-option -o x.h5
[[ ! -e x.h5 && ! -e img ]] || fail "output written on a usage error"
no_temp_files

# A set in three splits, as a store per split and as images plus lists.
"$synth" -q --subjects 3 --split train,dev,test --size 32 --frames 2 --seed 4 \
  -o s.h5 --images-out img --list-out list.tsv --preview sheet.png
for s in train dev test; do
  [[ -f s-$s.h5 && -f list-$s.tsv && -d img/$s ]] || fail "missing output for split $s"
done
[[ -f sheet.png ]] || fail "no preview"
h5ls s-train.h5 > ls.txt
grep -Eq '^images +Dataset \{18/Inf, 32, 32, 3\}' ls.txt || { cat ls.txt; fail "unexpected /images shape"; }
grep -q '^record' ls.txt || fail "no /record"
[[ $(wc -l < list-dev.tsv) == 19 ]] || fail "list-dev.tsv should have a header and 18 rows"
head -1 list-dev.tsv | grep -q $'^path\tlabel\tmodality\tattack_type\tsubject\tvideo\tframe$'
[[ $(h5dump -a /split s-test.h5 | grep -c '"test"') == 1 ]] || fail "split attribute"

# Same seed, other thread count: identical images; another seed: different.
"$synth" -q --subjects 3 --split train,dev,test --size 32 --frames 2 --seed 4 --threads 1 -o t.h5
h5dump -d /images s-dev.h5 | tail -n +3 > a.txt
h5dump -d /images t-dev.h5 | tail -n +3 > b.txt
cmp -s a.txt b.txt || fail "same seed gave different images"
"$synth" -q --subjects 3 --split train,dev,test --size 32 --frames 2 --seed 5 -o u.h5
h5dump -d /images u-dev.h5 | tail -n +3 > c.txt
! cmp -s a.txt c.txt || fail "another seed gave the same images"

# Refuses to mix with earlier images.
expect 2 "$synth" --subjects 1 --size 32 --images-out img --list-out other.tsv
grep -q "not empty" err.txt
[[ ! -e other.tsv ]] || fail "list written although the images were refused"

# Interrupted: no store, no images, no temporary files.
"$synth" -q --subjects 400 --size 128 --frames 3 --threads 1 -o big.h5 --images-out bigimg --list-out big.tsv &
pid=$!
sleep 2
kill -TERM $pid
set +e; wait $pid; status=$?; set -e
[[ $status != 0 ]] || fail "an interrupted run exited 0"
[[ ! -e big.h5 && ! -e bigimg && ! -e big.tsv ]] || fail "partial output after a signal"
no_temp_files
# The manual renders without warnings.
man_renders "$src/man/fas-synth.1"
echo "fas-synth tool tests passed"
