#!/usr/bin/env bash
# Data-parallel training with two local processes over loopback (RANK, WORLD_SIZE,
# MASTER_ADDR, MASTER_PORT), Gloo on CPU:
#  - equivalence: 2 ranks x batch 4 reach the parameters of 1 rank x batch 8 (same
#    seed) within 1e-5, for fas-pretrain (AdamW) and fas-fewshot with replay (SGD);
#  - only rank 0 logs and writes; a stop signal to one rank stops both at the same
#    step and --resume on 2 ranks reproduces the uninterrupted 2-rank run exactly;
#  - a rank killed with SIGKILL, or frozen with SIGSTOP, makes the other exit 1 within
#    the timeout with a message naming the collective; a missing rank fails the
#    rendezvous; ranks started with different options refuse to train;
#  - bad launcher variables and interfaces are usage errors (exit 2).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
export CMCLIP_PROGRESS_SECONDS=1000
unset WORLD_SIZE RANK LOCAL_RANK MASTER_ADDR MASTER_PORT GLOO_SOCKET_IFNAME CMCLIP_DIST_TIMEOUT
for v in $(env | grep -o '^SLURM_[A-Z_]*' || true); do unset "$v"; done

"$bin/fas-synth" -q --subjects 16 --attacks print,replay --size 64 --split train,dev --seed 5 -o d.h5
# Dropout off: a batch of 8 and two batches of 4 draw different dropout masks from
# the same step seed, so only the dropout-free model is comparable across layouts.
unseeded=(--clip builtin:tiny --train d-train.h5 --dev d-dev.h5 --threads 1 --adapter-dropout 0)
base=("${unseeded[@]}" --seed 3)

# launch2 TAG CMD...: runs CMD as ranks 0 and 1 (logs TAG.0.log, TAG.1.log) and waits;
# exit statuses in $status0 and $status1. Extra per-rank arguments: $rank0_args, $rank1_args.
port=0
launch2() {
  local tag=$1; shift
  port=$(free_port)
  set +e
  WORLD_SIZE=2 RANK=1 LOCAL_RANK=1 MASTER_ADDR=127.0.0.1 MASTER_PORT=$port "$@" ${rank1_args[@]+"${rank1_args[@]}"} 2>"$tag.1.log" &
  local p1=$!
  WORLD_SIZE=2 RANK=0 LOCAL_RANK=0 MASTER_ADDR=127.0.0.1 MASTER_PORT=$port "$@" ${rank0_args[@]+"${rank0_args[@]}"} 2>"$tag.0.log" &
  local p0=$!
  wait $p0; status0=$?
  wait $p1; status1=$?
  set -e
}
rank0_args=(); rank1_args=()
# Parameters of two checkpoints agree within an absolute 1e-5 (h5diff -d).
same_params() { h5diff -d 1e-5 "$1" "$2" /params /params >diff.txt || { head -20 diff.txt >&2; fail "$3"; }; }

# --- Equivalence: fas-pretrain, 2 ranks x 4 == 1 rank x 8 -------------------------
expect 0 "$bin/fas-pretrain" "${base[@]}" --epochs 2 --batch-size 8 -o one.h5
cp err.txt one.log
launch2 two "$bin/fas-pretrain" "${base[@]}" --epochs 2 --batch-size 4 -o two.h5
(( status0 == 0 && status1 == 0 )) || { cat two.0.log two.1.log >&2; fail "2-rank pretraining exited $status0/$status1"; }
grep -q "data-parallel over 2 ranks" two.0.log || fail "rank 0 does not report the data-parallel run"
grep -q "epoch 2/2: loss" two.0.log || fail "rank 0 does not log the epochs"
[[ ! -s two.1.log ]] || { cat two.1.log >&2; fail "rank 1 is not quiet"; }
# Same schedule: same global batch, same number of steps.
h5dump -a /state/global_step one.last.h5 | grep -o '(0): [0-9]*' >steps1.txt
h5dump -a /state/global_step two.last.h5 | grep -o '(0): [0-9]*' >steps2.txt
cmp -s steps1.txt steps2.txt || fail "step counts differ: $(cat steps1.txt) vs $(cat steps2.txt)"
h5dump -a /config/train_global_batch two.h5 | grep -q '(0): 8' || fail "global batch of the 2-rank run is not 8"
same_params one.last.h5 two.last.h5 "2 ranks x batch 4 do not reach the parameters of 1 rank x batch 8"
# The comparison can fail: another seed lands elsewhere.
expect 0 "$bin/fas-pretrain" "${unseeded[@]}" --seed 4 --epochs 2 --batch-size 8 -o other.h5
! h5diff -d 1e-5 one.last.h5 other.last.h5 /params /params >/dev/null || fail "the comparison cannot tell seeds apart"
# Dev evaluation is sharded over the ranks and summed: the same dev figures.
dev1=$(grep "epoch 2/2: loss" one.log | grep -o "dev AUC.*HTER [0-9.]*")
dev2=$(grep "epoch 2/2: loss" two.0.log | grep -o "dev AUC.*HTER [0-9.]*")
[[ -n $dev1 && $dev1 == "$dev2" ]] || fail "dev figures differ: '$dev1' vs '$dev2'"
no_temp_files

