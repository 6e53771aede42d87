#!/usr/bin/env bash
# The baselines start from their papers' settings (--method presets), and what the
# command line gives overrides them: the settings are read back from the checkpoints'
# /config. The linear probe is fitted by L-BFGS with C chosen by cross-validation over
# the shot videos, and refuses replay.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# attr FILE NAME: the value of /config attribute NAME.
attr() { h5dump -a "/config/$2" "$1" | sed -n 's/^ *(0): *//p' | tr -d '"'; }
check() { [[ "$(attr "$1" "$2")" == "$3" ]] || fail "$1: /config/$2 is '$(attr "$1" "$2")', expected '$3'"; }

"$bin/fas-synth" -q --subjects 8 --attacks print,replay --size 32 --frames 2 --split train,test --seed 3 -o s.h5
common=(--train s-train.h5 --threads 2)

# CoCoOp: "a photo of a" context, SGD at 0.002 with a constant warm-up; the batch and
# epochs given here are kept.
expect 0 "$bin/fas-pretrain" --clip builtin:tiny --method cocoop --modality rgb --epochs 1 --batch-size 4 \
  "${common[@]}" -o cocoop.h5
grep -q "preset of CoCoOp.*--ctx-init \"a photo of a\".*--optimizer sgd --lr 0.002" err.txt \
  || fail "no CoCoOp preset line: $(cat err.txt)"
grep -q "from the command line: --epochs --batch-size" err.txt || fail "the kept options are not logged"
check cocoop.h5 ctx_init "a photo of a"
check cocoop.h5 ctx_layout shared
check cocoop.h5 optimizer sgd
check cocoop.h5 train_global_batch 4
# Stage 2: the paper's batch 1 and no replay; the epochs given are kept.
expect 0 "$bin/fas-fewshot" --init cocoop.h5 --modality depth --shots 2 --epochs 1 "${common[@]}" -o cocoop-k2.h5
check cocoop-k2.h5 train_global_batch 1
check cocoop-k2.h5 train_replay_ratio 0
check cocoop-k2.h5 train_warmup "constant for 4 steps from 1e-05"
grep -q "no replay" err.txt || fail "CoCoOp few-shot replays"

# CoOp: 16 random shared vectors, SGD; the few-shot batch is at most the shot frames
# (2 shots x 2 classes), the epochs follow K (100 for 4-8 shots: given here as 2).
expect 0 "$bin/fas-pretrain" -q --clip builtin:tiny --method coop --modality rgb --epochs 1 "${common[@]}" -o coop.h5
check coop.h5 n_ctx 16
check coop.h5 train_global_batch 32
expect 0 "$bin/fas-fewshot" --init coop.h5 --modality depth --shots 2 --epochs 2 --lr 0.01 "${common[@]}" -o coop-k2.h5
check coop-k2.h5 train_global_batch 4
check coop-k2.h5 train_lr 0.01
check coop-k2.h5 optimizer sgd

# cm-clip keeps cmclip's own defaults (AdamW, replay).
expect 0 "$bin/fas-pretrain" -q --clip builtin:tiny --modality rgb --epochs 1 --batch-size 4 "${common[@]}" -o cm.h5
expect 0 "$bin/fas-fewshot" --init cm.h5 --modality depth --shots 2 --epochs 1 --batch-size 4 "${common[@]}" -o cm-k2.h5
check cm-k2.h5 optimizer adamw
check cm-k2.h5 train_replay_ratio 0.5
! grep -q "preset of" err.txt || fail "cm-clip got a preset"

# Linear probe: L-BFGS, C by cross-validation over the shot videos (K = 3: 3 folds).
expect 0 "$bin/fas-pretrain" --clip builtin:tiny --method linear-probe --modality rgb --epochs 3 "${common[@]}" \
  -o lp.h5
grep -q "linear-probe is fitted by L-BFGS on frozen features: --epochs do not apply" err.txt \
  || fail "ignored options not named: $(cat err.txt)"
expect 0 "$bin/fas-fewshot" --init lp.h5 --modality depth --shots 3 "${common[@]}" -o lp-k3.h5
grep -q "C = .* chosen by 3-fold cross-validation over the training videos" err.txt \
  || fail "no C search logged: $(cat err.txt)"
check lp-k3.h5 optimizer lbfgs
check lp-k3.h5 probe_samples 6
[[ -n "$(attr lp-k3.h5 probe_c)" ]] || fail "no probe_c in the checkpoint"
"$bin/fas-embed" -q --model lp-k3.h5 --data s-test.h5 --modality depth -o lp-scores.h5
expect 2 "$bin/fas-fewshot" --init lp.h5 --modality depth --shots 3 --replay-ratio 0.5 "${common[@]}" -o lp-x.h5
grep -q "linear-probe fits on the training samples alone" err.txt || fail "replay not refused: $(cat err.txt)"
[[ ! -e lp-x.h5 ]] || fail "a refused run left its output"
echo ok
