#!/usr/bin/env bash
# Killed runs (man fas-errors(7)): SIGKILL in the middle of a tool's write leaves the
# previous output byte for byte as it was, and no file that passes schema validation
# half-written; the next run succeeds. Training killed mid-epoch, or while writing its
# checkpoint, resumes with --resume from the last checkpoint and ends with exactly the
# parameters of an uninterrupted run.
#
# The kill lands on a chosen system call: strace delivers SIGKILL at the Nth write of
# the run (pwrite64 for HDF5 files, write for text), so the point is deterministic.
# Without strace the kills land at random times instead (said so).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
export CMCLIP_PROGRESS_SECONDS=1000
tamper=$bin/cmclip-test-tamper
# The HDF5 structure check runs a helper process (fas-errors(7)) whose writes strace -f
# would count and could kill; this test is about outputs, so it is off.
export CMCLIP_H5_PROBE_SECONDS=0
# LeakSanitizer cannot run under ptrace (scripts/test-sanitize.sh): no leak check here.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"

have_strace=0
if command -v strace >/dev/null && strace -f -qq -o /dev/null true 2>/dev/null; then
  have_strace=1
else
  echo "NOTE: strace not found (or not permitted): kills land at random times instead of chosen writes"
fi

# calls SYSCALL CMD...: how many SYSCALL calls CMD makes (it runs to the end).
calls() {
  local sc=$1; shift
  strace -f -qq -e trace="$sc" -o calls.log "$@" >/dev/null 2>&1 || fail "'$*' failed under strace"
  grep -c "$sc(" calls.log || true
}
# kill_at SYSCALL N CMD...: runs CMD and SIGKILLs it at its Nth SYSCALL call.
kill_at() {
  local sc=$1 n=$2; shift 2
  set +e
  strace -f -qq -o /dev/null -e trace="$sc" -e inject="$sc:signal=KILL:when=$n" "$@" >/dev/null 2>kill.err
  local rc=$?
  set -e
  [[ $rc == 137 ]] || { cat kill.err >&2; fail "'$*' was not killed at $sc call $n (exit $rc)"; }
}
# kill_later SECONDS CMD...: starts CMD and SIGKILLs it after SECONDS.
kill_later() {
  local s=$1; shift
  "$@" >/dev/null 2>&1 &
  local pid=$!
  sleep "$s"
  kill -KILL $pid 2>/dev/null || true
  wait $pid 2>/dev/null || true
}
# leftovers FILE SCHEMA: counts and removes the temporary files of FILE left by a
# kill. One that validates must be complete (killed after the writer sealed it, see
# h5::seal): it is kept as FILE.complete-* for complete_leftovers to compare.
leftovers() {
  local dir base t n=0
  dir=$(dirname "$1") base=$(basename "$1")
  for t in "$dir"/."$base".tmp-*; do
    [[ -e $t ]] || continue
    n=$((n + 1))
    if "$tamper" "$t" validate "$2" 2>/dev/null; then
      mv "$t" "$1.complete-$n-$RANDOM"
    else
      rm -f "$t"
    fi
  done
  echo "$n"
}
# complete_leftovers FILE: every validating leftover of FILE holds what the full run
# wrote to FILE (all but the root's created_at and command_line); a half-written file
# that validates fails here.
complete_leftovers() {
  local c diffs
  for c in "$1".complete-*; do
    [[ -e $c ]] || continue
    diffs=$(h5diff "$c" "$1" 2>&1 | grep -v -e '^attribute: <created_at of </>>' -e '^attribute: <command_line of </>>' \
      -e 'differences found$' || true)
    [[ -z $diffs ]] || fail "$c, left by a killed run, validates but is not the complete output: $diffs"
    echo "a leftover of $(basename "$1") validates: it is complete (killed after the writer sealed it)"
    rm -f "$c"
  done
}
# same FILE COPY: the previous output is intact.
same() { cmp -s "$1" "$2" || fail "$1 changed although the run writing it was killed"; }

