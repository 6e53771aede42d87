#!/usr/bin/env bash
# Installs the Debian packages that cmclip needs for one purpose, and nothing when all
# are present (idempotent). Needs root or sudo. Debian 12 (bookworm) and Debian 13
# (trixie) are supported: the release is read from /etc/os-release, and each package
# is chosen by what that release offers.
#
#   scripts/install-deps.sh [--for demo|test|all]   # install what is missing (default: all)
#   scripts/install-deps.sh --for test --check      # list what is missing, install nothing
#
# Profiles: demo (build and run the tools), test (also the unit and tool tests:
# scripts/test.sh), all (also fuzzing, SLURM, the killed-run test and the benchmark:
# scripts/test.sh --all, scripts/bench.sh).
set -euo pipefail

release=$( . /etc/os-release 2>/dev/null && echo "${VERSION_CODENAME:-}" )
case "$release" in
  # clang's libFuzzer runtime: libclang-rt-dev follows each release's default clang
  # (14 on bookworm, 19 on trixie).
  bookworm | trixie) fuzzer_runtime=libclang-rt-dev ;;
  *)
    echo "install-deps: Debian 12 (bookworm) and 13 (trixie) are supported; this system's" \
         "VERSION_CODENAME is '${release}' (/etc/os-release). Install the packages listed in" \
         "scripts/install-deps.sh by their names on your system." >&2
    exit 1 ;;
esac

# build and run
demo_packages=(
  cmake g++ ninja-build pkg-config git
  libtorch-dev libopencv-dev libcli11-dev libfmt-dev libhdf5-dev libboost-test-dev
  libicu-dev zlib1g-dev
  # the c10d headers of Debian's LibTorch include Gloo's (data-parallel training)
  libgloo-dev
  # run time: a fast BLAS for LibTorch (else the reference BLAS, 15-30x slower),
  # OpenCV's face detector cascades, h5ls/h5dump for inspecting files
  libopenblas0-openmp opencv-data hdf5-tools
)
# the unit and tool tests: JSON and metric cross-checks, man pages, the CLIP download
test_packages=(
  python3-numpy python3-sklearn python3-h5py
  man-db groff-base procps
  # scripts/fetch-clip.sh and fetch-models.sh download weights where the internet is
  # reachable (fetch-models.sh through pip when present, else curl)
  curl ca-certificates
  # real photos and a video with faces for tests/tools/test_faces_real_media.sh
  opencv-doc python3-skimage
  # test.sh builds every target: with ccache a fresh clone or a worktree recompiles only
  # what differs from an earlier build on the machine (CI's legs each start from a clone)
  ccache
)
# everything else: the Python baseline of the benchmark, a one-node SLURM, fuzzing,
# peak memory (/usr/bin/time), killing a tool at a chosen write call, free SLURM ports
all_packages=(
  python3-torch slurm-wlm munge
  clang "$fuzzer_runtime"
  time strace iproute2
)

profile=all check=0
while (($#)); do
  case $1 in
    --check) check=1 ;;
    --for) profile=${2:-}; shift ;;
    --for=*) profile=${1#--for=} ;;
    *) echo "install-deps: unknown argument '$1' (use --for demo|test|all, --check)" >&2; exit 2 ;;
  esac
  shift
done
case $profile in
  demo) packages=("${demo_packages[@]}") ;;
  test) packages=("${demo_packages[@]}" "${test_packages[@]}") ;;
  all) packages=("${demo_packages[@]}" "${test_packages[@]}" "${all_packages[@]}") ;;
  *) echo "install-deps: --for '$profile': expected demo, test or all" >&2; exit 2 ;;
esac

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done

if ((check)); then
  if ((${#missing[@]})); then echo "missing: ${missing[*]}"; exit 1; fi
  echo "all packages present"; exit 0
fi

if ((${#missing[@]})); then
  echo "install-deps: installing ${#missing[@]} package(s): ${missing[*]}" >&2
  sudo=""
  if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -q
  $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# LibTorch calls BLAS through libblas.so.3: make sure the OpenMP OpenBLAS serves it.
arch=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
alt="libblas.so.3-$arch"
want="/usr/lib/$arch/openblas-openmp/libblas.so.3"
if [[ -e "$want" ]] && [[ "$(readlink -f "/usr/lib/$arch/libblas.so.3")" != "$(readlink -f "$want")" ]]; then
  echo "install-deps: selecting OpenBLAS (OpenMP) for $alt" >&2
  sudo=""; [[ $(id -u) -ne 0 ]] && sudo="sudo"
  $sudo update-alternatives --set "$alt" "$want"
fi
exit 0
