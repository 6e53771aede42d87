#!/usr/bin/env bash
# fas-pretrain and fas-fewshot end to end on a small fas-synth set with builtin:tiny:
# the training loss falls, 5-shot Depth adaptation (RGB replay, last epoch, no dev
# selection) beats the un-adapted model's dev AUC, a shot list reproduces its run, SIGTERM stops cleanly and --resume reaches the uninterrupted run's parameters,
# scores pipe into fas-eval, shards merge into the single run, and bad input exits 2.
#
# Sized to run in a few minutes on 2 cores: 8 subjects per split (9 steps per epoch at
# batch 16, 96 samples per split), and the stage-1 run doubles as the uninterrupted run
# that the SIGTERM + --resume run must reach.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
export CMCLIP_PROGRESS_SECONDS=1000

"$bin/fas-synth" -q --subjects 24 --attacks print,replay,mask --size 64 --split train,dev,test --seed 7 -o s.h5
base=(--clip builtin:tiny --train s-train.h5 --threads 2)
common=("${base[@]}" --batch-size 16 --seed 3)
stage1=("${common[@]}" --dev s-dev.h5 --epochs 4)

# Stage 1 on RGB: the loss falls from the first to the last epoch.
expect 0 "$bin/fas-pretrain" "${stage1[@]}" -o pre.h5
first=$(grep -m1 "epoch 1/4: loss" err.txt | sed 's/.*loss \([0-9.]*\).*/\1/')
last=$(grep "epoch 4/4: loss" err.txt | sed 's/.*loss \([0-9.]*\).*/\1/')
greater "$first" "$last" || fail "pretraining loss did not fall: $first -> $last"
[[ -s pre.h5 && -s pre.last.h5 ]] || fail "checkpoints missing"
grep -q "dev AUC" err.txt || fail "no dev metrics in the epoch log"
# RGB only: L_mod (a cross-entropy over modalities) has one class and is left out.
grep -q "L_mod is left out of batches that hold one modality" err.txt || fail "the one-modality rule is not logged"
grep -q "mod on 0 of 9 steps" err.txt || fail "the epoch line does not count the steps with L_mod"
no_temp_files

# Before adaptation: the RGB model scored on Depth dev samples.
"$bin/fas-embed" -q --model pre.h5 --data s-dev.h5 --modality depth -o before.h5
"$bin/fas-eval" --test before.h5 --format json > before.json 2>/dev/null
auc_before=$(json_number before.json auc)

# Stage 2: 5 shots of Depth with RGB replay (the default), the last epoch kept: the dev
# set is only reported, so the comparison below uses no target labels to pick the model.
# Seeds and threads fixed: deterministic.
expect 0 "$bin/fas-fewshot" --init pre.h5 --train s-train.h5 --modality depth --shots 5 --shot-seed 1 --seed 1 \
  --threads 2 --dev s-dev.h5 --exclude s-test.h5 --epochs 10 --shots-out fs-shots.tsv -o fs.h5
grep -q "10 depth shot frames (K = 5, shot seed 1): live" err.txt || fail "the chosen shots are not logged"
grep -q "replaying rgb samples of s-train.h5 (50% of each batch); kept epoch: last" err.txt \
  || fail "replay and the kept epoch are not logged"
