#!/usr/bin/python3
"""Synthetic cmclip.scores file for the fas-eval benchmark (scripts/bench-eval.sh).

N samples in videos of 10 frames; 30% bona fide, the attacks split over print, replay
and mask with overlapping score distributions (P(live) = sigmoid of a normal draw,
float32), so every metric has work to do. Deterministic for a given --seed.
Needs /usr/bin/python3 with python3-numpy and python3-h5py (Debian).
"""
import argparse
import sys
import time

import h5py
import numpy as np


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, required=True, help="number of samples")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("-o", "--output", required=True)
    args = ap.parse_args()
    t0 = time.time()
    rng = np.random.default_rng(args.seed)
    n = args.n
    frames = 10
    videos = (n + frames - 1) // frames
    # Class per video: 0 bona fide (30%), 1..3 print, replay, mask.
    video_class = rng.choice(4, size=videos, p=[0.3, 0.3, 0.25, 0.15]).astype(np.int16)
    attack = np.repeat(video_class, frames)[:n]
    centre = np.array([2.0, -2.0, -1.0, 0.0])[attack]
    video_offset = np.repeat(rng.normal(0, 0.7, size=videos), frames)[:n]
    z = centre + video_offset + rng.normal(0, 1.0, size=n)
    score = (1.0 / (1.0 + np.exp(-z))).astype(np.float32)
    label = (attack == 0).astype(np.int8)
    video_ids = np.repeat(np.arange(videos), frames)[:n]
    video = np.char.add(b"v", np.char.zfill(video_ids.astype("S9"), 8))
    source = np.char.add(np.char.add(video, b"/f"), (np.arange(n) % frames).astype("S2"))

    def column(f, name, data, dtype=None):
        f.create_dataset(name, data=data, dtype=dtype, chunks=(min(n, 65536),) if n else None,
                         compression="gzip", compression_opts=1, shuffle=True)

    with h5py.File(args.output, "w") as f:
        f.attrs["format"] = "cmclip.scores"
        f.attrs["format_version"] = np.int64(1)
        f.attrs["created_by"] = "scripts/bench/gen_scores.py"
        f.attrs["command_line"] = " ".join(sys.argv)
        f.attrs["created_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        f.attrs["num_rows"] = np.int64(n)
        column(f, "score", score)
        f["score"].attrs["meaning"] = "P(live): higher = more live"
        column(f, "index", np.arange(n, dtype=np.int64))
        column(f, "label", label)
        f["label"].attrs["meaning"] = "1 = live (bona fide), 0 = attack"
        column(f, "attack", attack)
        column(f, "modality", np.zeros(n, dtype=np.int8))
        column(f, "subject", (video_ids // 4).astype(np.int32))
        column(f, "video", video)  # fixed-length ASCII: the reader takes both string kinds
        column(f, "source", source)
        f.create_dataset("attack_names", data=np.array([b"bona fide", b"print", b"replay", b"mask"]),
                         dtype=h5py.string_dtype("utf-8"))
    print(f"gen_scores: {n} scores in {args.output} ({time.time() - t0:.1f} s)", file=sys.stderr)


if __name__ == "__main__":
    main()
