#!/usr/bin/env bash
# The dataset recipes in examples/: each checks its inputs and says what is missing
# (exit 2), and the CASIA-SURF recipe runs end to end on a CASIA-SURF-style copy made
# from fas-synth images (challenge lists with rgb/depth/ir paths, 1 = live), with
# builtin:tiny and small settings.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
export FAS_BIN=$bin CMCLIP_PROGRESS_SECONDS=1000

for recipe in casia-surf cefa; do
  expect 2 "$src/examples/$recipe/run.sh" "$scratch/nowhere" "$scratch/work-$recipe"
  grep -q "^missing: " err.txt || fail "$recipe: no 'missing:' message"
  grep -q "see the layout" err.txt || fail "$recipe: no pointer to the expected layout"
done
expect 2 "$src/examples/wmca/run.sh" "$scratch/nowhere" "$scratch/lists" "$scratch/work-wmca"
grep -q "grandtest list" err.txt || fail "wmca: the missing lists are not named"

# A CASIA-SURF-style copy of a synthetic set.
"$bin/fas-synth" -q --subjects 12 --attacks print,replay,mask --size 48 --frames 2 --split train,dev,test \
  --seed 5 --images-out imgs --list-out imgs.tsv
surf=$scratch/CASIA-SURF
declare -A folder=([train]=Training [dev]=Val [test]=Testing)
declare -A list=([train]=train_list.txt [dev]=val_private_list.txt [test]=test_private_list.txt)
for split in train dev test; do
  : > "$surf.tmp"
  while read -r rgb; do
    rel=${rgb#imgs/$split/}                       # s0003/print/f01_rgb.png
    video=$(dirname "$rel"); frame=$(basename "$rel" _rgb.png)
    out="${folder[$split]}/$video"
    mkdir -p "$surf/$out"/{color,depth,ir}
    cp "$rgb" "$surf/$out/color/$frame.png"
    cp "imgs/$split/$video/${frame}_depth.png" "$surf/$out/depth/$frame.png"
    cp "imgs/$split/$video/${frame}_nir.png" "$surf/$out/ir/$frame.png"
    label=0; [[ $video == */live ]] && label=1
    echo "$out/color/$frame.png $out/depth/$frame.png $out/ir/$frame.png $label" >> "$surf.tmp"
  done < <(find "imgs/$split" -name '*_rgb.png' | sort)
  mv "$surf.tmp" "$surf/${list[$split]}"
done

expect 0 env CLIP=builtin:tiny SEEDS=1 TARGETS=depth SHOTS=2 PRETRAIN_EPOCHS=1 FEWSHOT_EPOCHS=2 BATCH=4 \
  "$src/examples/casia-surf/run.sh" "$surf" "$scratch/surf-work"
for f in train.h5 dev.h5 test.h5 pretrain.h5 depth-k2-seed1.h5 depth-before.txt depth-k2.txt depth-roc.png; do
  [[ -s "$scratch/surf-work/$f" ]] || fail "the recipe did not write $f"
done
grep -q "AUC" "$scratch/surf-work/depth-k2.txt" || fail "no AUC in the recipe's report"
h5dump -a /protocol "$scratch/surf-work/train.h5" >/dev/null || fail "protocol not recorded"
echo ok