grep -q "(reported only)" err.txt || fail "dev figures not marked as reported only"
grep -q "epoch 10/10: loss [0-9.]* (cat [0-9.]* fg [0-9.]* mod [0-9.]* dec" err.txt || fail "no L_mod with replay"
(( $(wc -l <fs-shots.tsv) == 11 )) || fail "the shot list does not hold 10 frames"
"$bin/fas-embed" -q --model fs.h5 --data s-dev.h5 --modality depth -o after.h5
"$bin/fas-eval" --test after.h5 --format json > after.json 2>/dev/null
auc_after=$(json_number after.json auc)
echo "depth dev AUC before $auc_before, after 5-shot adaptation (last epoch) $auc_after"
greater "$auc_after" "$auc_before" || fail "adaptation did not beat the un-adapted model: $auc_before -> $auc_after"
# The shot list read back gives the same shots, hence the same model (2 epochs each).
few2=("$bin/fas-fewshot" -q --init pre.h5 --train s-train.h5 --modality depth --seed 2 --threads 2 --epochs 2)
expect 0 "${few2[@]}" --shots 5 --shot-seed 1 -o drawn.h5
expect 0 "${few2[@]}" --shots-in fs-shots.tsv -o listed.h5
h5diff drawn.h5 listed.h5 /params /params >/dev/null || fail "--shots-in did not reproduce the drawn shots' run"
h5dump -a /config/kshot_list fs.h5 | grep -q "live" || fail "the shot list is not in the checkpoint"
# A threshold from the K shots alone: score the listed frames, use them as the dev set.
expect 0 "$bin/fas-embed" --model fs.h5 --data s-train.h5 --modality depth --shots fs-shots.tsv -o shot-scores.h5
h5ls shot-scores.h5/score | grep -q "{10[/}]" || fail "--shots did not score exactly the 10 shots"
expect 0 "$bin/fas-eval" --dev shot-scores.h5 --test after.h5
expect 2 "$bin/fas-embed" --model fs.h5 --data s-train.h5 --shots fs-shots.tsv -o x.h5
grep -q "\-\-shots needs --modality" err.txt || fail "--shots without --modality not explained"
# The few-shot checkpoint is small: it refers to the frozen CLIP instead of copying it.
h5dump -a /config/kshot_live fs.h5 >/dev/null || fail "K-shot selection not recorded"
size_pre=$(stat -c %s pre.h5); size_fs=$(stat -c %s fs.h5)
(( size_fs < size_pre )) || fail "few-shot checkpoint ($size_fs B) not smaller than the pretrain one ($size_pre B)"

# Scores through a pipe, and shards merged equal the single run.
"$bin/fas-embed" -q --model fs.h5 --data s-test.h5 --modality depth -o - --format tsv \
  | "$bin/fas-eval" --dev after.h5 --test - > piped.txt || fail "embed | eval pipe failed"
grep -q "AUC" piped.txt || fail "no AUC from the pipe"
for i in 0 1 2; do "$bin/fas-embed" -q --model fs.h5 --data s-test.h5 --modality depth --shard $i/3 -o part$i.h5; done
"$bin/fas-embed" -q --model fs.h5 --data s-test.h5 --modality depth -o whole.h5
"$bin/fas-embed" -q --merge part0.h5 part1.h5 part2.h5 -o merged.h5
h5diff -r whole.h5 merged.h5 /score /score >/dev/null || fail "merged shards differ from the single run"
expect 2 "$bin/fas-embed" --merge part0.h5 part2.h5 -o bad.h5
grep -q "gap: no input holds indices 32..63" err.txt || fail "a gap in the shards is not named"
[[ ! -e bad.h5 ]] || fail "output written by a failed merge"

# SIGTERM: finish the step, checkpoint, exit 0; --resume equals the uninterrupted run
# (stage 1 above, same options).
set +e
"$bin/fas-pretrain" "${stage1[@]}" -o cut.h5 2>cut.log &
pid=$!
for _ in $(seq 1 300); do grep -q "epoch 1/4: loss" cut.log && break; sleep 0.1; done
kill -TERM $pid
wait $pid; status=$?
set -e
(( status == 0 )) || { cat cut.log >&2; fail "SIGTERM exit status $status"; }
grep -q "stop requested (signal 15)" cut.log || fail "no stop message"
expect 0 "$bin/fas-pretrain" "${stage1[@]}" --resume -o cut.h5
grep -q "resuming from" err.txt || fail "--resume did not resume"
h5diff pre.last.h5 cut.last.h5 /params /params >/dev/null || fail "resumed parameters differ from the uninterrupted run"
expect 2 "$bin/fas-pretrain" "${base[@]}" --batch-size 16 --dev s-dev.h5 --epochs 4 --seed 4 --resume -o cut.h5
grep -q "train_seed" err.txt || fail "resuming with another seed is not refused clearly"