# --- Equivalence: fas-fewshot with replay (target and replay mixed per batch) -------
# SGD here: AdamW is nearly blind to the scale of the gradients (a sum instead of a
# mean would pass), SGD is not.
fs=(--init one.h5 --train d-train.h5 --modality depth --shots 4 --replay d-train.h5 --replay-ratio 0.5
    --dev d-dev.h5 --epochs 3 --threads 1 --seed 2 --optimizer sgd --lr 0.01)
expect 0 "$bin/fas-fewshot" "${fs[@]}" --batch-size 8 -o fs1.h5
launch2 fs2 "$bin/fas-fewshot" "${fs[@]}" --batch-size 4 -o fs2.h5
(( status0 == 0 && status1 == 0 )) || { cat fs2.0.log fs2.1.log >&2; fail "2-rank few-shot exited $status0/$status1"; }
same_params fs1.last.h5 fs2.last.h5 "2-rank few-shot differs from 1 rank"

# --- A stop signal to one rank stops both at the same step; --resume is exact -------
launch2 full "$bin/fas-pretrain" "${base[@]}" --epochs 3 --batch-size 4 -o full.h5
(( status0 == 0 && status1 == 0 )) || { cat full.0.log full.1.log >&2; fail "2-rank run exited $status0/$status1"; }
port=$(free_port)
set +e
WORLD_SIZE=2 RANK=1 MASTER_PORT=$port "$bin/fas-pretrain" "${base[@]}" --epochs 3 --batch-size 4 -o cut.h5 2>cut.1.log &
p1=$!
WORLD_SIZE=2 RANK=0 MASTER_PORT=$port "$bin/fas-pretrain" "${base[@]}" --epochs 3 --batch-size 4 -o cut.h5 2>cut.0.log &
p0=$!
for _ in $(seq 1 600); do grep -q "epoch 1/3: loss" cut.0.log && break; sleep 0.1; done
kill -USR1 $p1
wait $p0; s0=$?; wait $p1; s1=$?
set -e
(( s0 == 0 && s1 == 0 )) || { cat cut.0.log cut.1.log >&2; fail "stop on one rank: exit $s0/$s1"; }
grep -q "stop requested" cut.0.log || fail "rank 0 did not stop with rank 1"
launch2 resume "$bin/fas-pretrain" "${base[@]}" --epochs 3 --batch-size 4 --resume -o cut.h5
(( status0 == 0 && status1 == 0 )) || { cat resume.0.log resume.1.log >&2; fail "2-rank resume exited $status0/$status1"; }
grep -q "resuming from" resume.0.log || fail "--resume did not resume"
h5diff full.last.h5 cut.last.h5 /params /params >/dev/null || fail "2-rank resume differs from the uninterrupted 2-rank run"

# --- A rank that dies or hangs: the other fails clearly within the timeout ----------
# kill_rank TAG VICTIM SIGNAL: starts 2 ranks (timeout 15 s), sends SIGNAL to rank
# VICTIM during the first epoch; the survivor must exit 1 within 60 s naming the
# collective that failed.
kill_rank() {
  local tag=$1 victim=$2 sig=$3 port; port=$(free_port)
  set +e
  local -a pid
  for r in 1 0; do
    CMCLIP_DIST_TIMEOUT=15 WORLD_SIZE=2 RANK=$r MASTER_PORT=$port "$bin/fas-pretrain" "${base[@]}" --epochs 50 \
      --batch-size 4 -o "$tag.h5" 2>"$tag.$r.log" &
    pid[$r]=$!
  done
  for _ in $(seq 1 600); do grep -q "epoch 1/50: loss" "$tag.0.log" && break; sleep 0.1; done
  local survivor=$((1 - victim)) start=$SECONDS
  kill -"$sig" "${pid[$victim]}"
  wait "${pid[$survivor]}"; local s=$?
  local took=$((SECONDS - start))
  kill -KILL "${pid[$victim]}" 2>/dev/null; kill -CONT "${pid[$victim]}" 2>/dev/null; wait "${pid[$victim]}" 2>/dev/null
  set -e
  (( s == 1 )) || { cat "$tag.$survivor.log" >&2; fail "$tag: the surviving rank exited $s, expected 1"; }
  (( took <= 60 )) || fail "$tag: the surviving rank took $took s to fail"
  grep -Eq "rank $survivor/2: (gradient all-reduce|sum all-reduce|agreement on stopping|barrier|broadcast[a-z0-9 ]*) failed: another rank died" \
    "$tag.$survivor.log" || { cat "$tag.$survivor.log" >&2; fail "$tag: no clear message naming the collective"; }
  echo "$tag: rank $survivor failed after $took s: $(grep -m1 'failed' "$tag.$survivor.log")"
}
kill_rank kill1 1 KILL
kill_rank kill0 0 KILL
# SIGKILL gives rank 0 no chance to remove the temporary file of a checkpoint it was
# writing (the checkpoints themselves stay whole: they are renamed into place).
rm -f .kill0.*
kill_rank stop1 1 STOP

