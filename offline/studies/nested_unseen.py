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
   **Readout ensemble, chosen the same way.** The candidates ranked by that mean inner
   score, the readout ensemble of the best-ranked ``size`` readouts (their valence
   z-scored and combined by ``aggregation``; :mod:`offline.studies.readout_ensembles`)
   is chosen among the settings of :data:`~offline.studies.readout_ensembles.ENSEMBLES`
   (1, 2, 3 or 5 readouts; mean or median) by its mean over the same inner folds of the
   same figure; the setting, its members and every setting's inner score are recorded
   per outer fold (``ensemble_choice``).
2. **Report on the outer subjects.** The chosen variant (and each member of the chosen
   ensemble) is fitted on all of the outer fold's training subjects (per clip fold) and
   predicts the outer subjects' held-out clips; figures:
   :func:`offline.training.protocol_metrics` (AUC over subject x clip and per 10-s
   window, per-stimulus r against the subjects' mean rated valence and against the
   V-axis coordinate, mean per-subject r against the own ratings, permutation p-values,
   95 % intervals resampling subjects and clips together,
   :func:`offline.stats.two_way_bootstrap`).

The shipped bundle's network classifier ensemble (``TrainSettings.n_ensemble`` = 10
members from different seeds, probabilities averaged; its stages kept by the training
recipe's ablation on sub080-099, :func:`offline.training.run_training`) is outside this
cross-validation: its members are trained once on fixed subjects, so the readout ensembles
chosen here are of the linear readouts only.

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

Across the outer folds: the mean, SD and range of each figure, a 95 % interval of the
mean of the folds that resamples subjects and clips together (clips within their valence
group), the figure pooled over every outer subject's predictions at once (``pooled``:
e.g. the per-stimulus r of all subjects' mean valence per clip), plus the difference
between the two standardisations on the same resamples.

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
from .nested_folds import (
    STANDARDISATIONS,
    fai_centred,
    fold_features,
    standardize_from,
    subject_folds,
    train_clips,
)
from .readout_ensembles import (
    ENSEMBLES,
    choose_ensemble,
    ensemble_label,
    ensemble_valence,
    rank_candidates,
    to_windows,
)

__all__ = [
    "FIGURES",
    "KINDS",
    "STANDARDISATIONS",
    "fai_centred",
    "fold_features",
    "main",
    "run_nested",
    "standardize_from",
    "subject_folds",
]

#: The figures summarised across outer folds (keys of :func:`offline.training.valence_figures`).
FIGURES = ("valence_auc_subject_clip", "valence_auc_window", "clip_r_ratings", "clip_r_axis",
           "subject_r_ratings")

#: The readouts reported per fold: the nested choice, the nested readout ensemble, the shipped
#: readout, frontal alpha asymmetry.
KINDS = ("nested", "ensemble", "shipped", "fai")

SELECTION = "valence_auc_subject_clip"


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


# ----------------------------------------------------------------------------- the nested run


