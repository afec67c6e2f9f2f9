"""Per-person calibration of the valence readout, measured on stimuli nobody trained on.

For each held-out subject and each ``unseen-clips`` fold, the population projection
(ridge, fitted on the training subjects without the fold's clips) is adapted on ``K``
of the subject's other clips with their own valence ratings (as a person would watch or
rate a few labelled stimuli), then evaluated on the fold's clips, which neither the
population model nor the calibration saw.  ``K`` = 3, 6, 9; 20 random draws of the
calibration clips per subject and fold.

Methods (all map the readout to the 0-7 rating scale):

* ``population``: one linear map from projection to rating, fitted on the training
  subjects (no calibration; the reference);
* ``bias``: ``population`` plus the person's mean residual on the calibration clips;
* ``bias+scale``: a per-person line from projection to rating (least squares on the K clips);
* ``shrink λ``: per-person ridge weights shrunk toward the population weights
  (``min ||X w + b - y||² + λ ||w - w_pop||²`` on the calibration windows).

Figures (means over subjects, folds and draws): ``within_subject_r`` (r between the
evaluated clips' valence and the person's own ratings), ``within_subject_auc``
(positive vs negative evaluated clips), ``mae`` (rating points), each with the
difference to ``population`` and its bootstrap 95% interval over subjects.

Usage::

    python -m offline.studies.calibration --out docs/data/unseen_calibration.json
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bci_valence.io.faced import default_faced_root
from offline.training.metrics import pearson

from .common import emit_json

__all__ = ["METHODS", "main", "run_calibration"]

METHODS = ("population", "bias", "bias+scale", "shrink 10", "shrink 100", "shrink 1000")


def _calibrated(win_s: np.ndarray, pop: np.ndarray, ratings_s: np.ndarray, cal: np.ndarray, test: np.ndarray,
                w: np.ndarray, gain: float, offset: float) -> dict[str, np.ndarray]:
    """Every method's predicted rating of one subject's ``test`` clips from its ``cal`` clips.

    Parameters
    ----------
    win_s : ndarray (28, 3, 160)
        The subject's 10-s window features.
    pop : ndarray (28, 3)
        The population readout of those windows.
    ratings_s : ndarray (28,)
        The subject's own ratings (only those of ``cal`` are read).
    cal, test : ndarray of int
        Calibration clips and predicted clips.
    w : ndarray (160,)
        The population readout's weights.
    gain, offset : float
        The population's linear map from readout to rating.
    """
    yk = ratings_s[cal]
    pk = pop[cal].mean(axis=1)
    base = gain * pop[test].mean(axis=1) + offset
    preds = {"population": base, "bias": base + (yk - (gain * pk + offset)).mean()}
    if np.std(pk) > 0:
        slope, icpt = np.polyfit(pk, yk, 1)
        preds["bias+scale"] = slope * pop[test].mean(axis=1) + icpt
    else:
        preds["bias+scale"] = preds["bias"]
    xk = win_s[cal].reshape(-1, 160)
    yw = np.repeat(yk, 3)
    mx, my = xk.mean(axis=0), yw.mean()
    xc = xk - mx
    w0 = gain * w
    for lam in (10, 100, 1000):
        ws = w0 + np.linalg.solve(xc.T @ xc + lam * np.eye(160), xc.T @ (yw - my - xc @ w0))
        preds[f"shrink {lam}"] = (win_s[test] @ ws + (my - mx @ ws)).mean(axis=1)
    return preds


def _rows(acc: dict, ks: Sequence[int], va: Sequence[int], n_bootstrap: int, seed: int) -> list[dict[str, Any]]:
    """Per K and method: means over subjects, and the difference from the population readout
    with a 95 % interval resampling subjects."""
    boot = np.random.default_rng(seed + 1).integers(0, len(va), (n_bootstrap, len(va)))
    rows = []
    for k in ks:
        ref = np.array([np.nanmean(np.array(acc[k]["population"][s]), axis=0) for s in va])  # (n_sub, 3)
        for m in METHODS:
            per_sub = np.array([np.nanmean(np.array(acc[k][m][s]), axis=0) for s in va])
            delta = per_sub - ref
            boot_means = np.nanmean(delta[boot], axis=1)  # (n_bootstrap, 3)
            ci = [[float(np.percentile(boot_means[:, j], q)) for q in (2.5, 97.5)] for j in range(3)]
            mean = per_sub.mean(axis=0)
            rows.append({
                "k": k, "method": m,
                "within_subject_r": float(mean[0]), "within_subject_auc": float(mean[1]), "mae": float(mean[2]),
                "delta_r": float(delta[:, 0].mean()), "delta_auc": float(delta[:, 1].mean()),
                "delta_mae": float(delta[:, 2].mean()),
                "ci95": {"delta_r": ci[0], "delta_auc": ci[1], "delta_mae": ci[2]},
            })
    return rows


def run_calibration(
    faced_root: str | Path,
    train: Sequence[int],
    val: Sequence[int],
    readout: Any,
    ks: Sequence[int] = (3, 6, 9),
    n_draws: int = 20,
    n_bootstrap: int = 1000,
    seed: int = 0,
    progress: bool = True,
) -> dict[str, Any]:
    """Measure every method of :data:`METHODS` for every ``K`` (see the module docstring)."""
    from bci_valence.constants import CLIP_LABELS, CLIP_VALENCE_GROUP
    from bci_valence.io import faced as fd
    from bci_valence.io.faced import format_subjects
    from bci_valence.model.bundle import ModelBundle
    from offline.training import (
        Readout,
        binary_auc,
        fit_fold_projections,
        standardize_subjects,
    )

    labels = np.asarray(CLIP_LABELS)
    group = np.asarray(CLIP_VALENCE_GROUP)
    coords = ModelBundle.load(device="cpu").class_coordinates
    train, val = list(train), list(val)
    data = fd.load_faced(faced_root, sorted(set(train) | set(val)), progress=progress)
    pos = {s: i for i, s in enumerate(data.subjects)}
    z = standardize_subjects(data.de)
    tr = [pos[s] for s in train]
    va = [pos[s] for s in val]
    ratings = data.valence.astype(np.float64)
    win = z.reshape(len(z), 28, 3, 10, 160).mean(axis=3)  # (n_sub, 28, 3, 160)
    rng = np.random.default_rng(seed)
    # per K, method: per-subject lists of (r, auc, mae) over folds and draws
    acc = {k: {m: {s: [] for s in va} for m in METHODS} for k in ks}
    for test, w, b in fit_fold_projections(z[tr], coords, labels, "unseen-clips", readout):
        w = w.reshape(-1)
        train_clips = np.setdiff1d(np.arange(28), test)
        pop_tr = (win[tr][:, train_clips] @ w + b).mean(axis=2)
        gain, offset = np.polyfit(pop_tr.ravel(), ratings[tr][:, train_clips].ravel(), 1)
        keep = group[test] != 0
        for s in va:
            pop = win[s] @ w + b  # (28, 3)
            for k in ks:
                for _ in range(n_draws):
                    cal = rng.choice(train_clips, size=k, replace=False)
                    preds = _calibrated(win[s], pop, ratings[s], cal, test, w, gain, offset)
                    for m, p in preds.items():
                        acc[k][m][s].append((
                            pearson(p, ratings[s, test]),
                            binary_auc(p[keep], group[test][keep] > 0),
                            float(np.abs(p - ratings[s, test]).mean()),
                        ))
    rows = _rows(acc, ks, va, n_bootstrap, seed)
    helps_order = [r for r in rows if r["method"] != "population" and r["ci95"]["delta_r"][0] > 0]
    helps_level = [r for r in rows if r["method"] != "population" and r["ci95"]["delta_mae"][1] < 0]
    return {
        "train_subjects": format_subjects(train),
        "validation_subjects": format_subjects(val),
        "readout": Readout.of(readout).to_dict(),
        "n_draws": n_draws,
        "rows": rows,
        "improves_ordering": [f"{r['method']} (K={r['k']})" for r in helps_order],
        "improves_rating_error": [f"{r['method']} (K={r['k']})" for r in helps_level],
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: run the calibration study and write its JSON (with provenance)."""
    from bci_valence.io.faced import parse_subjects
    from bci_valence.model.bundle import ModelBundle
    from bci_valence.provenance import provenance

    p = argparse.ArgumentParser(prog="python -m offline.studies.calibration", description=__doc__.split("\n")[0])
    p.add_argument("--faced-root", default=None,
                   help="FACED root (default: bci_valence.io.faced.default_faced_root)")
    p.add_argument("--train", default="0-79")
    p.add_argument("--val", default="80-99")
    p.add_argument("--alpha", type=float, default=None,
                   help="a ridge alpha for the population projection (default: the shipped bundle's readout)")
    p.add_argument("--draws", type=int, default=20)
    p.add_argument("--out", default=None)
    p.add_argument("--no-progress", action="store_true")
    args = p.parse_args(argv)
    from offline.training import Readout

    if args.alpha is not None:
        readout = Readout("ridge", alpha=args.alpha)
    else:
        spec = ModelBundle.load(device="cpu").config.projection
        readout = (Readout("pls", n_components=int(spec["n_components"])) if spec.get("method") == "pls"
                   else Readout("ridge", alpha=float(spec["alpha"])))
    result = run_calibration(args.faced_root or default_faced_root(), parse_subjects(args.train), parse_subjects(args.val), readout,
                             n_draws=args.draws, progress=not args.no_progress)
    cols = ["K", "method", "within-subject r", "Δr", "Δr 95% CI", "within-subject AUC", "ΔAUC", "MAE (0-7)",
            "ΔMAE", "ΔMAE 95% CI"]
    table = [[r["k"], r["method"], r["within_subject_r"], r["delta_r"], r["ci95"]["delta_r"],
              r["within_subject_auc"], r["delta_auc"], r["mae"], r["delta_mae"], r["ci95"]["delta_mae"]]
             for r in result["rows"]]
    record = {
        "title": "Per-person calibration on unseen clips (K labelled clips per person)",
        "description": (
            f"Population projection trained on sub {result['train_subjects']} without each fold's clips; "
            f"each validation subject (sub {result['validation_subjects']}) adapts it on K of their other "
            "clips with their own ratings and is evaluated on the fold's clips. Differences are to the "
            "population readout; intervals are bootstrap 95% over subjects."
        ),
        "tables": [{"title": "Calibration methods by K", "columns": cols, "rows": table}],
        **result,
        "provenance": provenance(),
    }
    emit_json(record, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
