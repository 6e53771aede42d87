#!/usr/bin/env bash
# Benchmark (not a test): cmclip against a plain-PyTorch baseline, side by side in one
# run on this machine, and a table of ratios (ours / Python).
#
#   scripts/bench.sh              full size: ViT-B/16 with random weights, 10 M scores (~8-12 min)
#   scripts/bench.sh --quick      builtin:tiny and 100 k scores: checks that it all runs (~1 min)
#   options: --runs R (timed runs of the heavy measurements; light ones take R+2),
#            --threads T (default: all cores), --out DIR,
#            --device cuda (both sides on the GPU; the CPU GEMM peak is then skipped),
#            --baseline pypi|debian (the Python side: pypi, the default, is the official
#            PyTorch a researcher installs with pip, the pinned torch wheel of
#            scripts/libtorch.sh with pinned NumPy, scikit-learn and h5py, installed once
#            into ~/.cache/cmclip; debian is /usr/bin/python3 with python3-torch 1.13,
#            kept for history and for the quick check),
#            --torch-from-python (first build cmclip against the LibTorch of the Python
#            package, CMAKE_PREFIX_PATH=$(python3 -c 'import torch;
#            print(torch.utils.cmake_prefix_path)'), into CMCLIP_BUILD_DIR, default
#            build-pytorch/; pip's wheels ship it, Debian's python3-torch does not)
#   environment: CMCLIP_BUILD_DIR (default build/), CMCLIP_BPE (BPE vocabulary; default:
#   ../shared/data next to the source tree, then ~/.cache/cmclip), CMCLIP_PYTHON
#   (overrides --baseline: a Python with torch, numpy, sklearn and h5py; without them
#   it exits with status 77, which ctest's bench.quick counts as skipped).
#
# Measured (each in a fresh process, median of the timed runs after one warm-up):
#  - a large sgemm through LibTorch (OpenBLAS here), oneDNN fp32 and oneDNN bf16: the
#    machine's GEMM peak that the GFLOP/s figures are compared with;
#  - CLIP image encoding at batch 1 and 32, text encoding of the real prompts of
#    scripts/bench/prompts.txt (one batch), a CoCoOp training step (batch 8, 2 classes,
#    4 context tokens + meta-net) and a CM-CLIP step (scripts/bench/cm_clip_step.py's
#    settings): ours (cmclip-bench, fp32 and bf16) against scripts/bench/clip_baseline.py in the default environment and with
#    glibc's malloc thresholds raised ("tuned"), and (PyTorch 2.x) through
#    torch.compile, where it works on the CPU, and (PyTorch 2.x) in bf16 through
#    torch.autocast, beside ours in bf16;
#  - ours with glibc's default malloc (our start-up tuning off), with LibTorch's own
#    GEMM (CMCLIP_GEMM=libtorch), and bf16 through LibTorch's CPU autocast instead of
#    our oneDNN bf16 path: where the gains come from;
#  - Python tuned once more without this workplace's OPENBLAS_CORETYPE=Haswell, so
#    that OpenBLAS picks its own (AVX-512) kernels: the strongest baseline;
#  - fas-eval on 10 M scores against NumPy/scikit-learn (scripts/bench-eval.sh);
#  - peak resident memory of fas-embed embedding 32 images at batch 32 (and its page
#    faults and system time with glibc's default malloc);
#  - fas-fewshot on a small fas-synth set: images/s and the time the step loop waited
#    for the loader.
# The table goes to stdout and DIR/bench-table.md, every raw figure to DIR/*.json.
# Nothing here asserts a speed: the table says which target is met.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${CMCLIP_BUILD_DIR:-$root/build}
source "$root/scripts/libtorch.sh"
baseline_kind=pypi
quick=0
device=cpu
torch_from_python=0
runs=3
threads=$(nproc)
out=""
while (($#)); do
  case $1 in
    --quick) quick=1 ;;
    --runs|--threads|--out|--device) printf -v "${1#--}" %s "$2"; shift ;;  # --NAME VALUE sets $NAME
    --baseline) baseline_kind=$2; shift ;;
    --torch-from-python) torch_from_python=1 ;;
    -h|--help) sed -n '2,45p' "$0"; exit 0 ;;
    *) echo "bench: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
if [[ -n ${CMCLIP_PYTHON:-} ]]; then
  py=$CMCLIP_PYTHON
else
  case $baseline_kind in
    pypi) py=$(cmclip_bench_python) || { echo "bench: could not install the official PyTorch baseline" >&2; exit 2; } ;;
    debian) py=/usr/bin/python3 ;;
    *) echo "bench: --baseline '$baseline_kind': expected pypi or debian" >&2; exit 2 ;;
  esac
