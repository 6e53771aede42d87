# Helpers for the real-media face tests and scripts/bench-detect.sh (sourced, not run):
# the hand-labelled photos and video of tests/data/faces/real-media.tsv, which Debian's
# opencv-doc and python3-skimage packages ship.
real_media_fixture=${CMCLIP_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}/tests/data/faces/real-media.tsv

# Prints "FILE (PACKAGE)" for each labelled file that is not installed.
real_media_missing() {
  grep -v '^#' "$real_media_fixture" | cut -f1,2 | sort -u | while IFS=$'\t' read -r pkg file; do
    [[ -f "$file" ]] || echo "$file ($pkg)"
  done
}

# real_media_list OUT [REPEAT]: a fas-preprocess tsv list of the labelled items, in
# the fixture's order (a video's frames by number), each REPEAT times (default 1).
real_media_list() {
  local out=$1 repeat=${2:-1} k
  printf 'path\tlabel\tmodality\tvideo\tframe\n' > "$out"
  for ((k = 0; k < repeat; ++k)); do
    grep -v '^#' "$real_media_fixture" | while IFS=$'\t' read -r pkg file frame rest; do
      if [[ $frame == - ]]; then
        printf '%s\tlive\trgb\t%s#%d\t\n' "$file" "$file" "$k"
      else
        printf '%s\tlive\trgb\t%s#%d\t%s\n' "$file" "$file" "$k" "$frame"
      fi
    done >> "$out"
  done
}

# The MTCNN networks: installed already, fetched with scripts/fetch-models.sh, or the
# reason they are not (on stdout, exit 1). CMCLIP_OFFLINE=1: no download is tried.
real_media_models() {
  local fetch=${CMCLIP_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}/scripts/fetch-models.sh
  local dir=${CMCLIP_HOME:-$HOME/.cache/cmclip}/mtcnn
  bash "$fetch" --check 2>/dev/null && return 0
  if [[ ${CMCLIP_OFFLINE:-0} == 1 ]]; then
    echo "the MTCNN networks are not in $dir (CMCLIP_OFFLINE=1: scripts/fetch-models.sh not tried)"
    return 1
  fi
  local log; log=$(bash "$fetch" 2>&1) && return 0
  echo "the MTCNN networks are not in $dir and scripts/fetch-models.sh failed: ${log##*$'\n'}"
  return 1
}
