#!/usr/bin/env bash
# fas-pretrain and fas-fewshot against the error table of man fas-errors(7): bad
# training, dev and replay stores (down to a checksum failure found mid-training), bad
# CLIP models and checkpoints, checkpoints that do not match the model asked for, a
# damaged resume state, and checkpoints that cannot be written: each gives its exit
# status, one message naming the file and record, and no checkpoint (previous ones
# intact).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/errors_lib.sh"
export CMCLIP_PROGRESS_SECONDS=1000
pt=$bin/fas-pretrain
fs=$bin/fas-fewshot

"$bin/fas-synth" -q --subjects 6 --attacks print,replay --size 32 --frames 2 --split train,test --seed 1 -o s.h5
"$bin/fas-synth" -q --subjects 3 --attacks print --size 32 --frames 1 --modalities rgb --seed 2 -o rgbonly.h5
train=("$pt" --clip builtin:tiny --batch-size 4 --epochs 1 --threads 2)
"${train[@]}" -q --train s-train.h5 -o m.h5
"$bin/fas-embed" -q --model m.h5 --data s-test.h5 -o scores.h5

# --- training stores (--train, --dev, --replay) ----------------------------------------------
bad_sample_stores s-train.h5 scores.h5 --train "${train[@]}"
bad 2 "scores.h5|expected a cmclip.samples file" "${train[@]}" --train s-train.h5 --dev scores.h5 -o out/x.h5
cp "$corpus/h5_samples/crash-gheap-missing-object" gheap.h5
bad 2 "gheap.h5: /: damaged file: value 0 names object 4278190098" "${train[@]}" --train s-train.h5 --dev gheap.h5 -o out/x.h5

# --- CLIP models (--clip) ---------------------------------------------------------------------
echo "not an archive" >fake.pt
bad 2 "fake.pt" "$pt" --clip fake.pt --train s-train.h5 -o out/x.h5
bad 2 "nope.pt" "$pt" --clip nope.pt --train s-train.h5 -o out/x.h5
bad 2 "builtin:huge|builtin:tiny" "$pt" --clip builtin:huge --train s-train.h5 -o out/x.h5

# --- resuming (--resume): the state of OUT.last.h5 ------------------------------------------
cp m.h5 out/r.h5 && cp m.last.h5 out/r.last.h5
tamper out/r.last.h5 rmattr /state epoch
bad 2 "out/r.last.h5|/state|'epoch' is missing" "${train[@]}" --train s-train.h5 --resume -o out/r.h5
tamper out/r.last.h5 attr /state epoch string two
bad 2 "out/r.last.h5|/state|'epoch' should be an integer" "${train[@]}" --train s-train.h5 --resume -o out/r.h5
cp s-train.h5 out/r.last.h5
bad 2 "out/r.last.h5|expected a cmclip.checkpoint file, found cmclip.samples" \
  "${train[@]}" --train s-train.h5 --resume -o out/r.h5
cp m.last.h5 out/r.last.h5
bad 2 "out/r.last.h5|train_seed" "${train[@]}" --seed 5 --train s-train.h5 --resume -o out/r.h5
rm out/r.h5 out/r.last.h5