class _Nest:
    """What every step of :func:`run_nested` shares: data, folds, candidates, figure settings."""

    def __init__(self, de: np.ndarray, ratings: np.ndarray, subjects: Sequence[int], coordinates: np.ndarray,
                 variants: Sequence[int] | None, shipped: str | None, n_outer: int, n_inner: int,
                 n_clip_folds: int, stats: tuple[int, int, int]) -> None:
        from bci_valence.constants import CLIP_LABELS, CLIP_VALENCE_GROUP
        from offline.training import protocol_test_clips

        from .unseen_variants import VARIANTS, VariantData

        self.de = np.asarray(de)
        self.ratings = np.asarray(ratings, dtype=np.float64)
        self.subjects = [int(s) for s in subjects]
        self.labels, self.group = np.asarray(CLIP_LABELS), np.asarray(CLIP_VALENCE_GROUP)
        self.coordinates = np.asarray(coordinates, dtype=np.float64)
        n_sub, self.n_clips = self.de.shape[:2]
        if len(self.subjects) != n_sub or self.ratings.shape != (n_sub, self.n_clips):
            raise ValueError(f"DE of {n_sub} subjects, {len(self.subjects)} subject numbers, ratings of shape "
                             f"{self.ratings.shape}: expected one row per subject")
        self.candidates = list(range(len(VARIANTS))) if variants is None else [int(v) for v in variants]
        if not self.candidates or any(not 0 <= v < len(VARIANTS) for v in self.candidates):
            raise ValueError(f"variants {self.candidates}: expected positions 0 to {len(VARIANTS) - 1}")
        self.names = [v[0] for v in VARIANTS]
        self.ref = None
        if shipped is not None:
            if shipped not in self.names:
                raise ValueError(f"shipped readout {shipped!r} is not a variant")
            self.ref = self.names.index(shipped)
        self.evaluated = self.candidates + ([self.ref] if self.ref is not None and self.ref not in self.candidates
                                            else [])
        self.test_sets = protocol_test_clips("unseen-clips", self.labels, n_clip_folds)
        self.train_sets = [train_clips(t, self.n_clips) for t in self.test_sets]
        self.d = VariantData(self.ratings, self.labels, self.coordinates, self.group)
        self.n_outer, self.n_inner = n_outer, n_inner
        self.membership = []  # fold membership, written once and used as written
        for test in subject_folds(n_sub, n_outer):
            sel = np.setdiff1d(np.arange(n_sub), test)
            self.membership.append((test, sel, [sel[f] for f in subject_folds(len(sel), n_inner)]))
        self.n_permutations, self.n_bootstrap, self.seed = stats

    def figures(self, valence: np.ndarray, rows: np.ndarray) -> dict[str, float]:
        """:func:`offline.training.valence_figures` of ``rows``' predictions (no interval)."""
        from offline.training import valence_figures

        return valence_figures(valence, self.ratings[rows], self.labels, self.coordinates, self.group)

    def metrics(self, valence: np.ndarray, rows: np.ndarray) -> dict[str, Any]:
        """:func:`offline.training.protocol_metrics` of ``rows``' predictions."""
        from offline.training import protocol_metrics

        return protocol_metrics(valence, self.ratings[rows], self.labels, self.coordinates, self.group, None,
                                self.n_permutations, self.n_bootstrap, self.seed)


def _predict_mode(nest: _Nest, mode: str, bar: Any) -> tuple[np.ndarray, dict, dict]:
    """Every evaluated variant's inner-fold and outer-fold predictions under one standardisation.

    Returns
    -------
    inner_scores : ndarray (n_outer, n_variants, n_inner)
    inner_pred : dict ``(outer, variant, inner) -> valence`` (3 windows per clip)
    outer_pred : dict ``(outer, variant) -> valence`` (the variant's own windows)
    """
    from .unseen_variants import VARIANTS, predict_held_out, transform

    transforms: dict[str, list[int]] = {}
    for v in nest.evaluated:
        transforms.setdefault(VARIANTS[v][2], []).append(v)
    base = fold_features(nest.de, nest.test_sets, mode)
    inner_scores = np.full((nest.n_outer, len(VARIANTS), nest.n_inner), np.nan)
    inner_pred: dict[tuple[int, int, int], np.ndarray] = {}
    outer_pred: dict[tuple[int, int], np.ndarray] = {}
    for tname, members in transforms.items():
        if mode == "all":
            zfolds = [transform(tname, base[0])] * len(nest.test_sets)
        else:
            zfolds = [transform(tname, z, clips=c) for z, c in zip(base, nest.train_sets)]
        for o, (test, sel, inner) in enumerate(nest.membership):
            bar.set_postfix_str(f"{mode}, outer fold {o + 1}/{nest.n_outer}, {tname}")
            for v in members:
                fitter, seconds = VARIANTS[v][3], VARIANTS[v][4]
                if v in nest.candidates:
                    for i, val in enumerate(inner):
                        p = predict_held_out(fitter, nest.d, zfolds, np.setdiff1d(sel, val), val, nest.test_sets,
                                             seconds)
                        inner_scores[o, v, i] = nest.figures(p, val)[SELECTION]
                        inner_pred[o, v, i] = to_windows(p)
                outer_pred[o, v] = predict_held_out(fitter, nest.d, zfolds, sel, test, nest.test_sets, seconds)
                bar.update(1)
        del zfolds
    return inner_scores, inner_pred, outer_pred


