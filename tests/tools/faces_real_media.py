"""Scores fas-preprocess's face crops against the hand-labelled faces of
tests/data/faces/real-media.tsv (run by test_faces_real_media.sh).

usage: faces_real_media.py LABELS MTCNN_STORE HAAR_STORE
Prints the IoU of each store's /bbox with the labelled box and, for the MTCNN store's
aligned crops, how far the labelled eye centres land from the template's (through
/crop_transform), as a fraction of the crop width. Exit 1 when an MTCNN IoU is below
0.5 or an eye lies further than 0.10 of the crop width from the template's.
"""
import math
import sys

import h5py
import numpy as np

TEMPLATE_EYES_112 = np.array([[38.2946, 51.6963], [73.5318, 51.5014]])


def labels(path):
    rows = []
    for line in open(path, encoding="utf-8"):
        if line.startswith("#") or not line.strip():
            continue
        f = line.rstrip("\n").split("\t")
        eyes = None if f[7] == "-" else np.array([[float(f[7]), float(f[8])], [float(f[9]), float(f[10])]])
        rows.append({"file": f[1], "frame": f[2], "box": [float(v) for v in f[3:7]], "eyes": eyes, "what": f[11]})
    return rows


def iou(a, b):
    if any(math.isnan(v) for v in b):
        return 0.0
    x1, y1 = max(a[0], b[0]), max(a[1], b[1])
    x2, y2 = min(a[0] + a[2], b[0] + b[2]), min(a[1] + a[3], b[1] + b[3])
    inter = max(0.0, x2 - x1) * max(0.0, y2 - y1)
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


def template_eyes(store):
    size = int(store.attrs["size"])
    margin = float(store.attrs["align_margin"])
    scale = size / 112.0 / (1.0 + 2.0 * margin)
    return size / 2.0 + (TEMPLATE_EYES_112 - 56.0) * scale, size


def main(label_path, mtcnn_path, haar_path):
    rows = labels(label_path)
    m, h = h5py.File(mtcnn_path, "r"), h5py.File(haar_path, "r")
    for s in (m, h):
        if s["bbox"].shape[0] != len(rows):
            sys.exit(f"{s.filename}: {s['bbox'].shape[0]} samples, the labels have {len(rows)}")
    if m.attrs["crop"] != "aligned":
        sys.exit(f"{mtcnn_path}: crop is {m.attrs['crop']}, expected aligned")
    eyes_t, size = template_eyes(m)
    bad = []
    print(f"{'image':<34} {'IoU mtcnn':>9} {'IoU haar':>9} {'score':>7} {'eye err L':>9} {'eye err R':>9}  what")
    for i, r in enumerate(rows):
        name = r["file"].rsplit("/", 1)[1] + ("" if r["frame"] == "-" else f"#{r['frame']}")
        im, ih = iou(r["box"], list(m["bbox"][i])), iou(r["box"], list(h["bbox"][i]))
        score = float(m["detector_score"][i])
        err = ["-", "-"]
        if r["eyes"] is not None:
            t = m["crop_transform"][i].astype(np.float64)
            mapped = r["eyes"] @ t[:, :2].T + t[:, 2]
            e = np.linalg.norm(mapped - eyes_t, axis=1) / size
            err = [f"{v:.3f}" for v in e]
            if (e > 0.10).any():
                bad.append(f"{name}: eye centres {err} of the crop width from the template's (limit 0.10)")
        if im < 0.5:
            bad.append(f"{name}: MTCNN IoU {im:.2f} < 0.5")
        print(f"{name:<34} {im:9.2f} {ih:9.2f} {score:7.4f} {err[0]:>9} {err[1]:>9}  {r['what']}")
    im_all = [iou(r["box"], list(m["bbox"][i])) for i, r in enumerate(rows)]
    ih_all = [iou(r["box"], list(h["bbox"][i])) for i, r in enumerate(rows)]
    print(f"{'mean':<34} {np.mean(im_all):9.2f} {np.mean(ih_all):9.2f}")
    print(f"IoU >= 0.5: mtcnn {sum(v >= 0.5 for v in im_all)} of {len(rows)}, haar {sum(v >= 0.5 for v in ih_all)} of {len(rows)}")
    for b in bad:
        print("FAIL:", b, file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
