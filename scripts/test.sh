#!/usr/bin/env bash
# The README's test command: installs what is missing, builds, runs every test.
# Arguments go to ctest (e.g. scripts/test.sh -L unit, or -R h5).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${CMCLIP_BUILD_DIR:-$root/build}
"$root/scripts/install-deps.sh"
"$root/scripts/build.sh"
cd "$build"
ctest --output-on-failure -j "$(nproc)" "$@"
