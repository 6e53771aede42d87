# Helpers of the error-contract tests (tests/tools/test_errors_*.sh; sourced after
# lib.sh). Each row of man fas-errors(7) is checked the same way: the exit status, one
# error message naming what it must name, and the output folder exactly as it was.
# Every run has lib.sh's time limit.
#
#   bad STATUS 'NEEDLE|NEEDLE...' CMD...   CMD exits STATUS, prints exactly one
#       "<tool>: error:" line holding every NEEDLE, and leaves out/ as it was (no new
#       file, no temporary file, previous outputs unchanged).
#   full_disk 'NEEDLE|...' KIB CMD...      CMD (writing under full/) on a tmpfs with KIB
#       free beside what full/ holds (previous outputs): exit 1, one message, full/ as
#       it was. Skipped with a message where a tmpfs cannot be mounted.
#   file_limit 'NEEDLE|...' KIB CMD...     the same under ulimit -f KIB (EFBIG).
#   read_only 'NEEDLE|...' CMD...          CMD writing under ro/, a read-only folder
#       (a read-only bind mount; else a non-root user); skipped with a message when
#       neither is possible.
#   tamper FILE COMMAND ARGS...            damages an HDF5 file, re-encodes an image or
#       writes a video (tests/support/tamper.cpp).
#   corrupt_copy SRC DST                   DST: a copy of SRC truncated to half its size.
#   bad_sample_stores STORE SCORES OPTION CMD...
#                                          every row about a sample store given to CMD
#                                          as OPTION (STORE: a sound one; SCORES: a score
#                                          file, the wrong schema).
#   broken_images DIR IMAGE                writes damaged images into DIR (made from the
#                                          PNG IMAGE); image_problem NAME: what the
#                                          message says of each.
#   summary TOOL                           prints how many bad inputs were tried.
#   synth_and_model                        the sound inputs of the embed and eval tests:
#                                          s-train.h5 and s-test.h5 (fas-synth), their
#                                          images in img/ listed in l.tsv, and m.h5 (an
#                                          untrained builtin:tiny model).
tried=0
mkdir -p out

snapshot() { (cd "$1" && find . -mindepth 1 -printf '%P %s\n' | sort && find . -type f -exec md5sum {} + | sort); }

# check_one_error TOOL NEEDLES FILE: one error line holding every needle.
check_one_error() {
  local tool=$1 needles=$2 file=$3
  local lines
  lines=$(grep -c "^$tool: error: " "$file" || true)
  [[ $lines == 1 ]] || { cat "$file" >&2; fail "$tool printed $lines error messages, expected one"; }
  local n
  IFS='|' read -ra n <<<"$needles"
  for needle in "${n[@]}"; do
    grep "^$tool: error: " "$file" | grep -qF -- "$needle" || { cat "$file" >&2; fail "the message lacks '$needle'"; }
  done
}

bad() {
  local want=$1 needles=$2; shift 2
  local tool before after got
  tool=$(basename "$1")
  before=$(snapshot out)
  set +e; limited "$@" >out.txt 2>err.txt; got=$?; set -e
  [[ $got == "$want" ]] || { cat err.txt >&2; fail "'$*' exited $got, expected $want"; }
  check_one_error "$tool" "$needles" err.txt
  after=$(snapshot out)
  [[ $before == "$after" ]] || fail "'$*' changed out/: $(diff <(echo "$before") <(echo "$after"))"
  tried=$((tried + 1))
}

tamper() { limited "$bin/cmclip-test-tamper" "$@" || fail "tamper $*"; }

corrupt_copy() { head -c $(($(stat -c %s "$1") / 2)) "$1" >"$2"; }

# Whether this shell may mount (root with CAP_SYS_ADMIN, in a private mount namespace).
can_mount() { unshare -m true 2>/dev/null && unshare -m sh -c 'mount -t tmpfs -o size=16k tmpfs /mnt' 2>/dev/null; }