fi
# torch.compile exists from PyTorch 2.0 on; the OpenBLAS-kernel column applies to an
# OpenBLAS torch only (Debian's; the wheel has MKL).
has_compile=$("$py" -c 'import torch; print(int(hasattr(torch, "compile")))' 2>/dev/null || echo 0)
# The bf16 columns of the Python side (torch.autocast, as research code asks for bf16)
# come from PyTorch 2.x, whose CPU autocast runs oneDNN's bf16 kernels.
bf16_side=$has_compile
openblas_side=$("$py" -c 'import torch; print(int("openblas" in torch.__config__.show().lower()))' 2>/dev/null || echo 0)
if ((torch_from_python)); then
  prefix=$("$py" -c 'import torch; print(torch.utils.cmake_prefix_path)')
  if [[ ! -f $prefix/Torch/TorchConfig.cmake ]]; then
    echo "bench: $py's torch has no $prefix/Torch/TorchConfig.cmake (Debian's python3-torch ships" \
         "none; a pip wheel or the LibTorch archive does)" >&2
    exit 2
  fi
  if [[ $("$py" -c 'import torch; print(int(torch._C._GLIBCXX_USE_CXX11_ABI))') != 1 ]]; then
    echo "bench: $py's torch uses the pre-C++11 string ABI, which cannot link with Debian's fmt, OpenCV and" \
         "HDF5; use a wheel built with the C++11 ABI (PyTorch 2.6+) or the cxx11-ABI LibTorch archive" >&2
    exit 2
  fi
  build=${CMCLIP_BUILD_DIR:-$root/build-pytorch}
  echo "bench: building against the LibTorch in $prefix into $build" >&2
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMCLIP_BUILD_TESTS=OFF \
    -DCMAKE_PREFIX_PATH="$prefix" >&2
  cmake --build "$build" -j "$(nproc)" >&2
fi
bench=$build/bench/cmclip-bench
for exe in "$bench" "$build/bin/fas-embed" "$build/bin/fas-eval"; do
  [[ -x $exe ]] || { echo "bench: $exe not found; build first (scripts/build.sh)" >&2; exit 2; }
done
if ! "$py" -c 'import torch, numpy, sklearn, h5py' 2>/dev/null; then
  echo "bench: $py needs torch, numpy, sklearn and h5py (apt-get install python3-torch python3-numpy" \
       "python3-sklearn python3-h5py); nothing measured" >&2
  exit 77  # "skipped" for ctest
fi
if [[ -z ${CMCLIP_BPE:-} && -f $root/../shared/data/bpe_simple_vocab_16e6.txt.gz ]]; then
  export CMCLIP_BPE=$root/../shared/data/bpe_simple_vocab_16e6.txt.gz
fi

if ((quick)); then
  model=builtin:tiny config=tiny eval_n=100000 runs=2 images=8 gemm_n=1024
else
  model=builtin:vit-b-16-random config=vit-b-16 eval_n=10000000 images=32 gemm_n=4096
