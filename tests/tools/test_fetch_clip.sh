#!/usr/bin/env bash
# scripts/fetch-clip.sh offline: downloads through a file:// CMCLIP_FETCH_BASE, checks
# the SHA-256, keeps verified files (idempotent), refuses and removes a mismatch.
# Usage (ctest): bash test_fetch_clip.sh BIN_DIR SCRATCH_DIR
set -euo pipefail
scratch=$2
src=${CMCLIP_SOURCE_DIR:?}
shared=${CMCLIP_SHARED:-$src/../shared}
vocab="$shared/data/bpe_simple_vocab_16e6.txt.gz"
if [[ ! -f "$vocab" ]]; then echo "SKIPPED: the BPE vocabulary $vocab is absent (../shared; or set CMCLIP_SHARED)"; exit 77; fi
fail() { echo "FAIL: $*" >&2; exit 1; }

rm -rf "$scratch"; mkdir -p "$scratch/mirror" "$scratch/home"
cp "$vocab" "$scratch/mirror/"
echo "not the weights" > "$scratch/mirror/ViT-B-16.pt"
export CMCLIP_HOME="$scratch/home" CMCLIP_FETCH_BASE="file://$scratch/mirror"
fetch="$src/scripts/fetch-clip.sh"

# The vocabulary verifies and lands; a second run downloads nothing.
bash "$fetch" vocab 2>"$scratch/log1" || fail "vocab fetch failed: $(cat "$scratch/log1")"
cmp -s "$vocab" "$scratch/home/bpe_simple_vocab_16e6.txt.gz" || fail "vocab not copied"
grep -q verified "$scratch/log1" || fail "no verification message"
rm "$scratch/mirror/bpe_simple_vocab_16e6.txt.gz"
bash "$fetch" vocab 2>"$scratch/log2" || fail "second run failed: $(cat "$scratch/log2")"
grep -q "present and verified" "$scratch/log2" || fail "second run did not keep the file"

# Wrong weights: refused, exit 1, nothing left behind.
if bash "$fetch" ViT-B-16 2>"$scratch/log3"; then fail "a mismatching download was accepted"; fi
grep -q "refusing ViT-B-16.pt" "$scratch/log3" || fail "no refusal message: $(cat "$scratch/log3")"
[[ -z "$(ls "$scratch/home" | grep -v '^bpe_simple_vocab_16e6.txt.gz$' || true)" ]] || fail "left files: $(ls "$scratch/home")"

# A damaged local vocabulary is replaced by a verified download.
cp "$vocab" "$scratch/mirror/"
echo damaged > "$scratch/home/bpe_simple_vocab_16e6.txt.gz"
bash "$fetch" vocab 2>"$scratch/log4" || fail "repair failed: $(cat "$scratch/log4")"
cmp -s "$vocab" "$scratch/home/bpe_simple_vocab_16e6.txt.gz" || fail "damaged file not replaced"

# A missing source is a failure (exit 1); an unknown item is bad usage (exit 2).
rm "$scratch/home/bpe_simple_vocab_16e6.txt.gz" "$scratch/mirror/bpe_simple_vocab_16e6.txt.gz"
set +e
bash "$fetch" vocab 2>/dev/null; [[ $? -eq 1 ]] || fail "missing source should exit 1"
bash "$fetch" RN50 2>/dev/null; [[ $? -eq 2 ]] || fail "unknown item should exit 2"
set -e
[[ ! -e "$scratch/home/bpe_simple_vocab_16e6.txt.gz" ]] || fail "partial file left"
echo "fetch-clip: all checks passed"
