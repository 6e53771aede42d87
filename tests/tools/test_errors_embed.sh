#!/usr/bin/env bash
# fas-embed against the error table of man fas-errors(7): bad sample stores, bad
# checkpoints, shards out of range, bad image lists and images, bad prompt files, shard
# files that do not fit, and outputs that cannot be written: each gives its exit status,
# one message naming the file and record, and no output (previous outputs intact).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/errors_lib.sh"
export CMCLIP_PROGRESS_SECONDS=1000
em=$bin/fas-embed

synth_and_model
expect 0 "$em" -q --model m.h5 --data s-test.h5 -o out/ok.h5
rm out/ok.h5
score=("$em" --model m.h5)
find img -name '*rgb.png' | sort | head -3 >ok.txt

# --- the sample store (--data) ---------------------------------------------------------
"${score[@]}" -q --data s-test.h5 -o scores.h5
bad_sample_stores s-test.h5 scores.h5 --data "${score[@]}"
bad 2 "s-test.h5|no thermal samples" "${score[@]}" --data s-test.h5 --modality thermal -o out/x.h5

# --- the checkpoint (--model) -------------------------------------------------------------
bad 2 "nope.h5" "$em" --model nope.h5 --data s-test.h5 -o out/x.h5
bad 2 "s-test.h5|trained cmclip checkpoint" "$em" --model s-test.h5 --data s-test.h5 -o out/x.h5
cp m.h5 mv9.h5 && tamper mv9.h5 attr / format_version int 9
bad 2 "mv9.h5|version 9 is not supported" "$em" --model mv9.h5 --data s-test.h5 -o out/x.h5
h5ls m.h5/params >params.txt
param=$(awk '/^prompt/ {print $1; exit}' params.txt)
cp m.h5 noparam.h5 && tamper noparam.h5 rm "/params/$param"
bad 2 "noparam.h5|/trainable|names '$param'" "$em" --model noparam.h5 --data s-test.h5 -o out/x.h5
cp m.h5 config.h5 && tamper config.h5 attr /config adapter_dim int 4
bad 2 "config.h5|/params/adapters.|does not fit" "$em" --model config.h5 --data s-test.h5 -o out/x.h5
cp m.h5 configtype.h5 && tamper configtype.h5 attr /config adapter_dim string eight
bad 2 "configtype.h5|/config|adapter_dim|should be an integer" "$em" --model configtype.h5 --data s-test.h5 -o out/x.h5
cp m.h5 nomethod.h5 && tamper nomethod.h5 rmattr /config method
bad 2 "nomethod.h5|/config|no trained model" "$em" --model nomethod.h5 --data s-test.h5 -o out/x.h5
cp "$corpus/h5_checkpoint/crash-attribute-table" attrs.h5
bad 2 "attrs.h5: /config: damaged file: object header at byte 800: attribute 'adapter_dropout'" "$em" --model attrs.h5 --data s-test.h5 -o out/x.h5
cp "$corpus/h5_checkpoint/crash-gheap-missing-object" gheapm.h5
bad 2 "gheapm.h5: /config: damaged file: value 1 names object" "$em" --model gheapm.h5 --data s-test.h5 -o out/x.h5
cp m.h5 flippedm.h5 && tamper flippedm.h5 flip /params/token_embedding.weight
bad 2 "flippedm.h5|/params/token_embedding.weight|checksum" "$em" --model flippedm.h5 --data s-test.h5 -o out/x.h5
echo "not an archive" >fake.pt
bad 2 "fake.pt" "$em" --model fake.pt --images ok.txt -o out/x.h5

# --- shards --------------------------------------------------------------------------------
for shard in 3/3 5/2 -1/4 1/0 one/two 2; do
  bad 2 "--shard|'$shard' is not I/N" "${score[@]}" --data s-test.h5 --shard "$shard" -o out/x.h5
