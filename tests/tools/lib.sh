# Shared helpers of the tool tests (sourced, not run): every test script gets the
# folder of the built executables as $1 and a scratch folder as $2.
set -euo pipefail
bin=$1
scratch=$2
src=${CMCLIP_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
rm -rf "$scratch" && mkdir -p "$scratch" && cd "$scratch"

fail() { echo "FAIL: $*" >&2; exit 1; }

# Every tool run by these helpers has a time limit, so that a hang (libhdf5 looping on
# a damaged file, say) fails the test at once and says so, instead of stalling it.
# CMCLIP_TOOL_SECONDS sets it (default 300: the slowest run here takes about 60 s).
tool_seconds=${CMCLIP_TOOL_SECONDS:-300}
limit=(timeout -k 10 "$tool_seconds")
exec {limit_fd}>&2  # the hang message goes to the test's stderr, not the tool's
# limited CMD...: runs CMD under the limit and gives its exit status; on a timeout says
# so and gives 124.
limited() {
  local start=$SECONDS rc=0
  "${limit[@]}" "$@" || rc=$?
  timed_out "$rc" "$start" "$*" || rc=124
  return "$rc"
}
# timed_out STATUS START CMD: false (after saying so) when a run that began at START
# (in $SECONDS) and ended with STATUS was stopped by the limit.
timed_out() {
  if [[ $1 == 124 || $1 == 137 ]] && ((SECONDS - $2 >= tool_seconds)); then
    echo "FAIL: '$3' did not finish in $tool_seconds s (a hang?); it was killed" >&$limit_fd
    return 1
  fi
}
# expect STATUS CMD...: runs CMD and checks its exit status; stdout and stderr are
# left in out.txt and err.txt.
expect() {
  local want=$1; shift
  set +e; limited "$@" >out.txt 2>err.txt; local got=$?; set -e
  [[ $got == "$want" ]] || { cat err.txt >&2; fail "'$*' exited $got, expected $want"; }
}
# Fails when files starting with a dot (temporary outputs) are left in the folder.
no_temp_files() { ! ls -A "${1:-.}" | grep -q '^\.' || fail "temporary files left: $(ls -A "${1:-.}" | grep '^\.')"; }
# man_renders PAGE: fails when man (where installed) warns while rendering PAGE.
man_renders() {
  command -v man >/dev/null 2>&1 || return 0
  local warnings
  warnings=$(MANWIDTH=80 man --warnings -l "$1" 2>&1 >/dev/null)
  [[ -z $warnings ]] || fail "man page warnings: $warnings"
}
# A JSON number field of fas-eval --format json output: json_number FILE KEY.
json_number() { grep -m1 "\"$2\": [0-9.e-]*" "$1" | sed 's/.*: \([0-9.e-]*\).*/\1/'; }
# awk comparison of two numbers: greater A B.
greater() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a > b) }'; }
# A TCP port nobody listens on now (for MASTER_PORT of multi-process runs).
free_port() {
  local used port
  used=$(ss -Htan 2>/dev/null | awk '{ n = split($4, a, ":"); print a[n] }' | sort -u)
  while :; do
    port=$((20000 + RANDOM % 30000))
    grep -qx "$port" <<<"$used" || { echo "$port"; return; }
  done
}
