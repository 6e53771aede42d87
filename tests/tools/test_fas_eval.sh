#!/usr/bin/env bash
# fas-eval end to end: the TSV pipe on stdin, the three report formats (the JSON and TSV
# parsed back with Python), the threshold mode named in each, plots, determinism of the
# bootstrap, modalities kept apart (refused, pooled on request, videos within one
# modality), the bootstrap's subjects, the man page, and exit status 2 with no output
# left behind for every kind of bad input.
# Usage: test_fas_eval.sh BIN_DIR SCRATCH_DIR
set -euo pipefail
bin=$1
scratch=$2
rm -rf "$scratch"
mkdir -p "$scratch"
cd "$scratch"
eval_=$bin/fas-eval
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
pass() { echo "ok: $*"; }
python=$(command -v python3 || true)
[[ -x /usr/bin/python3 ]] && python=/usr/bin/python3
[[ -n $python ]] || { echo "FAIL: python3 is needed to parse the JSON" >&2; exit 1; }

# Two small sets with videos of two frames: dev and test (hand-sized, exact in float32).
tab=$'\t'
{
  echo "source${tab}video${tab}attack_type${tab}label${tab}score"
  i=0
  for spec in "d1::live:0.875" "d1::live:0.625" "d2::live:0.75" "d2::live:0.5" "d3::live:0.375" "d3::live:0.625" \
              "d4:print:attack:0.125" "d4:print:attack:0.25" "d5:print:attack:0.625" "d5:print:attack:0.5" \
              "d6:replay:attack:0.25" "d6:replay:attack:0.375"; do
    IFS=: read -r video type label score <<<"$spec"
    echo "f$i.png${tab}$video${tab}$type${tab}$label${tab}$score"
    i=$((i + 1))
  done
} >dev.tsv
{
  echo "source${tab}video${tab}attack_type${tab}label${tab}score"
  i=0
  for spec in "t1::live:0.9375" "t1::live:0.8125" "t2::live:0.6875" "t2::live:0.4375" "t3::live:0.5625" "t3::live:0.5625" \
              "t4:print:attack:0.0625" "t4:print:attack:0.3125" "t5:print:attack:0.6875" "t5:print:attack:0.5625" \
              "t6:replay:attack:0.1875" "t6:replay:attack:0.4375" "t7:replay:attack:0.125" "t7:replay:attack:0.25"; do
    IFS=: read -r video type label score <<<"$spec"
    echo "t$i.png${tab}$video${tab}$type${tab}$label${tab}$score"
    i=$((i + 1))
  done
} >test.tsv

# --- help and man page ---------------------------------------------------------------
"$eval_" --help >help.txt && grep -q "fas-eval --dev dev.h5 --test test.h5" help.txt && pass "--help has examples" ||
  fail "--help"
man_page=${CMCLIP_SOURCE_DIR:-}/man/fas-eval.1
if [[ -f $man_page ]] && command -v man >/dev/null; then
  MANWIDTH=80 man --warnings -l "$man_page" >/dev/null 2>man.err && [[ ! -s man.err ]] && pass "man page renders cleanly" ||
    fail "man page warnings: $(cat man.err)"
else
  echo "SKIPPED: man page check (no man, or CMCLIP_SOURCE_DIR unset)"
fi

# --- the table, from files and from a pipe -------------------------------------------
"$eval_" -q --dev dev.tsv --test test.tsv >table.txt
grep -q "APCER (max over types)" table.txt && grep -q "threshold 0.5 = EER threshold of dev set dev.tsv" table.txt &&
  pass "table" || fail "table: $(cat table.txt)"
grep -q "THRESHOLD FROM THE TEST SET ITSELF" table.txt && fail "a dev run must not warn about the test threshold" || true
cat test.tsv | "$eval_" -q --dev dev.tsv --test - --format json -o piped.json
"$eval_" -q --dev dev.tsv --test test.tsv --format json -o file.json
sed 's/"test": "-"/"test": "test.tsv"/' piped.json | cmp -s - file.json && pass "stdin pipe equals the file" ||
  fail "stdin pipe differs: $(diff piped.json file.json)"
"$eval_" -q --test test.tsv >nodev.txt
grep -q "THRESHOLD FROM THE TEST SET ITSELF (NO --dev)" nodev.txt && pass "no --dev is said in capitals" ||
  fail "no-dev warning missing"