# kills SYSCALL SCHEMA 'FRACTIONS' FILE... -- CMD...: kills CMD at the SYSCALL calls at
# these fractions of all it makes (0: the first, 1: the last); after each, FILE... (as
# saved before) are unchanged and their leftovers do not validate unless complete. Then CMD runs to
# the end and FILE... validate.
kills() {
  local sc=$1 schema=$2 fractions=$3; shift 3
  local files=()
  while [[ $1 != -- ]]; do files+=("$1"); shift; done
  shift
  local f
  for f in "${files[@]}"; do cp "$f" "$f.before"; done
  if ((have_strace)); then
    local total points=()
    total=$(calls "$sc" "$@")
    ((total >= 1)) || fail "'$*' made no $sc call"
    for f in $fractions; do
      points+=("$(awk -v f="$f" -v t="$total" 'BEGIN { n = int(f * t + 0.5); print (n < 1 ? 1 : n) }')")
    done
    for n in "${points[@]}"; do
      for f in "${files[@]}"; do cp "$f.before" "$f"; done
      kill_at "$sc" "$n" "$@"
      local left=0
      for f in "${files[@]}"; do
        same "$f" "$f.before"
        local count
        count=$(leftovers "$f" "$schema") || exit 1
        left=$((left + count))
      done
      echo "killed '$(basename "$1")' at $sc $n of $total: previous output intact, $left leftover(s)"
    done
  else
    for s in 0.3 1 2; do
      kill_later "$s" "$@"
      for f in "${files[@]}"; do
        [[ ! -e $f ]] || cmp -s "$f" "$f.before" || "$tamper" "$f" validate "$schema" ||
          fail "$f is neither the previous output nor a valid new one after a kill"
        leftovers "$f" "$schema" >/dev/null
        cp "$f.before" "$f"
      done
    done
  fi
  "$@" >/dev/null 2>&1 || fail "'$*' failed after the kills"
  for f in "${files[@]}"; do
    "$tamper" "$f" validate "$schema" >/dev/null || fail "$f invalid after a full run"
    complete_leftovers "$f"
  done
}

# --- fas-synth and fas-preprocess: sample stores -------------------------------------------
"$bin/fas-synth" -q --subjects 4 --attacks print --size 32 --frames 2 --split train,test --seed 1 -o s.h5 \
  --images-out img --list-out l.tsv
kills pwrite64 samples "0 0.5 1" s-train.h5 s-test.h5 -- "$bin/fas-synth" -q --subjects 4 --attacks print --size 32 --frames 2 \
  --split train,test --seed 2 -o s.h5
"$bin/fas-preprocess" -q --format tsv --root img --list l-train.tsv --detect none --size 32 -o p.h5
kills pwrite64 samples "0 0.5 1" p.h5 -- "$bin/fas-preprocess" -q --format tsv --root img --list l-train.tsv --detect none \
  --size 24 -o p.h5

# --- fas-embed: score files; fas-eval: reports ----------------------------------------------
"$bin/fas-pretrain" -q --clip builtin:tiny --train s-train.h5 --epochs 0 --batch-size 4 -o m0.h5
"$bin/fas-embed" -q --model m0.h5 --data s-test.h5 -o scores.h5
kills pwrite64 scores "0 0.5 1" scores.h5 -- "$bin/fas-embed" -q --model m0.h5 --data s-test.h5 --features -o scores.h5
"$bin/fas-eval" -q --pool-modalities --test scores.h5 --format json -o report.json
cp report.json report.json.before
if ((have_strace)); then
  # -q: the report is the run's only write; fsync and rename come after it. The C++
  # library writes it with write(2) or, when large, writev(2): whichever it uses.
  eval_run=("$bin/fas-eval" -q --pool-modalities --test scores.h5 --format tsv -o report.json)
  writer=write
  (($(calls writev "${eval_run[@]}") > 0)) && writer=writev
  cp report.json.before report.json
  for sc in $writer fsync rename; do
    kill_at "$sc" 1 "$bin/fas-eval" -q --pool-modalities --test scores.h5 --format tsv -o report.json
    same report.json report.json.before
    rm -f .report.json.tmp-*
    echo "killed fas-eval at its first $sc: previous report intact"
  done
else
  kill_later 0.05 "$bin/fas-eval" -q --pool-modalities --test scores.h5 --format tsv -o report.json
  cmp -s report.json report.json.before || head -1 report.json | grep -q '^test' || fail "report damaged by a kill"
fi

