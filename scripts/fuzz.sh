#!/usr/bin/env bash
# Builds and runs the libFuzzer targets (tests/fuzz, man fas-errors(7)) with clang.
#
#   scripts/fuzz.sh build                 configure + build in $CMCLIP_FUZZ_BUILD_DIR (build-fuzz/)
#   scripts/fuzz.sh run TARGET SECONDS    fuzz TARGET for SECONDS
#   scripts/fuzz.sh all SECONDS           build, then every target for SECONDS
#   scripts/fuzz.sh regress [TARGET]      replay the committed corpus once
#   scripts/fuzz.sh check TARGET RUNS     replay the corpus, then a seeded campaign of RUNS
#                                         inputs: the same inputs on every machine (ctest)
#
# Targets: list_reader text_lists tokenizer bpe_file score_tsv image h5_samples h5_scores h5_checkpoint.
# A run starts from the committed corpus tests/fuzz/corpus/TARGET (seeds and the inputs
# of every crash fixed so far) and writes what it adds to BUILD_DIR/corpus/TARGET, so the
# source tree stays clean. A crash leaves its input in BUILD_DIR/artifacts/TARGET/ and
# fails the run: fix it, then copy the input into tests/fuzz/corpus/TARGET/ as a
# regression input (name it crash-<what>). Without clang the script says so and exits 77,
# which ctest reports as a skipped test (neither passed nor failed). Environment: CMCLIP_BPE (the
# BPE vocabulary; default: $CMCLIP_SHARED or ../shared, data/bpe_simple_vocab_16e6.txt.gz), which
# the tokenizer and bpe_file targets load: `check` and `regress` of those skip (77) without it,
# `run` fuzzes without it; CMCLIP_FUZZ_JOBS (build jobs, 2), CMCLIP_FUZZ_SEED (the seed of
# `check`, 1).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cmd=${1:-}
shift || true
build=${CMCLIP_FUZZ_BUILD_DIR:-$root/build-fuzz}
corpus_src=$root/tests/fuzz/corpus
# An allocation over 512 MiB fails (NULL, then std::bad_alloc or libhdf5's own error) as
# it would in a memory-limited job. A damaged HDF5 file can claim a local heap or a string
# of gigabytes, which libhdf5 allocates (and zero-fills) before it finds the bytes missing:
# the plain tools get through that in seconds, AddressSanitizer takes over 20 s (a timeout
# that is not the readers' doing).
asan_options=detect_leaks=0:allocator_may_return_null=1:max_allocation_size_mb=512

runtime=$(clang++ -print-resource-dir 2>/dev/null)/lib/linux/libclang_rt.fuzzer-$(uname -m).a
if ! command -v clang++ >/dev/null 2>&1 || [[ ! -f $runtime ]]; then
  echo "SKIPPED: clang++ or its libFuzzer runtime not found (Debian: clang libclang-rt-dev)"
  exit 77
fi

bpe=${CMCLIP_BPE:-${CMCLIP_SHARED:-$root/../shared}/data/bpe_simple_vocab_16e6.txt.gz}
# needs_bpe TARGET [skip]: exports CMCLIP_BPE for the targets that load the vocabulary;
# without it, `skip` exits 77 (ctest: skipped) and otherwise the target fuzzes without it.
needs_bpe() {
  [[ $1 == tokenizer || $1 == bpe_file ]] || return 0
  if [[ -f $bpe ]]; then export CMCLIP_BPE=$bpe; return 0; fi
  unset CMCLIP_BPE
  if [[ ${2:-} == skip ]]; then echo "SKIPPED: fuzz target $1 needs the BPE vocabulary $bpe (absent)"; exit 77; fi
  echo "fuzz.sh: $bpe absent: $1 runs without the real vocabulary" >&2
}

