"""The EEG→V-axis projection: a linear map from one standardized (32, 5) DE vector to the
V-axis coordinate of the sample's class, fitted on 10-s window means (linear, so it
applies unchanged to one 1-s vector or to the mean of the last few).  Two recipes give
such a map (:class:`Readout`): ridge regression, or partial least squares with a few
components (a low-rank map).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .metrics import clip_projection_metrics
from .windows import N_WINDOWS, SEQ_LEN

__all__ = ["Readout", "fit_projection"]


def _ridge(x: np.ndarray, y: np.ndarray, alpha: float) -> tuple[np.ndarray, float]:
    """Ridge with intercept; ``alpha`` scaled by the sample count."""
    x = np.asarray(x, np.float64)
    y = np.asarray(y, np.float64)
    mx, my = x.mean(axis=0), y.mean()
    xc = x - mx
    gram = xc.T @ xc + alpha * len(x) * np.eye(x.shape[1])
    w = np.linalg.solve(gram, xc.T @ (y - my))
    return w, float(my - mx @ w)


def _pls(x: np.ndarray, y: np.ndarray, n_components: int) -> tuple[np.ndarray, float]:
    """Partial least squares (unscaled features) as one weight vector and intercept."""
    from sklearn.cross_decomposition import PLSRegression

    x = np.asarray(x, np.float64)
    model = PLSRegression(n_components=n_components, scale=False).fit(x, np.asarray(y, np.float64))
    # the fitted model is affine in x: read its weights off the identity
    bias = float(model.predict(np.zeros((1, x.shape[1]))).ravel()[0])
    w = model.predict(np.eye(x.shape[1])).ravel() - bias
    return w, bias


@dataclass(frozen=True)
class Readout:
    """One recipe for the linear valence readout.

    Attributes
    ----------
    method : {"ridge", "pls"}
    alpha : float
        Ridge regularization (times the number of training samples).
    n_components : int
        PLS components.
    """

    method: str = "ridge"
    alpha: float = 1e-3
    n_components: int = 3

    def __post_init__(self) -> None:
        if self.method not in ("ridge", "pls"):
            raise ValueError(f"readout method must be 'ridge' or 'pls', got {self.method!r}")
        if self.method == "ridge" and not self.alpha >= 0:
            raise ValueError(f"ridge alpha must be >= 0, got {self.alpha}")
        if self.method == "pls" and self.n_components < 1:
            raise ValueError(f"PLS needs n_components >= 1, got {self.n_components}")

    @classmethod
    def of(cls, value: float | Readout | dict) -> Readout:
        """A readout from itself, a ridge alpha, or :meth:`to_dict`'s output."""
        if isinstance(value, Readout):
            return value
        if isinstance(value, dict):
            return cls(**value)
        return cls("ridge", alpha=float(value))

    @property
    def label(self) -> str:
        """Short description (``ridge alpha 0.1``, ``PLS 3 components``)."""
        return f"ridge alpha {self.alpha:g}" if self.method == "ridge" else f"PLS {self.n_components} components"

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (only the method's own parameter)."""
        if self.method == "ridge":
            return {"method": "ridge", "alpha": float(self.alpha)}
        return {"method": "pls", "n_components": int(self.n_components)}

    def fit(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
        """Weights ``(n_features,)`` and intercept mapping rows of ``x`` to ``y``."""
        if self.method == "ridge":
            return _ridge(x, y, float(self.alpha))
        return _pls(x, y, int(self.n_components))


def fit_projection(
    z_train: np.ndarray,
    coordinates: np.ndarray,
    labels: np.ndarray,
    alphas: Sequence[float | Readout],
    z_val: np.ndarray | None = None,
    val_ratings: np.ndarray | None = None,
    release_valence: np.ndarray | None = None,
) -> dict[str, Any]:
    """A linear map from one standardized (32, 5) vector to the class's V-axis coordinate.

    Fitted on 10-s window means of the training subjects.  ``alphas`` are candidate
    readouts (a number is a ridge alpha, or a :class:`Readout`).  With ``z_val`` the one
    with the highest validation per-stimulus r (against the V-axis coordinates) is kept,
    else ``alphas`` must hold exactly one candidate.

    Returns
    -------
    dict with ``weight (32, 5)``, ``bias``, ``readout`` (:meth:`Readout.to_dict`),
    ``alpha`` (None for PLS), ``selection`` (per-candidate validation metrics) and
    ``val`` (metrics of the chosen one) when validated.
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
    for value in alphas:
        readout = Readout.of(value)
        w, b = readout.fit(xw, yw)
        alpha = float(readout.alpha) if readout.method == "ridge" else None
        cand: dict[str, Any] = {"weight": w.reshape(n_ch, n_bands), "bias": b, "alpha": alpha,
                                "readout": readout.to_dict()}
        if z_val is not None:
            proj = z_val.reshape(*z_val.shape[:3], -1) @ w + b
            metrics = clip_projection_metrics(proj, coordinates, labels, val_ratings, release_valence)
            cand["val"] = metrics
            selection.append({"readout": readout.label, "alpha": alpha,
                              **{k: v for k, v in metrics.items() if k != "clip_projection"}})
            if best is None or metrics["clip_r_axis"] > best["val"]["clip_r_axis"]:
                best = cand
        else:
            best = cand
    assert best is not None
    best["selection"] = selection
    return best