def _fai_fold(nest: _Nest, mode: str, test: np.ndarray) -> tuple[dict[str, Any], np.ndarray]:
    """Frontal alpha asymmetry's figures on the outer subjects, and its 10-s window values.

    Centred per subject over all seconds (``all``), or per clip fold over the fold's
    training clips (``disjoint``).
    """
    from offline.training.metrics import frontal_alpha_asymmetry
    from offline.training.protocols import fai_figures
    from offline.training.windows import N_WINDOWS

    de = nest.de[test]
    if mode == "all":
        fai_sec = frontal_alpha_asymmetry(de)
    else:
        fai_sec = np.empty((len(test), nest.n_clips, de.shape[3]))
        for t, c in zip(nest.test_sets, nest.train_sets):
            fai_sec[:, t] = fai_centred(de, c)[:, t]
    fai_win = fai_sec.reshape(len(test), nest.n_clips, N_WINDOWS, -1).mean(axis=3)
    if mode == "all":
        return fai_figures(de, nest.ratings[test], nest.labels, nest.coordinates, nest.group, nest.n_permutations,
                           nest.n_bootstrap, nest.seed), fai_win
    return nest.metrics(fai_win, test), fai_win


def _fold_record(nest: _Nest, mode: str, o: int, inner_scores: np.ndarray, inner_pred: dict,
                 outer_pred: dict) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """One outer fold: the choices made on its other subjects and the figures on its own.

    Returns the fold's record and each kind's predictions of its subjects.
    """
    test, _, inner = nest.membership[o]
    mean_inner = np.full(inner_scores.shape[1], np.nan)
    for v in nest.candidates:
        if np.isfinite(inner_scores[o, v]).any():
            mean_inner[v] = np.nanmean(inner_scores[o, v])
    ranked = rank_candidates(mean_inner, nest.candidates)
    chosen = ranked[0]

    def inner_score(valence: np.ndarray, i: int) -> float:
        return nest.figures(valence, inner[i])[SELECTION]

    (size, agg), ens_scores = choose_ensemble(ranked, {(v, i): inner_pred[o, v, i] for v in nest.candidates
                                                       for i in range(nest.n_inner)}, nest.n_inner, inner_score)
    ens_pred = ensemble_valence([to_windows(outer_pred[o, v]) for v in ranked[:size]], agg)
    fai, fai_win = _fai_fold(nest, mode, test)
    rec: dict[str, Any] = {
        "fold": o + 1,
        "test_subjects": _fmt_subjects([nest.subjects[i] for i in test]),
        "chosen": nest.names[chosen],
        "chosen_inner_score": float(mean_inner[chosen]),
        "inner_fold_scores": [float(x) for x in inner_scores[o, chosen]],
        "inner_scores": {nest.names[v]: float(mean_inner[v]) for v in nest.candidates},
        "outer_auc": {nest.names[v]: nest.figures(outer_pred[o, v], test)[SELECTION] for v in nest.evaluated},
        "nested": nest.metrics(outer_pred[o, chosen], test),
        "ensemble_choice": {"setting": ensemble_label(size, agg), "size": size, "aggregation": agg,
                            "members": [nest.names[v] for v in ranked[:size]],
                            "inner_score": ens_scores[ensemble_label(size, agg)], "inner_scores": ens_scores},
        "ensemble": nest.metrics(ens_pred, test),
    }
    preds = {"nested": outer_pred[o, chosen], "ensemble": ens_pred}
    if nest.ref is not None:
        rec["shipped"] = nest.metrics(outer_pred[o, nest.ref], test)
        if nest.ref in nest.candidates:
            rec["shipped_inner_rank"] = ranked.index(nest.ref) + 1
        preds["shipped"] = outer_pred[o, nest.ref]
    rec["fai"] = fai
    preds["fai"] = fai_win
    return rec, preds


