"""Per-session standardization of DE features from unlabeled data.

The model was trained on DE z-scored per subject with that subject's own unlabeled
features; online, the same statistics come from a calibration period. Welford's
update keeps the running mean and variance exact and numerically stable, and windows
flagged as bad are kept out of the statistics.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np


class RunningStandardizer:
    """Running per-feature mean and standard deviation (Welford).

    Parameters
    ----------
    shape : tuple of int
        Shape of one feature vector, e.g. ``(32, 5)`` channels × bands.
    eps : float
        Floor added to the standard deviation.
    """

    def __init__(self, shape: tuple[int, ...] = (32, 5), eps: float = 1e-6) -> None:
        self.shape = tuple(int(n) for n in shape)
        self.eps = float(eps)
        self.count = 0
        self._mean = np.zeros(self.shape)
        self._m2 = np.zeros(self.shape)

    def update(self, x: np.ndarray, mask: np.ndarray | None = None) -> None:
        """Add samples ``x[..., *shape]``; rows where ``mask`` is False are skipped.

        Non-finite rows are always skipped.
        """
        x = np.asarray(x, dtype=float).reshape((-1, *self.shape))
        keep = np.isfinite(x).reshape(len(x), -1).all(axis=1)
        if mask is not None:
            keep &= np.asarray(mask, bool).reshape(-1)
        batch = x[keep]
        if not len(batch):
            return
        n_batch = len(batch)
        batch_mean = batch.mean(axis=0)
        batch_m2 = ((batch - batch_mean) ** 2).sum(axis=0)
        total = self.count + n_batch
        delta = batch_mean - self._mean
        self._mean = self._mean + delta * (n_batch / total)
        self._m2 = self._m2 + batch_m2 + delta**2 * (self.count * n_batch / total)
        self.count = total

    @property
    def mean(self) -> np.ndarray:
        """Running mean, shape ``self.shape``."""
        return self._mean.copy()

    @property
    def std(self) -> np.ndarray:
        """Running (population) standard deviation plus ``eps``; ones before 2 samples."""
        if self.count < 2:
            return np.ones(self.shape)
        return np.sqrt(self._m2 / self.count) + self.eps

    def transform(self, x: np.ndarray) -> np.ndarray:
        """Standardize ``x[..., *shape]`` with the statistics gathered so far."""
        x = np.asarray(x, dtype=float)
        if self.count == 0:
            return np.zeros_like(x)
        return (x - self._mean) / self.std

    def to_dict(self) -> dict:
        """JSON-able state, for saving a calibration."""
        return {
            "shape": list(self.shape),
            "eps": self.eps,
            "count": self.count,
            "mean": self._mean.tolist(),
            "m2": self._m2.tolist(),
        }

    @classmethod
    def from_dict(cls, state: dict) -> RunningStandardizer:
        """Rebuild from :meth:`to_dict`'s output; checks shapes."""
        try:
            out = cls(tuple(state["shape"]), float(state["eps"]))
            mean = np.asarray(state["mean"], float)
            m2 = np.asarray(state["m2"], float)
            count = int(state["count"])
        except (KeyError, TypeError, ValueError) as err:
            raise ValueError(f"malformed standardizer state: {err}") from err
        if mean.shape != out.shape or m2.shape != out.shape or count < 0:
            raise ValueError(
                f"standardizer state has mean {mean.shape}, m2 {m2.shape}, count {count}; "
                f"expected shape {out.shape} and count >= 0"
            )
        out._mean, out._m2, out.count = mean, m2, count
        return out

    def save(self, path: str | Path) -> None:
        """Write the state as JSON."""
        Path(path).write_text(json.dumps(self.to_dict()))

    @classmethod
    def load(cls, path: str | Path) -> RunningStandardizer:
        """Read a state written by :meth:`save`; errors name the file."""
        path = Path(path)
        try:
            return cls.from_dict(json.loads(path.read_text()))
        except (OSError, json.JSONDecodeError, ValueError) as err:
            raise ValueError(f"cannot read calibration {path}: {err}") from err
