#!/usr/bin/env bash
# Benchmark (not a test): fas-eval on 10 million synthetic scores, side by side with the
# same figures computed by NumPy/scikit-learn (scripts/bench/eval_baseline.py), and a
# check that both agree. Prints the median wall time of a few runs of each and the ratio.
#
#   scripts/bench-eval.sh            10 M scores, 3 runs each
#   scripts/bench-eval.sh --quick    100 k scores, 5 runs each
#   options: --runs R, --n N; environment: CMCLIP_BUILD_DIR (default build/),
#   CMCLIP_BENCH_DIR (generated files; default $CMCLIP_BUILD_DIR/bench), CMCLIP_BENCH_JSON
#   (also write the medians there as JSON, for scripts/bench.sh)
#
# Needs a built fas-eval and a Python with NumPy, scikit-learn and h5py: $CMCLIP_PYTHON
# (scripts/bench.sh passes its baseline's), else /usr/bin/python3 with python3-numpy,
# python3-sklearn and python3-h5py (installed with apt-get when missing, as root).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${CMCLIP_BUILD_DIR:-$root/build}
fas_eval=$build/bin/fas-eval
py=${CMCLIP_PYTHON:-/usr/bin/python3}
n=10000000
runs=3
while (($#)); do
  case $1 in
    --quick) n=100000; runs=5 ;;
    --runs|--n) printf -v "${1#--}" %s "$2"; shift ;;  # --NAME VALUE sets $NAME
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "bench-eval: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
[[ -x $fas_eval ]] || { echo "bench-eval: $fas_eval not found; build first (scripts/build.sh)" >&2; exit 2; }
if ! $py -c 'import numpy, sklearn, h5py' 2>/dev/null; then
  if [[ $py == /usr/bin/python3 && $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
    apt-get install -y -q --no-install-recommends python3-numpy python3-sklearn python3-h5py >&2
  else
    echo "bench-eval: $py needs numpy, sklearn and h5py: apt-get install python3-numpy python3-sklearn python3-h5py" >&2
    exit 2
  fi
fi

work=${CMCLIP_BENCH_DIR:-$build/bench}
mkdir -p "$work"
scores=$work/scores-$n.h5
[[ -f $scores ]] || $py "$root/scripts/bench/gen_scores.py" --n "$n" --seed 1 -o "$scores"

now() { date +%s.%N; }
median() { sort -g | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2}'; }

echo "bench-eval: $n scores ($scores), $runs runs each, $(nproc) cores" >&2
: >"$work/fas.times"; : >"$work/fas.inner"; : >"$work/py.times"; : >"$work/py.inner"
for ((r = 1; r <= runs; r++)); do
  t0=$(now)
  "$fas_eval" --test "$scores" --format json -o "$work/fas-eval.json" 2>"$work/fas-eval.log"
  t1=$(now)
  $py "$root/scripts/bench/eval_baseline.py" "$scores" >"$work/baseline.json"
  t2=$(now)
  awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}' >>"$work/fas.times"
  awk -v a="$t1" -v b="$t2" 'BEGIN {print b - a}' >>"$work/py.times"
  # In-process time: fas-eval's read+sort+figures (its log), Python's load+compute.
  sed -n 's/.*reading and sorting \([0-9.]*\) s, figures \([0-9.]*\) s.*/\1 \2/p' "$work/fas-eval.log" |
    awk '{print $1 + $2}' >>"$work/fas.inner"
  $py -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["seconds_load"] + d["seconds_compute"])' \
    "$work/baseline.json" >>"$work/py.inner"
done

fas=$(median <"$work/fas.times"); pyt=$(median <"$work/py.times")
fas_in=$(median <"$work/fas.inner"); py_in=$(median <"$work/py.inner")
agreement=$($py - "$work/fas-eval.json" "$work/baseline.json" <<'PY'
import json, sys
import numpy as np
a, b = (json.load(open(p)) for p in sys.argv[1:3])
def flat(d, prefix=""):
    for k, v in d.items():
        if isinstance(v, dict):
            yield from flat(v, prefix + k + ".")
        elif isinstance(v, (int, float)) and not isinstance(v, bool):
            yield prefix + k, v
fa, fb = dict(flat(a)), dict(flat(b))
keys = [k for k in fb if k in fa and not k.startswith("seconds")]
def diff(k):  # thresholds are float32 values, printed in their shortest form by fas-eval
    if k.endswith("threshold"):
        return float(abs(np.float32(fa[k]) - np.float32(fb[k])))
    return abs(fa[k] - fb[k])
worst = max(keys, key=diff)
print(f"{len(keys)} figures compared, largest difference {diff(worst):.3g} ({worst})")
PY
)
printf 'bench-eval: %s scores, median of %s runs\n' "$n" "$runs"
printf '  fas-eval (end to end, process start included): %8.3f s   in-process read+sort+figures: %.3f s\n' "$fas" "$fas_in"
printf '  NumPy/scikit-learn (python3 eval_baseline.py):  %8.3f s   in-process load+compute:      %.3f s\n' "$pyt" "$py_in"
printf '  ratio NumPy/sklearn : fas-eval = %.1fx end to end, %.1fx in-process\n' \
  "$(awk -v a="$pyt" -v b="$fas" 'BEGIN {print a / b}')" "$(awk -v a="$py_in" -v b="$fas_in" 'BEGIN {print a / b}')"
printf '  agreement: %s\n' "$agreement"
if [[ -n ${CMCLIP_BENCH_JSON:-} ]]; then
  printf '{"task": "eval", "n": %s, "runs": %s, "ours": {"median": %s, "inner": %s}, "python": {"median": %s, "inner": %s}, "agreement": "%s"}\n' \
    "$n" "$runs" "$fas" "$fas_in" "$pyt" "$py_in" "$agreement" >"$CMCLIP_BENCH_JSON"
fi
