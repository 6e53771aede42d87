#!/usr/bin/env python3
"""The PyTorch eager side of scripts/gpu-check.sh: the timings of cmclip-gpu-check
(bench/gpu/gpu_check.cpp) in plain PyTorch on the same device, the way the research code
is written (clip_baseline.py's CLIP: batch-second nn.MultiheadAttention, prompts padded
to the 77-token context).

  gpu_baseline.py --prompts OUT/prompts.json [--config vit-b-16|tiny] [--device cuda]
                  [--image-batch 256] [--step-batch 8] [--runs 10] [--warmup 3] [--threads T]

Measured, in fp32 and in bf16 (torch.autocast, as research code does), median
milliseconds of --runs after --warmup:
 - image: CLIP encode_image of --image-batch random images, without autograd;
 - step: one CM-CLIP training step on --step-batch random images (labels alternate,
   modalities rgb, depth, nir in turn): ADC-Adapters (bottleneck 8, theta 0.7, dropout
   0.1) beside the attention and the MLP of every vision block, class-specific content
   contexts and modality contexts of prompts.json's n_ctx, the meta-net, the category,
   modality, fine-grained (modality contexts permuted by prompts.json's perm) and plain
   prompts in one text-encoder call, the loss CE(cat) + mean CE(fg) + 0.1 CE(mod) +
   L_dec (plain), backward, gradient clipping to norm 1, AdamW (lr 1e-4, weight decay
   0.01).
The prompts' token ids come from prompts.json (written by cmclip-gpu-check), so both
sides encode the same sequences. Weights are random (torch.manual_seed). Needs torch only.
Prints one JSON object.
"""
import argparse
import json
import math
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from clip_baseline import CONFIGS, Clip, measure, pad  # noqa: E402  (the same CLIP and timer as scripts/bench.sh)


def quick_gelu(x):
    return x * torch.sigmoid(1.702 * x)


class AdcAdapter(nn.Module):
    """down, QuickGELU, central-difference 3x3 conv over the patch grid (CLS as a 1x1 map),
    QuickGELU, dropout, up (zero-initialised)."""

    def __init__(self, width, r=8, theta=0.7, dropout=0.1):
        super().__init__()
        self.r = r
        self.down, self.up = nn.Linear(width, r), nn.Linear(r, width)
        nn.init.xavier_uniform_(self.down.weight)
        nn.init.zeros_(self.down.bias)
        nn.init.zeros_(self.up.weight)
        nn.init.zeros_(self.up.bias)
        weight = torch.zeros(r, r, 3, 3)
        weight[:, :, 1, 1] = torch.eye(r)
        self.weight, self.bias = nn.Parameter(weight), nn.Parameter(torch.zeros(r))
        self.rho = nn.Parameter(torch.tensor(math.log(theta / (1 - theta))))
        self.dropout = nn.Dropout(dropout)

    def conv(self, x):
        vanilla = F.conv2d(x, self.weight, self.bias, padding=1)
        centre = F.conv2d(x, self.weight.sum((2, 3), keepdim=True))
        return vanilla - torch.sigmoid(self.rho) * centre

    def forward(self, z):  # [B, 1 + G^2, W]
        b, t, _ = z.shape
        g = int(round(math.sqrt(t - 1)))
        d = quick_gelu(self.down(z))
        patches = self.conv(d[:, 1:].transpose(1, 2).reshape(b, self.r, g, g)).reshape(b, self.r, g * g)
        cls = self.conv(d[:, 0].reshape(b, self.r, 1, 1)).reshape(b, 1, self.r)
        return self.up(self.dropout(quick_gelu(torch.cat([cls, patches.transpose(1, 2)], 1))))


def encode_image_adapted(visual, adapters, images):
    x = visual.conv1(images).flatten(2).permute(0, 2, 1)
    cls = visual.class_embedding.expand(x.shape[0], 1, -1)
    x = visual.ln_pre(torch.cat([cls, x], 1) + visual.positional_embedding).permute(1, 0, 2)  # [T, B, W]
    for i, blk in enumerate(visual.transformer.blocks):
        h = blk.ln_1(x)
        x = x + blk.attn(h, h, h, need_weights=False)[0] + adapters[2 * i](h.permute(1, 0, 2)).permute(1, 0, 2)
        h = blk.ln_2(x)
        x = x + blk.mlp(h) + adapters[2 * i + 1](h.permute(1, 0, 2)).permute(1, 0, 2)
    return visual.ln_post(x.permute(1, 0, 2)[:, 0, :]) @ visual.proj