# --- fas-fewshot: the checkpoint to adapt (--init) ------------------------------------------
fshot=("$fs" --train s-train.h5 --modality depth --shots 1 --epochs 1 --batch-size 4)
expect 0 "${fshot[@]}" -q --init m.h5 -o out/ok.h5
rm out/ok.h5 out/ok.last.h5
bad 2 "nope.h5" "${fshot[@]}" --init nope.h5 -o out/x.h5
bad 2 "s-train.h5|cmclip.samples" "${fshot[@]}" --init s-train.h5 -o out/x.h5
corrupt_copy m.h5 mhalf.h5
bad 2 "mhalf.h5|truncated" "${fshot[@]}" --init mhalf.h5 -o out/x.h5
cp m.h5 mv3.h5 && tamper mv3.h5 attr / format_version int 3
bad 2 "mv3.h5|version 3 is not supported" "${fshot[@]}" --init mv3.h5 -o out/x.h5
cp "$corpus/h5_checkpoint/crash-attribute-table" attrs.h5
bad 2 "attrs.h5: /config: damaged file: object header at byte 800: attribute 'adapter_dropout'" "${fshot[@]}" --init attrs.h5 -o out/x.h5
# The model asked for is not the checkpoint's.
bad 2 "m.h5|/config|method = cm-clip|coop" "${fshot[@]}" --init m.h5 --method coop -o out/x.h5
bad 2 "m.h5|/config|n_ctx = 16|4" "${fshot[@]}" --init m.h5 --n-ctx 4 -o out/x.h5
bad 2 "--vision-heads|checkpoint m.h5 records its own head counts" "${fshot[@]}" --init m.h5 --vision-heads 4 -o out/x.h5
# An option given explicitly must agree whatever its value (1 is --lambda-dec's default).
cp m.h5 ld.h5 && tamper ld.h5 attr /config lambda_dec float 0.5
bad 2 "ld.h5|/config|lambda_dec = 0.5|asks for 1" "${fshot[@]}" --init ld.h5 --lambda-dec 1 -o out/x.h5
cp m.h5 config.h5 && tamper config.h5 attr /config adapter_dim int 4
bad 2 "config.h5|/params/adapters.|does not fit" "${fshot[@]}" --init config.h5 -o out/x.h5
cp m.h5 configtype.h5 && tamper configtype.h5 attr /config n_ctx float 2.5
bad 2 "configtype.h5|/config|n_ctx|should be an integer" "${fshot[@]}" --init configtype.h5 -o out/x.h5
cp m.h5 clipconfig.h5 && tamper clipconfig.h5 attr /config clip_vision_layers int 5
bad 2 "clipconfig.h5|/config|clip_vision_layers" "${fshot[@]}" --init clipconfig.h5 -o out/x.h5
cp m.h5 flipped.ckpt.h5 && tamper flipped.ckpt.h5 flip /params/token_embedding.weight
bad 2 "flipped.ckpt.h5|/params/token_embedding.weight|checksum" "${fshot[@]}" --init flipped.ckpt.h5 -o out/x.h5
bad 2 "rgbonly.h5|depth" "$fs" --init m.h5 --train rgbonly.h5 --modality depth --shots 1 -o out/x.h5
bad 2 "scores.h5|expected a cmclip.samples file" "${fshot[@]}" --init m.h5 --replay scores.h5 -o out/x.h5

# --- fas-fewshot: the shots and the protocol ------------------------------------------------
bad 2 "s-train.h5|also appears in --exclude s-train.h5|few-shot samples must not come from evaluation data" \
  "${fshot[@]}" --init m.h5 --exclude s-train.h5 -o out/x.h5
printf 'label\tvideo\tframe\nlive\tno-such-video\t0\n' >peer.tsv
bad 2 "peer.tsv|line 2|no-such-video frame 0 of modality depth is not in" \
  "$fs" --train s-train.h5 --modality depth --epochs 1 --batch-size 4 --init m.h5 --shots-in peer.tsv -o out/x.h5
bad 2 "--shots-in|excludes --shots" "${fshot[@]}" --init m.h5 --shots-in peer.tsv -o out/x.h5
bad 2 "--select target-dev needs a dev sample store" "${fshot[@]}" --init m.h5 --select target-dev -o out/x.h5
bad 2 "--frames-per-shot 3|has only 2 frame(s)" "${fshot[@]}" --init m.h5 --frames-per-shot 3 -o out/x.h5
# Replay is on by default: with no source samples anywhere, say how to proceed.
"$bin/fas-synth" -q --subjects 4 --attacks print --size 32 --frames 1 --modalities depth --seed 3 -o depthonly.h5
cp m.h5 moved.h5 && tamper moved.h5 attr /config train_data string gone/s-train.h5
bad 2 "replays rgb samples by default|depthonly.h5 has none|gone/s-train.h5|--replay-ratio 0" \
  "$fs" --init moved.h5 --train depthonly.h5 --modality depth --shots 1 --epochs 1 --batch-size 4 -o out/x.h5
expect 0 "$fs" -q --init moved.h5 --train depthonly.h5 --modality depth --shots 1 --epochs 1 --batch-size 4 \
  --replay-ratio 0 -o out/ok.h5
rm out/ok.h5 out/ok.last.h5

# --- checkpoints that cannot be written -----------------------------------------------------
bad 2 "out/missing/x.h5|does not exist" "${train[@]}" --train s-train.h5 -o out/missing/x.h5
bad 2 "out/missing/x.h5|does not exist" "${fshot[@]}" --init m.h5 -o out/missing/x.h5
read_only "ro/x.h5|not writable" "${train[@]}" --train s-train.h5 -o ro/x.h5
read_only "ro/x.h5|not writable" "${fshot[@]}" --init m.h5 -o ro/x.h5
# A full disk at the checkpoint: exit 1, the previous checkpoints as they were.
mkdir -p full && cp m.h5 full/x.h5 && cp m.last.h5 full/x.last.h5
kib=$(($(stat -c %s m.h5) / 2 / 1024))
full_disk "full/x.last.h5|disk full" $kib "${train[@]}" --train s-train.h5 -o full/x.h5
full_disk "full/x.last.h5|disk full" $kib "${fshot[@]}" --init m.h5 --embed-clip -o full/x.h5
file_limit "full/x.last.h5|disk full" 64 "${train[@]}" --train s-train.h5 -o full/x.h5
no_temp_files out
summary "fas-pretrain and fas-fewshot"