fi
light=$((runs + 2))
work=${out:-$build/bench-out}
mkdir -p "$work"
rm -f "$work"/*.json "$work/bench-table.md"
exec 3>&1  # progress lines on stdout, figures in files

loadavg() { cut -d' ' -f1 /proc/loadavg; }
started=$(date +%s)
# run NAME COMMAND...: one measurement; its JSON goes to NAME.json with the load average
# of the moment added.
run() {
  local name=$1
  shift
  local load
  load=$(loadavg)
  printf '  %-22s load %-5s ' "$name" "$load" >&3
  local t0=$SECONDS
  if ! "$@" >"$work/$name.raw" 2>"$work/$name.log"; then
    echo "FAILED (see $work/$name.log)" >&3
    tail -5 "$work/$name.log" >&2
    exit 1
  fi
  "$py" - "$work/$name.raw" "$work/$name.json" "$name" "$load" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d["name"], d["load_before"] = sys.argv[3], float(sys.argv[4])
json.dump(d, open(sys.argv[2], "w"))
PY
  rm -f "$work/$name.raw"
  echo "$((SECONDS - t0)) s" >&3
}
ours() { "$bench" -q --threads "$threads" --device "$device" "$@"; }
baseline=("$root/scripts/bench/clip_baseline.py" --config "$config" --threads "$threads" --device "$device")
python_default() { env -u MALLOC_MMAP_THRESHOLD_ -u MALLOC_TRIM_THRESHOLD_ -u GLIBC_TUNABLES \
  "$py" "${baseline[@]}" "$@"; }
python_tuned() { env -u GLIBC_TUNABLES MALLOC_MMAP_THRESHOLD_=17179869184 MALLOC_TRIM_THRESHOLD_=17179869184 \
  "$py" "${baseline[@]}" "$@"; }
# This workplace sets OPENBLAS_CORETYPE=Haswell (older OpenBLAS builds misbehave on
# some processors); both sides run with the environment as it is. One more Python
# column shows what OpenBLAS picks by itself (AVX-512 kernels on this CPU).
python_native_blas() { env -u GLIBC_TUNABLES -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE \
  MALLOC_MMAP_THRESHOLD_=17179869184 MALLOC_TRIM_THRESHOLD_=17179869184 "$py" "${baseline[@]}" "$@"; }
# glibc's default malloc for our side: tune_malloc() leaves the allocator alone when
# GLIBC_TUNABLES is set, and this tunable changes nothing.
ours_default_malloc() { GLIBC_TUNABLES=glibc.malloc.perturb=0 ours "$@"; }
ours_libtorch_gemm() { CMCLIP_GEMM=libtorch ours "$@"; }

echo "bench: $model on $device, $threads threads, $runs timed runs (light: $light), results in $work" >&3
echo "bench: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load average $(cut -d' ' -f1-3 /proc/loadavg)" >&3
echo "bench: Python side $py: $("$py" -c 'import torch; print("torch", torch.__version__)' 2>/dev/null)" >&3
# python_compiled ARGS...: the tuned Python side through torch.compile (two warm-up
# runs: the first compiles); nothing where this torch has no torch.compile.
python_compiled() { python_tuned --warmup 2 --compile "$@"; }
prompts=$root/scripts/bench/prompts.txt
tokens=$work/tokens.json
ours tokens --model "$model" --prompts "$prompts" --n-ctx 4 -o "$tokens"

if [[ $device == cpu ]]; then
  run gemm.ours             ours gemm --n "$gemm_n" --runs "$light"
  run gemm.ours-native-blas env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$bench" -q --threads "$threads" \
                            gemm --n "$gemm_n" --runs "$light"
fi
run gemm.python           python_default --runs "$light" gemm --n "$gemm_n"
((bf16_side)) && run gemm.python-bf16  python_tuned --bf16 --runs "$light" gemm --n "$gemm_n"

for b in 1 32; do
  r=$runs
  ((b == 1)) && r=$light
  run image$b.ours          ours image --model "$model" --batch $b --runs $r
  run image$b.ours-bf16     ours image --model "$model" --batch $b --runs $r --precision bf16
  run image$b.python        python_default --runs $r image --batch $b
  run image$b.python-tuned  python_tuned --runs $r image --batch $b
  ((has_compile)) && run image$b.python-compile  python_compiled --runs $r image --batch $b
  ((bf16_side)) && run image$b.python-bf16  python_tuned --bf16 --runs $r image --batch $b
done
((openblas_side)) && run image32.python-native-blas  python_native_blas --runs "$runs" image --batch 32
run image32.ours-default-malloc  ours_default_malloc image --model "$model" --batch 32 --runs "$runs"
run image32.ours-libtorch-gemm   ours_libtorch_gemm image --model "$model" --batch 32 --runs "$runs"
# Without oneDNN's entry points --precision bf16 falls back to LibTorch's CPU autocast.
run image32.ours-bf16-autocast   ours_libtorch_gemm image --model "$model" --batch 32 --runs "$runs" --precision bf16

run text.ours             ours text --model "$model" --prompts "$prompts" --runs "$light"
run text.ours-bf16        ours text --model "$model" --prompts "$prompts" --runs "$light" --precision bf16
run text.python           python_default --runs "$light" text --tokens "$tokens"
run text.python-tuned     python_tuned --runs "$light" text --tokens "$tokens"
((has_compile)) && run text.python-compile  python_compiled --runs "$light" text --tokens "$tokens"
((bf16_side)) && run text.python-bf16  python_tuned --bf16 --runs "$light" text --tokens "$tokens"
((openblas_side)) && run text.python-native-blas  python_native_blas --runs "$light" text --tokens "$tokens"

run cocoop.ours           ours step --model "$model" --method cocoop --batch 8 --n-ctx 4 --runs "$runs"
run cocoop.ours-bf16      ours step --model "$model" --method cocoop --batch 8 --n-ctx 4 --runs "$runs" --precision bf16
run cocoop.python         python_default --runs "$runs" cocoop --tokens "$tokens" --batch 8 --variant batched
run cocoop.python-tuned   python_tuned --runs "$runs" cocoop --tokens "$tokens" --batch 8 --variant batched
((has_compile)) && run cocoop.python-compile  python_compiled --runs "$runs" cocoop --tokens "$tokens" --batch 8 \
  --variant batched
((bf16_side)) && run cocoop.python-bf16  python_tuned --bf16 --runs "$runs" cocoop --tokens "$tokens" --batch 8 \
  --variant batched
((openblas_side)) && run cocoop.python-native-blas  python_native_blas --runs "$runs" cocoop --tokens "$tokens" --batch 8 --variant batched
run cocoop.python-tuned-loop  python_tuned --runs "$runs" cocoop --tokens "$tokens" --batch 8 --variant loop
run cmclip.ours           ours step --model "$model" --method cm-clip --batch 8 --n-ctx 4 --runs "$runs"
run cmclip.ours-bf16      ours step --model "$model" --method cm-clip --batch 8 --n-ctx 4 --runs "$runs" --precision bf16
run cmclip.python         python_default --runs "$runs" cm-clip --tokens "$tokens" --batch 8
# (--quick: the default environment only; this step is the slowest Python measurement.)
((quick)) || run cmclip.python-tuned  python_tuned --runs "$runs" cm-clip --tokens "$tokens" --batch 8
((has_compile)) && run cmclip.python-compile  python_compiled --runs "$runs" cm-clip --tokens "$tokens" --batch 8
((bf16_side)) && run cmclip.python-bf16  python_tuned --bf16 --runs "$runs" cm-clip --tokens "$tokens" --batch 8

# fas-embed end to end: peak resident memory (GNU time) of a batch-32 run.
mkdir -p "$work/images"
ours images --count "$images" --size 256 -o "$work/images"
for variant in fp32 bf16 fp32-default-malloc; do
  printf '  %-22s load %-5s ' "embed.$variant" "$(loadavg)" >&3
  t0=$SECONDS
  p=${variant%%-*}
  tunables=()
  [[ $variant == *default-malloc ]] && tunables=(env GLIBC_TUNABLES=glibc.malloc.perturb=0)
  "${tunables[@]}" /usr/bin/time -f '%M %e %R %S' -o "$work/embed-$variant.time" "$build/bin/fas-embed" -q \
    --threads "$threads" --device "$device" --model "$model" --images "$work/images/images.txt" --batch-size 32 --precision "$p" \
    -o "$work/embed-$variant.h5"
  read -r rss wall faults sys <"$work/embed-$variant.time"
  printf '{"side": "ours", "task": "embed", "name": "embed.%s", "precision": "%s", "images": %s, "batch": 32, "maxrss_kb": %s, "seconds": %s, "minflt": %s, "stime": %s}\n' \
    "$variant" "$p" "$images" "$rss" "$wall" "$faults" "$sys" >"$work/embed.$variant.json"
  rm -f "$work/embed-$variant.h5"
  echo "$((SECONDS - t0)) s" >&3
done

# The training tool end to end: data read and augmented by the loader while the model
# computes; the epoch log says how long the step loop waited for data.
printf '  %-22s load %-5s ' "train.fewshot" "$(loadavg)" >&3
t0=$SECONDS
"$build/bin/fas-synth" -q --subjects 6 --attacks print,replay --size 112 --split train --seed 7 -o "$work/synth.h5"
"$build/bin/fas-fewshot" --threads "$threads" --device "$device" --init "$model" --method cm-clip --n-ctx 4 --train "$work/synth.h5" \
  --modality rgb --shots 4 --epochs 3 --batch-size 8 -o "$work/fewshot.h5" >"$work/train.log" 2>&1 ||
  { echo "FAILED (see $work/train.log)" >&3; tail -5 "$work/train.log" >&2; exit 1; }
"$py" - "$work/train.log" "$work/train.fewshot.json" <<'PY'
import json, re, sys
epochs = [dict(zip(("img_per_s", "waited"), map(float, m)))
          for m in re.findall(r"epoch \d+/\d+: loss .*?, ([0-9.]+) img/s, waited ([0-9.]+) s for data", open(sys.argv[1]).read())]
json.dump({"side": "ours", "task": "train", "name": "train.fewshot", "epochs": epochs}, open(sys.argv[2], "w"))
PY
rm -f "$work/synth.h5" "$work/fewshot.h5" "$work/fewshot.last.h5"
echo "$((SECONDS - t0)) s" >&3

printf '  %-22s load %-5s ' "eval" "$(loadavg)" >&3
t0=$SECONDS
CMCLIP_PYTHON=$py CMCLIP_BUILD_DIR=$build CMCLIP_BENCH_DIR=$work/eval CMCLIP_BENCH_JSON=$work/eval.json \
  "$root/scripts/bench-eval.sh" --n "$eval_n" --runs "$runs" >"$work/eval.log" 2>&1 ||
  { echo "FAILED (see $work/eval.log)" >&3; tail -5 "$work/eval.log" >&2; exit 1; }
echo "$((SECONDS - t0)) s" >&3

"$py" "$root/scripts/bench/report.py" --config "$config" --tokens "$tokens" \
  --elapsed $(($(date +%s) - started)) "$work" | tee "$work/bench-table.md"