done
"${score[@]}" -q --data s-test.h5 --shard 0/2 -o part0.h5
"${score[@]}" -q --data s-test.h5 --shard 1/2 -o part1.h5
bad 2 "gap" "$em" --merge part0.h5 -o out/x.h5
bad 2 "part1.h5|twice" "$em" --merge part0.h5 part1.h5 part1.h5 -o out/x.h5
"$bin/fas-pretrain" -q --clip builtin:tiny --train s-train.h5 --epochs 0 --batch-size 4 --seed 9 -o m2.h5
"$em" -q --model m2.h5 --data s-test.h5 --shard 1/2 -o other1.h5
bad 2 "other1.h5|model" "$em" --merge part0.h5 other1.h5 -o out/x.h5
bad 2 "s-test.h5|expected a cmclip.scores file" "$em" --merge part0.h5 s-test.h5 -o out/x.h5

# --- image lists and images (--images) ----------------------------------------------------
expect 0 "$em" -q --model builtin:tiny --images ok.txt -o out/ok.h5
rm out/ok.h5
first=$(head -1 ok.txt)
{ cat ok.txt; echo img/missing.png; } >missing.txt
bad 2 "missing.txt|line 4|img/missing.png" "$em" --model builtin:tiny --images missing.txt -o out/x.h5
broken_images broken "$first"
for f in half.png half.jpg text.png empty.png short.bmp huge.jpg; do
  { cat ok.txt; echo "broken/$f"; } >list.txt
  bad 2 "list.txt|line 4|broken/$f|$(image_problem $f)" "$em" --model builtin:tiny --images list.txt -o out/x.h5
done
printf 'img/\xff\xfe.png\n' >latin1.txt
bad 2 "latin1.txt|line 1|not valid UTF-8" "$em" --model builtin:tiny --images latin1.txt -o out/x.h5
bad 2 "img|expected a file, found a folder" "$em" --model builtin:tiny --images img -o out/x.h5
printf '\n\n' >blank.txt
bad 2 "blank.txt|no image paths" "$em" --model builtin:tiny --images blank.txt -o out/x.h5

# --- prompt files (--text-file) ----------------------------------------------------------
printf 'a photo of a face\n%s\n' "$(printf 'word %.0s' {1..80})" >long.txt
bad 2 "long.txt|line 2|longer than the context length" "$em" --model builtin:tiny --text-file long.txt -o out/x.h5
printf 'a photo\nof a \xc3\x28 face\n' >utf.txt
bad 2 "utf.txt|line 2|not valid UTF-8" "$em" --model builtin:tiny --text-file utf.txt -o out/x.h5
printf 'a photo\0of a face\n' >nul.txt
bad 2 "nul.txt|line 1|NUL" "$em" --model builtin:tiny --text-file nul.txt -o out/x.h5

# --- usage ----------------------------------------------------------------------------------
bad 2 "--format tsv" "${score[@]}" --data s-test.h5 -o -
bad 2 "needs --model" "$em" --data s-test.h5 -o out/x.h5

# --- outputs --------------------------------------------------------------------------------
bad 2 "out/missing/x.h5|does not exist" "${score[@]}" --data s-test.h5 -o out/missing/x.h5
bad 2 "out/missing/x.tsv|does not exist" "${score[@]}" --data s-test.h5 --format tsv -o out/missing/x.tsv
bad 2 "out/missing/t.h5|does not exist" "$em" --model builtin:tiny --text-file long.txt --truncate -o out/missing/t.h5
read_only "ro/x.h5|not writable" "${score[@]}" --data s-test.h5 -o ro/x.h5
mkdir -p full && cp scores.h5 full/x.h5
full_disk "full/x.h5|disk full" 24 "${score[@]}" --data s-test.h5 --features -o full/x.h5
# The TSV is smaller than one tmpfs page: no room at all.
full_disk "full/x.tsv|disk full" 0 "${score[@]}" --data s-test.h5 --format tsv -o full/x.tsv
full_disk "full/i.h5|disk full" 24 "$em" --model builtin:tiny --images ok.txt -o full/i.h5
file_limit "full/x.h5|disk full" 16 "${score[@]}" --data s-test.h5 --features -o full/x.h5
set +e; "${score[@]}" -q --data s-test.h5 --format tsv -o - >/dev/full 2>err.txt; got=$?; set -e
[[ $got == 1 ]] || fail "scores to a full stdout exited $got, expected 1"
check_one_error fas-embed "cannot write" err.txt
tried=$((tried + 1))
no_temp_files out
summary fas-embed
