"""Encoding strength of the V-axis in a representation.

Definition
----------
Let ``H`` (n samples × d) be a classifier's penultimate representation of held-out
(validation) samples, ``y`` their classes and ``c`` the V-axis coordinate of each
class, so that every sample's target is ``c[y]``. The **encoding strength** is the
cross-validated Pearson r between ``c[y]`` and the prediction of a linear probe:

1. The samples are split by subject into ``n_folds`` folds (subjects alternate
   between folds), so a probe is never tested on a subject it was fitted on.
2. For each fold, the representation is z-scored with the other folds' mean and
   standard deviation, and a ridge regression (penalty ``alpha · n_fit`` on the
   z-scored features, intercept unpenalized) from ``H`` to ``c[y]`` is fitted on the
   other folds and predicts the held-out fold.
3. The encoding is Pearson r between the out-of-fold predictions of all samples and
   ``c[y]``.

Since every class-level target is decodable to the extent the classes are separable,
the figure is set against a null of **random directions in the V-axis's own space**:
``n_random`` unit vectors ``u`` drawn uniformly in the language model's embedding
space give class coordinates ``(centroid_k - center) · u`` (the V-axis is one such
direction, ``u = vector``); the same probe procedure gives each one's r. The
**encoding percentile** is the percentage of random directions whose r is below the
V-axis's (ties count half). A representation that encodes the V-axis ordering of
the classes more than the arbitrary orderings it carries anyway scores near 100;
one that carries class identity alone scores near 50.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "EncodingSettings",
    "encoding_strength",
    "heldout_probe_r",
    "random_axis_coordinates",
    "subject_folds",
]


@dataclass(frozen=True)
class EncodingSettings:
    """Settings of the encoding-strength measure.

    Attributes
    ----------
    alpha : float
        Ridge penalty per fitted sample on the z-scored representation.
    n_folds : int
        Subject folds of the cross-validated probe (>= 2).
    n_random : int
        Random directions of the null (>= 1000 for a percentile to a tenth).
    seed : int
        Seed of the random directions.
    """

    alpha: float = 0.1
    n_folds: int = 2
    n_random: int = 1000
    seed: int = 0

    def __post_init__(self) -> None:
        if self.alpha <= 0:
            raise ValueError(f"alpha must be > 0, got {self.alpha}")
        if self.n_folds < 2:
            raise ValueError(f"n_folds must be >= 2, got {self.n_folds}")
        if self.n_random < 1:
            raise ValueError(f"n_random must be >= 1, got {self.n_random}")


def subject_folds(groups: np.ndarray, n_folds: int) -> np.ndarray:
    """Fold index of each sample: the sorted unique subjects alternate between folds.

    Raises
    ------
    ValueError
        If there are fewer subjects than folds.
    """
    groups = np.asarray(groups)
    subjects = np.unique(groups)
    if len(subjects) < n_folds:
        raise ValueError(
            f"{len(subjects)} subject(s) for {n_folds} folds: the probe needs at least "
            f"{n_folds} subjects, so that each is held out from its own fit"
        )
    fold_of = {s: i % n_folds for i, s in enumerate(subjects)}
    return np.array([fold_of[g] for g in groups])


def _pearson_columns(pred: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Pearson r of each column pair (nan where a column is constant)."""
    p = pred - pred.mean(axis=0)
    t = target - target.mean(axis=0)
    den = np.sqrt((p**2).sum(axis=0) * (t**2).sum(axis=0))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, (p * t).sum(axis=0) / den, np.nan)


