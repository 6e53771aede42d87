#!/usr/bin/env bash
# ctest gpu.check_cpu (label gpu; scripts/test.sh --all): scripts/gpu-check.sh --device cpu
# end to end with the PyPI wheel's LibTorch (scripts/libtorch.sh's cached environment):
# the Torch-only build in its own folder under SCRATCH (ccache makes a rebuild cheap),
# the include check, every parity check on the CPU, both timing sides and the report.
# Skipped (exit 77) only where that wheel environment is absent.
#
#   test_gpu_check.sh SCRATCH
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
scratch=$1
source "$root/scripts/libtorch.sh"
py=$cmclip_wheel_env/bin/python
if [[ ! -f $cmclip_wheel_env/.complete || ! -x $py ]]; then
  echo "SKIPPED: no torch $CMCLIP_TORCH_WHEEL wheel environment at $cmclip_wheel_env (CMCLIP_LIBTORCH=wheel" \
       "scripts/build.sh installs it)"
  exit 77
fi
rm -rf "$scratch/out"
mkdir -p "$scratch"
bash "$root/scripts/gpu-check.sh" --device cpu --python "$py" --build "$scratch/build" --out "$scratch/out" \
  --jobs "$(nproc)" --threads 2
# The report holds every row, and the checks passed.
md=$scratch/out/result.md
for row in "image encoding, batch 16, fp32" "image encoding, batch 16, bf16" "CM-CLIP training step, batch 8, fp32" \
           "CM-CLIP training step, batch 8, bf16" "image features, fp32" "text features, fp32" \
           "training: parameter updates" "the CPU itself"; do
  grep -qF "$row" "$md" || { echo "result.md lacks '$row'" >&2; exit 1; }
done
grep -q '^# cmclip GPU check: PASS' "$md"
"$py" - "$scratch/out/result.json" <<'PY'
import json, math, sys
r = json.load(open(sys.argv[1]))
assert r["pass"] and r["parity_against_itself"] and r["device"] == "cpu", r
assert len(r["timings"]) == 4 and all(math.isfinite(t["ratio"]) and t["ratio"] > 0 for t in r["timings"]), r["timings"]
assert all(p["pass"] for p in r["parity"]) and r["cmclip"]["training"]["loss_decreased"], r["parity"]
assert r["header_reads_checked"] > 100, r["header_reads_checked"]
PY
echo "gpu-check --device cpu: $(grep -F 'Wall time' "$md")"
