# Shared helpers of the tool tests (sourced, not run): every test script gets the
# folder of the built executables as $1 and a scratch folder as $2.
set -euo pipefail
bin=$1
scratch=$2
src=${CMCLIP_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
rm -rf "$scratch" && mkdir -p "$scratch" && cd "$scratch"

fail() { echo "FAIL: $*" >&2; exit 1; }
# expect STATUS CMD...: runs CMD and checks its exit status; stdout and stderr are
# left in out.txt and err.txt.
expect() {
  local want=$1; shift
  set +e; "$@" >out.txt 2>err.txt; local got=$?; set -e
  [[ $got == "$want" ]] || { cat err.txt >&2; fail "'$*' exited $got, expected $want"; }
}
# Fails when files starting with a dot (temporary outputs) are left in the folder.
no_temp_files() { ! ls -A "${1:-.}" | grep -q '^\.' || fail "temporary files left: $(ls -A "${1:-.}" | grep '^\.')"; }
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
