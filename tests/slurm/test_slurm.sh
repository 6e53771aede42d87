#!/usr/bin/env bash
# The examples/slurm jobs on a real (one-node, private) SLURM cluster started with
# scripts/slurm-local.sh:
#  - embed-array.sbatch as a 3-task array + merge-eval.sbatch after it (afterok): the
#    merged scores equal a single-process fas-embed run (h5diff);
#  - pretrain.sbatch with 2 tasks (srun, c10d over Gloo), interrupted with SIGUSR1 to
#    the batch script (what --signal=B:USR1@120 sends): it checkpoints, requeues
#    itself, resumes and ends with the parameters of a 1-rank run with twice the batch
#    (within 1e-5, as tests/tools/test_distributed.sh);
#  - the cluster is stopped on every exit (trap), leaving no process behind.
# Where SLURM cannot start, this test FAILS: it is never skipped.
# A cluster left running by an earlier run of this test that was killed (e.g. by a
# ctest timeout) is stopped before its folder is wiped.
if [[ -d ${2:-}/cluster ]]; then bash "$(dirname "${BASH_SOURCE[0]}")/../../scripts/slurm-local.sh" --dir "$2/cluster" stop; fi
source "$(dirname "${BASH_SOURCE[0]}")/../tools/lib.sh"
export CMCLIP_PROGRESS_SECONDS=1000
for v in $(env | grep -o '^SLURM_[A-Z_]*' || true); do unset "$v"; done
unset WORLD_SIZE RANK LOCAL_RANK MASTER_ADDR MASTER_PORT GLOO_SOCKET_IFNAME
examples=$src/examples/slurm
slurm_local=$src/scripts/slurm-local.sh
# The cluster's private folder: inside this test's scratch folder, so a second test
# run (another build folder) gets its own state, spool, munge socket and ports.
cluster=$scratch/cluster

stop_cluster() { "$slurm_local" --dir "$cluster" stop || true; }
trap stop_cluster EXIT
"$slurm_local" --dir "$cluster" start || fail "the local SLURM cluster did not start (see $cluster/log)"
eval "$("$slurm_local" --dir "$cluster" env)"
export PATH=$bin:$PATH  # the jobs find the fas-* tools here (sbatch exports the environment)

# wait_job ID SECONDS: waits until job ID (with its array tasks) has left the queue.
wait_job() {
  local id=$1 limit=$2 start=$SECONDS
  while [[ -n $(squeue -h -j "$id" -o %i 2>/dev/null) ]]; do
    (( SECONDS - start < limit )) || { squeue >&2; fail "job $id still queued or running after $limit s"; }
    if squeue -h -j "$id" -o %r | grep -Eq 'PartitionConfig|BadConstraints|DependencyNeverSatisfied'; then
      squeue >&2; fail "job $id can never run here"
    fi
    sleep 1
  done
}
# job_states ID: the final state of each task of job ID, one per line ("COMPLETED").
job_states() { scontrol -o show job "$1" | grep -o 'JobState=[A-Z_]*' | cut -d= -f2; }

"$bin/fas-synth" -q --subjects 16 --attacks print,replay --size 64 --split train,dev,test --seed 5 -o d.h5
"$bin/fas-pretrain" -q --clip builtin:tiny --train d-train.h5 --epochs 1 --batch-size 8 --threads 1 -o model.h5

# --- Scoring as a job array, merged by a dependent job ---------------------------------
"$bin/fas-embed" -q --model model.h5 --data d-test.h5 --modality depth --threads 1 -o single.h5
# One CPU per task (the example asks for 4; this node may have 2).
read -r array merge < <(SBATCH_ARGS="--cpus-per-task=1" "$examples/submit-embedding.sh" 3 parts -- --model model.h5 --data d-test.h5 \
  --modality depth --threads 1 -q)
