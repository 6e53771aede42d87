#!/usr/bin/env bash
# The GPU check: for one run of at most 10 minutes on a lent GPU machine (LibTorch inside
# its PyTorch wheel, CMake, ninja, nvcc; no network, none of cmclip's other
# dependencies). docs/performance.md, "GPU check", says how to run it there.
#
#   scripts/gpu-check.sh [--device cpu|cuda[:N]] [--out DIR] [--libtorch PATH] [--python PY]
#                        [--build DIR] [--jobs N] [--threads N]
#
#  1. builds the Torch-only part of cmclip (bench/gpu/CMakeLists.txt: the CLIP model, the
#     compute kernels, the FAS model) against the LibTorch of PATH (a torch package folder
#     or its share/cmake; default: the Python's torch.utils.cmake_prefix_path) into DIR
#     (default build-gpu/), and checks from ninja's record of included headers that no
#     header of OpenCV, HDF5, CLI11, ICU, zlib, Boost or a fmt other than LibTorch's was
#     read;
#  2. runs cmclip-gpu-check: CPU-vs-device parity of image and text features (<= 1e-4 of
#     the features' scale in fp32; cuDNN-TF32 and bf16 drift reported), a few CM-CLIP
#     training steps on the CPU and on the device (losses, gradients, updates), and the
#     timings: batch-256 image encoding and a CM-CLIP training step (batch 8) in fp32
#     and bf16 on ViT-B/16 shapes;
#  3. runs the same timings in PyTorch eager on the same device
#     (scripts/bench/gpu_baseline.py; needs torch only);
#  4. writes OUT/result.json and OUT/result.md (default OUT: gpu-check-out/): the
#     timings with the ratio cmclip / PyTorch, the parity errors, the device, torch and
#     CUDA versions, and the wall time of each phase.
# --device cpu runs all of it on the CPU with small sizes (builtin:tiny shapes, batch 16
# images, 3 timed runs): the end-to-end test of this script where no GPU is lent (ctest
# gpu.check_cpu). The parity checks then compare the CPU with itself, and say so.
#
# The Python (--python, else $CMCLIP_PYTHON, else the first of python3,
# /opt/torch/.venv/bin/python and the cached wheel of scripts/libtorch.sh whose torch
# ships TorchConfig.cmake) provides the LibTorch and runs the baseline.
# Exit status: 0 all checks passed; 1 a parity check or a step failed; 2 bad usage.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
started=$(date +%s)
device=cuda out=$root/gpu-check-out libtorch="" py=${CMCLIP_PYTHON:-} build=$root/build-gpu
jobs=$(nproc) threads=0
while (($#)); do
  case $1 in
    --device|--out|--libtorch|--build|--jobs|--threads) printf -v "${1#--}" %s "$2"; shift ;;  # --NAME VALUE sets $NAME
    --python) py=$2; shift ;;
    -h|--help) sed -n '2,31p' "$0"; exit 0 ;;
    *) echo "gpu-check: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
case $device in cpu|cuda|cuda:[0-9]*) ;; *) echo "gpu-check: --device '$device': expected cpu or cuda[:N]" >&2; exit 2 ;; esac
say() { echo "gpu-check: $*" >&2; }

