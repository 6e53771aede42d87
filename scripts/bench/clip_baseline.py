#!/usr/bin/python3
"""The Python baseline of scripts/bench.sh: CLIP ViT and a CoCoOp-style training step in
plain PyTorch eager code, written the way the research code is written (batch-second
nn.MultiheadAttention, prompts padded to the 77-token context, the frozen image encoder
run without autograd because nothing in it requires a gradient), with random weights.

One measurement per process; it prints one JSON object: the wall seconds of each timed
run (after warm-up), and the process's resource usage (peak resident memory, minor page
faults and system CPU seconds per timed run), so the allocator's behaviour is visible.

  clip_baseline.py [--config vit-b-16|tiny] [--runs R] [--warmup W] [--threads T] [--device D]
                   [--compile] [--bf16] TASK
  TASK: gemm --n N | image --batch B | text --tokens T.json |
        cocoop --tokens T.json --batch B [--variant loop|batched] |
        cm-clip --tokens T.json --batch B   (cm_clip_step.py: CM-CLIP's step)

T.json comes from `cmclip-bench tokens`: the token ids of the prompts (so that both
sides see the same prompts), which this side pads to the 77-token context as
clip.tokenize does. --compile runs the encoders through torch.compile (PyTorch 2.x;
the warm-up runs include the compilation); where compiling fails the JSON says why
instead of a time. --bf16 runs the task under torch.autocast(bfloat16), as research code
asks for bf16 (the gemm task: bf16 operands). The JSON names the torch version, its
BLAS and its CPU capability (torch.__config__.show()).
"""
import argparse
import json
import math
import resource
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

CONFIGS = {
    # embed, image resolution, patch, vision width/layers/heads, text width/layers/heads, context, vocab
    "vit-b-16": dict(embed=512, resolution=224, patch=16, v_width=768, v_layers=12, v_heads=12,
                     t_width=512, t_layers=12, t_heads=8, context=77, vocab=49408),
    "tiny": dict(embed=64, resolution=64, patch=8, v_width=128, v_layers=2, v_heads=2,
                 t_width=128, t_layers=2, t_heads=2, context=77, vocab=514),
}


class QuickGELU(nn.Module):
    def forward(self, x):
        return x * torch.sigmoid(1.702 * x)


class Block(nn.Module):
    """Pre-norm transformer block over [tokens, batch, width]."""

    def __init__(self, width, heads, mask=None):
        super().__init__()
        self.ln_1 = nn.LayerNorm(width)
        self.attn = nn.MultiheadAttention(width, heads)
        self.ln_2 = nn.LayerNorm(width)
        self.mlp = nn.Sequential(nn.Linear(width, 4 * width), QuickGELU(), nn.Linear(4 * width, width))
        self.register_buffer("mask", mask, persistent=False)  # moves with the model

    def forward(self, x):
        h = self.ln_1(x)
        mask = None if self.mask is None else self.mask.to(dtype=x.dtype)
        x = x + self.attn(h, h, h, need_weights=False, attn_mask=mask)[0]
        return x + self.mlp(self.ln_2(x))


class Transformer(nn.Module):
    def __init__(self, width, layers, heads, mask=None):
        super().__init__()
        self.blocks = nn.Sequential(*[Block(width, heads, mask) for _ in range(layers)])

    def forward(self, x):
        return self.blocks(x)


class VisionTower(nn.Module):
    def __init__(self, c):
        super().__init__()
        w, grid = c["v_width"], c["resolution"] // c["patch"]
        self.conv1 = nn.Conv2d(3, w, c["patch"], stride=c["patch"], bias=False)
        self.class_embedding = nn.Parameter(w ** -0.5 * torch.randn(w))
        self.positional_embedding = nn.Parameter(w ** -0.5 * torch.randn(grid * grid + 1, w))
        self.ln_pre = nn.LayerNorm(w)
        self.transformer = Transformer(w, c["v_layers"], c["v_heads"])
        self.ln_post = nn.LayerNorm(w)
        self.proj = nn.Parameter(w ** -0.5 * torch.randn(w, c["embed"]))

    def forward(self, images):
        x = self.conv1(images).flatten(2).permute(0, 2, 1)  # [B, grid^2, W]
        cls = self.class_embedding.expand(x.shape[0], 1, -1)
        x = self.ln_pre(torch.cat([cls, x], 1) + self.positional_embedding)
        x = self.transformer(x.permute(1, 0, 2)).permute(1, 0, 2)
        return self.ln_post(x[:, 0, :]) @ self.proj


