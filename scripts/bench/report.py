#!/usr/bin/python3
"""The table of scripts/bench.sh: reads the JSON files of one benchmark run (a folder)
and prints markdown: speed-ups of ours over the Python baseline, achieved GFLOP/s
against the measured GEMM peak, page faults and system time per call, peak resident
memory, and which of the issue's targets the run meets. Asserts nothing.
"""
import argparse
import glob
import json
import os
import statistics
import sys
import time

CONFIGS = {
    "vit-b-16": dict(embed=512, resolution=224, patch=16, v_width=768, v_layers=12, t_width=512, t_layers=12),
    "tiny": dict(embed=64, resolution=64, patch=8, v_width=128, v_layers=2, t_width=128, t_layers=2),
}


def block_flop(width, tokens):
    """Multiply-adds x 2 of one transformer block over one sequence: the four projections
    and the MLP (24 W^2 per token) and the two attention products (4 L W per token)."""
    return 24 * width * width * tokens + 4 * tokens * tokens * width


def image_flop(c, batch):
    grid = c["resolution"] // c["patch"]
    tokens = grid * grid + 1
    w = c["v_width"]
    per_image = (c["v_layers"] * block_flop(w, tokens) + 2 * 3 * c["patch"] ** 2 * w * grid * grid
                 + 2 * w * c["embed"])
    return batch * per_image


def text_flop(c, batch, tokens):
    w = c["t_width"]
    return batch * (c["t_layers"] * block_flop(w, tokens) + 2 * w * c["embed"])


