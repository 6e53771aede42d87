#!/bin/bash
# Submits the sharded scoring of a sample store as a job array and the merge +
# evaluation as a job that waits for every shard (afterok). Prints both job ids.
#
#   examples/slurm/submit-embedding.sh SHARDS OUTDIR [DEV_SCORES.h5] -- FAS-EMBED-ARGS...
#   examples/slurm/submit-embedding.sh 16 scores/ -- --model fs.h5 --data test.h5 --modality depth
#
# Extra sbatch options (partition, account, throttle) go in $SBATCH_ARGS, e.g.
# SBATCH_ARGS="--partition=cpu --account=fas".
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
usage() { sed -n '5,6p' "${BASH_SOURCE[0]}" | sed 's/^# *//' >&2; exit 2; }
[[ $# -ge 3 ]] || usage
shards=$1 out=$2; shift 2
dev=""
if [[ $1 != -- ]]; then dev=$1; shift; fi
[[ ${1:-} == -- ]] || usage
shift
[[ $shards =~ ^[1-9][0-9]*$ ]] || { echo "submit-embedding: SHARDS '$shards' is not a positive number" >&2; exit 2; }
# --parsable prints "JOBID" or "JOBID;CLUSTER".
array=$(sbatch --parsable ${SBATCH_ARGS:-} --array=0-$((shards - 1)) "$here/embed-array.sbatch" "$out" "$@")
array=${array%%;*}
merge=$(sbatch --parsable ${SBATCH_ARGS:-} --dependency=afterok:"$array" --kill-on-invalid-dep=yes \
  "$here/merge-eval.sbatch" "$out" ${dev:+"$dev"})
merge=${merge%%;*}
echo "$array $merge"