build_targets() {
  local generator=()
  command -v ninja >/dev/null 2>&1 && generator=(-G Ninja)
  if [[ ! -f $build/CMakeCache.txt ]]; then
    cmake -S "$root" -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DCMCLIP_FUZZ=ON -DCMCLIP_BUILD_TESTS=OFF >/dev/null
  fi
  cmake --build "$build" --target fuzz -j "${CMCLIP_FUZZ_JOBS:-2}"
}

# fuzz TARGET CORPUS_OUT LIBFUZZER_OPTIONS...: a campaign from the committed corpus that
# adds what it finds to CORPUS_OUT.
fuzz() {
  local t=$1 out=$2 exe=$build/fuzz/fuzz_$1
  shift 2
  [[ -x $exe ]] || { echo "fuzz.sh: $exe is not built (scripts/fuzz.sh build)" >&2; exit 2; }
  mkdir -p "$out" "$build/artifacts/$t"
  # Timeouts and memory: a slow or huge input is a finding too. OpenCV reads its pixel
  # limit once, when it is loaded: the same as the tools' own (kMaxImagePixels).
  OPENCV_IO_MAX_IMAGE_PIXELS=67108864 \
  ASAN_OPTIONS=${ASAN_OPTIONS:-$asan_options} \
  UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
    "$exe" "$@" -timeout=20 -rss_limit_mb=3072 -print_final_stats=1 \
      -artifact_prefix="$build/artifacts/$t/" "$out" "$corpus_src/$t" \
      > "$build/artifacts/$t.log" 2>&1 || {
    tail -n 60 "$build/artifacts/$t.log" >&2
    echo "fuzz.sh: $t crashed; input in $build/artifacts/$t/" >&2
    exit 1
  }
  grep -E "^stat::number_of_executed_units|^#[0-9]+ +DONE" "$build/artifacts/$t.log" | tail -n 2 | sed "s/^/$t: /"
}

run_target() { fuzz "$1" "$build/corpus/$1" -max_total_time="$2"; }  # TARGET SECONDS

# check TARGET RUNS: what ctest runs. A fixed seed, a fixed number of inputs and a fresh
# output corpus make the campaign the same on every machine and every run, so the suite
# answers the same; longer campaigns (run, all) explore further.
check_target() {
  local out=$build/check-corpus/$1
  rm -rf "$out"
  regress_target "$1"
  fuzz "$1" "$out" -seed="${CMCLIP_FUZZ_SEED:-1}" -runs="$2"
}

regress_target() {  # TARGET: every committed input once
  local t=$1 exe=$build/fuzz/fuzz_$1
  [[ -x $exe ]] || { echo "fuzz.sh: $exe is not built" >&2; exit 2; }
  OPENCV_IO_MAX_IMAGE_PIXELS=67108864 ASAN_OPTIONS=${ASAN_OPTIONS:-$asan_options} \
    "$exe" -timeout=20 -rss_limit_mb=3072 "$corpus_src/$t"/* > "$build/artifacts-$t-regress.log" 2>&1 || {
    tail -n 60 "$build/artifacts-$t-regress.log" >&2
    echo "fuzz.sh: $t fails on a committed input" >&2
    exit 1
  }
  echo "$t: $(ls "$corpus_src/$t" | wc -l) committed inputs replayed"
}

# The targets built (tests/fuzz/targets.cmake lists them).
built_targets() { for f in "$build"/fuzz/fuzz_*; do [[ -x $f ]] && basename "$f" | sed 's/^fuzz_//'; done; }

case $cmd in
  build) build_targets ;;
  run) needs_bpe "$1"; run_target "$1" "$2" ;;
  check) needs_bpe "$1" skip; check_target "$1" "$2" ;;
  all)
    build_targets
    for t in $(built_targets); do (needs_bpe "$t"; run_target "$t" "$1"); done ;;
  regress)
    if [[ $# -ge 1 ]]; then needs_bpe "$1" skip; regress_target "$1"
    else for t in $(built_targets); do (needs_bpe "$t"; regress_target "$t"); done; fi ;;
  *) sed -n '2,21p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
