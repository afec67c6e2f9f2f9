"""Valence on unseen clips of unseen subjects, with every choice made inside the training subjects.

An outer cross-validation over subjects: the subjects are split into ``n_outer`` folds of
consecutive subjects (5 folds of 20 over sub000-099). For each outer fold:

1. **Selection on the other subjects only.** The readout is chosen among the variants
   of :mod:`offline.studies.unseen_variants` (ridge / logistic / PLS / MLP readouts,
   feature transforms, stimulus-invariance penalties, readout lengths) by inner folds
   over the outer fold's training subjects (``n_inner`` folds of consecutive
   subjects): each variant is fitted on the other inner folds and predicts the inner
   fold's subjects under the ``unseen-clips`` protocol (3 clip folds,
   :func:`offline.training.protocol_test_clips`: every clip predicted by a model that
   never saw it). The variant with the highest mean over the inner folds of
   ``valence_auc_subject_clip`` is chosen (ties: the first in the list).
2. **Report on the outer subjects.** The chosen variant is fitted on all of the
   outer fold's training subjects (per clip fold) and predicts the outer subjects'
   held-out clips; figures: :func:`offline.training.protocol_metrics` (AUC over
   subject x clip and per 10-s window, per-stimulus r against the subjects' mean
   rated valence and against the V-axis coordinate, mean per-subject r against the
   own ratings, permutation p-values, 95 % intervals resampling subjects and clips
   together, :func:`offline.stats.two_way_bootstrap`).

Beside it, on the same subjects and clips: the shipped bundle's readout fitted the
same way without any selection (it was chosen once, on sub080-099, so it is not
nested for the fold holding those subjects), and frontal alpha asymmetry (no training;
:func:`offline.training.protocols.fai_figures`).

Everything is done under two per-subject standardisations (each with its own
selection):

* ``all``: each channel x band z-scored with the mean and SD over all of the
  subject's 840 seconds, including the seconds of the clips being predicted
  (:func:`offline.training.standardize_subjects`, what the evaluation commands do);
* ``disjoint``: in each clip fold, the mean and SD come from the fold's training
  clips only, never from the clip being predicted, as the live calibration
  computes them from seconds before the content it reads out. The same holds for the
  variants' per-subject whitening and for frontal alpha asymmetry's per-subject
  centring.

Across the outer folds: the mean, SD and range of each figure, and a 95 % interval of
the mean of the folds that resamples subjects and clips together (clips within their
valence group), plus the difference between the two standardisations on the same
resamples.

Usage::

    python -m offline.studies.nested_unseen --faced-root ../shared/data/faced --subjects 0-99 \\
        --out docs/data/unseen_nested.json
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .common import emit_json

__all__ = [
    "FIGURES",
    "STANDARDISATIONS",
    "fai_centred",
    "fold_features",
    "main",
    "run_nested",
    "standardize_from",
    "subject_folds",
]

#: The per-subject standardisations compared (see the module docstring).
STANDARDISATIONS: dict[str, str] = {
    "all": "mean and SD over all of a subject's 840 seconds, the predicted clips' included",
    "disjoint": "mean and SD over the clip fold's training clips only, never the predicted clip's seconds",
}

#: The figures summarised across outer folds (keys of :func:`offline.training.valence_figures`).
FIGURES = ("valence_auc_subject_clip", "valence_auc_window", "clip_r_ratings", "clip_r_axis",
           "subject_r_ratings")

#: The readouts reported per fold: the nested choice, the shipped readout, frontal alpha asymmetry.
KINDS = ("nested", "shipped", "fai")

SELECTION = "valence_auc_subject_clip"


def standardize_from(de: np.ndarray, clips: Sequence[int] | np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Per-subject z-score of every clip with the statistics of ``clips``' seconds only.

    The same as :func:`offline.training.standardize_subjects` (which takes every
    clip's seconds) except where the mean and SD come from.

    Parameters
    ----------
    de : ndarray (n_sub, n_clips, 32, 30, 5)
        DE as loaded.
    clips : sequence of int
        The clips whose seconds give each subject's mean and SD.
    eps : float

    Returns
    -------
    ndarray, float32 (n_sub, n_clips, 30, 32, 5)
    """
    de = np.asarray(de)
    if de.ndim != 5:
        raise ValueError(f"DE of shape {de.shape}, expected (n_sub, n_clips, 32, 30, 5)")
    clips = np.asarray(clips, dtype=int)
    if not len(clips):
        raise ValueError("no clips to take the statistics from")
    x = np.ascontiguousarray(de.transpose(0, 1, 3, 2, 4), dtype=np.float64)
    mean = x[:, clips].mean(axis=(1, 2), keepdims=True)
    std = x[:, clips].std(axis=(1, 2), keepdims=True) + eps
    return ((x - mean) / std).astype(np.float32)