# --- JSON: well formed, hand-checked values, every convention --------------------------
# Worked by hand. Dev: the cuts below 0.5 and below 0.625 are equally close to equal
# error (attacks accepted 2 vs bona fide rejected 1, and 1 vs 2, of 6 each) with equal
# sums: the lower threshold, 0.5, wins. Test at 0.5: print accepts 0.6875 and 0.5625
# (2/4), replay none (0/4), pooled 2/8; bona fide rejected: 0.4375 (1/6).
if "$python" - file.json <<'PY'; then pass "JSON parses and holds the figures"; else fail "JSON content"; fi
import json, sys
d = json.load(open(sys.argv[1]))
assert d["threshold"] == 0.5, d["threshold"]
assert d["threshold_source"] == "dev-eer"
assert d["threshold_set"] == "dev.tsv"
assert d["apcer_per_attack"] == {"print": 0.5, "replay": 0.0}, d["apcer_per_attack"]
assert d["apcer"] == 0.5 and d["apcer_pooled"] == 0.25
assert abs(d["bpcer"] - 1 / 6) < 1e-15 and abs(d["acer"] - 1 / 3) < 1e-15
assert abs(d["hter"] - (0.25 + 1 / 6) / 2) < 1e-15
assert abs(d["dev"]["eer"] - 0.25) < 1e-15 and d["dev"]["apcer"] == 0.5
assert set(d["tpr_at_fpr"]) == {"1e-2", "1e-3", "1e-4"} and all(v is None for v in d["tpr_at_fpr"].values())
for k in ("eer", "auc", "bpcer10", "bpcer20", "eer_threshold"):
    assert isinstance(d[k], float), k
assert d["counts"] == {"unit": "frame", "bona_fide": 6, "attack": 8, "attack_types": {"print": 4, "replay": 4},
                       "frames": 14, "videos": None}, d["counts"]
c = d["conventions"]
for k in ("tie", "positive", "aggregation", "threshold_mode", "modalities", "apcer", "hter", "tpr_at_fpr", "bpcer_n",
          "score"):
    assert k in c, k
assert c["tie"] == "accept" and c["positive"] == "attack" and c["aggregation"].startswith("frame")
assert d["dev"]["name"] == "dev.tsv"
assert d["threshold_mode"] == "dev-eer" and d["pool_modalities"] is False
assert d["modalities"] == {"unrecorded": 14}, d["modalities"]
PY

"$eval_" -q --dev dev.tsv --test test.tsv test.tsv --aggregate video-mean --tie reject --positive live \
  --bootstrap 50 --seed 3 --format json -o multi.json
if "$python" - multi.json <<'PY'; then pass "JSON of several sets, video-mean, bootstrap"; else fail "multi JSON"; fi
import json, sys
d = json.load(open(sys.argv[1]))
assert len(d["tests"]) == 2
assert d["tests"][0]["counts"]["unit"] == "video" and d["tests"][0]["counts"]["videos"] == 7
assert d["tests"][0]["counts"]["bona_fide"] == 3 and d["tests"][0]["counts"]["frames"] == 14
assert d["std"]["apcer"] == 0.0 and d["mean"]["apcer"] == d["tests"][0]["apcer"]
ci = d["tests"][0]["ci95"]
assert ci["auc"][0] <= d["tests"][0]["auc"] <= ci["auc"][1]
assert d["conventions"]["tie"] == "reject" and d["conventions"]["positive"] == "live"
assert d["conventions"]["bootstrap"]["replicates"] == 50 and d["conventions"]["bootstrap"]["seed"] == 3
assert d["conventions"]["std"].startswith("sample")
PY

# --- determinism: same seed, any thread count ----------------------------------------
"$eval_" -q --dev dev.tsv --test test.tsv --bootstrap 200 --seed 9 --threads 1 --format json -o b1.json
"$eval_" -q --dev dev.tsv --test test.tsv --bootstrap 200 --seed 9 --threads 3 --format json -o b3.json
cmp -s b1.json b3.json && pass "bootstrap identical with 1 and 3 threads" || fail "bootstrap depends on threads"
"$eval_" -q --dev dev.tsv --test test.tsv --bootstrap 200 --seed 10 --format json -o b10.json
cmp -s b1.json b10.json && fail "bootstrap ignores --seed" || pass "bootstrap follows --seed"