# run_in_namespace SETUP CMD...: runs CMD in a private mount namespace after SETUP;
# sets $got and leaves out.txt, err.txt and (a listing of full/ after the run) full.after.
run_in_namespace() {
  local setup=$1 start=$SECONDS; shift
  set +e
  unshare -m bash -c "$setup"' && { "$@" >out.txt 2>err.txt; rc=$?; (cd full && find . -mindepth 1 -printf "%P %s\n" | sort && find . -type f -exec md5sum {} + | sort) >full.after; exit $rc; }' \
    bash "${limit[@]}" "$@"
  got=$?
  set -e
  timed_out "$got" "$start" "$*" || got=124
}

file_limit() {
  local needles=$1 kib=$2; shift 2
  local tool before after
  tool=$(basename "$1")
  mkdir -p full
  before=$(snapshot full)
  set +e; (ulimit -f "$kib"; limited "$@") >out.txt 2>err.txt; got=$?; set -e
  [[ $got == 1 ]] || { cat err.txt >&2; fail "'$*' under ulimit -f $kib exited $got, expected 1"; }
  check_one_error "$tool" "$needles" err.txt
  after=$(snapshot full)
  [[ $before == "$after" ]] || fail "'$*' changed full/ under ulimit -f: $(diff <(echo "$before") <(echo "$after"))"
  tried=$((tried + 1))
}

full_disk() {
  local needles=$1 kib=$2; shift 2
  local tool before
  tool=$(basename "$1")
  if ! can_mount; then
    # ulimit -f limits each file, while KIB is what all the outputs together may take:
    # it cannot stand in for a full disk (file_limit checks the per-file limit itself).
    echo "SKIPPED: full disk ($tool, ${kib} KiB free): cannot mount a tmpfs here (unshare -m refused)"
    return
  fi
  mkdir -p full
  # What full/ holds (previous outputs) is copied into the small tmpfs first.
  rm -rf full.before.d && cp -a full full.before.d
  before=$(snapshot full)
  # tmpfs counts whole 4 KiB pages per file.
  local used
  used=$(find full -type f -printf '%s\n' | awk '{ kib += int(($1 + 4095) / 4096) * 4 } END { print kib + 0 }')
  run_in_namespace "mount -t tmpfs -o size=$((used + kib))k tmpfs full && cp -a full.before.d/. full/" "$@"
  [[ $got == 1 ]] || { cat err.txt >&2; fail "'$*' on a tmpfs with ${kib} KiB free exited $got, expected 1"; }
  check_one_error "$tool" "$needles" err.txt
  [[ $before == "$(cat full.after)" ]] || fail "'$*' on a full disk left: $(diff <(echo "$before") full.after)"
  rm -rf full.before.d
  tried=$((tried + 1))
}

read_only() {
  local needles=$1; shift
  local tool
  tool=$(basename "$1")
  mkdir -p ro
  if can_mount; then
    run_in_namespace "mount --bind ro ro && mount -o remount,bind,ro ro && mkdir -p full" "$@"
  elif command -v setpriv >/dev/null && [[ $(id -u) == 0 ]]; then
    chmod 555 ro
    set +e; limited setpriv --reuid=65534 --regid=65534 --clear-groups "$@" >out.txt 2>err.txt; got=$?; set -e
    chmod 755 ro
  elif [[ $(id -u) != 0 ]]; then
    chmod 555 ro
    set +e; limited "$@" >out.txt 2>err.txt; got=$?; set -e
    chmod 755 ro
  else
    echo "SKIPPED: read-only output folder ($tool): cannot mount or change user here"
    return
  fi
  [[ $got == 2 ]] || { cat err.txt >&2; fail "'$*' into a read-only folder exited $got, expected 2"; }
  check_one_error "$tool" "$needles" err.txt
  [[ -z $(ls -A ro) ]] || fail "'$*' left files in the read-only folder: $(ls -A ro)"
  tried=$((tried + 1))
}

corpus=$CMCLIP_SOURCE_DIR/tests/fuzz/corpus  # fuzz findings, kept as regression inputs