class Clip(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.context = c["context"]
        self.visual = VisionTower(c)
        mask = torch.full((c["context"], c["context"]), float("-inf")).triu_(1)
        self.transformer = Transformer(c["t_width"], c["t_layers"], c["t_heads"], mask)
        self.token_embedding = nn.Embedding(c["vocab"], c["t_width"])
        nn.init.normal_(self.token_embedding.weight, std=0.02)
        self.positional_embedding = nn.Parameter(0.01 * torch.randn(c["context"], c["t_width"]))
        self.ln_final = nn.LayerNorm(c["t_width"])
        self.text_projection = nn.Parameter(c["t_width"] ** -0.5 * torch.randn(c["t_width"], c["embed"]))
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))

    def encode_image(self, images):
        return self.visual(images)

    def encode_embeddings(self, x, ids):
        """x: token embeddings [N, 77, W]; ids: the token ids (pooled at their argmax, the EOT)."""
        x = x + self.positional_embedding
        x = self.transformer(x.permute(1, 0, 2)).permute(1, 0, 2)
        x = self.ln_final(x)
        return x[torch.arange(x.shape[0], device=x.device), ids.argmax(dim=-1)] @ self.text_projection

    def encode_text(self, ids):
        return self.encode_embeddings(self.token_embedding(ids), ids)


def pad(rows, context):
    out = torch.zeros(len(rows), context, dtype=torch.long)
    for i, r in enumerate(rows):
        out[i, :len(r)] = torch.tensor(r, dtype=torch.long)
    return out