def _counts(values: Sequence[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for v in values:
        counts[v] = counts.get(v, 0) + 1
    return counts


def _fold_means(nest: _Nest, modes: Sequence[str], kinds: Sequence[str], preds: dict,
                sub: np.ndarray, clips: np.ndarray) -> dict[str, float]:
    """Each (standardisation, kind, figure)'s mean over the outer folds of the resampled
    subjects ``sub`` and clips ``clips`` (and disjoint minus all where both were run)."""
    from offline.training import valence_figures

    fold_of = np.concatenate([np.full(len(m[0]), o) for o, m in enumerate(nest.membership)])
    local = np.concatenate([np.arange(len(m[0])) for m in nest.membership])
    out: dict[str, float] = {}
    for mode in modes:
        for kind in kinds:
            vals: dict[str, list[float]] = {f: [] for f in FIGURES}
            for o, (test, _, _) in enumerate(nest.membership):
                s = local[sub[fold_of[sub] == o]]
                if not len(s):
                    continue
                fig = valence_figures(preds[mode][kind][o][s][:, clips], nest.ratings[test][s][:, clips],
                                      nest.labels[clips], nest.coordinates, nest.group[clips])
                for f in FIGURES:
                    vals[f].append(fig[f])
            for f in FIGURES:
                v = np.asarray(vals[f], dtype=np.float64)
                out[f"{mode}|{kind}|{f}"] = float(np.nanmean(v)) if np.isfinite(v).any() else float("nan")
    if "all" in modes and "disjoint" in modes:
        for kind in kinds:
            for f in FIGURES:
                out[f"difference|{kind}|{f}"] = out[f"disjoint|{kind}|{f}"] - out[f"all|{kind}|{f}"]
    return out


def _across_folds(nest: _Nest, modes: Sequence[str], kinds: Sequence[str], results: dict, preds: dict) -> dict:
    """Fill each standardisation's ``summary`` (fold values, mean, SD, range, ``ci95`` of the
    mean of the folds, ``pooled``: the figure over every outer subject's predictions at once);
    return the disjoint-minus-all ``difference``."""
    from offline.stats import two_way_bootstrap

    n_sub = len(nest.subjects)
    observed = _fold_means(nest, modes, kinds, preds, np.arange(n_sub), np.arange(nest.n_clips))
    boot = two_way_bootstrap(lambda s, c: _fold_means(nest, modes, kinds, preds, s, c), n_sub, nest.n_clips,
                             nest.n_bootstrap, nest.seed + 1, stimulus_strata=nest.group)
    rows = np.concatenate([m[0] for m in nest.membership])
    for mode in modes:
        summary: dict[str, Any] = {}
        for kind in kinds:
            pooled = nest.figures(np.concatenate([to_windows(p) for p in preds[mode][kind]]), rows)
            summary[kind] = {}
            for f in FIGURES:
                s = _summary([rec[kind][f] for rec in results[mode]["folds"]])
                s["ci95"] = boot["ci"][f"{mode}|{kind}|{f}"]
                s["pooled"] = float(pooled[f])
                summary[kind][f] = s
        results[mode]["summary"] = summary
    if not ("all" in modes and "disjoint" in modes):
        return {}
    return {kind: {f: {"mean": observed[f"difference|{kind}|{f}"], "ci95": boot["ci"][f"difference|{kind}|{f}"]}
                   for f in FIGURES} for kind in kinds}


def _run_mode(nest: _Nest, mode: str, kinds: Sequence[str], bar: Any) -> tuple[dict[str, Any], dict[str, list]]:
    """Every outer fold under one standardisation: its record, and each kind's predictions per fold."""
    inner_scores, inner_pred, outer_pred = _predict_mode(nest, mode, bar)
    folds, preds = [], {k: [] for k in kinds}
    for o in range(nest.n_outer):
        rec, fold_preds = _fold_record(nest, mode, o, inner_scores, inner_pred, outer_pred)
        folds.append(rec)
        for k in kinds:
            preds[k].append(fold_preds[k])
    return {"standardisation": STANDARDISATIONS[mode], "folds": folds,
            "chosen_counts": _counts([r["chosen"] for r in folds]),
            "ensemble_counts": _counts([r["ensemble_choice"]["setting"] for r in folds])}, preds


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
        ``subjects``, ``outer_folds`` (per fold: ``test_subjects``, ``selection_subjects``
        and ``inner_folds``, lists of subject numbers), ``clip_folds``, ``variants``,
        ``shipped``, ``selection``, ``ensembles`` (the readout-ensemble settings chosen
        among), ``results`` (per standardisation: ``folds``, each with ``chosen``,
        ``inner_scores``, ``inner_fold_scores``, ``outer_auc`` (every variant's AUC on the
        outer subjects, for reference only), ``ensemble_choice`` (the setting chosen on the
        inner folds, its members and every setting's inner score), and ``nested`` /
        ``ensemble`` / ``shipped`` / ``fai``: :func:`protocol_metrics` figures on the outer
        subjects; ``summary``: per kind and figure the fold values, mean, SD, range,
        ``ci95`` of the mean of the folds and ``pooled``; ``chosen_counts``,
        ``ensemble_counts``), ``difference`` (disjoint minus all, per kind and figure: mean
        over folds and its ``ci95``), ``ci95_over``.
    """
    from tqdm.auto import tqdm

    unknown = [m for m in modes if m not in STANDARDISATIONS]
    if unknown or not modes:
        raise ValueError(f"standardisations {list(modes)}: choose from {list(STANDARDISATIONS)}")
    nest = _Nest(de, ratings, subjects, coordinates, variants, shipped, n_outer, n_inner, n_clip_folds,
                 (n_permutations, n_bootstrap, seed))
    kinds = [k for k in KINDS if k != "shipped" or nest.ref is not None]
    results: dict[str, Any] = {}
    preds: dict[str, dict[str, list[np.ndarray]]] = {}
    bar = tqdm(total=len(modes) * n_outer * len(nest.evaluated), desc="nested folds x variants",
               disable=not progress)
    for mode in modes:
        results[mode], preds[mode] = _run_mode(nest, mode, kinds, bar)
    bar.close()
    difference = _across_folds(nest, modes, kinds, results, preds)
    return _result(nest, modes, results, difference)


def _result(nest: _Nest, modes: Sequence[str], results: dict[str, Any], difference: dict[str, Any]) -> dict[str, Any]:
    """:func:`run_nested`'s returned record: the folds' membership, the choices offered, the results."""
    from offline.training.metrics import CI95_OVER

    n_outer, n_inner = nest.n_outer, nest.n_inner
    n_permutations, n_bootstrap = nest.n_permutations, nest.n_bootstrap
    return {
        "subjects": _fmt_subjects(nest.subjects),
        "n_subjects": len(nest.subjects),
        "n_outer": n_outer,
        "n_inner": n_inner,
        "outer_folds": [
            {"fold": o + 1, "test_subjects": [nest.subjects[i] for i in test],
             "selection_subjects": [nest.subjects[i] for i in sel],
             "inner_folds": [[nest.subjects[i] for i in f] for f in inner]}
            for o, (test, sel, inner) in enumerate(nest.membership)
        ],
        "clip_folds": [[int(c) + 1 for c in t] for t in nest.test_sets],
        "variants": [nest.names[v] for v in nest.candidates],
        "shipped": nest.names[nest.ref] if nest.ref is not None else None,
        "selection": f"highest mean over the inner folds of unseen-clips {SELECTION}",
        "ensembles": [ensemble_label(k, a) for k, a in ENSEMBLES],
        "ensemble_selection": ("the readouts ranked by their mean inner score; among the settings (size, "
                               "aggregation) the highest mean over the same inner folds of unseen-clips "
                               f"{SELECTION} of the ensemble's valence (ties: the smaller)"),
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
        "The readout ensemble (the best-ranked 1, 2, 3 or 5 readouts, their z-scored valence combined by "
        "mean or median) is chosen on the same inner folds by the same figure; the setting chosen in each "
        "outer fold is recorded. Every clip is predicted by a model that never saw it. "
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
