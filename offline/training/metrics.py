"""Figures: classification, the projection's per-stimulus r, and the evaluation
protocols' valence figures with permutation p-values and bootstrap intervals.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .windows import N_WINDOWS, SEQ_LEN

__all__ = [
    "CI95_OVER",
    "PROTOCOL_FIGURES",
    "binary_auc",
    "classification_metrics",
    "clip_projection_metrics",
    "frontal_alpha_asymmetry",
    "permutation_p",
    "protocol_metrics",
    "valence_figures",
]


def pearson(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson r of two equally long arrays (flattened); NaN when either is constant."""
    a = np.asarray(a, float).ravel()
    b = np.asarray(b, float).ravel()
    a = a - a.mean()
    b = b - b.mean()
    den = np.sqrt((a * a).sum() * (b * b).sum())
    return float((a * b).sum() / den) if den > 0 else float("nan")


def frontal_alpha_asymmetry(de: np.ndarray, channels: Any = None, bands: Any = None,
                             center: bool = True) -> np.ndarray:
    """Frontal alpha asymmetry of every 1-s DE vector: the untrained valence baseline.

    FAI = ln P_alpha(F4) − ln P_alpha(F3), the log alpha power at the right frontal
    electrode minus the left (higher: relatively less right-frontal activity, the
    approach/positive side in the asymmetry literature). FACED's DE of a band is
    ``0.5 · ln(2πe · variance)`` of the band-passed signal over 1 s, and band power is
    that variance, so ``ln P(F4) − ln P(F3) = 2 · (DE_alpha(F4) − DE_alpha(F3))``
    exactly (the ``2πe`` terms cancel). No weights are fitted.

    With ``center`` (the default) each subject's FAI has its mean over all of the
    subject's seconds removed, the same per-subject centring the models' input gets
    (:func:`offline.training.standardize_subjects` removes each subject's mean); it is
    not rescaled, so it stays a difference of log powers.

    Parameters
    ----------
    de : ndarray (n_sub, n_clips, n_channels, n_seconds, n_bands)
        DE as loaded (:class:`bci_valence.io.faced.FacedData`).
    channels, bands : sequence of str or None
        Names along the channel and band axes (default FACED's).
    center : bool

    Returns
    -------
    ndarray (n_sub, n_clips, n_seconds)
    """
    from bci_valence.constants import BAND_NAMES, FACED_CHANNELS

    channels = [c.upper() for c in (channels if channels is not None else FACED_CHANNELS)]
    bands = list(bands if bands is not None else BAND_NAMES)
    de = np.asarray(de, dtype=np.float64)
    if de.ndim != 5 or de.shape[2] != len(channels) or de.shape[4] != len(bands):
        raise ValueError(
            f"DE of shape {de.shape}: expected (n_sub, n_clips, {len(channels)} channels, n_seconds, "
            f"{len(bands)} bands)"
        )
    missing = [name for name in ("F3", "F4") if name not in channels] + (
        [] if "alpha" in bands else ["alpha band"])
    if missing:
        raise ValueError(f"frontal alpha asymmetry needs F3, F4 and the alpha band; missing: {missing}")
    a = bands.index("alpha")
    fai = 2.0 * (de[:, :, channels.index("F4"), :, a] - de[:, :, channels.index("F3"), :, a])
    if center:
        fai = fai - fai.mean(axis=(1, 2), keepdims=True)
    return fai


def classification_metrics(y: np.ndarray, proba: np.ndarray) -> dict[str, float]:
    """BACC, Cohen's kappa, weighted F1 and accuracy of ``argmax(proba)``."""
    from sklearn.metrics import (
        accuracy_score,
        balanced_accuracy_score,
        cohen_kappa_score,
        f1_score,
    )

    pred = np.argmax(proba, axis=1)
    return {
        "bacc": float(balanced_accuracy_score(y, pred)),
        "kappa": float(cohen_kappa_score(y, pred)),
        "weighted_f1": float(f1_score(y, pred, average="weighted")),
        "accuracy": float(accuracy_score(y, pred)),
    }


