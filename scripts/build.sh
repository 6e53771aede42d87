#!/usr/bin/env bash
# Configures and builds cmclip into build/ (or $CMCLIP_BUILD_DIR). Extra arguments go
# to CMake's configure step, e.g. -DCMCLIP_SANITIZE=ON. CMCLIP_LIBTORCH=wheel builds
# against the official LibTorch (with CUDA) of PyPI's torch wheel instead, in
# build-wheel/ (see scripts/libtorch.sh).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/libtorch.sh"
root=$cmclip_source_root
build=$cmclip_build_dir
cmclip_libtorch_prepare
generator=()
if command -v ninja >/dev/null 2>&1; then generator=(-G Ninja); fi
if [[ ! -f "$build/CMakeCache.txt" ]]; then
  cmake -S "$root" -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo "${cmclip_libtorch_args[@]}" "$@"
elif (($#)); then
  cmake -S "$root" -B "$build" "$@"
fi
start=$(date +%s)
# CMCLIP_BUILD_TARGET: one target instead of everything (cmclip-tools: the six tools
# and their helper, what scripts/demo.sh runs).
cmake --build "$build" -j "$(nproc)" ${CMCLIP_BUILD_TARGET:+--target "$CMCLIP_BUILD_TARGET"}
echo "build: done in $(( $(date +%s) - start )) s ($build)" >&2