has_torch_config() { "$1" -c 'import os, torch; d = torch.utils.cmake_prefix_path
raise SystemExit(0 if os.path.isfile(os.path.join(d, "Torch", "TorchConfig.cmake")) else 1)' 2>/dev/null; }
if [[ -z $py ]]; then
  for candidate in python3 /opt/torch/.venv/bin/python "${CMCLIP_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/cmclip}"/torch-*/bin/python; do
    if command -v "$candidate" >/dev/null 2>&1 && has_torch_config "$candidate"; then py=$candidate; break; fi
  done
  [[ -n $py ]] || { say "no Python whose torch ships TorchConfig.cmake (give --python or --libtorch)"; exit 2; }
fi
"$py" -c 'import torch' 2>/dev/null || { say "$py cannot import torch"; exit 2; }
[[ -n $libtorch ]] || libtorch=$("$py" -c 'import torch; print(torch.utils.cmake_prefix_path)')
# The torch package folder (lib/, include/, share/cmake/Torch) as the CMake prefix, so
# that its libraries are found before any system LibTorch.
if [[ -f $libtorch/share/cmake/Torch/TorchConfig.cmake ]]; then torch_root=$libtorch
elif [[ -f $libtorch/Torch/TorchConfig.cmake ]]; then torch_root=$(cd "$libtorch/../.." && pwd)
else say "--libtorch $libtorch: no share/cmake/Torch/TorchConfig.cmake or Torch/TorchConfig.cmake there"; exit 2
fi
mkdir -p "$out"
rm -f "$out"/{cmclip.json,python.json,prompts.json,result.json,result.md}

say "building the Torch-only part against $torch_root into $build ($jobs jobs)"
t0=$(date +%s)
cmake -S "$root/bench/gpu" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$torch_root" \
  >"$out/build.log" 2>&1 && cmake --build "$build" -j "$jobs" >>"$out/build.log" 2>&1 ||
  { tail -30 "$out/build.log" >&2; say "the build failed (see $out/build.log)"; exit 1; }
build_seconds=$(($(date +%s) - t0))
# Every header each object read (ninja -t deps): none of the other dependencies', and
# fmt only from LibTorch's include folder.
ninja=$(sed -n 's/^CMAKE_MAKE_PROGRAM:[A-Z]*=//p' "$build/CMakeCache.txt")
stray=$("${ninja:-ninja}" -C "$build" -t deps | grep -E '^ +/' |
  grep -E '/(hdf5[^/]*|H5[A-Za-z_]*\.h|opencv[0-9]*/|CLI/|unicode/|zlib\.h|boost/)|/fmt/' |
  grep -v "^ *$torch_root/include/fmt/" | sort -u || true)
if [[ -n $stray ]]; then
  say "the Torch-only part read headers it must not need:"; echo "$stray" | head -20 >&2; exit 1
fi
headers=$("${ninja:-ninja}" -C "$build" -t deps | grep -cE '^ +/' || true)
say "built in ${build_seconds} s; include check: $headers header reads, none outside LibTorch, fmt of LibTorch and the C++ library"

if [[ $device == cpu ]]; then
  sizes=(--timing-config tiny --image-batch 16 --step-batch 8 --runs 3 --warmup 1)
  py_sizes=(--config tiny --image-batch 16 --step-batch 8 --runs 3 --warmup 1)
else
  sizes=(--timing-config vit-b-16 --image-batch 256 --step-batch 8 --runs 10 --warmup 3)
  py_sizes=(--config vit-b-16 --image-batch 256 --step-batch 8 --runs 10 --warmup 3)
fi
say "cmclip-gpu-check on $device"
t0=$(date +%s)
rc=0
"$build/cmclip-gpu-check" --device "$device" --out "$out" --threads "$threads" "${sizes[@]}" \
  >"$out/cmclip.log" 2>&1 || rc=$?
check_seconds=$(($(date +%s) - t0))
if [[ ! -s $out/cmclip.json ]]; then
  tail -20 "$out/cmclip.log" >&2; say "cmclip-gpu-check failed (status $rc; see $out/cmclip.log)"; exit 1
fi
say "PyTorch eager baseline on $device ($py)"
t0=$(date +%s)
"$py" "$root/scripts/bench/gpu_baseline.py" --prompts "$out/prompts.json" --device "$device" --threads "$threads" \
  "${py_sizes[@]}" >"$out/python.json" 2>"$out/python.log" ||
  { tail -20 "$out/python.log" >&2; say "the baseline failed (see $out/python.log)"; exit 1; }
baseline_seconds=$(($(date +%s) - t0))

cpu_name=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs || true)
commit=$(git -C "$root" describe --always --dirty 2>/dev/null || echo unknown)
"$py" - "$out" "$device" "$cpu_name" "$commit" "$build_seconds" "$check_seconds" "$baseline_seconds" \
  "$(($(date +%s) - started))" "$headers" <<'PY'
import json, sys, datetime
out, device, cpu_name, commit = sys.argv[1:5]
build_s, check_s, base_s, total_s, headers = map(int, sys.argv[5:10])
ours = json.load(open(f"{out}/cmclip.json"))
base = json.load(open(f"{out}/python.json"))
t = ours["timings"]
rows = []
for task, label in (("image", f"image encoding, batch {t['image_batch']}"),
                    ("step", f"CM-CLIP training step, batch {t['step_batch']}")):
    for p in ("fp32", "bf16"):
        a, b = t[f"{task}_{p}_ms"], base[f"{task}_{p}_ms"]
        rows.append({"row": f"{label}, {p}", "cmclip_ms": a, "pytorch_eager_ms": b, "ratio": a / b})
