"""The V-axis class coordinates a bundle is trained toward (read from ``axis.json``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["DEFAULT_AXIS_DIR", "load_axis_coordinates"]


#: The shipped V-axis artifact (``bci-valence axis build`` output).
DEFAULT_AXIS_DIR = Path(__file__).resolve().parents[1] / "data" / "axes" / "all-minilm-l6-v2"



def load_axis_coordinates(axis_dir: str | Path | None = None) -> tuple[dict[str, float], dict[str, Any]]:
    """Class coordinates and provenance of a V-axis artifact.

    Reads ``axis.json`` (key ``class_coordinates``) of a folder written by
    ``bci-valence axis build``; only the JSON is needed, not the language model.

    Parameters
    ----------
    axis_dir : str, Path or None
        Axis folder (None = the shipped default, ``offline/data/axes/all-minilm-l6-v2``).

    Returns
    -------
    (coordinates, info)

    Raises
    ------
    FileNotFoundError
        If ``axis.json`` is absent.
    ValueError
        If it is not valid JSON or lacks a coordinate for a FACED class.
    """
    import json

    from bci_valence.constants import EMOTION_CLASSES

    folder = Path(axis_dir) if axis_dir is not None else DEFAULT_AXIS_DIR
    meta_path = folder / "axis.json"
    if not meta_path.is_file():
        raise FileNotFoundError(
            f"V-axis artifact not found: {meta_path} (build one with `bci-valence axis build --out DIR`)"
        )
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ValueError(f"{meta_path} is not valid JSON: {err}") from err
    coords = meta.get("class_coordinates")
    if not isinstance(coords, dict):
        raise ValueError(f"{meta_path} lacks an object 'class_coordinates'")
    missing = [c for c in EMOTION_CLASSES if c not in coords]
    if missing:
        raise ValueError(f"{meta_path}: class_coordinates lacks class(es) {missing}")
    try:
        out = {c: float(coords[c]) for c in EMOTION_CLASSES}
    except (TypeError, ValueError) as err:
        raise ValueError(f"{meta_path}: non-numeric class coordinate: {err}") from err
    info = {
        "source": folder.name if axis_dir is None else str(folder),
        **{k: meta.get(k) for k in ("model", "layer", "pooling", "method", "created", "stories_sha256")},
    }
    return out, info