# --- TSV report ----------------------------------------------------------------------
"$eval_" -q --dev dev.tsv --test test.tsv --format tsv -o report.tsv
if "$python" - report.tsv <<'PY'; then pass "TSV report parses"; else fail "TSV report"; fi
import csv, sys
rows = list(csv.reader(open(sys.argv[1]), delimiter="\t"))
assert rows[0] == ["test", "figure", "value", "ci_low", "ci_high"]
assert all(len(r) == 5 for r in rows), [r for r in rows if len(r) != 5]
fig = {(r[0], r[1]): r[2] for r in rows[1:]}
assert fig[("test.tsv", "apcer")] == "0.5" and abs(float(fig[("test.tsv", "bpcer")]) - 1 / 6) < 1e-15
assert fig[("test.tsv", "apcer_per_attack.print")] == "0.5"
assert fig[("test.tsv", "threshold")] == "0.5"
assert fig[("test.tsv", "tpr_at_fpr.1e-2")] == "NA"
assert fig[("*", "convention.tie")] == "accept"
assert fig[("test.tsv", "threshold_source")] == "dev-eer"
PY

# --- a numeric threshold, given back, reproduces the figures ----------------------------
"$eval_" -q --test test.tsv --threshold 0.5 --format json -o fixed.json
"$python" - file.json fixed.json <<'PY' && pass "--threshold VALUE reproduces the dev threshold" || fail "fixed threshold"
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:])
assert b["threshold_source"] == "fixed"
for k in ("threshold", "apcer", "apcer_pooled", "bpcer", "acer", "hter", "eer", "auc", "apcer_per_attack"):
    assert a[k] == b[k], k
PY

# --- the threshold mode, named in every format -----------------------------------------
# --threshold test-eer with a dev set: the test set's own EER threshold (as without --dev),
# the dev set ignored, and each format says both.
"$eval_" -q --test test.tsv --format json -o nodev.json
for format in table json tsv; do
  "$eval_" -q --dev dev.tsv --test test.tsv --threshold test-eer --format $format -o "testeer.$format"
  "$eval_" -q --dev dev.tsv --test test.tsv --format $format -o "deveer.$format"
done
grep -q "^Threshold mode: test-eer: each test set's own EER threshold, asked for (--threshold test-eer" testeer.table &&
  grep -q "THRESHOLD FROM THE TEST SET ITSELF (--threshold test-eer)" testeer.table &&
  grep -q "ignored for the threshold: dev.tsv" testeer.table && grep -q "^Threshold mode: dev-eer: " deveer.table &&
  pass "the table names the threshold mode" || fail "threshold mode in the table: $(head -5 testeer.table)"
if "$python" - testeer.json deveer.json nodev.json testeer.tsv deveer.tsv <<'PY'; then
import csv, json, sys
t, d, n = (json.load(open(p)) for p in sys.argv[1:4])
assert t["threshold_mode"] == "test-eer" and t["threshold_source"] == "test-eer", t["threshold_mode"]
assert t["dev_ignored"] == ["dev.tsv"] and "dev" not in t
assert t["threshold"] == n["threshold"] and t["apcer"] == n["apcer"] and t["bpcer"] == n["bpcer"]
assert t["warning"].startswith("THRESHOLD FROM THE TEST SET ITSELF (--threshold test-eer)")
assert t["conventions"]["threshold_mode"].startswith("test-eer: ")
assert d["threshold_mode"] == "dev-eer" and "dev_ignored" not in d and d["threshold"] != t["threshold"]
for path, mode in ((sys.argv[4], "test-eer"), (sys.argv[5], "dev-eer")):
    rows = {(r[0], r[1]): r[2] for r in csv.reader(open(path), delimiter="\t")}
    assert rows[("*", "threshold_mode")] == mode, path
    assert rows[("test.tsv", "threshold_source")] == mode, path
assert rows.get(("*", "dev_ignored")) is None
PY
  pass "JSON and TSV name the threshold mode; test-eer ignores the dev set"
else
  fail "threshold mode in JSON/TSV"
fi