[[ -n $array && -n $merge ]] || fail "submit-embedding.sh did not print two job ids"
wait_job "$array" 300
wait_job "$merge" 120
[[ $(job_states "$array" | sort -u) == COMPLETED ]] || { cat fas-embed-*.out >&2; fail "array tasks: $(job_states "$array" | xargs)"; }
[[ $(job_states "$array" | wc -l) == 3 ]] || fail "expected 3 array tasks, got $(job_states "$array" | wc -l)"
[[ $(job_states "$merge") == COMPLETED ]] || { cat fas-merge-*.out >&2; fail "merge job: $(job_states "$merge")"; }
ls parts/part-0.h5 parts/part-1.h5 parts/part-2.h5 >/dev/null || fail "a shard is missing"
h5diff -r single.h5 parts/scores.h5 /score /score >/dev/null || fail "merged array scores differ from the single run"
grep -q "AUC" parts/report.txt || fail "the merge job wrote no evaluation"
# afterok: the merge started only after the last shard ended.
epoch_of() { date -d "$1" +%s; }
last_end=$(scontrol -o show job "$array" | grep -o 'EndTime=[^ ]*' | cut -d= -f2 | while read -r t; do epoch_of "$t"; done | sort -n | tail -1)
merge_start=$(epoch_of "$(scontrol -o show job "$merge" | grep -o 'StartTime=[^ ]*' | cut -d= -f2)")
(( merge_start >= last_end )) || fail "the merge job started before the array ended ($merge_start < $last_end)"
echo "array $array (3 shards) + merge $merge: merged scores equal the single-process run"

# --- Multi-rank training with srun, interrupted, requeued, resumed ---------------------
train=(--clip builtin:tiny --train d-train.h5 --dev d-dev.h5 --adapter-dropout 0 --seed 3 --epochs 4 --threads 1)
"$bin/fas-pretrain" -q "${train[@]}" --batch-size 8 -o one.h5
port=$(free_port)
# Two tasks on this node with one CPU each; a free MASTER_PORT (the default, 15000 +
# job id, could meet another test's cluster on this machine).
job=$(MASTER_PORT=$port sbatch --parsable --nodes=1 --ntasks=2 --cpus-per-task=1 --time=30 \
  "$examples/pretrain.sbatch" "${train[@]}" --batch-size 4 -o two.h5)
job=${job%%;*}
log=fas-pretrain-$job.out
for _ in $(seq 1 600); do grep -q "epoch 1/4: loss" "$log" 2>/dev/null && break; sleep 0.5; done
grep -q "epoch 1/4: loss" "$log" || { cat "$log" >&2; fail "the 2-rank job did not finish its first epoch"; }
grep -q "data-parallel over 2 ranks" "$log" || { cat "$log" >&2; fail "the job did not train on 2 ranks"; }
# What --signal=B:USR1@120 does before the time limit: SIGUSR1 to the batch shell only.
scancel --batch --signal=USR1 "$job"
for _ in $(seq 1 600); do grep -q "requeueing job $job" "$log" && break; sleep 0.5; done
grep -q "requeueing job $job" "$log" || { cat "$log" >&2; fail "the job did not requeue itself after SIGUSR1"; }
# The requeued job waits for its begin time, runs again with --resume and completes.
start=$SECONDS
while :; do
  state=$(job_states "$job")
  grep -q "resuming from" "$log" && [[ $state == COMPLETED ]] && break
  [[ $state == FAILED || $state == CANCELLED || $state == TIMEOUT ]] && { cat "$log" >&2; fail "requeued job: $state"; }
  (( SECONDS - start < 600 )) || { cat "$log" >&2; fail "the requeued job did not complete (state $state)"; }
  sleep 1
done
grep -q "stop requested (signal 10)" "$log" || { cat "$log" >&2; fail "the ranks did not stop on SIGUSR1"; }
grep -q "done: 4 epochs" "$log" || { cat "$log" >&2; fail "the resumed run did not finish its epochs"; }
h5diff -d 1e-5 one.last.h5 two.last.h5 /params /params >diff.txt \
  || { head -20 diff.txt >&2; fail "2 srun tasks x batch 4 (interrupted, resumed) differ from 1 rank x batch 8"; }
echo "pretrain job $job: 2 ranks, stopped by SIGUSR1, requeued, resumed; parameters equal the 1-rank run"

stop_cluster
trap - EXIT
[[ $("$slurm_local" --dir "$cluster" status >/dev/null; echo $?) == 3 ]] || fail "slurm-local status after stop is not 'stopped'"
echo "slurm: all checks passed"