def fai_centred(de: np.ndarray, clips: Sequence[int] | np.ndarray) -> np.ndarray:
    """Frontal alpha asymmetry of every second, centred per subject on ``clips``' seconds.

    :func:`offline.training.metrics.frontal_alpha_asymmetry` uncentred, minus each
    subject's mean over the seconds of ``clips``.

    Returns
    -------
    ndarray (n_sub, n_clips, 30)
    """
    from offline.training.metrics import frontal_alpha_asymmetry

    fai = frontal_alpha_asymmetry(de, center=False)
    return fai - fai[:, np.asarray(clips, dtype=int)].mean(axis=(1, 2), keepdims=True)


def _train_clips(test: np.ndarray, n_clips: int) -> np.ndarray:
    return np.setdiff1d(np.arange(n_clips), test)


def fold_features(de: np.ndarray, test_sets: Sequence[np.ndarray], mode: str) -> list[np.ndarray]:
    """The standardized features each clip fold fits and predicts on.

    Parameters
    ----------
    de : ndarray (n_sub, n_clips, 32, 30, 5)
    test_sets : sequence of ndarray of int
        The clips each fold predicts.
    mode : {"all", "disjoint"}
        ``all``: one array for every fold, standardized over all seconds
        (:func:`offline.training.standardize_subjects`); ``disjoint``: fold ``k``'s
        array standardized over the seconds of the clips not in ``test_sets[k]``.

    Returns
    -------
    list of ndarray (n_sub, n_clips, 30, 32, 5), one per fold
    """
    from offline.training import standardize_subjects

    if mode == "all":
        z = standardize_subjects(de)
        return [z] * len(test_sets)
    if mode == "disjoint":
        return [standardize_from(de, _train_clips(np.asarray(t), de.shape[1])) for t in test_sets]
    raise ValueError(f"unknown standardisation {mode!r}; choose from {list(STANDARDISATIONS)}")


def subject_folds(n: int, n_folds: int) -> list[np.ndarray]:
    """``n_folds`` folds of consecutive positions ``0..n-1`` (sizes differ by at most one)."""
    if not 2 <= n_folds <= n:
        raise ValueError(f"{n_folds} folds of {n} subjects: expected 2 to {n} folds")
    return [np.asarray(f, dtype=int) for f in np.array_split(np.arange(n), n_folds)]


def _summary(values: Sequence[float]) -> dict[str, Any]:
    v = np.asarray(values, dtype=np.float64)
    finite = v[np.isfinite(v)]
    return {
        "folds": [float(x) for x in v],
        "mean": float(finite.mean()) if len(finite) else float("nan"),
        "sd": float(finite.std(ddof=1)) if len(finite) > 1 else float("nan"),
        "min": float(finite.min()) if len(finite) else float("nan"),
        "max": float(finite.max()) if len(finite) else float("nan"),
    }