# --- modalities and subjects: score files from the tools ---------------------------------
# An untrained tiny model scores a synthetic RGB + Depth + NIR test split (seconds).
"$bin/fas-synth" -q --subjects 4 --attacks print,replay --size 32 --frames 2 --split train,test --seed 1 -o s.h5
"$bin/fas-pretrain" -q --clip builtin:tiny --train s-train.h5 --epochs 0 --batch-size 4 -o m.h5
"$bin/fas-embed" -q --model m.h5 --data s-test.h5 -o all.h5
for m in rgb depth nir; do "$bin/fas-embed" -q --model m.h5 --data s-test.h5 --modality $m -o $m.h5; done
"$eval_" -q --test depth.h5 --format json -o depth.json
for format in table json tsv; do
  "$eval_" -q --pool-modalities --test all.h5 --format $format -o "pooled.$format"
done
grep -q "MODALITIES POOLED (--pool-modalities)" pooled.table &&
  grep -q "modalities (rows): rgb [0-9]*, depth [0-9]*, nir [0-9]*" pooled.table &&
  pass "--pool-modalities is said in the table" || fail "pooled table: $(head -8 pooled.table)"
if "$python" - pooled.json pooled.tsv depth.json <<'PY'; then pass "--pool-modalities is said in JSON and TSV"; else fail "pooled JSON/TSV"; fi
import csv, json, sys
p, d = json.load(open(sys.argv[1])), json.load(open(sys.argv[3]))
assert p["pool_modalities"] is True and p["pooled_warning"].startswith("MODALITIES POOLED")
assert set(p["modalities"]) == {"rgb", "depth", "nir"}, p["modalities"]
assert p["conventions"]["modalities"].startswith("POOLED")
assert d["pool_modalities"] is False and list(d["modalities"]) == ["depth"]
assert sum(p["modalities"].values()) == 3 * d["modalities"]["depth"]
rows = {(r[0], r[1]): r[2] for r in csv.reader(open(sys.argv[2]), delimiter="\t")}
assert rows[("*", "pool_modalities")] == "true"
assert rows[("*", "warning")].startswith("MODALITIES POOLED")
assert all(("all.h5", "modality." + m) in rows for m in ("rgb", "depth", "nir"))
PY
# Video level: a video of each modality is a unit of its own, so the pooled set holds the
# videos of the three single-modality sets, three times as many as the video names (the
# one count a mean over a name's RGB, Depth and NIR frames would give).
"$eval_" -q --pool-modalities --aggregate video-mean --test all.h5 --format json -o pooled-video.json
for m in rgb depth nir; do "$eval_" -q --aggregate video-mean --test $m.h5 --format json -o video-$m.json; done
if "$python" - pooled-video.json video-rgb.json video-depth.json video-nir.json <<'PY'; then
import json, sys
p, *single = (json.load(open(f)) for f in sys.argv[1:])
total = lambda d: d["counts"]["bona_fide"] + d["counts"]["attack"]
assert p["counts"]["unit"] == "video"
assert total(p) == sum(total(d) for d in single) == 3 * total(single[1]), (total(p), [total(d) for d in single])
assert p["counts"]["videos"] == total(p)
assert p["modalities"] == {m: total(d) for m, d in zip(("rgb", "depth", "nir"), single)}, p["modalities"]
PY
  pass "video-mean averages within one modality"
else
  fail "video-mean across modalities"
fi
# The bootstrap resamples subjects where the file records them, videos where not (TSV).
"$eval_" -q --test depth.h5 --bootstrap 20 --format json -o boot-subject.json
"$eval_" -q --test depth.h5 --bootstrap 20 >boot-subject.txt
"$eval_" -q --test test.tsv --bootstrap 20 --format tsv -o boot-video.tsv
"$eval_" -q --test test.tsv --bootstrap 20 >boot-video.txt
grep -q "bootstrap resamples [0-9]* subjects, each with all its videos" boot-subject.txt &&
  grep -q "bootstrap resamples 7 videos: NO SUBJECT IDS RECORDED" boot-video.txt &&
  grep -q "test.tsv${tab}bootstrap.unit${tab}video" boot-video.tsv &&
  "$python" -c 'import json, sys; d = json.load(open(sys.argv[1])); assert d["bootstrap_unit"] == "subject", d' \
    boot-subject.json && pass "the bootstrap resamples subjects, or says it cannot" ||
  fail "bootstrap unit: $(grep bootstrap boot-subject.txt boot-video.txt)"

# --- plots -----------------------------------------------------------------------------
"$eval_" -q --dev dev.tsv --test test.tsv test.tsv --plot roc.png --plot curves-det.png >/dev/null
for p in roc.png curves-det.png; do
  [[ $(head -c 8 "$p" | od -An -tx1 | tr -d ' \n') == 89504e470d0a1a0a ]] && pass "$p is a PNG" || fail "$p"
