"""Scalp-map geometry: 2-D electrode positions and a fixed interpolation matrix.

Everything here is computed once per channel set: positions come from the 3-D
template positions of :func:`bci_valence.signal.montage.faced_info`, projected with an
azimuthal-equidistant projection about a sphere fitted to the electrodes; the grid
interpolation (Clough-Tocher, with a ring of extrapolation points around the head)
is applied to the identity so that each refresh of a map is a single matmul.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Sequence

import numpy as np

#: Head radius in map units: the equator of the fitted sphere (T7/T8, Fpz, Oz).
HEAD_RADIUS = 1.0


def _fit_sphere(points: np.ndarray) -> tuple[np.ndarray, float]:
    """Least-squares sphere through ``points (n, 3)``; returns (centre, radius)."""
    design = np.c_[2.0 * points, np.ones(len(points))]
    target = (points**2).sum(axis=1)
    sol = np.linalg.lstsq(design, target, rcond=None)[0]
    centre = sol[:3]
    return centre, float(np.sqrt(sol[3] + centre @ centre))


def project_positions(positions: np.ndarray) -> np.ndarray:
    """Azimuthal-equidistant projection of 3-D head positions to the unit head disc.

    Parameters
    ----------
    positions : ndarray, shape (n, 3)
        Electrode positions in head coordinates (x right, y front, z up).

    Returns
    -------
    ndarray, shape (n, 2)
        x (right), y (nose up); the sphere's equator lands on radius 1. Electrodes
        below the equator (A1/A2) are drawn just outside the head, next to the ears:
        their radius beyond 1 is compressed by a factor 0.3 for display.
    """
    positions = np.asarray(positions, dtype=float)
    if positions.ndim != 2 or positions.shape[1] != 3 or len(positions) < 4:
        raise ValueError(f"positions must be (n>=4, 3), got shape {positions.shape}")
    centre, _ = _fit_sphere(positions)
    rel = positions - centre
    norm = np.linalg.norm(rel, axis=1)
    theta = np.arccos(np.clip(rel[:, 2] / norm, -1.0, 1.0))  # from the vertex
    phi = np.arctan2(rel[:, 1], rel[:, 0])
    radius = theta / (np.pi / 2.0)
    radius = np.where(radius > 1.0, 1.0 + 0.3 * (radius - 1.0), radius)
    return np.c_[radius * np.cos(phi), radius * np.sin(phi)] * HEAD_RADIUS


@lru_cache(maxsize=4)
def faced_positions_2d(names: tuple[str, ...] | None = None) -> np.ndarray:
    """2-D map positions ``(n, 2)`` of FACED (or the given) channels."""
    from bci_valence.constants import FACED_CHANNELS
    from bci_valence.signal.montage import channel_positions

    names = FACED_CHANNELS if names is None else names
    return project_positions(channel_positions(names))


@dataclass(frozen=True)
class TopoGrid:
    """A fixed linear map from channel values to an image of the head.

    Attributes
    ----------
    matrix : ndarray, shape (size * size, n_channels)
        ``image = (matrix @ values).reshape(size, size)``; NaN outside the head.
    size : int
        Image side in pixels.
    extent : float
        The image covers ``[-extent, extent]`` in both axes (map units).
    """

    matrix: np.ndarray
    size: int
    extent: float

    def image(self, values: np.ndarray) -> np.ndarray:
        """Interpolated image ``(size, size)`` (row = y, column = x) of ``values (n,)``."""
        return (self.matrix @ np.asarray(values, dtype=np.float32)).reshape(self.size, self.size)


def interpolation_grid(xy: np.ndarray, size: int = 64, n_ring: int = 24) -> TopoGrid:
    """Precompute the (grid × channels) interpolation matrix for positions ``xy``.

    Parameters
    ----------
    xy : ndarray, shape (n, 2)
        2-D electrode positions (see :func:`project_positions`).
    size : int
        Pixels per side.
    n_ring : int
        Extrapolation points on a ring outside every electrode; each takes the
        inverse-distance mean of its three nearest electrodes, so the whole map
        stays linear in the channel values.
    """
    from scipy.interpolate import CloughTocher2DInterpolator

    xy = np.asarray(xy, dtype=float)
    n = len(xy)
    ring_r = max(float(np.linalg.norm(xy, axis=1).max()), HEAD_RADIUS) * 1.15
    angles = np.linspace(0.0, 2.0 * np.pi, n_ring, endpoint=False)
    ring = np.c_[ring_r * np.cos(angles), ring_r * np.sin(angles)]
    extension = np.zeros((n_ring, n))
    for i, point in enumerate(ring):
        dist = np.linalg.norm(xy - point, axis=1)
        nearest = np.argsort(dist)[:3]
        weights = 1.0 / np.maximum(dist[nearest], 1e-6)
        extension[i, nearest] = weights / weights.sum()
    points = np.vstack([xy, ring])
    basis = np.vstack([np.eye(n), extension])  # (n + n_ring, n)
    extent = HEAD_RADIUS * 1.05
    axis = np.linspace(-extent, extent, size)
    gx, gy = np.meshgrid(axis, axis)  # row index = y
    interp = CloughTocher2DInterpolator(points, basis)
    matrix = interp(np.c_[gx.ravel(), gy.ravel()])  # (size*size, n)
    outside = np.hypot(gx, gy).ravel() > HEAD_RADIUS
    matrix[outside] = np.nan
    return TopoGrid(matrix=matrix.astype(np.float32), size=size, extent=extent)


def head_outline(n: int = 101) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Polylines (x, y) of the head circle, nose and ears in map units.

    Returns
    -------
    (head, nose, ears) : ndarrays of shape (m, 2); ``ears`` holds both ears with a NaN
    row between them (pyqtgraph breaks lines at NaN with ``connect='finite'``).
    """
    t = np.linspace(0, 2 * np.pi, n)
    r = HEAD_RADIUS
    head = np.c_[r * np.cos(t), r * np.sin(t)]
    nose = np.array([[-0.12, 0.99], [0.0, 1.12], [0.12, 0.99]]) * r
    te = np.linspace(-np.pi / 2.5, np.pi / 2.5, 20)
    right = np.c_[r * (1.0 + 0.06 * np.cos(te)), r * 0.18 * np.sin(te)]
    left = right * np.array([-1.0, 1.0])
    ears = np.vstack([right, [[np.nan, np.nan]], left])
    return head, nose, ears


def symmetric_limit(maps: Sequence[np.ndarray], floor: float = 0.5) -> float:
    """A shared, symmetric colour limit for several maps (98th percentile of |values|)."""
    finite = [np.abs(m[np.isfinite(m)]) for m in maps]
    finite = [f for f in finite if f.size]
    if not finite:
        return floor
    return max(float(np.percentile(np.concatenate(finite), 98)), floor)