# A rank that never comes: the rendezvous fails within CMCLIP_DIST_TIMEOUT.
p=$(free_port)
CMCLIP_DIST_TIMEOUT=3 WORLD_SIZE=2 RANK=0 MASTER_PORT=$p expect 1 "$bin/fas-pretrain" "${base[@]}" -o alone.h5
grep -q "rendezvous of 2 ranks at 127.0.0.1:$p failed within 3 s" err.txt || { cat err.txt >&2; fail "rendezvous failure unclear"; }

# Ranks started with different options refuse to train (instead of mismatched collectives).
rank1_args=(--epochs 3)
launch2 mismatch "$bin/fas-pretrain" "${base[@]}" --batch-size 4 -o mismatch.h5
rank1_args=()
(( status0 == 1 && status1 == 1 )) || fail "mismatched ranks exited $status0/$status1, expected 1/1"
grep -q "rank 1 differs from rank 0: epochs 3 (rank 0: 10)" mismatch.1.log || { cat mismatch.1.log >&2; fail "mismatch not named"; }
[[ ! -e mismatch.h5 ]] || fail "a refused run wrote a checkpoint"

# Gloo on a named interface (GLOO_SOCKET_IFNAME), and a wrong name is a usage error.
export GLOO_SOCKET_IFNAME=lo
launch2 lo "$bin/fas-pretrain" "${base[@]}" --epochs 1 --batch-size 4 -o lo.h5
(( status0 == 0 && status1 == 0 )) || { cat lo.0.log lo.1.log >&2; fail "GLOO_SOCKET_IFNAME=lo: exit $status0/$status1"; }
export GLOO_SOCKET_IFNAME=nosuchif0
launch2 badif "$bin/fas-pretrain" "${base[@]}" --epochs 1 --batch-size 4 -o badif.h5
(( status0 == 2 && status1 == 2 )) || fail "a wrong GLOO_SOCKET_IFNAME exited $status0/$status1, expected 2/2"
grep -q "GLOO_SOCKET_IFNAME: interface 'nosuchif0'" badif.0.log || { cat badif.0.log >&2; fail "bad interface not named"; }
unset GLOO_SOCKET_IFNAME

# A host name that does not resolve (Gloo's default device would fail): Gloo binds to
# the address that reaches MASTER_ADDR. A host name on loopback with ranks on two
# nodes is refused at once. Both need a UTS namespace for their own host name.
if unshare -u true 2>/dev/null; then
  # A command prefix, not a function: expect runs its command under timeout(1).
  as_host=(unshare -u sh -c 'hostname "$0" && exec "$@"')
  launch2 nohost "${as_host[@]}" cmclip-unresolvable-host "$bin/fas-pretrain" "${base[@]}" --epochs 1 --batch-size 4 -v -o nohost.h5
  (( status0 == 0 && status1 == 0 )) || { cat nohost.0.log >&2; fail "unresolvable host name: exit $status0/$status1"; }
  grep -q "Gloo bound to 127.0.0.1 (route to MASTER_ADDR 127.0.0.1; host name cmclip-unresolvable-host does not resolve)" \
    nohost.0.log || { cat nohost.0.log >&2; fail "the fallback address is not used or not logged"; }
  p=$(free_port)
  SLURM_JOB_ID=7 SLURM_STEP_ID=0 SLURM_PROCID=0 SLURM_STEP_NUM_TASKS=2 SLURM_STEP_NUM_NODES=2 \
    SLURM_STEP_NODELIST="localhost,n2" MASTER_PORT=$p expect 2 "${as_host[@]}" localhost "$bin/fas-pretrain" "${base[@]}" -o x.h5
  # localhost is 127.0.0.1 on Debian 12 and ::1 first on Debian 13.
  grep -Eq "Gloo would bind to the loopback address (127\.0\.0\.1|::1) \(host name localhost\), but the ranks run on 2 nodes; set GLOO_SOCKET_IFNAME" \
    err.txt || { cat err.txt >&2; fail "loopback across nodes is not refused clearly"; }
else
  echo "NOTE: unshare -u is not permitted here: the host-name fallbacks of Gloo are not exercised"
fi

# Bad launcher variables: exit 2 before any rendezvous.
WORLD_SIZE=2 RANK=2 expect 2 "$bin/fas-pretrain" "${base[@]}" -o x.h5
grep -q "rank 2 is not below the world size 2" err.txt || fail "RANK >= WORLD_SIZE not explained"
WORLD_SIZE=2 RANK=0 MASTER_PORT=http expect 2 "$bin/fas-pretrain" "${base[@]}" -o x.h5
grep -q "MASTER_PORT='http'" err.txt || fail "a bad MASTER_PORT is not named"
WORLD_SIZE=2 RANK=0 expect 2 "$bin/fas-pretrain" "${base[@]}" --device cuda -o x.h5
[[ ! -e x.h5 ]] || fail "a refused run wrote a checkpoint"
no_temp_files
echo "distributed: all checks passed"