def fmt_time(s):
    return f"{s * 1000:.0f} ms" if s < 1 else f"{s:.2f} s"


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("folder")
    ap.add_argument("--config", choices=sorted(CONFIGS), default="vit-b-16")
    ap.add_argument("--tokens", help="tokens.json of the run (prompt lengths)")
    ap.add_argument("--elapsed", type=float, help="wall seconds of the whole run")
    args = ap.parse_args()
    c = CONFIGS[args.config]
    r = {}
    for path in glob.glob(os.path.join(args.folder, "*.json")):
        d = json.load(open(path))
        if "name" in d:
            r[d["name"]] = d
        elif d.get("task") == "eval":
            r["eval"] = d
    get = lambda name: r.get(name)
    med = lambda name: r[name]["median"] if name in r else None

    loads = [d["load_before"] for d in r.values() if "load_before" in d]
    g = get("gemm.ours")
    cpu = open("/proc/cpuinfo").read().split("model name")[1].split("\n")[0].strip(" :\t")
    print(f"# cmclip benchmark ({args.config}), {time.strftime('%Y-%m-%d %H:%M')}")
    print()
    print(f"{cpu}, {os.cpu_count()} cores, {g['threads'] if g else '?'} threads per side; "
          f"1-minute load average before each measurement: {min(loads):.2f} to {max(loads):.2f}"
          + (f"; whole run {args.elapsed / 60:.1f} min" if args.elapsed else "") + ".")
    peak = {}  # fp32 GEMM rates (GFLOP/s), ours and the competitor's
    bf16_peaks = []  # the same in bf16: oneDNN's bf16 GEMM, torch.mm under autocast
    if g:
        for k, v in g["kernels"].items():
            peak[k] = g["flop"] / v["median"] / 1e9
        native = get("gemm.ours-native-blas")
        if native:
            peak["openblas_native"] = native["flop"] / native["kernels"]["libtorch"]["median"] / 1e9
        py_gemm = med("gemm.python")
        if py_gemm:  # fp32 torch.mm: the competitor's GEMM counts towards the machine's best
            peak["python_mm"] = get("gemm.python").get("flop", g["flop"]) / py_gemm / 1e9
        py_bf16 = med("gemm.python-bf16")
        py_bf16_rate = get("gemm.python-bf16").get("flop", g["flop"]) / py_bf16 / 1e9 if py_bf16 else None
        onednn_bf16 = peak.pop("onednn_bf16", None)
        bf16_peaks = [r for r in (onednn_bf16, py_bf16_rate) if r]
        core = os.environ.get("OPENBLAS_CORETYPE")
        print()
        print(f"GEMM ({g['n']}^3 sgemm, median of {len(g['kernels']['libtorch']['times'])}): "
              f"LibTorch/OpenBLAS {peak['libtorch']:.0f} GFLOP/s"
              + (f" (OPENBLAS_CORETYPE={core} as this environment sets it)" if core else "")
              + (f", Python torch.mm {peak['python_mm']:.0f}" if py_gemm else "")
              + (f" (bf16 under autocast {py_bf16_rate:.0f})" if py_bf16_rate else "")
              + (f"; OpenBLAS choosing its own kernels {peak['openblas_native']:.0f}" if native else "")
              + (f"; oneDNN fp32 {peak['onednn_fp32']:.0f}" if "onednn_fp32" in peak else "")
              + (f", oneDNN bf16 {onednn_bf16:.0f}" if onednn_bf16 else "")
              + f". BLAS: {g['blas'].split(' MAX_THREADS')[0]}; AVX512-BF16: {'yes' if g['avx512_bf16'] else 'no'}.")
    fp32_peak = max(peak.values() or [float("nan")])
    bf16_peak = max(bf16_peaks or [float("nan")])
    if peak:
        print(f"The fp32 GEMM peak below is the best of these: {fp32_peak:.0f} GFLOP/s"
              + (f"; the bf16 one {bf16_peak:.0f}." if bf16_peaks else "."))

    def speedup(ours, base):
        return f"{base / ours:.2f}x" if ours and base else "-"

    prompts = json.load(open(args.tokens))["prompts"] if args.tokens else None
    n_prompts = len(prompts) if prompts else "?"
    longest = max(len(p) for p in prompts) if prompts else "?"
    prompt_lengths = [len(p) for p in prompts] if prompts else []
    py_side = get("image32.python") or get("image1.python")
    if py_side:
        print()
        print(f"The Python side: PyTorch {py_side['torch']} (BLAS {py_side.get('torch_blas', '?')}, CPU capability "
              f"{py_side.get('torch_cpu_capability', '?')}), eager mode unless the column says torch.compile; "
              f"{py_side['threads']} threads, as ours.")
    compile_failed = [d["compile_failed"] for d in r.values() if d.get("compile_failed")]
    if compile_failed:
        print(f"torch.compile failed here: {compile_failed[0]}")
    print()
    print("Speed-up = Python time / our time (higher is better). Python default: glibc malloc as is; "
          "tuned: MALLOC_MMAP_THRESHOLD_=MALLOC_TRIM_THRESHOLD_=16 GiB; compile: tuned, through torch.compile; "
          "bf16: tuned, eager, under torch.autocast(bfloat16).")
    print()
    print("| measurement | ours fp32 | ours bf16 | Python eager | Python eager, tuned | Python torch.compile | "
          "Python bf16 | fp32 vs eager | fp32 vs eager tuned | fp32 vs compile | bf16 vs Python bf16 |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")

    def row(label, key, unit_count=None, unit=None):
        o, ob, pd, pt, pn, pb = (med(f"{key}.{s}") for s in
                                 ("ours", "ours-bf16", "python", "python-tuned", "python-compile", "python-bf16"))

        def show(t):
            if t is None:
                return "-"
            if unit_count:
                return f"{unit_count / t:.1f} {unit}/s ({fmt_time(t)})"
            return fmt_time(t)
        print(f"| {label} | {show(o)} | {show(ob)} | {show(pd)} | {show(pt)} | {show(pn)} | {show(pb)} | "
              f"{speedup(o, pd)} | {speedup(o, pt)} | {speedup(o, pn)} | {speedup(ob, pb)} |")

    row("image encoding, batch 1", "image1", 1, "img")
    row("image encoding, batch 32", "image32", 32, "img")
    t = r.get("text.ours", {})
    # rows_run: the rows ours computes (prompts packed end to end; older runs: padded).
    text_rows = t.get("rows_run", t["batch"] * t["tokens_run"]) if t else "?"
    row(f"text encoding, {n_prompts} real prompts (<= {longest} tokens; ours runs {text_rows} "
        f"rows, Python {n_prompts} x 77)", "text", n_prompts if isinstance(n_prompts, int) else None, "prompts")
    row("CoCoOp step, batch 8, 2 classes, 4 ctx + meta-net (Python: one batched text call)", "cocoop")
    loop = med("cocoop.python-tuned-loop")
    row("CM-CLIP step, batch 8 (adapters in every block, 4 prompt families, every loss term)", "cmclip")
    e = r.get("eval")
    if e:
        print(f"| fas-eval, {e['n'] / 1e6:g} M scores, end to end (NumPy/scikit-learn) | {fmt_time(e['ours']['median'])} "
              f"| - | {fmt_time(e['python']['median'])} | - | - | - | {e['python']['median'] / e['ours']['median']:.1f}x "
              f"| - | - | - |")
    if loop:
        print()
        print(f"CoCoOp as the research code writes it (a text-encoder call per image), Python tuned: "
              f"{fmt_time(loop)}; ours fp32 is {speedup(med('cocoop.ours'), loop)} that.")
    if e:
        print(f"fas-eval in-process (read + sort + figures) {fmt_time(e['ours']['inner'])} against NumPy/scikit-learn "
              f"load + compute {fmt_time(e['python']['inner'])}: {e['python']['inner'] / e['ours']['inner']:.1f}x. "
              f"Agreement: {e['agreement']}.")

    # Arithmetic rate of the image encoder.
    print()
    print("| achieved GFLOP/s (model FLOPs / median time) | ours fp32 | ours bf16 | Python tuned | "
          "ours fp32, % of fp32 GEMM peak | ours bf16, % of bf16 GEMM peak |")
    print("|---|---|---|---|---|---|")
    for b in (1, 32):
        f = image_flop(c, b)
        o, ob, pt = med(f"image{b}.ours"), med(f"image{b}.ours-bf16"), med(f"image{b}.python-tuned")
        rate = lambda t: f / t / 1e9 if t else float("nan")
        print(f"| image encoding, batch {b} | {rate(o):.0f} | {rate(ob):.0f} | {rate(pt):.0f} | "
              f"{100 * rate(o) / fp32_peak:.0f}% | {100 * rate(ob) / bf16_peak:.0f}% |")
    if "text.ours" in r and "text.python-tuned" in r:
        t = r["text.ours"]
        # Packed prompts: each costs its own length (its attention is over its own rows).
        fo = (sum(text_flop(c, 1, n) for n in prompt_lengths) if "rows_run" in t and prompt_lengths
              and t["rows_run"] == sum(prompt_lengths) else text_flop(c, t["batch"], t["tokens_run"]))
        fp = text_flop(c, r["text.python-tuned"]["batch"], 77)
        print(f"| text encoding (each side's own work) | {fo / med('text.ours') / 1e9:.0f} | "
              f"{fo / med('text.ours-bf16') / 1e9:.0f} | {fp / med('text.python-tuned') / 1e9:.0f} | "
              f"{100 * fo / med('text.ours') / 1e9 / fp32_peak:.0f}% | - |")

    print()
    print("Where the time goes (image encoding, batch 32; per call):")
    print()
    print("| variant | median | minor page faults | system CPU | peak RSS |")
    print("|---|---|---|---|---|")
    for name, label in (("image32.ours", "ours (malloc thresholds raised at start-up, oneDNN GEMM)"),
                        ("image32.ours-default-malloc", "ours with glibc's default malloc"),
                        ("image32.ours-libtorch-gemm", "ours with LibTorch's GEMM (OpenBLAS)"),
                        ("image32.ours-bf16", "ours, bf16"),
                        ("image32.ours-bf16-autocast", "ours, bf16 through LibTorch's CPU autocast"),
                        ("image32.python", "Python, default environment"),
                        ("image32.python-tuned", "Python, tuned"),
                        ("image32.python-native-blas", "Python, tuned, OpenBLAS's own kernels"),
                        ("image32.python-compile", "Python, tuned, torch.compile"),
                        ("image32.python-bf16", "Python, tuned, bf16 under torch.autocast")):
        d = get(name)
        if d:
            print(f"| {label} | {fmt_time(d['median'])} | {d['minflt_per_run']:.0f} | {d['stime_per_run']:.2f} s | "
                  f"{d['maxrss_kb'] / 1024:.0f} MiB |")

    print()
    print("Peak resident memory (MiB), whole process:")
    print()
    print("| measurement | ours fp32 | ours bf16 | Python default | Python tuned |")
    print("|---|---|---|---|---|")
    for key, label in (("image32", "image encoding, batch 32"), ("text", "text encoding"),
                       ("cocoop", "CoCoOp step"), ("cmclip", "CM-CLIP step")):
        vals = []
        for s in ("ours", "ours-bf16", "python", "python-tuned"):
            d = get(f"{key}.{s}")
            vals.append(f"{d['maxrss_kb'] / 1024:.0f}" if d else "-")
        print(f"| {label} | " + " | ".join(vals) + " |")
    emb = {p: get(f"embed.{p}") for p in ("fp32", "bf16", "fp32-default-malloc")}
    if emb["fp32"] and emb["bf16"]:
        print(f"| fas-embed --images ({emb['fp32']['images']} images, batch 32), end to end | "
              f"{emb['fp32']['maxrss_kb'] / 1024:.0f} | {emb['bf16']['maxrss_kb'] / 1024:.0f} | - | - |")
    if emb["fp32"] and emb["fp32-default-malloc"]:
        print()
        print("fas-embed --images end to end (model set-up included), GNU time:")
        print()
        print("| malloc | wall | minor page faults | system CPU | peak RSS |")
        print("|---|---|---|---|---|")
        for key, label in (("fp32", "thresholds raised at start-up (what the tools do)"),
                           ("fp32-default-malloc", "glibc's defaults")):
            d = emb[key]
            print(f"| {label} | {d['seconds']:.2f} s | {d['minflt']} | {d['stime']:.2f} s | "
                  f"{d['maxrss_kb'] / 1024:.0f} MiB |")
    tr = get("train.fewshot")
    if tr and tr["epochs"]:
        print()
        print("fas-fewshot (CM-CLIP, batch 8, a small fas-synth store): "
              + "; ".join(f"epoch {i + 1}: {e['img_per_s']:.1f} img/s, waited {e['waited']:.2f} s for data"
                          for i, e in enumerate(tr["epochs"])) + ".")

    if args.config != "vit-b-16":
        print()
        print("(--quick: builtin:tiny and small inputs; the targets apply to the full run.)")
        return 0
    print()
    print("Targets (against the Python side named above, eager, equal threads):")
    print()

    def target(text, value, goal, fmt="{:.2f}x"):
        ok = value is not None and value >= goal
        shown = fmt.format(value) if value is not None else "not measured"
        print(f"- {'met' if ok else 'NOT met'}: {text}: {shown} (goal {fmt.format(goal)})")

    ratio = lambda a, b: med(b) / med(a) if med(a) and med(b) else None
    # The better of the two eager environments (default or tuned malloc) is the baseline.
    eager = lambda key: min([t for t in (med(f"{key}.python"), med(f"{key}.python-tuned")) if t] or [None]) \
        if (med(f"{key}.python") or med(f"{key}.python-tuned")) else None
    vs_eager = lambda ours, key: eager(key) / med(ours) if med(ours) and eager(key) else None
    for b in (1, 32):
        target(f"image batch {b}, fp32 vs eager", vs_eager(f"image{b}.ours", f"image{b}"), 1.5)
    target("text encoding vs eager (the end-of-text cut, prompts packed)", vs_eager("text.ours", "text"), 4.0)
    target("CoCoOp step vs eager (batched)", vs_eager("cocoop.ours", "cocoop"), 1.5)
    target("CM-CLIP step vs eager", vs_eager("cmclip.ours", "cmclip"), 1.5)
    if med("image32.ours"):
        target("image batch 32, fp32, share of the best measured fp32 GEMM peak",
               100 * image_flop(c, 32) / med("image32.ours") / 1e9 / fp32_peak, 80, "{:.0f}%")
    if e:
        target("fas-eval 10 M scores vs NumPy/scikit-learn (end to end)", e["python"]["median"] / e["ours"]["median"],
               1.5, "{:.1f}x")
    print("  (against torch.compile: image "
          f"batch 32 {ratio('image32.ours', 'image32.python-compile') or float('nan'):.2f}x, text "
          f"{ratio('text.ours', 'text.python-compile') or float('nan'):.2f}x, CoCoOp "
          f"{ratio('cocoop.ours', 'cocoop.python-compile') or float('nan'):.2f}x, CM-CLIP "
          f"{ratio('cmclip.ours', 'cmclip.python-compile') or float('nan'):.2f}x)")
    if med("image32.python-bf16"):
        print("  (bf16 against the Python side's bf16 under autocast: image batch 1 "
              f"{ratio('image1.ours-bf16', 'image1.python-bf16') or float('nan'):.2f}x, batch 32 "
              f"{ratio('image32.ours-bf16', 'image32.python-bf16') or float('nan'):.2f}x, text "
              f"{ratio('text.ours-bf16', 'text.python-bf16') or float('nan'):.2f}x, CoCoOp "
              f"{ratio('cocoop.ours-bf16', 'cocoop.python-bf16') or float('nan'):.2f}x, CM-CLIP "
              f"{ratio('cmclip.ours-bf16', 'cmclip.python-bf16') or float('nan'):.2f}x)")
    if emb["fp32"]:
        gib = emb["fp32"]["maxrss_kb"] / 1024 / 1024
        ok = gib <= 1.5
        print(f"- {'met' if ok else 'NOT met'}: fas-embed peak memory at batch 32: {gib:.2f} GiB (goal <= 1.5 GiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
