#!/usr/bin/env bash
# The example "A whole experiment" of man fas-pipeline(7) runs as written: it is cut out
# of the page's source, unescaped, and run with the built tools first on PATH; fas-eval
# must report the three seeds and the plot must exist.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
export CMCLIP_PROGRESS_SECONDS=1000
page=$src/man/fas-pipeline.7
awk '/^\.SS A whole experiment/ { found = 1 } found && /^\.EE/ { exit } found && on { print } found && /^\.EX/ { on = 1 }' \
  "$page" | sed -e 's/\\-/-/g' -e 's/\\e$/\\/' >example.sh
(( $(wc -l <example.sh) >= 8 )) || fail "the example was not found in $page"
grep -q "fas-fewshot" example.sh || fail "the extracted example has no fas-fewshot"
PATH="$bin:$PATH" expect 0 bash -euo pipefail example.sh
for seed in 1 2 3; do grep -q "test$seed.h5" out.txt || fail "fas-eval does not report test$seed.h5"; done
grep -q "mean" out.txt || fail "no mean over the seeds"
[[ -s roc.png ]] || fail "no ROC plot"
echo "ok"