done

# --- bad input: exit status 2, a message naming the record, nothing written -----------
expect_bad() {  # description, needle, command...
  local what=$1 needle=$2
  shift 2
  rm -f out.json plot.png .out.json.tmp* .plot.png.tmp*
  set +e
  "$@" -o out.json --plot plot.png >stdout.txt 2>stderr.txt
  local rc=$?
  set -e
  if [[ $rc != 2 ]]; then
    fail "$what: exit status $rc, expected 2 ($(cat stderr.txt))"
  elif ! grep -q -- "$needle" stderr.txt; then
    fail "$what: message lacks '$needle': $(cat stderr.txt)"
  elif [[ -e out.json || -e plot.png ]] || compgen -G ".out.json.tmp*" >/dev/null || compgen -G ".plot.png.tmp*" >/dev/null; then
    fail "$what: an output file was left behind"
  elif [[ -s stdout.txt ]]; then
    fail "$what: printed a report"
  else
    pass "$what -> exit 2"
  fi
}
sed "3s/${tab}[^${tab}]*\$/${tab}nan/" test.tsv >nan.tsv
sed '4s/\tlive\t/\tLIVE\t/' test.tsv >label.tsv
sed "5s/${tab}[^${tab}]*\$//" test.tsv >fields.tsv
grep -v "${tab}live${tab}" dev.tsv >nolive.tsv
grep -v "${tab}attack${tab}" dev.tsv >noattack.tsv
sed 's/replay/mask/' test.tsv >mask.tsv
head -1 test.tsv >empty.tsv
expect_bad "NaN score" "nan.tsv: line 3: score 'nan' is not finite" "$eval_" --dev dev.tsv --test nan.tsv
expect_bad "bad label" "label.tsv: line 4: label 'LIVE'" "$eval_" --dev dev.tsv --test label.tsv
expect_bad "missing field" "fields.tsv: line 5: expected 5 tab-separated fields" "$eval_" --test fields.tsv
expect_bad "dev without bona fide" "nolive.tsv (dev): no bona fide" "$eval_" --dev nolive.tsv --test test.tsv
expect_bad "dev without attacks" "noattack.tsv (dev): no attack sample" "$eval_" --dev noattack.tsv --test test.tsv
expect_bad "empty test set" "empty.tsv (test): no scores" "$eval_" --test empty.tsv
expect_bad "attack types differ" "only in test: mask" "$eval_" --dev dev.tsv --test mask.tsv
expect_bad "missing file" "absent.h5: cannot open" "$eval_" --test absent.h5
expect_bad "stdin twice" "stdin" "$eval_" --dev - --test - </dev/null
expect_bad "min-hter without dev" "give --dev" "$eval_" --threshold min-hter --test test.tsv
expect_bad "bad threshold" "'abc' is not dev-eer" "$eval_" --threshold abc --test test.tsv
expect_bad "dev with a number" "--dev has no use" "$eval_" --threshold 0.5 --dev dev.tsv --test test.tsv
expect_bad "unknown tie rule" "--tie" "$eval_" --tie maybe --test test.tsv
expect_bad "several modalities" "all.h5: /modality: the test set holds 3 modalities" "$eval_" --test all.h5
expect_bad "several modalities in dev" "the dev set holds 3 modalities" "$eval_" --dev all.h5 --test depth.h5
expect_bad "video-mean without video" "no video name" \
  "$eval_" --aggregate video-mean --test <(sed '3s/\tt1\t/\t\t/' test.tsv)
echo "garbage" >garbage.txt
expect_bad "garbage on stdin" "stdin: line 1: expected the header" "$eval_" --test - <garbage.txt
"$eval_" -q --test <(cat test.tsv) --format json -o substituted.json &&
  grep -q '"apcer"' substituted.json && pass "--test <(...) reads a pipe" || fail "process substitution"
rm -f plot.jpg
set +e
"$eval_" --test test.tsv --plot plot.jpg >/dev/null 2>stderr.txt
rc=$?
set -e
[[ $rc == 2 && ! -e plot.jpg ]] && grep -q "ending in .png" stderr.txt && pass "--plot needs .png" || fail "--plot plot.jpg: $rc"

if ((failures)); then
  echo "$failures check(s) failed" >&2
  exit 1
fi
echo "all fas-eval tool checks passed"
