#!/usr/bin/env bash
# The whole test suite under AddressSanitizer + UndefinedBehaviorSanitizer: configures
# build-asan/ (or $CMCLIP_ASAN_BUILD_DIR) with -DCMCLIP_SANITIZE=ON, builds it, and runs
# ctest there. Arguments go to ctest (e.g. -L unit, -R h5). A sanitizer report fails
# the test that triggered it (UBSan halts on the first error; ASan always does).
#
#   scripts/test-sanitize.sh            # everything but the fuzz label (its own build)
#   scripts/test-sanitize.sh -L tools   # the tool tests only
#
# Runtime settings and why (override any of them in the environment):
#   ASAN_OPTIONS
#     detect_leaks=1 with suppressions=tests/sanitize/lsan.supp: a few libraries keep
#       allocations from their start-up until exit (see the file: each entry says
#       whose and why); everything else must be freed.
#     detect_stack_use_after_return=0: LibTorch's OpenMP worker threads switch stacks;
#       the fake-stack check adds minutes and reports nothing useful there.
#     allocator_may_return_null=1: an impossible allocation (a corrupt HDF5 extent)
#       must reach the tools as std::bad_alloc, reported as exit status 1, as it does
#       without ASan.
#     abort_on_error=0, halt_on_error=1: a report ends the process with exit status 1,
#       which the tests see as a failure.
#   UBSAN_OPTIONS
#     print_stacktrace=1:halt_on_error=1 (the build adds -fno-sanitize-recover).
#   CMCLIP_PROGRESS_SECONDS=1000: as in the normal run.
# Tests that time their tools (none do: speed is checked by scripts/bench-*) would be
# meaningless here; everything runs about 3 times slower.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${CMCLIP_ASAN_BUILD_DIR:-$root/build-asan}
generator=()
command -v ninja >/dev/null 2>&1 && generator=(-G Ninja)
if [[ ! -f $build/CMakeCache.txt ]]; then
  cmake -S "$root" -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMCLIP_SANITIZE=ON
fi
start=$(date +%s)
cmake --build "$build" -j "${CMCLIP_JOBS:-$(nproc)}"
echo "sanitize: built in $(($(date +%s) - start)) s ($build)" >&2

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:detect_stack_use_after_return=0:allocator_may_return_null=1:abort_on_error=0:halt_on_error=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$root/tests/sanitize/lsan.supp:print_suppressions=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
cd "$build"
start=$(date +%s)
status=0
ctest --output-on-failure -j "${CMCLIP_JOBS:-$(nproc)}" -LE fuzz "$@" || status=$?
echo "sanitize: tests ran in $(($(date +%s) - start)) s" >&2
exit $status
