#!/usr/bin/env bash
# fas-embed end to end with builtin:tiny (no downloads, no fixtures): images written
# here as PPM files, prompts, a cmclip checkpoint of the model, the usage and input
# errors with their exit status, --help and the man page.
# Usage (ctest): bash test_embed.sh BIN_DIR SCRATCH_DIR
set -euo pipefail
bin=$1 scratch=$2
src=${CMCLIP_SOURCE_DIR:?}
fail() { echo "FAIL: $*" >&2; exit 1; }
rm -rf "$scratch"; mkdir -p "$scratch/img"
embed="$bin/fas-embed"

# Three small colour images (PPM, 80x60, 50x70, 64x64) and a list with a blank line.
ppm() {  # FILE W H SEED
  local f=$1 w=$2 h=$3 s=$4
  { echo "P3"; echo "$w $h"; echo 255
    for ((i = 0; i < w * h; i++)); do echo "$(((i * 7 + s) % 256)) $(((i * 13 + 2 * s) % 256)) $(((i * 3 + s) % 256))"; done
  } > "$f"
}
ppm "$scratch/img/a.ppm" 80 60 1
ppm "$scratch/img/b.ppm" 50 70 2
ppm "$scratch/img/c.ppm" 64 64 3
printf 'img/a.ppm\nimg/b.ppm\n\nimg/c.ppm\n' > "$scratch/list.txt"

"$embed" -q --model builtin:tiny --images "$scratch/list.txt" -o "$scratch/img.h5" --batch-size 2 --threads 2 \
  || fail "image embedding failed"
h5ls "$scratch/img.h5/features" | grep -q '{3/Inf, 64}' || fail "features shape: $(h5ls "$scratch/img.h5/features")"
h5dump -d /source "$scratch/img.h5" | grep -q '"img/c.ppm"' || fail "/source lacks the list line"
h5dump -d /index "$scratch/img.h5" | grep -q '1, 2, 4' || fail "/index is not the line numbers"
h5ls "$scratch/img.h5/score" >/dev/null 2>&1 && fail "feature-only output has /score"
h5dump -a /format "$scratch/img.h5" | grep -q cmclip.scores || fail "format attribute"

# The same run twice (same threads) gives the same features (determinism).
"$embed" -q --model builtin:tiny --images "$scratch/list.txt" -o "$scratch/img2.h5" --batch-size 2 --threads 2
cmp <(h5dump -d /features "$scratch/img.h5" | tail -n +2) <(h5dump -d /features "$scratch/img2.h5" | tail -n +2) >/dev/null \
  || fail "two identical runs gave different features"

# Prompts with the byte-level vocabulary: no BPE file needed.
printf 'a photo of a real face\n\na printed photo of a face\n' > "$scratch/prompts.txt"
CMCLIP_BPE=/nonexistent "$embed" -q --model builtin:tiny --text-file "$scratch/prompts.txt" -o "$scratch/text.h5" \
  || fail "text embedding failed"
h5ls "$scratch/text.h5/tokens" | grep -q '{2/Inf, 77}' || fail "tokens shape"
h5ls "$scratch/text.h5/features" | grep -q '{2/Inf, 64}' || fail "text features shape"
h5dump -d /tokens "$scratch/text.h5" | grep -q '(0,0): 512, 320, 79' || fail "byte-level tokens: SOT 512, 'a</w>' 320, 'p' 79"
h5dump -d /line "$scratch/text.h5" | grep -q '1, 3' || fail "/line"

# Exit status 2 and a message naming the record; no output left behind.
expect_fail() {  # STATUS NEEDLE ARGS...
  local want=$1 needle=$2; shift 2
  set +e; "$embed" "$@" 2>"$scratch/err"; local got=$?; set -e
  [[ $got -eq $want ]] || fail "exit $got instead of $want for: $* ($(cat "$scratch/err"))"
  grep -q -- "$needle" "$scratch/err" || fail "message lacks '$needle': $(cat "$scratch/err")"
}
printf 'img/a.ppm\nimg/missing.png\n' > "$scratch/bad.txt"
expect_fail 2 "bad.txt: line 2" --model builtin:tiny --images "$scratch/bad.txt" -o "$scratch/bad.h5"
[[ ! -e "$scratch/bad.h5" ]] || fail "partial output after a bad list"
echo "not an archive" > "$scratch/fake.pt"
expect_fail 2 "fake.pt" --model "$scratch/fake.pt" --images "$scratch/list.txt" -o "$scratch/x.h5"
expect_fail 2 "builtin:tiny" --model builtin:nope --images "$scratch/list.txt" -o "$scratch/x.h5"
expect_fail 2 "needs --model" --images "$scratch/list.txt" -o "$scratch/x.h5"
expect_fail 2 "" --model builtin:tiny --images "$scratch/list.txt" --text-file "$scratch/prompts.txt" -o "$scratch/x.h5"
expect_fail 2 "" --model builtin:tiny -o "$scratch/x.h5"
expect_fail 2 "fixed head counts" --model builtin:tiny --text-heads 4 --images "$scratch/list.txt" -o "$scratch/x.h5"
long=$(printf 'word %.0s' {1..80})
echo "$long" > "$scratch/long.txt"
expect_fail 2 "long.txt: line 1" --model builtin:tiny --text-file "$scratch/long.txt" -o "$scratch/x.h5"
"$embed" -q --model builtin:tiny --text-file "$scratch/long.txt" --truncate -o "$scratch/long.h5" || fail "--truncate"
[[ ! -e "$scratch/x.h5" ]] || fail "output written by a failed run"

# --help teaches; the man page renders without warnings.
help=$("$embed" --help)  # captured first: grep -q closing the pipe early would fail it
grep -q -- "--text-file" <<<"$help" || fail "--help lacks --text-file"
grep -q -- "--data" <<<"$help" || fail "--help lacks --data"
grep -q "Examples" <<<"$help" || fail "--help lacks examples"
if command -v man >/dev/null 2>&1; then
  warnings=$(MANWIDTH=80 man --warnings -l "$src/man/fas-embed.1" 2>&1 >/dev/null)
  [[ -z "$warnings" ]] || fail "man page warnings: $warnings"
fi
echo "fas-embed: all checks passed"
