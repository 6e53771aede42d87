#!/usr/bin/env bash
# The README's test command: installs what is missing, builds, runs the tests.
#
#   scripts/test.sh            the unit and tool tests (label unit|tools)
#   scripts/test.sh --all      every test: also fuzzing (a clang build), the one-node
#                              SLURM run, the killed-run test, the quick benchmark and
#                              scripts/gpu-check.sh --device cpu (label gpu) (what CI
#                              runs: .ci/run)
#   scripts/test.sh -L unit    other arguments go to ctest (-L, -R, -E choose the tests
#                              themselves)
#
# CMCLIP_LIBTORCH=wheel builds and tests against the official LibTorch of PyPI's torch
# wheel (scripts/libtorch.sh).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/libtorch.sh"
root=$cmclip_source_root
build=$cmclip_build_dir
profile=test
if [[ "${1:-}" == "--all" ]]; then
  profile=all
  shift
fi
selection=()
if [[ $profile == test ]]; then
  selection=(-L 'unit|tools')
  for arg in "$@"; do
    case $arg in -L | -R | -E | -LE | -I | --label-regex* | --tests-regex* | --exclude-regex*) selection=() ;; esac
  done
fi
"$root/scripts/install-deps.sh" --for "$profile"
"$root/scripts/build.sh"
cd "$build"
# The last line counts the skipped tests (missing ../shared, clang, Python packages...)
# and names them; ctest lists them above as "(Skipped)".
log=$(mktemp)
rc=0
ctest --output-on-failure -j "$(nproc)" "${selection[@]}" "$@" 2>&1 | tee "$log" || rc=$?
skipped=$(sed -n 's/^[[:space:]]*[0-9]* - \(.*\) (Skipped)$/\1/p' "$log" | paste -sd ' ' -)
rm -f "$log"
echo "test.sh: $(wc -w <<<"$skipped") test(s) skipped${skipped:+: $skipped}"
exit "$rc"
