#!/usr/bin/env bash
# The README's test command: installs what is missing, builds, runs every test.
# Arguments go to ctest (e.g. scripts/test.sh -L unit, or -R h5). CMCLIP_LIBTORCH=wheel
# builds and tests against the official LibTorch of PyPI's torch wheel (scripts/libtorch.sh).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/libtorch.sh"
root=$cmclip_source_root
build=$cmclip_build_dir
"$root/scripts/install-deps.sh"
"$root/scripts/build.sh"
cd "$build"
# The last line counts the skipped tests (missing ../shared, clang, Python packages...)
# and names them; ctest lists them above as "(Skipped)".
log=$(mktemp)
rc=0
ctest --output-on-failure -j "$(nproc)" "$@" 2>&1 | tee "$log" || rc=$?
skipped=$(sed -n 's/^[[:space:]]*[0-9]* - \(.*\) (Skipped)$/\1/p' "$log" | paste -sd ' ' -)
rm -f "$log"
echo "test.sh: $(wc -w <<<"$skipped") test(s) skipped${skipped:+: $skipped}"
exit "$rc"