class Prompts(nn.Module):
    """CM-CLIP's prompt learner: content contexts per class (+ the meta-net's token),
    modality contexts, and the fine-grained prompts [content][modality] of every pair."""

    def __init__(self, clip, spec, c):
        super().__init__()
        n, k, m, w, e = spec["n_ctx"], spec["classes"], spec["modalities"], c["t_width"], c["embed"]
        self.n, self.k, self.m, self.perm = n, k, m, spec["perm"]
        self.content = nn.Parameter(0.02 * torch.randn(k, n, w))
        self.modality_ctx = nn.Parameter(0.02 * torch.randn(m, n, w))
        self.meta_net = nn.Sequential(nn.Linear(e, max(1, e // 16)), nn.ReLU(inplace=True), nn.Linear(max(1, e // 16), w))
        for name in ("category", "modality", "fine"):
            ids = pad(spec[name], c["context"]).to(clip.token_embedding.weight.device)
            with torch.no_grad():
                self.register_buffer(name + "_emb", clip.token_embedding(ids))
            self.register_buffer(name + "_ids", ids)

    @staticmethod
    def splice(emb, ctx, n_total):  # emb [P, L, W], ctx [..., P, n_total, W]
        lead = ctx.shape[:-2]
        prefix = emb[:, :1].expand(*lead, 1, emb.shape[-1])
        suffix = emb[:, 1 + n_total:].expand(*lead, emb.shape[1] - 1 - n_total, emb.shape[-1])
        return torch.cat([prefix, ctx, suffix], -2)

    def forward(self, clip, f):  # f: normalised image features [B, E]
        b, k, m, n, w = f.shape[0], self.k, self.m, self.n, self.content.shape[-1]
        cat_ctx = self.content.unsqueeze(0) + self.meta_net(f).view(b, 1, 1, w)  # [B, K, n, W]
        mc = self.modality_ctx[self.perm].view(1, 1, m, n, w).expand(b, k, m, n, w)
        fine_ctx = torch.cat([cat_ctx.unsqueeze(2).expand(b, k, m, n, w), mc], 3).reshape(b, k * m, 2 * n, w)
        seqs = [self.splice(self.category_emb, cat_ctx, n).reshape(b * k, -1, w),
                self.splice(self.modality_emb, self.modality_ctx.unsqueeze(0), n).reshape(m, -1, w),
                self.splice(self.fine_emb, fine_ctx, 2 * n).reshape(b * k * m, -1, w),
                self.splice(self.category_emb, self.content.unsqueeze(0), n).reshape(k, -1, w)]
        ids = torch.cat([self.category_ids.repeat(b, 1), self.modality_ids, self.fine_ids.repeat(b, 1),
                         self.category_ids])
        t = clip.encode_embeddings(torch.cat(seqs), ids)
        t = t / t.norm(dim=-1, keepdim=True)
        cat, mod, fine, plain = t.split([b * k, m, b * k * m, k])
        return cat.view(b, k, -1), mod, fine.view(b, k, m, -1).transpose(1, 2), plain


def cm_clip_loss(clip, adapters, prompts, images, labels, slots):
    f = encode_image_adapted(clip.visual, adapters, images)
    f = f / f.norm(dim=-1, keepdim=True)
    t_cat, t_mod, t_fine, t_plain = prompts(clip, f)
    scale = clip.logit_scale.exp()
    cat = scale * (f.unsqueeze(1) * t_cat).sum(-1)
    fine = scale * (f.view(f.shape[0], 1, 1, -1) * t_fine).sum(-1)  # [B, M, K]
    mod = scale * (f @ t_mod.t())
    loss = F.cross_entropy(cat, labels)
    loss = loss + sum(F.cross_entropy(fine[:, i], labels) for i in range(fine.shape[1])) / fine.shape[1]
    loss = loss + 0.1 * F.cross_entropy(mod, slots)  # the batch holds three modalities
    return loss + (t_plain @ t_mod.t()).pow(2).mean()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--prompts", required=True)
    ap.add_argument("--config", choices=sorted(CONFIGS), default="vit-b-16")
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--image-batch", type=int, default=256)
    ap.add_argument("--step-batch", type=int, default=8)
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--threads", type=int, default=0)
    args = ap.parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    device, c = torch.device(args.device), CONFIGS[args.config]
    spec = json.load(open(args.prompts))
    clip = Clip(c).to(device)
    for p in clip.parameters():
        p.requires_grad_(False)
    adapters = nn.ModuleList([AdcAdapter(c["v_width"]) for _ in range(2 * c["v_layers"])]).to(device).train()
    prompts = Prompts(clip, spec, c).to(device).train()
    params = list(adapters.parameters()) + list(prompts.parameters())
    optimizer = torch.optim.AdamW(params, lr=1e-4, weight_decay=0.01)
    images = torch.randn(args.image_batch, 3, c["resolution"], c["resolution"], device=device)
    step_images = torch.randn(args.step_batch, 3, c["resolution"], c["resolution"], device=device)
    labels = (torch.arange(args.step_batch) % 2).to(device)
    slots = (torch.arange(args.step_batch) % 3).to(device)

    def step(bf16):
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            loss = cm_clip_loss(clip, adapters, prompts, step_images, labels, slots)
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        return loss.item()

    def image(bf16):
        with torch.no_grad(), torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            clip.encode_image(images)

    out = {"side": "pytorch-eager", "torch": torch.__version__, "cuda": torch.version.cuda, "device": str(device),
           "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
           "threads": torch.get_num_threads(), "config": args.config, "image_batch": args.image_batch,
           "step_batch": args.step_batch, "runs": args.runs, "warmup": args.warmup,
           "cudnn_tf32": torch.backends.cudnn.allow_tf32, "matmul_tf32": torch.backends.cuda.matmul.allow_tf32}
    for name, bf16 in (("fp32", False), ("bf16", True)):
        out[f"image_{name}_ms"] = 1e3 * measure(lambda: image(bf16), args.runs, args.warmup, device)["median"]
        out[f"step_{name}_ms"] = 1e3 * measure(lambda: step(bf16), args.runs, args.warmup, device)["median"]
    print(json.dumps(out))


if __name__ == "__main__":
    sys.exit(main())