def clip_projection_metrics(
    proj_seconds: np.ndarray,
    coordinates: np.ndarray,
    labels: np.ndarray,
    rated_valence: np.ndarray | None = None,
    release_valence: np.ndarray | None = None,
) -> dict[str, Any]:
    """Per-stimulus and sample-level r of the projection.

    Parameters
    ----------
    proj_seconds : ndarray (n_sub, 28, 30)
        Projection of every standardized 1-s DE vector.
    coordinates : ndarray (9,)
        V-axis coordinate per class.
    labels : ndarray (28,)
    rated_valence : ndarray (n_sub, 28) or None
        The evaluated subjects' own valence ratings.
    release_valence : ndarray (28,) or None
        FACED's mean self-reported valence per clip (all 123 subjects).

    Returns
    -------
    dict with ``clip_r_axis`` (mean projection of each clip over subjects vs its class's
    coordinate), ``clip_r_ratings`` (vs the subjects' mean rated valence of the clip),
    ``clip_r_release_valence``, ``sample_r`` (10-s window mean projection vs class
    coordinate), ``second_r`` (single 1-s vectors), ``clip_projection`` (28,).
    """
    n_sub = proj_seconds.shape[0]
    clip_proj = proj_seconds.mean(axis=(0, 2))
    target = np.asarray(coordinates)[labels]
    windows = proj_seconds.reshape(n_sub, len(labels), N_WINDOWS, SEQ_LEN).mean(axis=3)
    out: dict[str, Any] = {
        "clip_r_axis": pearson(clip_proj, target),
        "sample_r": pearson(windows, np.broadcast_to(target[None, :, None], windows.shape)),
        "second_r": pearson(proj_seconds, np.broadcast_to(target[None, :, None], proj_seconds.shape)),
    }
    if rated_valence is not None:
        out["clip_r_ratings"] = pearson(clip_proj, np.asarray(rated_valence).mean(axis=0))
    if release_valence is not None:
        out["clip_r_release_valence"] = pearson(clip_proj, release_valence)
    out["clip_projection"] = [float(v) for v in clip_proj]
    return out

# ---------------------------------------------------------------------------
# Protocol figures (seen-clips / unseen-clips)
# ---------------------------------------------------------------------------

#: What the intervals of :func:`protocol_metrics` resample, as written in its ``ci95_over``.
CI95_OVER: tuple[str, ...] = ("subjects", "clips")

#: The figures of :func:`protocol_metrics` that get a bootstrap interval, in report order.
PROTOCOL_FIGURES: tuple[str, ...] = (
    "bacc",
    "kappa",
    "valence_auc_window",
    "valence_auc_subject_clip",
    "clip_r_axis",
    "clip_r_ratings",
    "subject_r_ratings",
)


