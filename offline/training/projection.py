"""The EEG→V-axis projection: ridge regression from one standardized (32, 5) DE vector to
the V-axis coordinate of the sample's class, fitted on 10-s window means (a linear map,
so it applies unchanged to one 1-s vector or to the mean of the last few).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .metrics import clip_projection_metrics
from .windows import N_WINDOWS, SEQ_LEN

__all__ = ["fit_projection"]


def _ridge(x: np.ndarray, y: np.ndarray, alpha: float) -> tuple[np.ndarray, float]:
    """Ridge with intercept; ``alpha`` scaled by the sample count."""
    x = np.asarray(x, np.float64)
    y = np.asarray(y, np.float64)
    mx, my = x.mean(axis=0), y.mean()
    xc = x - mx
    gram = xc.T @ xc + alpha * len(x) * np.eye(x.shape[1])
    w = np.linalg.solve(gram, xc.T @ (y - my))
    return w, float(my - mx @ w)


def fit_projection(
    z_train: np.ndarray,
    coordinates: np.ndarray,
    labels: np.ndarray,
    alphas: Sequence[float],
    z_val: np.ndarray | None = None,
    val_ratings: np.ndarray | None = None,
    release_valence: np.ndarray | None = None,
) -> dict[str, Any]:
    """Ridge from one standardized (32, 5) vector to the class's V-axis coordinate.

    Fitted on 10-s window means of the training subjects.  With ``z_val`` the alpha
    with the highest validation per-stimulus r (against the V-axis coordinates) is
    kept, else ``alphas`` must hold exactly one value.

    Returns
    -------
    dict with ``weight (32, 5)``, ``bias``, ``alpha``, ``selection`` (per-alpha
    validation metrics) and ``val`` (metrics of the chosen alpha) when validated.
    """
    n_sub, n_clips, _, n_ch, n_bands = z_train.shape
    xw = z_train.reshape(n_sub, n_clips, N_WINDOWS, SEQ_LEN, n_ch * n_bands).mean(axis=3)
    target = np.asarray(coordinates)[labels]
    yw = np.broadcast_to(target[None, :, None], xw.shape[:3]).reshape(-1)
    xw = xw.reshape(-1, n_ch * n_bands)
    if z_val is None and len(alphas) != 1:
        raise ValueError("fit_projection needs validation data to choose among several alphas")
    best: dict[str, Any] | None = None
    selection = []
    for alpha in alphas:
        w, b = _ridge(xw, yw, float(alpha))
        cand: dict[str, Any] = {"weight": w.reshape(n_ch, n_bands), "bias": b, "alpha": float(alpha)}
        if z_val is not None:
            proj = z_val.reshape(*z_val.shape[:3], -1) @ w + b
            metrics = clip_projection_metrics(proj, coordinates, labels, val_ratings, release_valence)
            cand["val"] = metrics
            selection.append({"alpha": float(alpha), **{k: v for k, v in metrics.items() if k != "clip_projection"}})
            if best is None or metrics["clip_r_axis"] > best["val"]["clip_r_axis"]:
                best = cand
        else:
            best = cand
    assert best is not None
    best["selection"] = selection
    return best