def run_nested(
    de: np.ndarray,
    ratings: np.ndarray,
    subjects: Sequence[int],
    coordinates: np.ndarray,
    variants: Sequence[int] | None = None,
    shipped: str | None = None,
    n_outer: int = 5,
    n_inner: int = 4,
    n_clip_folds: int = 3,
    modes: Sequence[str] = tuple(STANDARDISATIONS),
    n_permutations: int = 10000,
    n_bootstrap: int = 1000,
    seed: int = 0,
    progress: bool = True,
) -> dict[str, Any]:
    """The nested outer cross-validation of the module docstring.

    Parameters
    ----------
    de : ndarray (n_sub, 28, 32, 30, 5)
        DE as loaded, one row per entry of ``subjects``.
    ratings : ndarray (n_sub, 28)
        Each subject's own valence rating of each clip.
    subjects : sequence of int
        The FACED subject numbers of ``de``'s rows (in that order; the outer folds are
        consecutive runs of it).
    coordinates : ndarray (9,)
        V-axis coordinate of each class.
    variants : sequence of int or None
        Positions in :data:`offline.studies.unseen_variants.VARIANTS` to choose among
        (None: all of them).
    shipped : str or None
        Name of the variant that is the shipped readout, reported fitted per fold without
        selection (None: no such row).
    n_outer, n_inner, n_clip_folds : int
    modes : sequence of {"all", "disjoint"}
    n_permutations, n_bootstrap, seed : int
        For :func:`offline.training.protocol_metrics` and the across-fold intervals.
    progress : bool

    Returns
    -------
    dict
        ``subjects``, ``outer_folds`` (per fold: ``test_subjects`` and
        ``selection_subjects``, lists of subject numbers, and ``inner_folds``, the
        selection subjects of each inner fold), ``clip_folds``, ``variants``,
        ``shipped``, ``selection``, ``results`` (per standardisation: ``folds``, each
        with ``chosen``, ``inner_scores`` (mean inner-fold AUC per variant),
        ``inner_fold_scores`` (the chosen variant's per inner fold), ``outer_auc`` (every
        variant's AUC on the outer subjects, for reference only), and
        ``nested`` / ``shipped`` / ``fai``: :func:`protocol_metrics` figures on the outer
        subjects; ``summary``: per kind and figure the fold values, mean, SD, range and
        ``ci95`` of the mean of the folds; ``chosen_counts``), ``difference`` (disjoint
        minus all, per kind and figure: mean over folds and its ``ci95``), ``ci95_over``.
    """
    from tqdm.auto import tqdm

    from bci_valence.constants import CLIP_LABELS, CLIP_VALENCE_GROUP
    from offline.stats import two_way_bootstrap
    from offline.training import protocol_metrics, protocol_test_clips, valence_figures
    from offline.training.metrics import CI95_OVER, frontal_alpha_asymmetry
    from offline.training.protocols import fai_figures
    from offline.training.windows import N_WINDOWS

    from .unseen_variants import VARIANTS, VariantData, predict_held_out, transform

    de = np.asarray(de)
    ratings = np.asarray(ratings, dtype=np.float64)
    subjects = [int(s) for s in subjects]
    labels = np.asarray(CLIP_LABELS)
    group = np.asarray(CLIP_VALENCE_GROUP)
    coordinates = np.asarray(coordinates, dtype=np.float64)
    n_sub, n_clips = de.shape[:2]
    if len(subjects) != n_sub or ratings.shape != (n_sub, n_clips):
        raise ValueError(f"DE of {n_sub} subjects, {len(subjects)} subject numbers, ratings of shape "
                         f"{ratings.shape}: expected one row per subject")
    unknown = [m for m in modes if m not in STANDARDISATIONS]
    if unknown or not modes:
        raise ValueError(f"standardisations {list(modes)}: choose from {list(STANDARDISATIONS)}")
    candidates = list(range(len(VARIANTS))) if variants is None else [int(v) for v in variants]
    if not candidates or any(not 0 <= v < len(VARIANTS) for v in candidates):
        raise ValueError(f"variants {candidates}: expected positions 0 to {len(VARIANTS) - 1}")
    names = [VARIANTS[v][0] for v in range(len(VARIANTS))]
    ref = None
    if shipped is not None:
        if shipped not in names:
            raise ValueError(f"shipped readout {shipped!r} is not a variant")
        ref = names.index(shipped)
    evaluated = candidates + ([ref] if ref is not None and ref not in candidates else [])

    test_sets = protocol_test_clips("unseen-clips", labels, n_clip_folds)
    train_sets = [_train_clips(t, n_clips) for t in test_sets]
    d = VariantData(ratings, labels, coordinates, group)
    # fold membership, written once and used as written
    outer = subject_folds(n_sub, n_outer)
    membership = []
    for test in outer:
        sel = np.setdiff1d(np.arange(n_sub), test)
        inner = [sel[f] for f in subject_folds(len(sel), n_inner)]
        membership.append((test, sel, inner))

    transforms: dict[str, list[int]] = {}
    for v in evaluated:
        transforms.setdefault(VARIANTS[v][2], []).append(v)

    results: dict[str, Any] = {}
    preds: dict[str, dict[str, list[np.ndarray]]] = {}
    bar = tqdm(total=len(modes) * n_outer * len(evaluated), desc="nested folds x variants",
               disable=not progress)
    for mode in modes:
        base = fold_features(de, test_sets, mode)
        inner_scores = np.full((n_outer, len(VARIANTS), n_inner), np.nan)
        outer_pred: dict[tuple[int, int], np.ndarray] = {}
        for tname, members in transforms.items():
            if mode == "all":
                zt = transform(tname, base[0])
                zfolds = [zt] * len(test_sets)
            else:
                zfolds = [transform(tname, z, clips=c) for z, c in zip(base, train_sets)]
            for o, (test, sel, inner) in enumerate(membership):
                bar.set_postfix_str(f"{mode}, outer fold {o + 1}/{n_outer}, {tname}")
                for v in members:
                    _, _, _, fitter, seconds = VARIANTS[v]
                    if v in candidates:
                        for i, val in enumerate(inner):
                            fit_sub = np.setdiff1d(sel, val)
                            p = predict_held_out(fitter, d, zfolds, fit_sub, val, test_sets, seconds)
                            inner_scores[o, v, i] = valence_figures(p, ratings[val], labels, coordinates,
                                                                    group)[SELECTION]
                    outer_pred[o, v] = predict_held_out(fitter, d, zfolds, sel, test, test_sets, seconds)
                    bar.update(1)
            del zfolds
        del base

        folds = []
        preds[mode] = {k: [] for k in KINDS}
        for o, (test, sel, inner) in enumerate(membership):
            mean_inner = np.full(len(VARIANTS), np.nan)
            for v in candidates:
                mean_inner[v] = np.nanmean(inner_scores[o, v]) if np.isfinite(inner_scores[o, v]).any() else np.nan
            scores = np.array([mean_inner[v] for v in candidates])
            chosen = candidates[int(np.argmax(np.nan_to_num(scores, nan=-np.inf)))]
            # frontal alpha asymmetry: centred per subject over all seconds, or per clip fold over
            # the fold's training clips
            if mode == "all":
                fai_sec = frontal_alpha_asymmetry(de[test])
            else:
                fai_sec = np.empty((len(test), n_clips, de.shape[3]))
                for t, c in zip(test_sets, train_sets):
                    fai_sec[:, t] = fai_centred(de[test], c)[:, t]
            fai_win = fai_sec.reshape(len(test), n_clips, N_WINDOWS, -1).mean(axis=3)
            fai = (fai_figures(de[test], ratings[test], labels, coordinates, group, n_permutations, n_bootstrap,
                               seed) if mode == "all"
                   else protocol_metrics(fai_win, ratings[test], labels, coordinates, group, None,
                                         n_permutations, n_bootstrap, seed))
            rec: dict[str, Any] = {
                "fold": o + 1,
                "test_subjects": _fmt_subjects([subjects[i] for i in test]),
                "chosen": names[chosen],
                "chosen_inner_score": float(mean_inner[chosen]),
                "inner_fold_scores": [float(x) for x in inner_scores[o, chosen]],
                "inner_scores": {names[v]: float(mean_inner[v]) for v in candidates},
                "outer_auc": {names[v]: valence_figures(outer_pred[o, v], ratings[test], labels, coordinates,
                                                        group)[SELECTION] for v in evaluated},
                "nested": protocol_metrics(outer_pred[o, chosen], ratings[test], labels, coordinates, group,
                                           None, n_permutations, n_bootstrap, seed),
            }
            preds[mode]["nested"].append(outer_pred[o, chosen])
            if ref is not None:
                rec["shipped"] = protocol_metrics(outer_pred[o, ref], ratings[test], labels, coordinates, group,
                                                  None, n_permutations, n_bootstrap, seed)
                if ref in candidates:
                    order = sorted(candidates, key=lambda v: -np.nan_to_num(mean_inner[v], nan=-np.inf))
                    rec["shipped_inner_rank"] = order.index(ref) + 1
                preds[mode]["shipped"].append(outer_pred[o, ref])
            rec["fai"] = fai
            preds[mode]["fai"].append(fai_win)
            folds.append(rec)
        counts: dict[str, int] = {}
        for rec in folds:
            counts[rec["chosen"]] = counts.get(rec["chosen"], 0) + 1
        results[mode] = {"standardisation": STANDARDISATIONS[mode], "folds": folds, "chosen_counts": counts}
    bar.close()

    # across folds: mean, SD, range, and a two-way interval of the mean of the folds
    kinds = [k for k in KINDS if k != "shipped" or ref is not None]
    fold_of = np.concatenate([np.full(len(m[0]), o) for o, m in enumerate(membership)])
    local = np.concatenate([np.arange(len(m[0])) for m in membership])
    rows_ratings = [ratings[m[0]] for m in membership]

    def fold_means(sub: np.ndarray, clips: np.ndarray) -> dict[str, float]:
        out: dict[str, float] = {}
        per = {}
        for mode in modes:
            for kind in kinds:
                vals = {f: [] for f in FIGURES}
                for o in range(n_outer):
                    s = local[sub[fold_of[sub] == o]]
                    if not len(s):
                        continue
                    fig = valence_figures(preds[mode][kind][o][s][:, clips], rows_ratings[o][s][:, clips],
                                          labels[clips], coordinates, group[clips])
                    for f in FIGURES:
                        vals[f].append(fig[f])
                for f in FIGURES:
                    v = np.asarray(vals[f], dtype=np.float64)
                    per[mode, kind, f] = float(np.nanmean(v)) if np.isfinite(v).any() else float("nan")
                    out[f"{mode}|{kind}|{f}"] = per[mode, kind, f]
        if "all" in modes and "disjoint" in modes:
            for kind in kinds:
                for f in FIGURES:
                    out[f"difference|{kind}|{f}"] = per["disjoint", kind, f] - per["all", kind, f]
        return out

    observed = fold_means(np.arange(n_sub), np.arange(n_clips))
    boot = two_way_bootstrap(fold_means, n_sub, n_clips, n_bootstrap, seed + 1, stimulus_strata=group)
    for mode in modes:
        summary: dict[str, Any] = {}
        for kind in kinds:
            summary[kind] = {}
            for f in FIGURES:
                s = _summary([rec[kind][f] for rec in results[mode]["folds"]])
                s["ci95"] = boot["ci"][f"{mode}|{kind}|{f}"]
                summary[kind][f] = s
        results[mode]["summary"] = summary
    difference: dict[str, Any] = {}
    if "all" in modes and "disjoint" in modes:
        for kind in kinds:
            difference[kind] = {f: {"mean": observed[f"difference|{kind}|{f}"],
                                    "ci95": boot["ci"][f"difference|{kind}|{f}"]} for f in FIGURES}
    return {
        "subjects": _fmt_subjects(subjects),
        "n_subjects": n_sub,
        "n_outer": n_outer,
        "n_inner": n_inner,
        "outer_folds": [
            {"fold": o + 1, "test_subjects": [subjects[i] for i in test],
             "selection_subjects": [subjects[i] for i in sel],
             "inner_folds": [[subjects[i] for i in f] for f in inner]}
            for o, (test, sel, inner) in enumerate(membership)
        ],
        "clip_folds": [[int(c) + 1 for c in t] for t in test_sets],
        "variants": [names[v] for v in candidates],
        "shipped": names[ref] if ref is not None else None,
        "selection": f"highest mean over the inner folds of unseen-clips {SELECTION}",
        "standardisations": list(modes),
        "results": results,
        "difference": difference,
        "ci95_over": list(CI95_OVER),
        "n_permutations": n_permutations,
        "n_bootstrap": n_bootstrap,
    }


