"""Axis folders on disk: ``axis.json`` + ``axis.safetensors``, written atomically, never over a non-axis folder."""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from .axis import Axis
from .build import default_axis_dir
from .settings import AXIS_JSON, AXIS_TENSORS, CLASS_NAMES, VAxisError

log = logging.getLogger(__name__)


def _replace_dir(tmp: Path, out: Path) -> None:
    """Move the finished ``tmp`` folder to ``out``, replacing an old axis there."""
    if out.exists():
        old = out.with_name(f".{out.name}.old-{os.getpid()}")
        os.replace(out, old)
        try:
            os.replace(tmp, out)
        except OSError:
            os.replace(old, out)
            raise
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, out)


def check_output_dir(out: str | Path) -> Path:
    """Refuse an output path that is a file or a non-empty folder that is not an axis."""
    out = Path(out)
    if out.exists():
        if not out.is_dir():
            raise VAxisError(f"output {out} exists and is not a folder")
        if any(out.iterdir()) and not (out / AXIS_JSON).is_file():
            raise VAxisError(
                f"output folder {out} is not empty and holds no {AXIS_JSON}: refusing to "
                "overwrite it"
            )
    return out


def save_axis(axis: Axis, out: str | Path, extra_files: Mapping[str, str] | None = None) -> Path:
    """Write ``axis.json`` and ``axis.safetensors`` atomically into ``out``.

    The files are written to a temporary sibling folder which then replaces ``out``,
    so an interrupted or failed save leaves nothing half-written.

    Parameters
    ----------
    axis : Axis
    out : path
        Folder to create or replace (an existing one must hold an axis or be empty).
    extra_files : mapping, optional
        ``{file name: text}`` written alongside (e.g. the paraphrases used).
    """
    from safetensors.numpy import save_file

    out = check_output_dir(out).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    try:
        (tmp / AXIS_JSON).write_text(
            json.dumps(axis.to_json(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        save_file(
            {
                "vector": np.ascontiguousarray(axis.vector, dtype=np.float32),
                "center": np.ascontiguousarray(axis.center, dtype=np.float32),
                "centroids": np.ascontiguousarray(axis.centroids, dtype=np.float32),
            },
            str(tmp / AXIS_TENSORS),
            metadata={"class_names": ",".join(axis.class_names), "model": axis.model},
        )
        for name, text in (extra_files or {}).items():
            (tmp / name).write_text(text, encoding="utf-8")
        for item in tmp.iterdir():
            os.chmod(item, 0o644)
        os.chmod(tmp, 0o755)
        _replace_dir(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    axis.path = out
    return out


def load_axis(path: str | Path | None = None) -> Axis:
    """Load an axis folder (None = the shipped default, :func:`default_axis_dir`).

    Raises
    ------
    VAxisError
        If ``axis.json`` or ``axis.safetensors`` is missing or inconsistent.
    """
    from safetensors.numpy import load_file

    folder = Path(path) if path is not None else default_axis_dir()
    meta_path, tensor_path = folder / AXIS_JSON, folder / AXIS_TENSORS
    for p in (meta_path, tensor_path):
        if not p.is_file():
            raise VAxisError(f"not an axis folder: {p} is missing (build one with "
                             "`bci-valence axis build --out DIR`)")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise VAxisError(f"{meta_path} is not valid JSON: {err}") from err
    required = ("model", "layer", "pooling", "method", "class_coordinates")
    missing = [k for k in required if k not in meta]
    if missing:
        raise VAxisError(f"{meta_path} lacks key(s) {', '.join(missing)}")
    tensors = load_file(str(tensor_path))
    for key in ("vector", "center", "centroids"):
        if key not in tensors:
            raise VAxisError(f"{tensor_path} lacks tensor {key!r}")
    class_names = tuple(meta.get("class_names", CLASS_NAMES))
    coords = meta["class_coordinates"]
    if set(coords) != set(class_names):
        raise VAxisError(
            f"{meta_path}: class_coordinates has classes {sorted(coords)}, expected "
            f"{list(class_names)}"
        )
    if tensors["vector"].shape != tensors["center"].shape or tensors["centroids"].shape != (
        len(class_names),
        tensors["vector"].shape[0],
    ):
        raise VAxisError(f"{tensor_path}: tensor shapes do not match")
    known = {
        "model", "model_location", "layer", "pooling", "method", "class_names",
        "class_coordinates", "pc1_explained_variance",
    }
    return Axis(
        model=str(meta["model"]),
        model_location=str(meta.get("model_location", meta["model"])),
        layer=int(meta["layer"]),
        pooling=str(meta["pooling"]),
        method=str(meta["method"]),
        vector=tensors["vector"],
        center=tensors["center"],
        centroids=tensors["centroids"],
        class_names=class_names,
        class_coordinates={c: float(coords[c]) for c in class_names},
        pc1_explained_variance=float(meta.get("pc1_explained_variance", float("nan"))),
        meta={k: v for k, v in meta.items() if k not in known},
        path=folder,
    )
