#!/usr/bin/env bash
# Installs every Debian package that cmclip's build, tests, benchmarks and demo need,
# and nothing when all are present (idempotent). Needs root or sudo. Debian 12
# (bookworm) and Debian 13 (trixie) are supported: the release is read from
# /etc/os-release, and each package is chosen by what that release offers.
#
#   scripts/install-deps.sh            # install what is missing
#   scripts/install-deps.sh --check    # list what is missing, install nothing
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

packages=(
  # build
  cmake g++ ninja-build pkg-config git
  libtorch-dev libopencv-dev libcli11-dev libfmt-dev libhdf5-dev libboost-test-dev
  libicu-dev zlib1g-dev
  # the c10d headers of Debian's LibTorch include Gloo's (data-parallel training)
  libgloo-dev
  # run time: a fast BLAS for LibTorch (else the reference BLAS, 15-30x slower),
  # OpenCV's face detector cascades, h5ls/h5dump for inspecting files
  libopenblas0-openmp opencv-data hdf5-tools
  # tests and benchmarks: the Python baseline, a one-node SLURM, fuzzing, man pages
  python3-torch python3-numpy python3-sklearn python3-h5py slurm-wlm munge
  clang "$fuzzer_runtime"
  man-db groff-base procps
  # scripts/bench.sh measures peak memory with /usr/bin/time
  time
  # killing a tool at a chosen write call (tests/tools/test_killed.sh); free ports for SLURM
  strace iproute2
  # scripts/fetch-clip.sh downloads the CLIP weights where the internet is reachable
  curl ca-certificates
)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done

if [[ "${1:-}" == "--check" ]]; then
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
