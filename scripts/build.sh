#!/usr/bin/env bash
# Configures and builds cmclip into build/ (or $CMCLIP_BUILD_DIR). Extra arguments go
# to CMake's configure step, e.g. -DCMCLIP_SANITIZE=ON.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${CMCLIP_BUILD_DIR:-$root/build}
generator=()
if command -v ninja >/dev/null 2>&1; then generator=(-G Ninja); fi
if [[ ! -f "$build/CMakeCache.txt" ]]; then
  cmake -S "$root" -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@"
elif (($#)); then
  cmake -S "$root" -B "$build" "$@"
fi
start=$(date +%s)
cmake --build "$build" -j "$(nproc)"
echo "build: done in $(( $(date +%s) - start )) s ($build)" >&2
