#!/usr/bin/python3
"""NumPy/scikit-learn computation of fas-eval's frame-level figures, for the benchmark
(scripts/bench-eval.sh) and as an independent cross-check of the numbers.

Same conventions as `fas-eval --test FILE` without --dev: threshold = the test set's
own EER threshold (the distinct score minimising |FAR - FRR|, then FAR + FRR, then the
lowest), ties accept (attack accepted when score >= t), APCER = max over attack types,
TPR@FPR with positive class attack on the step ROC, BPCER10/20 = BPCER at the lowest
threshold where every attack type has APCER <= 10% / 5%.
Prints one JSON object: the figures and the seconds spent loading and computing.
Needs /usr/bin/python3 with python3-numpy, python3-sklearn and python3-h5py (Debian).
"""
import argparse
import json
import time

import h5py
import numpy as np
from sklearn.metrics import roc_auc_score, roc_curve


def figures(score, label, attack, names):
    live = score[label == 1]
    n_live = live.size
    n_att = score.size - n_live
    # ROC with positive = live: predicted live when score >= threshold (ties accept).
    far, tpr, thr = roc_curve(label, score, drop_intermediate=False)
    frr = 1.0 - tpr
    # Exact comparisons as fas-eval makes them: integers over the denominator n_att * n_live.
    a_acc = np.rint(far * n_att).astype(np.int64)
    l_rej = np.rint(frr * n_live).astype(np.int64)
    diff = np.abs(a_acc * n_live - l_rej * n_att)
    total = a_acc * n_live + l_rej * n_att
    order = np.lexsort((thr, total, diff))  # least diff, then least sum, then lowest threshold
    k = order[0]
    tau = thr[k] if np.isfinite(thr[k]) and k > 0 else np.nextafter(np.float32(score.max()), np.float32(np.inf))
    tau = np.float32(tau)
    out = {"threshold": float(tau)}
    per = {}
    for code, name in enumerate(names):
        if code == 0:
            continue
        s = score[attack == code]
        if s.size:
            per[name] = float(np.mean(s >= tau))
    att = score[label == 0]
    out["apcer"] = max(per.values())
    out["apcer_per_attack"] = per
    out["apcer_pooled"] = float(np.mean(att >= tau))
    out["bpcer"] = float(np.mean(live < tau))
    out["acer"] = (out["apcer"] + out["bpcer"]) / 2
    out["hter"] = (out["apcer_pooled"] + out["bpcer"]) / 2
    out["eer"] = (a_acc[k] / n_att + l_rej[k] / n_live) / 2
    out["auc"] = float(roc_auc_score(label, score))
    # Positive = attack: detected when rejected; sklearn on the negated score.
    fpr_a, tpr_a, _ = roc_curve(label == 0, -score, drop_intermediate=False)
    out["tpr_at_fpr"] = {}
    for name, d in (("1e-2", 100), ("1e-3", 1000), ("1e-4", 10000)):
        ok = np.rint(fpr_a * n_live).astype(np.int64) * d <= n_live
        out["tpr_at_fpr"][name] = float(tpr_a[ok].max()) if n_live >= d else None
    # BPCER_N: every type may keep floor(n_t / N) accepted attacks; the threshold must
    # reject the next highest score of each type.
    for key, n in (("bpcer10", 10), ("bpcer20", 20)):
        cutoff = -np.inf
        for code in range(1, len(names)):
            s = np.sort(score[attack == code])[::-1]
            keep = s.size // n
            if keep < s.size:
                cutoff = max(cutoff, s[keep])
        out[key] = float(np.mean(live <= cutoff))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("scores", help="cmclip.scores HDF5 file")
    args = ap.parse_args()
    t0 = time.perf_counter()
    with h5py.File(args.scores, "r") as f:
        score = f["score"][...]
        label = f["label"][...]
        attack = f["attack"][...]
        names = [n.decode() if isinstance(n, bytes) else n for n in f["attack_names"][...]]
    t1 = time.perf_counter()
    out = figures(score, label, attack, names)
    t2 = time.perf_counter()
    out["seconds_load"] = t1 - t0
    out["seconds_compute"] = t2 - t1
    print(json.dumps(out))


if __name__ == "__main__":
    main()