# --- training: checkpoints -------------------------------------------------------------------
train=("$bin/fas-pretrain" -q --clip builtin:tiny --train s-train.h5 --batch-size 4 --seed 3 --threads 2)
"${train[@]}" --epochs 1 -o one.h5    # a model to adapt (fas-fewshot below)
"${train[@]}" --epochs 2 -o two.h5    # an uninterrupted run of 2 epochs
# The parameters (and the resume state) of two checkpoints are equal.
same_params() {
  h5diff -q "$1" "$2" /params /params >/dev/null || fail "$1 and $2 hold different parameters"
  h5diff -q "$1" "$2" /optimizer /optimizer >/dev/null || fail "$1 and $2 hold different optimiser states"
}
if ((have_strace)); then
  # Killed while writing the checkpoint of epoch 2 (each epoch writes OUT.last.h5, then
  # OUT.h5): the checkpoint of epoch 1 is intact and --resume starts from it.
  per_epoch=$(calls pwrite64 "${train[@]}" --epochs 1 -o probe.h5)
  n=$((per_epoch + per_epoch / 4))
  rm -f cut.h5 cut.last.h5
  kill_at pwrite64 "$n" "${train[@]}" --epochs 2 -o cut.h5
  "$tamper" cut.last.h5 validate checkpoint >/dev/null || fail "cut.last.h5 invalid after the kill"
  [[ $(h5dump -a /state/epoch cut.last.h5 | awk '/\(0\)/ {print $2}') == 1 ]] || fail "cut.last.h5 is not the epoch-1 state"
  [[ $(leftovers cut.last.h5 checkpoint) == 1 ]] || fail "no checkpoint was being written at pwrite64 $n"
  echo "killed fas-pretrain in its epoch-2 checkpoint write (pwrite64 $n): the epoch-1 checkpoint is intact"
  "${train[@]}" --epochs 2 --resume -o cut.h5 || fail "--resume after a kill in a checkpoint write failed"
  same_params cut.last.h5 two.last.h5
  echo "--resume after it ends with the parameters of the uninterrupted run"
fi
# Killed mid-epoch (no write in flight): resumes from the last checkpoint and finishes.
# 10 steps per epoch: a step costs about as much whatever the batch (the prompts are
# encoded each step), so this is long enough to land 0.2 s into epoch 2, and no longer.
"$bin/fas-synth" -q --subjects 10 --attacks print --size 32 --frames 2 --seed 4 -o big.h5
long=("$bin/fas-pretrain" -q --clip builtin:tiny --train big.h5 --batch-size 4 --seed 3 --threads 2 --epochs 3)
"${long[@]}" -o full.h5
rm -f mid.h5 mid.last.h5
"${long[@]}" -o mid.h5 &
pid=$!
for _ in $(seq 1 3000); do [[ -e mid.last.h5 ]] && break; sleep 0.1; done
[[ -e mid.last.h5 ]] || fail "no epoch checkpoint within 300 s"
sleep 0.2
kill -KILL $pid
wait $pid 2>/dev/null || true
"$tamper" mid.last.h5 validate checkpoint >/dev/null || fail "mid.last.h5 invalid after SIGKILL"
epoch=$(h5dump -a /state/epoch mid.last.h5 | awk '/\(0\)/ {print $2}')
[[ $epoch == 1 || $epoch == 2 ]] || fail "the checkpoint left has epoch '$epoch', expected 1 or 2"
leftovers mid.last.h5 checkpoint >/dev/null
leftovers mid.h5 checkpoint >/dev/null
"${long[@]}" --resume -o mid.h5 2>resume.log || { cat resume.log >&2; fail "--resume after SIGKILL failed"; }
same_params mid.last.h5 full.last.h5
echo "fas-pretrain killed mid-epoch $((epoch + 1)): --resume finished with the parameters of the uninterrupted run"

# fas-fewshot writes its checkpoints the same way.
few=("$bin/fas-fewshot" -q --init one.h5 --train s-train.h5 --modality depth --shots 1 --batch-size 4 --seed 1)
"${few[@]}" --epochs 2 -o f.h5
# Kills within its first write (OUT.last.h5; OUT.h5 follows), where both are intact.
kills pwrite64 checkpoint "0 0.25" f.h5 f.last.h5 -- "${few[@]}" --epochs 1 -o f.h5
no_temp_files .
echo "killed runs: all checks passed"