bad_sample_stores() {
  local store=$1 scores=$2 option=$3; shift 3
  bad 2 "nope.h5" "$@" "$option" nope.h5 -o out/x.h5
  echo "not hdf5" >text.h5
  bad 2 "text.h5|not an HDF5 file" "$@" "$option" text.h5 -o out/x.h5
  corrupt_copy "$store" half.h5
  bad 2 "half.h5|truncated" "$@" "$option" half.h5 -o out/x.h5
  bad 2 "$scores|expected a cmclip.samples file, found cmclip.scores" "$@" "$option" "$scores" -o out/x.h5
  cp "$store" v7.h5 && tamper v7.h5 attr / format_version int 7
  bad 2 "v7.h5|version 7 is not supported" "$@" "$option" v7.h5 -o out/x.h5
  cp "$store" noimages.h5 && tamper noimages.h5 rm /images
  bad 2 "noimages.h5|/images|missing dataset" "$@" "$option" noimages.h5 -o out/x.h5
  cp "$store" nolabel.h5 && tamper nolabel.h5 rm /label
  bad 2 "nolabel.h5|/label|missing dataset" "$@" "$option" nolabel.h5 -o out/x.h5
  cp "$store" dtype.h5 && tamper dtype.h5 retype /label int32
  bad 2 "dtype.h5|/label|expected int8" "$@" "$option" dtype.h5 -o out/x.h5
  cp "$store" dtype2.h5 && tamper dtype2.h5 retype /modality float32
  bad 2 "dtype2.h5|/modality|expected int8" "$@" "$option" dtype2.h5 -o out/x.h5
  cp "$store" shape.h5 && tamper shape.h5 rows /subject 5
  bad 2 "shape.h5|/subject|expected int32 [" "$@" "$option" shape.h5 -o out/x.h5
  cp "$store" shape2.h5 && tamper shape2.h5 rows /bbox 2
  bad 2 "shape2.h5|/bbox|expected float32 [" "$@" "$option" shape2.h5 -o out/x.h5
  cp "$store" code.h5 && tamper code.h5 set /attack 0 9
  bad 2 "code.h5|/attack[0]|code 9" "$@" "$option" code.h5 -o out/x.h5
  # A flipped bit in an image: found when the batch is read (mid-training).
  cp "$store" flipped.h5 && tamper flipped.h5 flip /images
  bad 2 "flipped.h5|/images samples [0, |checksum" "$@" "$option" flipped.h5 -o out/x.h5
  cp "$store" flippedlabel.h5 && tamper flippedlabel.h5 flip /label
  bad 2 "flippedlabel.h5|/label|checksum" "$@" "$option" flippedlabel.h5 -o out/x.h5
  # Files libhdf5 1.10 crashes or loops forever on.
  cp "$corpus/h5_samples/crash-gheap-missing-object" gheap.h5
  bad 2 "gheap.h5: /: damaged file: value 0 names object 4278190098" "$@" "$option" gheap.h5 -o out/x.h5
  cp "$corpus/h5_samples/timeout-gheap-empty-free-space" loop.h5
  bad 2 "loop.h5: /: damaged file: value 0: global heap collection at byte 2048: free space" "$@" "$option" loop.h5 -o out/x.h5
}

broken_images() {
  local dir=$1 image=$2
  mkdir -p "$dir"
  head -c 150 "$image" >"$dir/half.png"
  tamper "$dir/full.jpg" image "$image"
  head -c 300 "$dir/full.jpg" >"$dir/half.jpg"
  echo "plain text" >"$dir/text.png"
  : >"$dir/empty.png"
  printf 'BM\x00\x10\x00\x00' >"$dir/short.bmp"
  cp "$corpus/image/timeout-jpeg-180-megapixels" "$dir/huge.jpg"  # a header claiming 179 MP
  rm "$dir/full.jpg"
}

image_problem() {
  case $1 in
    half.* | short.bmp) echo "truncated" ;;
    text.png) echo "cannot decode" ;;
    empty.png) echo "empty file" ;;
    huge.jpg) echo "12037x14895 pixels, more than the 67108864" ;;
  esac
}

synth_and_model() {
  "$bin/fas-synth" -q --subjects 6 --attacks print,replay --size 32 --frames 2 --split train,test --seed 1 -o s.h5 \
    --images-out img --list-out l.tsv
  "$bin/fas-pretrain" -q --clip builtin:tiny --train s-train.h5 --epochs 0 --batch-size 4 -o m.h5
}

summary() { echo "$1: $tried bad inputs tried; each gave its exit status, one message and no output"; }
