"""Marker labels to FACED classes: what a marker stream says about the stimulus being shown."""

from __future__ import annotations

import logging
from typing import Any, Iterable, Sequence

import numpy as np

log = logging.getLogger(__name__)

__all__ = ['marker_to_class', 'normalize_markers']


def normalize_markers(markers: Any) -> Iterable[tuple[float, str]]:
    """Accept ``[(ts, label), ...]``, objects with ``timestamp``/``label`` or a Chunk of labels."""
    if markers is None:
        return []
    if hasattr(markers, "timestamps") and hasattr(markers, "data"):
        labels = np.asarray(markers.data, dtype=object).reshape(-1)
        return [(float(t), str(lbl)) for t, lbl in zip(np.asarray(markers.timestamps).reshape(-1), labels)]
    out = []
    for m in markers:
        if hasattr(m, "timestamp"):
            out.append((float(m.timestamp), str(getattr(m, "label", getattr(m, "value", "")))))
        else:
            ts, label = m[0], m[1]
            if isinstance(label, (list, tuple, np.ndarray)):
                label = label[0] if len(label) else ""
            out.append((float(ts), str(label)))
    return out


def marker_to_class(label: str, class_names: Sequence[str]) -> str | None:
    """A marker label naming a class (any case) or a FACED clip (``clip 7``, ``7``)."""
    text = str(label).strip()
    lower = {c.lower(): c for c in class_names}
    if text.lower() in lower:
        return lower[text.lower()]
    digits = "".join(ch for ch in text if ch.isdigit())
    if digits and len(digits) <= 2:
        clip = int(digits)
        if 1 <= clip <= 28:
            try:
                from ..constants import CLIP_LABELS, EMOTION_CLASSES

                name = EMOTION_CLASSES[int(CLIP_LABELS[clip - 1])]
                return lower.get(name.lower(), name)
            except Exception:  # pragma: no cover
                return None
    return None
