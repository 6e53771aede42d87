# Which LibTorch a build uses; sourced by scripts/build.sh, scripts/test.sh and the
# other scripts that find the build folder. Set CMCLIP_LIBTORCH to choose:
#
#   (unset) or system   the distribution's LibTorch (Debian: libtorch-dev), in build/
#   wheel               the official LibTorch with CUDA inside PyPI's torch wheel,
#                       version $CMCLIP_TORCH_WHEEL (pinned below), in build-wheel/;
#                       installed on first use into a virtual environment in the
#                       cache ($CMCLIP_CACHE, default ~/.cache/cmclip)
#   /path/to/libtorch   an unpacked official LibTorch archive, in build-libtorch/
#
# CMCLIP_BUILD_DIR overrides the build folder in every case.
#
# After sourcing: cmclip_build_dir (the build folder), cmclip_libtorch_args (CMake
# arguments that select the LibTorch), and cmclip_libtorch_prepare, a function that
# installs the wheel when it is missing.

# The version the lent GPU machines carry (PyTorch 2.11 with CUDA 13.0), so that what
# builds here also runs there. Its CUDA major version matches the toolkit's (nvcc 13).
CMCLIP_TORCH_WHEEL=${CMCLIP_TORCH_WHEEL:-2.11.0}
cmclip_cache=${CMCLIP_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/cmclip}
cmclip_source_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cmclip_wheel_env=$cmclip_cache/torch-$CMCLIP_TORCH_WHEEL

case "${CMCLIP_LIBTORCH:-system}" in
  system)
    cmclip_build_dir=${CMCLIP_BUILD_DIR:-$cmclip_source_root/build}
    cmclip_libtorch_args=() ;;
  wheel)
    cmclip_build_dir=${CMCLIP_BUILD_DIR:-$cmclip_source_root/build-wheel}
    # The torch package folder holds lib/ and share/cmake/Torch: as the CMake prefix,
    # its libraries are found before any system LibTorch.
    cmclip_libtorch_args=(-DCMAKE_PREFIX_PATH="$(echo "$cmclip_wheel_env"/lib/python3*/site-packages/torch)") ;;
  /*)
    cmclip_build_dir=${CMCLIP_BUILD_DIR:-$cmclip_source_root/build-libtorch}
    cmclip_libtorch_args=(-DCMAKE_PREFIX_PATH="$CMCLIP_LIBTORCH") ;;
  *)
    echo "CMCLIP_LIBTORCH='$CMCLIP_LIBTORCH': expected system, wheel or the absolute path of a LibTorch" >&2
    exit 2 ;;
esac

# Installs the pinned torch wheel (and the NVIDIA libraries it depends on) into its own
# virtual environment, once; a '.complete' mark tells a finished one from an interrupted one.
cmclip_wheel_install() {
  [[ -f "$cmclip_wheel_env/.complete" ]] && return 0
  echo "libtorch: installing torch $CMCLIP_TORCH_WHEEL from PyPI into $cmclip_wheel_env (about 5 GB, once)" >&2
  rm -rf "$cmclip_wheel_env"
  mkdir -p "$cmclip_cache"
  if ! python3 -m venv "$cmclip_wheel_env" 2>/dev/null; then
    rm -rf "$cmclip_wheel_env"
    echo "libtorch: 'python3 -m venv' failed; install Debian's python3-venv package" >&2
    return 1
  fi
  "$cmclip_wheel_env/bin/pip" install --quiet --disable-pip-version-check "torch==$CMCLIP_TORCH_WHEEL"
  touch "$cmclip_wheel_env/.complete"
}

cmclip_libtorch_prepare() {
  [[ "${CMCLIP_LIBTORCH:-system}" == wheel ]] || return 0
  cmclip_wheel_install || return 1
  cmclip_libtorch_args=(-DCMAKE_PREFIX_PATH="$(echo "$cmclip_wheel_env"/lib/python3*/site-packages/torch)")
}

# The Python of the official PyTorch (the same pinned wheel), with the pinned packages
# the benchmark's baselines import: the competitor a researcher installs with pip.
# Prints its path.
CMCLIP_BENCH_PACKAGES=(numpy==2.2.6 scikit-learn==1.6.1 h5py==3.13.0)
cmclip_bench_python() {
  cmclip_wheel_install >&2 || return 1
  local py=$cmclip_wheel_env/bin/python
  if ! "$py" -c 'import numpy, sklearn, h5py' 2>/dev/null; then
    echo "libtorch: installing ${CMCLIP_BENCH_PACKAGES[*]} into $cmclip_wheel_env" >&2
    "$cmclip_wheel_env/bin/pip" install --quiet --disable-pip-version-check "${CMCLIP_BENCH_PACKAGES[@]}" >&2 || return 1
  fi
  echo "$py"
}
