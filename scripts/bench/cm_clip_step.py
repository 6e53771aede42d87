"""CM-CLIP's training step in plain PyTorch eager code, for the Python sides of
scripts/bench.sh (clip_baseline.py cm-clip) and scripts/gpu-check.sh (gpu_baseline.py):
ADC-Adapters (bottleneck 8, theta 0.7, dropout 0.1) beside the attention and the MLP of
every vision block, class-specific content contexts and modality contexts, the
meta-net, the category, modality, fine-grained (modality contexts permuted by the
spec's perm) and plain prompts in one text-encoder call, the loss CE(cat) + mean
CE(fg) + 0.1 CE(mod) + L_dec (plain), backward, gradient clipping to norm 1, AdamW
(lr 1e-4, weight decay 0.01): cmclip's defaults for --method cm-clip.

The prompt spec (JSON: n_ctx, classes, modalities, perm, and the token ids of the
category, modality and fine families) comes from the C++ side (cmclip-bench tokens,
cmclip-gpu-check), so both sides encode the same sequences."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from clip_baseline import pad


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



class CmClipStep:
    """A CM-CLIP model over `clip` (frozen) with its optimiser, and one training step on
    `batch` random images (labels alternate; modalities rgb, depth, nir in turn)."""

    def __init__(self, clip, spec, c, batch, device):
        for p in clip.parameters():
            p.requires_grad_(False)
        self.clip = clip
        self.adapters = nn.ModuleList([AdcAdapter(c["v_width"]) for _ in range(2 * c["v_layers"])]).to(device).train()
        self.prompts = Prompts(clip, spec, c).to(device).train()
        self.params = list(self.adapters.parameters()) + list(self.prompts.parameters())
        self.optimizer = torch.optim.AdamW(self.params, lr=1e-4, weight_decay=0.01)
        self.images = torch.randn(batch, 3, c["resolution"], c["resolution"], device=device)
        self.labels = (torch.arange(batch) % 2).to(device)
        self.slots = (torch.arange(batch) % 3).to(device)

    def __call__(self, bf16=False):
        with torch.autocast(self.images.device.type, dtype=torch.bfloat16, enabled=bf16):
            loss = cm_clip_loss(self.clip, self.adapters, self.prompts, self.images, self.labels, self.slots)
        self.optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.params, 1.0)
        self.optimizer.step()
        return loss.item()
