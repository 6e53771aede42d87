#!/usr/bin/env bash
# The command-line contract every tool shares (docs/design.md §5): --help and --version
# exit 0, an unknown option exits 2 with a hint, every option --help lists is in the
# tool's man page, every man page renders without warnings, and files written by
# each schema writer show their layout and provenance under h5dump -H.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
tools=(fas-preprocess fas-synth fas-pretrain fas-fewshot fas-embed fas-eval)

for tool in "${tools[@]}"; do
  expect 0 "$bin/$tool" --help
  grep -q "Usage: $tool" out.txt || fail "$tool --help: no usage line"
  grep -q "Exit status" out.txt || fail "$tool --help: no exit statuses"
  grep -qi "example" out.txt || fail "$tool --help: no example"
  help=$(cat out.txt)
  expect 0 "$bin/$tool" --version
  for field in "$tool (cmclip)" commit: LibTorch: BLAS: waiting: HDF5: OpenCV: CUDA:; do
    grep -q "$field" out.txt || fail "$tool --version lacks '$field'"
  done
  expect 2 "$bin/$tool" --no-such-option
  grep -q "no-such-option" err.txt || fail "$tool: unknown option not named"
  grep -q "Run '$tool --help'" err.txt || fail "$tool: no hint to --help"

  # Every option of --help is documented in the man page (the page's source, with
  # groff's \- turned back into -).
  page="$src/man/$tool.1"
  [[ -f "$page" ]] || fail "no man page for $tool"
  text=$(sed 's/\\-/-/g; s/\\f[BIRP]//g' "$page")
  missing=()
  while read -r opt; do
    grep -q -- "$opt" <<<"$text" || missing+=("$opt")
  done < <(grep -o -- '--[a-z][a-z0-9-]*' <<<"$help" | sort -u)
  ((${#missing[@]} == 0)) || fail "$tool.1 does not document: ${missing[*]}"
done

# A typo gets the closest option named, before any other complaint.
expect 2 "$bin/fas-eval" --tset x.h5
grep -q "unknown option --tset (did you mean --test?)" err.txt || fail "no 'did you mean' for a typo"
# After a subcommand's name its options are known (cmclip-bench, when built).
bench_tool=$(dirname "$bin")/bench/cmclip-bench
if [[ -x $bench_tool ]]; then
  expect 0 "$bench_tool" --threads 1 image --model builtin:tiny --batch 1 --runs 1
  expect 2 "$bench_tool" image --modle builtin:tiny
  grep -q "unknown option --modle (did you mean --model?)" err.txt || fail "no 'did you mean' inside a subcommand"
fi

# cmake --install puts the tools, the library and the manual in a prefix, and the
# installed tools run from there.
cmake --install "$(dirname "$bin")" --prefix "$scratch/prefix" >/dev/null
for tool in "${tools[@]}"; do
  "$scratch/prefix/bin/$tool" --version >/dev/null || fail "installed $tool does not run"
  [[ -f "$scratch/prefix/share/man/man1/$tool.1" ]] || fail "$tool.1 not installed"
done
[[ -f "$scratch/prefix/share/man/man5/fas-formats.5" && -f "$scratch/prefix/share/man/man7/fas-pipeline.7" ]] \
  || fail "fas-formats.5 or fas-pipeline.7 not installed"
[[ -f "$scratch/prefix/include/cmclip/h5/samples.hpp" ]] || fail "headers not installed"
# The helper of the HDF5 structure check (fas-errors(7)), found by the installed tools.
[[ -x "$scratch/prefix/libexec/cmclip/cmclip-h5-probe" ]] || fail "cmclip-h5-probe not installed"
expect 2 "$scratch/prefix/bin/fas-eval" --test "$CMCLIP_SOURCE_DIR/tests/fuzz/corpus/h5_samples/crash-gheap-missing-object"
grep -q "damaged file: value 0 names object" err.txt || fail "the installed fas-eval does not check HDF5 files: $(cat err.txt)"
# libhdf5 crashing inside the helper (a stand-in that dies of SIGSEGV after naming an
# object): the file is refused with that object, and the tool lives.
printf '#!/bin/sh\necho /attack\nkill -SEGV $$\n' >crashing-probe && chmod +x crashing-probe
CMCLIP_H5_PROBE=$PWD/crashing-probe expect 2 "$scratch/prefix/bin/fas-eval" \
  --test "$CMCLIP_SOURCE_DIR/tests/fuzz/corpus/h5_samples/rgb.h5"
grep -q "rgb.h5: /attack: damaged file: libhdf5 crashed (Segmentation fault)" err.txt \
  || fail "a crashing probe is not reported as a damaged file: $(cat err.txt)"

# Every page renders without warnings.
for page in "$src"/man/*.[157]; do
  warnings=$(MANWIDTH=80 man --warnings -l "$page" 2>&1 >/dev/null)
  [[ -z "$warnings" ]] || fail "$(basename "$page"): $warnings"
done

# Idle compute threads sleep (core/runtime.hpp): a tool that runs a model on several
# threads starts itself again with OMP_WAIT_POLICY=PASSIVE, once; a policy the user set
# is kept; a run of one thread, or a tool that runs no model, is left as it is. The
# restarted run writes the same numbers.
printf 'a photo of a real face\na photo of a printed face\n' >prompts.txt
embed=("$bin/fas-embed" -v --model builtin:tiny --text-file prompts.txt)
expect 0 env -u OMP_WAIT_POLICY -u GOMP_SPINCOUNT "${embed[@]}" --threads 2 -o passive.h5
grep -q "idle threads wait by OMP_WAIT_POLICY=PASSIVE (set by cmclip)" err.txt || fail "no passive policy: $(cat err.txt)"
(( $(grep -c "threads: 2;" err.txt) == 1 )) || fail "the restarted tool logged its start more than once"
expect 0 env OMP_WAIT_POLICY=ACTIVE "${embed[@]}" --threads 2 -o active.h5
grep -q "idle threads wait by OMP_WAIT_POLICY=ACTIVE (from the environment)" err.txt || fail "the user's policy not kept"
cmp -s <(h5dump -d /features passive.h5 | sed 1d) <(h5dump -d /features active.h5 | sed 1d) || fail "the restarted run wrote other features"
expect 0 env -u OMP_WAIT_POLICY -u GOMP_SPINCOUNT "${embed[@]}" --threads 1 -o one.h5
grep -q "idle threads wait by libgomp's default" err.txt || fail "a one-thread run was restarted: $(cat err.txt)"
expect 0 env -u OMP_WAIT_POLICY -u GOMP_SPINCOUNT "$bin/fas-synth" -v --subjects 2 --size 32 --frames 1 --threads 2 -o synth.h5
grep -q "idle threads wait by libgomp's default" err.txt || fail "fas-synth (no model) was restarted: $(cat err.txt)"

# The schemas under h5dump -H: layout and provenance.
"$bin/fas-synth" -q --subjects 3 --size 32 --frames 1 -o samples.h5
"$bin/fas-pretrain" -q --clip builtin:tiny --train samples.h5 --method linear-probe --epochs 1 --batch-size 2 -o ckpt.h5
"$bin/fas-embed" -q --model ckpt.h5 --data samples.h5 -o scores.h5
for f in samples.h5 ckpt.h5 scores.h5; do
  h5dump -H "$f" > header.txt
  for attr in format format_version created_by command_line created_at; do
    grep -q "ATTRIBUTE \"$attr\"" header.txt || fail "$f: no $attr attribute"
  done
done
# (captured first: grep -q ending a pipe early would fail it under pipefail)
header=$(h5dump -H samples.h5); grep -q 'DATASET "images"' <<<"$header" || fail "sample store without /images"
header=$(h5dump -H ckpt.h5); grep -q 'GROUP "params"' <<<"$header" || fail "checkpoint without /params"
header=$(h5dump -H scores.h5); grep -q 'DATASET "score"' <<<"$header" || fail "scores without /score"
header=$(h5dump -a /format scores.h5); grep -q "cmclip.scores" <<<"$header" || fail "wrong format attribute"
echo ok