f, tr = ours["features"], ours["training"]
parity = [
    ("image features, fp32", f["fp32"]["image"], f["fp32"]["tolerance"]),
    ("text features, fp32", f["fp32"]["text"], f["fp32"]["tolerance"]),
    ("training: loss of each step", tr["loss_error"], tr["loss_tolerance"]),
    ("training: first step's gradients (relative L2)", tr["first_gradient_error"], tr["gradient_tolerance"]),
    ("training: parameter updates (relative L2)", tr["update_error"], tr["update_tolerance"]),
]
drift = [("image features, bf16", f["bf16"]["image"]), ("text features, bf16", f["bf16"]["text"])]
if "fp32_cudnn_tf32" in f:
    drift = [("image features, fp32 with cuDNN TF32 (LibTorch's default)", f["fp32_cudnn_tf32"]["image"]),
             ("text features, fp32 with cuDNN TF32", f["fp32_cudnn_tf32"]["text"])] + drift
name = base["device_name"] if device != "cpu" else (cpu_name or "cpu")
result = {"device": device, "device_name": name, "torch": base["torch"], "cuda": base["cuda"],
          "libtorch": ours["libtorch"], "cmclip_commit": commit, "date": datetime.datetime.now().isoformat(timespec="seconds"),
          "pass": ours["pass"], "parity_against_itself": ours["parity_against_itself"],
          "timings": rows, "parity": [{"check": c, "error": e, "tolerance": tol, "pass": e <= tol} for c, e, tol in parity],
          "drift": [{"check": c, "error": e} for c, e in drift],
          "seconds": {"build": build_s, "cmclip_checks": check_s, "pytorch_baseline": base_s, "total": total_s},
          "header_reads_checked": headers, "cmclip": ours, "pytorch_eager": base}
json.dump(result, open(f"{out}/result.json", "w"), indent=1)
md = [f"# cmclip GPU check: {'PASS' if ours['pass'] else 'FAIL'}", "",
      f"Device: {device} ({name}); torch {base['torch']}, CUDA {base['cuda'] or '-'}, LibTorch {ours['libtorch']}; "
      f"cmclip {commit}; {result['date']}.", ""]
if ours["parity_against_itself"]:
    md += ["With --device cpu the device is the CPU itself: the parity rows compare two CPU runs "
           "(trivially equal) and the timings use builtin:tiny shapes; they show that the script runs "
           "end to end, nothing about a GPU.", ""]
md += ["| row | cmclip ms | PyTorch eager ms | ratio |", "|---|---:|---:|---:|"]
md += [f"| {r['row']} | {r['cmclip_ms']:.2f} | {r['pytorch_eager_ms']:.2f} | {r['ratio']:.2f} |" for r in rows]
md += ["", f"Median of {t['runs']} runs after {t['warmup']} warm-up runs; {t['config']} shapes, prompts of "
       f"{t['n_ctx']} context vectors with the byte-level vocabulary's token ids (both sides the same ids; the "
       "PyTorch side pads them to the 77-token context as research code does). ratio = cmclip / PyTorch "
       "(below 1: cmclip is faster).", "",
       "| parity (CPU fp32 reference) | error | tolerance | result |", "|---|---:|---:|---|"]
md += [f"| {c} | {e:.3g} | {tol:g} | {'pass' if e <= tol else 'FAIL'} |" for c, e, tol in parity]
md += [f"| {c} | {e:.3g} | reported | - |" for c, e in drift]
md += ["", "Feature errors: max |difference| / max |CPU feature|. Training: "
       f"{tr['steps']} AdamW steps of {tr['model']} on one batch of {tr['batch']}; losses CPU/device "
       f"{tr['losses_cpu_device']}.", "",
       f"Wall time: build {build_s} s, cmclip checks {check_s} s, PyTorch baseline {base_s} s, total {total_s} s. "
       f"Include check: {headers} header reads, none of OpenCV, HDF5, CLI11, ICU, zlib, Boost or a non-LibTorch fmt."]
open(f"{out}/result.md", "w").write("\n".join(md) + "\n")
PY
cat "$out/result.md"
if ((rc != 0)); then say "a parity check failed (status $rc)"; exit 1; fi