def binary_auc(score: np.ndarray, positive: np.ndarray) -> float:
    """Area under the ROC curve of ``score`` for ``positive`` (ties count one half).

    Parameters
    ----------
    score : array
        Any shape; flattened.
    positive : array of bool
        Same number of elements.

    Returns
    -------
    float
        NaN when one class is absent.
    """
    from scipy.stats import rankdata

    s = np.asarray(score, dtype=np.float64).ravel()
    p = np.asarray(positive, dtype=bool).ravel()
    if s.shape != p.shape:
        raise ValueError(f"score has {s.size} values, positive {p.size}; expected the same")
    n_pos = int(p.sum())
    n_neg = len(p) - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = rankdata(s)
    return float((ranks[p].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def _bacc_kappa(y: np.ndarray, pred: np.ndarray, n_classes: int) -> tuple[float, float]:
    """Balanced accuracy (mean recall over present classes) and Cohen's kappa."""
    cm = np.zeros((n_classes, n_classes))
    np.add.at(cm, (np.asarray(y).ravel(), np.asarray(pred).ravel()), 1)
    support = cm.sum(axis=1)
    recall = np.diag(cm)[support > 0] / support[support > 0]
    n = cm.sum()
    observed = np.trace(cm) / n
    expected = float((cm.sum(axis=0) * support).sum()) / n**2
    kappa = (observed - expected) / (1 - expected) if expected < 1 else float("nan")
    return float(recall.mean()), float(kappa)


def valence_figures(
    valence: np.ndarray,
    ratings: np.ndarray,
    labels: np.ndarray,
    coordinates: np.ndarray,
    valence_group: np.ndarray,
    proba: np.ndarray | None = None,
) -> dict[str, float]:
    """The protocol figures of one set of predictions (no interval, no p-value).

    Parameters
    ----------
    valence : ndarray (n_sub, n_clips, n_windows)
        Predicted valence of every 10-s window.
    ratings : ndarray (n_sub, n_clips)
        Each subject's own valence rating of each clip.
    labels : ndarray (n_clips,)
        Class of each clip.
    coordinates : ndarray (n_classes,)
        V-axis coordinate of each class.
    valence_group : ndarray (n_clips,)
        -1 negative, 0 neutral, +1 positive class of each clip (neutral is left out of
        the AUCs).
    proba : ndarray (n_sub, n_clips, n_windows, n_classes) or None
        Class probabilities (for ``bacc`` and ``kappa``).

    Returns
    -------
    dict
        ``bacc`` and ``kappa`` (with ``proba``), ``valence_auc_window`` (positive vs
        negative classes over 10-s windows), ``valence_auc_subject_clip`` (over each
        subject's mean valence per clip), ``clip_r_axis`` and ``clip_r_ratings`` (the
        clips' mean valence over subjects and windows against the class's V-axis
        coordinate and against the subjects' mean rating), ``subject_r_ratings`` (mean
        over subjects of r between the subject's per-clip valence and their own ratings;
        subjects with constant ratings are left out).
    """
    valence = np.asarray(valence, dtype=np.float64)
    ratings = np.asarray(ratings, dtype=np.float64)
    labels = np.asarray(labels)
    group = np.asarray(valence_group)
    if valence.ndim != 3 or valence.shape[:2] != ratings.shape or valence.shape[1] != len(labels):
        raise ValueError(
            f"valence of shape {valence.shape} and ratings of shape {ratings.shape} for "
            f"{len(labels)} clips; expected (n_sub, {len(labels)}, n_windows) and (n_sub, {len(labels)})"
        )
    out: dict[str, float] = {}
    if proba is not None:
        proba = np.asarray(proba)
        y = np.broadcast_to(labels[None, :, None], valence.shape)
        out["bacc"], out["kappa"] = _bacc_kappa(y, proba.argmax(axis=-1), proba.shape[-1])
    keep = group != 0
    positive = np.broadcast_to((group[keep] > 0)[None, :, None], valence[:, keep].shape)
    out["valence_auc_window"] = binary_auc(valence[:, keep], positive)
    per_clip = valence.mean(axis=2)
    out["valence_auc_subject_clip"] = binary_auc(per_clip[:, keep], positive[..., 0])
    clip_mean = per_clip.mean(axis=0)
    out["clip_r_axis"] = pearson(clip_mean, np.asarray(coordinates)[labels])
    out["clip_r_ratings"] = pearson(clip_mean, ratings.mean(axis=0))
    per_subject = [pearson(per_clip[i], ratings[i]) for i in range(len(per_clip))]
    finite = [r for r in per_subject if np.isfinite(r)]
    out["subject_r_ratings"] = float(np.mean(finite)) if finite else float("nan")
    return out


def permutation_p(x: np.ndarray, y: np.ndarray, n_permutations: int = 10000, seed: int = 0) -> float:
    """One-sided permutation p-value of Pearson's r (H1: r > 0), permuting ``y``.

    ``(1 + #{r_perm >= r}) / (1 + n_permutations)``.
    """
    x = np.asarray(x, dtype=np.float64).ravel()
    y = np.asarray(y, dtype=np.float64).ravel()
    observed = pearson(x, y)
    if not np.isfinite(observed):
        return float("nan")
    rng = np.random.default_rng(seed)
    xc = (x - x.mean()) / x.std()
    yc = (y - y.mean()) / y.std()
    perms = np.argsort(rng.random((n_permutations, len(y))), axis=1)
    r = (yc[perms] @ xc) / len(x)
    return float((1 + np.count_nonzero(r >= observed - 1e-12)) / (1 + n_permutations))


def protocol_metrics(
    valence: np.ndarray,
    ratings: np.ndarray,
    labels: np.ndarray,
    coordinates: np.ndarray,
    valence_group: np.ndarray,
    proba: np.ndarray | None = None,
    n_permutations: int = 10000,
    n_bootstrap: int = 1000,
    seed: int = 0,
) -> dict[str, Any]:
    """:func:`valence_figures` with a permutation p-value and bootstrap intervals.

    Parameters are those of :func:`valence_figures`, plus
    n_permutations : int
        Permutations of the clips for ``clip_r_ratings_p`` and ``clip_r_axis_p``.
    n_bootstrap : int
        Resamples for ``ci95``: subjects and clips are drawn together
        (:func:`offline.stats.two_way_bootstrap`), the clips within their valence group
        (negative, neutral, positive keep their counts), so the interval covers both
        which people and which clips were measured.
    seed : int

    Returns
    -------
    dict
        The figures, ``clip_r_ratings_p`` and ``clip_r_axis_p`` (one-sided permutation
        p-values of the per-stimulus r against the ratings and against the V-axis
        coordinates, permuting the clips), ``ci95`` (``{figure: [low, high]}``, the 2.5
        and 97.5 percentiles over the resamples, keyed like the figures) and
        ``ci95_over`` (``["subjects", "clips"]``).
    """
    from offline.stats import two_way_bootstrap

    valence = np.asarray(valence, dtype=np.float64)
    ratings = np.asarray(ratings, dtype=np.float64)
    labels = np.asarray(labels)
    group = np.asarray(valence_group)
    out: dict[str, Any] = valence_figures(valence, ratings, labels, coordinates, group, proba)
    out["clip_r_ratings_p"] = permutation_p(valence.mean(axis=(0, 2)), ratings.mean(axis=0),
                                            n_permutations, seed)
    out["clip_r_axis_p"] = permutation_p(valence.mean(axis=(0, 2)), np.asarray(coordinates)[labels],
                                         n_permutations, seed)
    keys = [k for k in PROTOCOL_FIGURES if k in out]

    def figures(sub: np.ndarray, clips: np.ndarray) -> dict[str, float]:
        f = valence_figures(valence[sub][:, clips], ratings[sub][:, clips], labels[clips], coordinates,
                            group[clips], None if proba is None else proba[sub][:, clips])
        return {k: f[k] for k in keys}

    boot = two_way_bootstrap(figures, valence.shape[0], valence.shape[1], n_bootstrap, seed + 1,
                             stimulus_strata=group)
    out["ci95"] = boot["ci"]
    out["ci95_over"] = list(CI95_OVER)
    return out