def heldout_probe_r(
    rep: np.ndarray, targets: np.ndarray, groups: np.ndarray, alpha: float = 0.1, n_folds: int = 2
) -> np.ndarray:
    """Cross-validated r of a ridge probe for each target column (see the module notes).

    Parameters
    ----------
    rep : ndarray (n, d)
        Representation.
    targets : ndarray (n,) or (n, k)
        One or several targets (fitted together: ridge is linear in the target).
    groups : ndarray (n,)
        Subject of each sample (the folds split subjects).
    alpha : float
        Ridge penalty per fitted sample.
    n_folds : int

    Returns
    -------
    ndarray (k,) (a float for a 1-D target)
    """
    x = np.asarray(rep, dtype=np.float64)
    t = np.asarray(targets, dtype=np.float64)
    one = t.ndim == 1
    t = t[:, None] if one else t
    if x.ndim != 2 or len(x) != len(t) or len(t) != len(groups):
        raise ValueError(
            f"rep {x.shape}, targets {np.shape(targets)}, groups {np.shape(groups)}: expected "
            "(n, d), (n,) or (n, k), (n,) with one n"
        )
    folds = subject_folds(groups, n_folds)
    pred = np.empty_like(t)
    for f in range(n_folds):
        fit, test = folds != f, folds == f
        mu, sd = x[fit].mean(axis=0), x[fit].std(axis=0)
        sd[sd < 1e-12] = 1.0
        xf, xt = (x[fit] - mu) / sd, (x[test] - mu) / sd
        tm = t[fit].mean(axis=0)
        n, d = xf.shape
        lam = alpha * n
        if d <= n:
            w = np.linalg.solve(xf.T @ xf + lam * np.eye(d), xf.T @ (t[fit] - tm))
            pred[test] = xt @ w + tm
        else:  # dual form: same solution, an n × n system
            a = np.linalg.solve(xf @ xf.T + lam * np.eye(n), t[fit] - tm)
            pred[test] = (xt @ xf.T) @ a + tm
    r = _pearson_columns(pred, t)
    return float(r[0]) if one else r


def random_axis_coordinates(
    centroids: np.ndarray, center: np.ndarray, n: int, seed: int = 0
) -> np.ndarray:
    """Class coordinates of ``n`` random unit directions in the V-axis's space.

    Parameters
    ----------
    centroids : ndarray (n_classes, dim)
        Class centroids of the language model (the V-axis artifact's ``centroids``).
    center : ndarray (dim,)
        Their center (the artifact's ``center``).
    n : int
    seed : int

    Returns
    -------
    ndarray (n_classes, n)
        Column j: ``(centroids - center) @ u_j`` for a uniformly random unit ``u_j``.
    """
    rng = np.random.default_rng(seed)
    centroids = np.asarray(centroids, dtype=np.float64)
    u = rng.standard_normal((centroids.shape[1], n))
    u /= np.linalg.norm(u, axis=0, keepdims=True)
    return (centroids - np.asarray(center, dtype=np.float64)) @ u


def encoding_strength(
    rep: np.ndarray,
    labels: np.ndarray,
    class_coordinates: np.ndarray,
    groups: np.ndarray,
    random_coordinates: np.ndarray,
    settings: EncodingSettings = EncodingSettings(),
    return_null: bool = False,
) -> dict[str, Any]:
    """Encoding strength of a class coordinate in ``rep`` and its percentile.

    Parameters
    ----------
    rep : ndarray (n, d)
    labels : ndarray (n,)
        Class index of each sample.
    class_coordinates : ndarray (n_classes,)
        The V-axis coordinate of each class.
    groups : ndarray (n,)
        Subject of each sample.
    random_coordinates : ndarray (n_classes, n_random)
        The null's class coordinates (:func:`random_axis_coordinates`).
    settings : EncodingSettings
    return_null : bool
        Also return every random direction's r (``random_r``, in the order of the
        columns of ``random_coordinates``; NaN where a column is constant).

    Returns
    -------
    dict
        ``encoding`` (r), ``encoding_percentile`` (0-100), ``random_r_median``,
        ``random_r_p95``, ``n_random`` (and ``random_r``).
    """
    labels = np.asarray(labels, dtype=int)
    coords = np.asarray(class_coordinates, dtype=np.float64)
    rand = np.asarray(random_coordinates, dtype=np.float64)
    if rand.ndim != 2 or rand.shape[0] != len(coords):
        raise ValueError(
            f"random coordinates of shape {rand.shape}, expected ({len(coords)}, n_random)"
        )
    targets = np.concatenate([coords[labels][:, None], rand[labels]], axis=1)
    r = heldout_probe_r(rep, targets, groups, settings.alpha, settings.n_folds)
    enc, every = float(r[0]), r[1:]
    null = every[np.isfinite(every)]
    pct = 100.0 * (np.sum(null < enc) + 0.5 * np.sum(null == enc)) / max(len(null), 1)
    out: dict[str, Any] = {
        "encoding": enc,
        "encoding_percentile": float(pct),
        "random_r_median": float(np.median(null)) if len(null) else float("nan"),
        "random_r_p95": float(np.percentile(null, 95)) if len(null) else float("nan"),
        "n_random": int(len(null)),
    }
    if return_null:
        out["random_r"] = [float(v) for v in every]
    return out