class CoCoOpPrompts(nn.Module):
    """Learned context vectors shifted by a meta-net token of the image (CoCoOp)."""

    def __init__(self, clip, ids, n_ctx, embed):
        super().__init__()
        width = clip.token_embedding.weight.shape[1]
        self.ctx = nn.Parameter(0.02 * torch.randn(n_ctx, width))
        self.meta_net = nn.Sequential(nn.Linear(embed, embed // 16), nn.ReLU(inplace=True),
                                      nn.Linear(embed // 16, width))
        with torch.no_grad():
            emb = clip.token_embedding(ids)
        self.register_buffer("prefix", emb[:, :1, :])  # SOS
        self.register_buffer("suffix", emb[:, 1 + n_ctx:, :])  # class words, EOS, padding
        self.ids = ids

    def forward(self, image_features):
        shifted = self.ctx.unsqueeze(0) + self.meta_net(image_features).unsqueeze(1)  # [B, n_ctx, W]
        n_cls = self.prefix.shape[0]
        return [torch.cat([self.prefix, c.unsqueeze(0).expand(n_cls, -1, -1), self.suffix], 1) for c in shifted]


def cocoop_step(clip, prompts, optimizer, images, labels, variant):
    image_features = clip.encode_image(images)  # frozen: no parameter requires a gradient
    image_features = image_features / image_features.norm(dim=-1, keepdim=True)
    per_image = prompts(image_features)
    scale = clip.logit_scale.exp()
    n_cls = prompts.ids.shape[0]
    if variant == "loop":  # the research code: one text-encoder call per image
        logits = []
        for f, p in zip(image_features, per_image):
            t = clip.encode_embeddings(p, prompts.ids)
            t = t / t.norm(dim=-1, keepdim=True)
            logits.append(scale * f @ t.t())
        logits = torch.stack(logits)
    else:  # every prompt of the step in one call
        t = clip.encode_embeddings(torch.cat(per_image), prompts.ids.repeat(len(per_image), 1))
        t = (t / t.norm(dim=-1, keepdim=True)).view(len(per_image), n_cls, -1)
        logits = scale * (image_features.unsqueeze(1) * t).sum(-1)
    loss = F.cross_entropy(logits, labels)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()


def torch_build():
    """BLAS and CPU capability of this torch, from torch.__config__.show()."""
    text = torch.__config__.show()
    blas = next((p.split("=")[1] for p in text.replace(",", " ").split() if p.startswith("BLAS_INFO=")), "?")
    isa = next((l.split(":")[1].strip() for l in text.splitlines() if "CPU capability usage" in l), "?")
    return {"torch_blas": blas, "torch_cpu_capability": isa}


def compiled(fn, enabled):
    return torch.compile(fn) if enabled else fn


def usage():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_minflt, r.ru_stime


def measure(fn, runs, warmup, device):
    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize()
    for _ in range(warmup):
        fn()
    sync()
    faults0, sys0 = usage()
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - t)
    faults1, sys1 = usage()
    return {"times": times, "median": statistics.median(times),
            "minflt_per_run": (faults1 - faults0) / runs, "stime_per_run": (sys1 - sys0) / runs}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", choices=sorted(CONFIGS), default="vit-b-16")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", default="cpu", help="cpu or cuda (the model and inputs go there)")
    ap.add_argument("--compile", action="store_true", help="torch.compile the encoders (PyTorch 2.x)")
    ap.add_argument("--bf16", action="store_true", help="run under torch.autocast(bfloat16)")
    sub = ap.add_subparsers(dest="task", required=True)
    g = sub.add_parser("gemm")
    g.add_argument("--n", type=int, default=4096)
    im = sub.add_parser("image")
    im.add_argument("--batch", type=int, required=True)
    tx = sub.add_parser("text")
    tx.add_argument("--tokens", required=True)
    cc = sub.add_parser("cocoop")
    cc.add_argument("--tokens", required=True)
    cc.add_argument("--batch", type=int, default=8)
    cc.add_argument("--variant", choices=["loop", "batched"], default="batched")
    cm = sub.add_parser("cm-clip")
    cm.add_argument("--tokens", required=True)
    cm.add_argument("--batch", type=int, default=8)
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    c = CONFIGS[args.config]
    device = torch.device(args.device)
    out = {"side": "python", "task": args.task, "config": args.config, "threads": torch.get_num_threads(),
           "torch": torch.__version__, "device": str(device), "compile": args.compile,
           "precision": "bf16" if args.bf16 else "fp32", **torch_build()}
    try:
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=args.bf16):
            run_task(args, c, device, out)
    except Exception as e:  # torch.compile's backends fail on some machines: say so, time nothing
        if not args.compile:
            raise
        out.update({"median": None, "compile_failed": f"{type(e).__name__}: {str(e).splitlines()[0][:300]}"})
    out["maxrss_kb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps(out))


def run_task(args, c, device, out):
    t0 = time.perf_counter()
    if args.task == "gemm":
        a, b = torch.randn(args.n, args.n, device=device), torch.randn(args.n, args.n, device=device)
        out.update(measure(lambda: torch.mm(a, b), args.runs, args.warmup, device))
        out["flop"] = 2.0 * args.n ** 3
    else:
        clip = Clip(c).to(device).eval()
        for p in clip.parameters():
            p.requires_grad_(False)
        out["seconds_setup"] = time.perf_counter() - t0
        clip.encode_image = compiled(clip.encode_image, args.compile)
        clip.encode_text = compiled(clip.encode_text, args.compile)
        clip.encode_embeddings = compiled(clip.encode_embeddings, args.compile)
        if args.task == "image":
            images = torch.randn(args.batch, 3, c["resolution"], c["resolution"], device=device)
            out["batch"] = args.batch

            def run():
                with torch.no_grad():
                    clip.encode_image(images)
            out.update(measure(run, args.runs, args.warmup, device))
        elif args.task == "text":
            rows = json.load(open(args.tokens))["prompts"]
            ids = pad(rows, c["context"]).to(device)
            out["batch"] = len(rows)
            out["tokens_run"] = c["context"]

            def run():
                with torch.no_grad():
                    clip.encode_text(ids)
            out.update(measure(run, args.runs, args.warmup, device))
        elif args.task == "cm-clip":
            from cm_clip_step import CmClipStep  # here: it imports this module
            step = CmClipStep(clip, json.load(open(args.tokens))["cm_clip"], c, args.batch, device)
            out["batch"] = args.batch
            out["tokens_run"] = c["context"]
            clip.train()
            out.update(measure(lambda: step(args.bf16), args.runs, args.warmup, device))
        else:
            spec = json.load(open(args.tokens))["cocoop"]
            ids = pad(spec["ids"], c["context"]).to(device)
            prompts = CoCoOpPrompts(clip, ids, spec["n_ctx"], c["embed"]).to(device)
            optimizer = torch.optim.SGD(prompts.parameters(), lr=0.002, momentum=0.9, weight_decay=5e-4)
            images = torch.randn(args.batch, 3, c["resolution"], c["resolution"], device=device)
            labels = (torch.arange(args.batch) % ids.shape[0]).to(device)
            out["batch"] = args.batch
            out["variant"] = args.variant
            out["tokens_run"] = c["context"]
            clip.train()  # as in training (no dropout in CLIP: same maths)
            out.update(measure(lambda: cocoop_step(clip, prompts, optimizer, images, labels, args.variant),
                               args.runs, args.warmup, device))


if __name__ == "__main__":
    sys.exit(main())