def _fmt_subjects(subjects: Sequence[int]) -> str:
    from bci_valence.io.faced import format_subjects

    return format_subjects(subjects)


def shipped_variant(bundle: Any) -> str | None:
    """The variant name of a bundle's live readout (its projection recipe), None if it is none of them."""
    from .unseen_variants import VARIANTS

    proj = bundle.config.projection or {}
    if proj.get("method") == "pls" and proj.get("n_components"):
        name = f"PLS, {int(proj['n_components'])} components"
    elif proj.get("method") == "ridge" and proj.get("alpha") is not None:
        name = f"ridge -> V-axis coordinate, alpha {float(proj['alpha']):g}"
    else:
        return None
    return name if name in [v[0] for v in VARIANTS] else None


def _description(result: dict[str, Any], seconds: float, n_variants_all: int) -> str:
    chosen_from = (f"all {n_variants_all} trained-here readout variants of offline.studies.unseen_variants"
                   if len(result["variants"]) == n_variants_all
                   else f"a subset, {len(result['variants'])} of the {n_variants_all} trained-here readout "
                        "variants of offline.studies.unseen_variants")
    n = result["n_subjects"]
    sizes = sorted({len(f["test_subjects"]) for f in result["outer_folds"]})
    size = "/".join(str(s) for s in sizes)
    others = "/".join(str(n - s) for s in reversed(sizes))
    return (
        f"Outer cross-validation over FACED sub {result['subjects']}: {result['n_outer']} folds of {size} "
        f"consecutive subjects. In each, the readout is chosen among {chosen_from} (its two variants that are the "
        "bundle's network models are left out: they were trained on fixed subjects) by "
        f"{result['n_inner']} inner folds over the fold's {others} other subjects "
        f"only, under unseen-clips ({len(result['clip_folds'])} clip folds; selection: {result['selection']}), "
        "then fitted on all of them and measured on the fold's subjects, whose data chose nothing. "
        "Every clip is predicted by a model that never saw it. "
        f"Shipped readout: {result['shipped'] or 'none'}, fitted per fold without selection (it was chosen once "
        "on sub 80-99, so the fold holding those subjects is not nested for it). Frontal alpha asymmetry: "
        "no training. Standardisation 'all': each subject z-scored over all 840 seconds, the predicted "
        "clips' included; 'disjoint': over the clip fold's training clips only (also the whitening "
        "variant's statistics and the asymmetry's centring), as the live calibration uses seconds before "
        "the content; each standardisation makes its own selection. Per-fold intervals and the "
        "intervals of the mean of the folds: 95 % bootstrap resampling subjects and clips together "
        f"(clips within their valence group), {result['n_bootstrap']} resamples; p-values: "
        f"{result['n_permutations']} clip permutations. The spread across folds (SD, range) is of "
        f"{result['n_outer']} values. Run time {seconds / 60:.1f} min on the machine below."
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: run the nested cross-validation and write its JSON (with provenance)."""
    from bci_valence.io import faced as fd
    from bci_valence.io.faced import parse_subjects
    from bci_valence.model.bundle import ModelBundle
    from bci_valence.provenance import provenance

    from .unseen_variants import VARIANTS

    p = argparse.ArgumentParser(prog="python -m offline.studies.nested_unseen",
                                description=__doc__.split("\n")[0])
    p.add_argument("--faced-root", default=str(Path.cwd().parent / "shared" / "data" / "faced"))
    p.add_argument("--subjects", default="0-99")
    p.add_argument("--outer-folds", type=int, default=5)
    p.add_argument("--inner-folds", type=int, default=4)
    p.add_argument("--clip-folds", type=int, default=3)
    p.add_argument("--variants", default="all",
                   help="positions in unseen_variants.VARIANTS to choose among, comma-separated (default all)")
    p.add_argument("--standardisations", default=",".join(STANDARDISATIONS),
                   help=f"comma-separated, of {list(STANDARDISATIONS)} (default both)")
    p.add_argument("--bundle", default=None, help="bundle whose readout is the 'shipped' row (default: shipped)")
    p.add_argument("--permutations", type=int, default=10000)
    p.add_argument("--bootstrap", type=int, default=1000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None, help="JSON file to write (default: print)")
    p.add_argument("--no-progress", action="store_true")
    args = p.parse_args(argv)
    t0 = time.perf_counter()
    bundle = ModelBundle.load(args.bundle, device="cpu")
    variants = None if args.variants == "all" else [int(v) for v in args.variants.split(",") if v.strip()]
    subjects = parse_subjects(args.subjects)
    data = fd.load_faced(args.faced_root, subjects, progress=not args.no_progress)
    result = run_nested(
        data.de, data.valence, data.subjects, bundle.class_coordinates, variants, shipped_variant(bundle),
        args.outer_folds, args.inner_folds, args.clip_folds,
        [m.strip() for m in args.standardisations.split(",") if m.strip()],
        args.permutations, args.bootstrap, args.seed, progress=not args.no_progress,
    )
    seconds = time.perf_counter() - t0
    record = {
        "title": f"Valence on unseen clips of unseen subjects: nested cross-validation (FACED sub {result['subjects']})",
        "kind": "nested_unseen",
        "description": _description(result, seconds, len(VARIANTS)),
        "headline_standardisation": "disjoint" if "disjoint" in result["standardisations"] else "all",
        **result,
        "seconds": round(seconds, 1),
        "provenance": provenance(),
    }
    emit_json(record, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
