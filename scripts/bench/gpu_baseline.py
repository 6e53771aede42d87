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
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from clip_baseline import CONFIGS, Clip, measure  # noqa: E402  (the same CLIP and timer as scripts/bench.sh)
from cm_clip_step import CmClipStep  # noqa: E402  (the same CM-CLIP step as scripts/bench.sh)


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
    step = CmClipStep(clip, spec, c, args.step_batch, device)
    images = torch.randn(args.image_batch, 3, c["resolution"], c["resolution"], device=device)

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
