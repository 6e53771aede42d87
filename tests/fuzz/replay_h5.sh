#!/usr/bin/env bash
# Replays the HDF5 fuzz corpus (tests/fuzz/corpus/h5_*, and tests/fuzz/findings/h5_*
# where a campaign left new inputs) through the tools' readers, each run under a time
# limit, and tells for every input what the readers do with the structure guard (the
# probe helper, fas-errors(7)) and what libhdf5 itself does without it.
#
#   tests/fuzz/replay_h5.sh BUILD_DIR [SECONDS]
#   scripts/platform.sh debian13 tests/fuzz/replay_h5.sh build     # against libhdf5 1.14
#
# Per input, two runs of `cmclip-test-tamper FILE validate SCHEMA` (the schema from the
# corpus folder): "guarded", as the tools read; "bare", with CMCLIP_H5_PROBE_SECONDS=0
# (the probe off; with libhdf5 1.10 the checking driver of checked_driver.hpp stays).
# With CMCLIP_REPLAY_VALGRIND=1 the bare runs are under valgrind (with 5 times the time
# limit: loading LibTorch under valgrind alone takes a minute), so that a read past a
# buffer shows even where it does not crash. A seed (*.h5) must validate; any other input must be
# refused with exit status 1 ("invalid: ...") when guarded. The bare column is what
# libhdf5 does on its own: "refused" (it failed cleanly), "crash", "hang" or "memory"
# (valgrind found an invalid access). Exits 1 if a guarded run is wrong.
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=$(cd "${1:?usage: replay_h5.sh BUILD_DIR [SECONDS]}" && pwd)
limit=${2:-60}
tamper=$build/bin/cmclip-test-tamper
[[ -x $tamper ]] || { echo "replay_h5: $tamper not built" >&2; exit 2; }
export CMCLIP_H5_PROBE=$build/bin/cmclip-h5-probe
valgrind=()
bare_limit=$limit
if [[ ${CMCLIP_REPLAY_VALGRIND:-0} == 1 ]]; then
  command -v valgrind >/dev/null || { echo "replay_h5: CMCLIP_REPLAY_VALGRIND=1, but valgrind is not installed" >&2; exit 2; }
  valgrind=(valgrind -q --error-exitcode=99 --exit-on-first-error=yes)
  bare_limit=$((limit * 5))
fi
hdf5=$(grep -m1 -o 'HDF5 Version: [0-9.]*' "$(find /usr/lib /usr/lib64 -name 'libhdf5*.settings' 2>/dev/null | head -1)" 2>/dev/null || true)
echo "replay_h5: ${hdf5:-HDF5 version unknown}; time limit ${limit} s; bare runs ${valgrind[*]:+under valgrind}"

# outcome STATUS: what an exit status means (124/137: the time limit).
outcome() {
  case $1 in
    0) echo "accepted" ;; 1) echo "refused" ;; 99) echo "memory" ;; 124 | 137) echo "hang" ;;
    *) if (($1 > 128)); then echo "crash($(kill -l $(($1 - 128)) 2>/dev/null))"; else echo "exit$1"; fi ;;
  esac
}

wrong=0
printf '%-62s %-10s %-10s %s\n' input guarded bare message
for dir in "$root"/tests/fuzz/corpus/h5_* "$root"/tests/fuzz/findings/h5_*; do
  [[ -d $dir ]] || continue
  schema=${dir##*/h5_}
  schema=${schema%%/*}
  [[ $schema == samples || $schema == scores || $schema == checkpoint ]] || continue
  for f in "$dir"/*; do
    [[ -f $f ]] || continue
    guarded_err=$(timeout -k 5 "$limit" "$tamper" "$f" validate "$schema" 2>&1 >/dev/null); guarded=$?
    CMCLIP_H5_PROBE_SECONDS=0 timeout -k 5 "$bare_limit" "${valgrind[@]}" "$tamper" "$f" validate "$schema" \
      >/dev/null 2>&1
    bare=$?
    want=1
    [[ $f == *.h5 ]] && want=0
    mark=""
    if [[ $guarded != "$want" ]]; then mark=" WRONG (expected $(outcome $want))"; wrong=1; fi
    printf '%-62s %-10s %-10s %s\n' "${f#"$root"/tests/fuzz/}" "$(outcome $guarded)$mark" "$(outcome $bare)" \
      "$(head -c 160 <<<"${guarded_err#invalid: }" | head -1)"
  done
done
exit $wrong
