"""Readout ensembles: the best-ranked readouts' valence combined, and the choice of a setting.

A readout ensemble averages (or takes the median of) the valence of the ``size``
readouts ranked best on the inner folds of :mod:`offline.studies.nested_unseen`, each
member's valence z-scored over all of its predicted windows first (readouts predict on
different scales: a V-axis coordinate, a rating, a valence group). The setting (size,
aggregation) is chosen on the same inner folds, by the same figure as the single readout;
the outer subjects choose nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["AGGREGATIONS", "ENSEMBLES", "ENSEMBLE_SIZES", "choose_ensemble", "ensemble_label", "ensemble_valence",
           "rank_candidates", "to_windows"]

#: Sizes of the readout ensembles chosen among (the best-ranked readouts on the inner folds).
ENSEMBLE_SIZES = (1, 2, 3, 5)

#: How the members' z-scored valence is combined.
AGGREGATIONS = ("mean", "median")

#: The readout-ensemble settings chosen among, in order (ties keep the first): (size, aggregation).
ENSEMBLES: tuple[tuple[int, str], ...] = tuple(
    (k, a) for k in ENSEMBLE_SIZES for a in AGGREGATIONS if k > 1 or a == AGGREGATIONS[0])


def ensemble_label(size: int, aggregation: str) -> str:
    """The name of the readout ensemble of the ``size`` best-ranked readouts."""
    if size == 1:
        return "1 readout (the best-ranked alone)"
    return f"top {size} readouts, {aggregation} of their z-scored valence"


def to_windows(valence: np.ndarray, n: int = 3) -> np.ndarray:
    """Valence of ``n`` equal windows per clip from any readout length (n_sub, n_clips, w).

    ``w`` a multiple of ``n``: means over each run of ``w // n``; ``w`` a divisor of ``n``:
    each value repeated.
    """
    valence = np.asarray(valence, dtype=np.float64)
    w = valence.shape[2]
    if w % n == 0:
        return valence.reshape(*valence.shape[:2], n, w // n).mean(axis=3)
    if n % w == 0:
        return np.repeat(valence, n // w, axis=2)
    raise ValueError(f"{w} windows per clip cannot be brought to {n}")


def ensemble_valence(members: Sequence[np.ndarray], aggregation: str) -> np.ndarray:
    """Each member's valence z-scored over all its predicted windows, combined by ``aggregation``.

    Parameters
    ----------
    members : sequence of ndarray (n_sub, n_clips, n_windows)
        The same windows from each member (see :func:`to_windows`).
    aggregation : {"mean", "median"}

    Returns
    -------
    ndarray (n_sub, n_clips, n_windows)
    """
    if aggregation not in AGGREGATIONS:
        raise ValueError(f"aggregation {aggregation!r}: choose from {list(AGGREGATIONS)}")
    z = np.stack([(m - m.mean()) / (m.std() or 1.0) for m in members])
    return z.mean(axis=0) if aggregation == "mean" else np.median(z, axis=0)


def rank_candidates(mean_inner: np.ndarray, candidates: Sequence[int]) -> list[int]:
    """Candidates by their mean inner score, best first (ties and NaN: list order, NaN last)."""
    score = np.nan_to_num(np.asarray([mean_inner[v] for v in candidates], dtype=np.float64), nan=-np.inf)
    return [candidates[i] for i in np.argsort(-score, kind="stable")]


def choose_ensemble(
    ranked: Sequence[int], inner_pred: dict[tuple[int, int], np.ndarray], n_inner: int,
    score: Any, settings: Sequence[tuple[int, str]] | None = None,
) -> tuple[tuple[int, str], dict[str, float]]:
    """The readout-ensemble setting with the highest mean score over the inner folds.

    Parameters
    ----------
    ranked : sequence of int
        Candidate readouts, best first (:func:`rank_candidates` on the inner scores).
    inner_pred : dict
        ``(variant, inner fold) -> valence`` of that inner fold's subjects (3 windows).
    n_inner : int
    score : callable
        ``score(valence, inner fold) -> float`` (the selection figure).
    settings : sequence of (size, aggregation) or None
        Candidate settings (None: :data:`ENSEMBLES`), tried in order; ties keep the first.

    Returns
    -------
    (size, aggregation), and every setting's mean inner score by :func:`ensemble_label`.
    """
    settings = [s for s in (ENSEMBLES if settings is None else settings) if s[0] <= len(ranked)]
    scores: dict[str, float] = {}
    best, best_score = settings[0], -np.inf
    for size, agg in settings:
        vals = [score(ensemble_valence([inner_pred[v, i] for v in ranked[:size]], agg), i) for i in range(n_inner)]
        mean = float(np.nanmean(vals)) if np.isfinite(vals).any() else float("nan")
        scores[ensemble_label(size, agg)] = mean
        if mean > best_score:
            best, best_score = (size, agg), mean
    return best, scores