# Zero-shot has nothing to train: the tool says so and writes a model that scores.
expect 0 "$bin/fas-pretrain" "${common[@]}" --method zero-shot --dev s-dev.h5 -o zs.h5
grep -q "no trainable parameters" err.txt || fail "zero-shot: no 'nothing to train' message"
expect 0 "$bin/fas-embed" --model zs.h5 --data s-dev.h5 --modality rgb -o zs-scores.h5
[[ -s zs-scores.h5 ]] || fail "zero-shot checkpoint does not score"

# Bad usage and bad input: exit 2, a clear message, no checkpoint.
expect 2 "$bin/fas-pretrain" --clip builtin:tiny --train nope.h5 -o x.h5
# An odd batch cannot mix replay pairs (fas-fewshot replays by default; an odd batch
# without replay, CoCoOp's 1, is tools/test_baselines.sh's).
expect 2 "$bin/fas-fewshot" --init pre.h5 --train s-train.h5 --modality depth --batch-size 7 -o x.h5
grep -q "must be even with source replay" err.txt || fail "odd batch size with replay not explained: $(cat err.txt)"
expect 2 "$bin/fas-pretrain" "${common[@]}" --modality thermal -o x.h5
grep -qi "thermal" err.txt || fail "unknown prompt modality not explained"
expect 2 "$bin/fas-fewshot" --init pre.h5 --train s-train.h5 --modality depth --shots 50 -o x.h5
grep -q "50-shot needs 50 live videos" err.txt || fail "too many shots not explained"
expect 2 "$bin/fas-pretrain" "${common[@]}" -o missing/x.h5
[[ ! -e x.h5 ]] || fail "a failed run left a checkpoint"
no_temp_files

# --profile: a Chrome trace of the run's operations (cmclip's own products and
# attention named), written when the run ends; a run that fails leaves none. Without
# --threads, a width-128 CLIP computes on one thread of the budget and says so.
expect 0 "$bin/fas-pretrain" --clip builtin:tiny --train s-train.h5 --batch-size 16 --epochs 1 --profile trace.json \
  -o prof.h5
budget=$("$bin/fas-pretrain" --version | sed -n 's/^threads: *\([0-9]*\).*/\1/p')
if ((budget > 1)); then
  grep -q "computing on 1 thread of $budget: this CLIP's width of 128" err.txt || fail "the one-thread cap is not logged"
fi
python3 - trace.json <<'PY' || fail "trace.json lacks the operations of a training step"
import json, sys
names = {e["name"] for e in json.load(open(sys.argv[1])) if e.get("ph") == "X"}
sys.exit(0 if {"cmclip::linear", "cmclip::attention", "aten::native_layer_norm"} <= names else 1)
PY
# (The summary is read whole before grep: grep -q would close the pipe on the first match.)
summary=$("$src/scripts/bench/trace_summary.py" trace.json --top 40) || fail "trace_summary.py failed"
grep -q "cmclip::linear" <<<"$summary" || fail "trace_summary.py does not list cmclip::linear"
expect 2 "$bin/fas-pretrain" --clip builtin:tiny --train no-such.h5 --profile trace2.json -o prof2.h5
[[ ! -e trace2.json ]] || fail "a failed run left a trace"
# A trace that cannot be written is refused before any work (exit 2, the path named).
expect 2 "$bin/fas-pretrain" --clip builtin:tiny --train s-train.h5 --epochs 1 --profile no-such-dir/trace.json \
  -o prof3.h5
grep -q "no-such-dir" err.txt || fail "an unwritable --profile path is not named"
[[ ! -e prof3.h5 ]] || fail "a refused run left a checkpoint"
no_temp_files

# --help teaches; the man pages render without warnings.
for tool in fas-pretrain fas-fewshot; do
  help=$("$bin/$tool" --help)
  grep -q "Examples" <<<"$help" || fail "$tool --help has no examples"
  warnings=$(MANWIDTH=80 man --warnings -l "$src/man/$tool.1" 2>&1 >/dev/null)
  [[ -z "$warnings" ]] || fail "$tool.1: $warnings"
done
echo "ok"
