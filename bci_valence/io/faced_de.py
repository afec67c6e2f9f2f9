"""FACED's official per-second DE features, read with a restricted unpickler.

The release ships them as pickled numpy arrays (``EEG_Features/DE/subXXX.pkl.pkl``,
shape ``(28 clips, 32 channels, 30 s, 5 bands)``). The unpickler accepts nothing but a
plain numpy array, so a tampered file cannot run code.
"""

from __future__ import annotations

import importlib
import pickle
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from ..constants import FACED_BANDS, FACED_CHANNELS, N_CLIPS
from .faced_layout import FacedFormatError

__all__ = ["DE_SHAPE", "FACED_DE_CHANNELS", "load_de"]

#: Expected shape of one subject's DE array: (clip, channel, second, band).
DE_SHAPE: tuple[int, int, int, int] = (N_CLIPS, len(FACED_CHANNELS), 30, len(FACED_BANDS))

#: Channel order of the DE features, spelled as the release writes them (upper case):
#: the constants' FACED channels, not a second list.
FACED_DE_CHANNELS: tuple[str, ...] = tuple(name.upper() for name in FACED_CHANNELS)

# (module, name) accepted in a pickle -> (module to import, attribute). Both the
# numpy<2 (``numpy.core``) and numpy>=2 (``numpy._core``) spellings resolve to the
# current location, so ``numpy.core``'s deprecation shim is never imported.
_ALLOWED_GLOBALS: dict[tuple[str, str], tuple[str, str]] = {
    ("numpy.core.multiarray", "_reconstruct"): ("multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"): ("multiarray", "_reconstruct"),
    ("numpy.core.numeric", "_frombuffer"): ("numeric", "_frombuffer"),  # protocol 5
    ("numpy._core.numeric", "_frombuffer"): ("numeric", "_frombuffer"),
    ("numpy", "ndarray"): ("", "ndarray"),
    ("numpy", "dtype"): ("", "dtype"),
    ("_codecs", "encode"): ("_codecs", "encode"),  # bytes in protocol <= 2 pickles
}


def _latin1_encode(text: str, encoding: str = "utf-8") -> bytes:
    """``_codecs.encode`` as protocol-2 pickles use it for bytes (latin-1 text only)."""
    if not isinstance(text, str) or encoding.replace("-", "").lower() not in ("latin1", "utf8"):
        raise pickle.UnpicklingError(f"refused _codecs.encode({type(text).__name__}, {encoding!r})")
    return text.encode(encoding)


def _numpy_attr(submodule: str, name: str) -> Any:
    if not submodule:
        return getattr(np, name)
    if submodule == "_codecs":
        return _latin1_encode
    for package in ("numpy._core", "numpy.core"):
        try:
            return getattr(importlib.import_module(f"{package}.{submodule}"), name)
        except (ImportError, AttributeError):
            continue
    raise AttributeError(f"numpy has no {submodule}.{name}")  # pragma: no cover


class _NumpyArrayUnpickler(pickle.Unpickler):
    """Unpickler that resolves only the globals a plain numpy array pickle needs."""

    def __init__(self, file: BinaryIO, path: Path) -> None:
        super().__init__(file)
        self._path = path

    def find_class(self, module: str, name: str) -> Any:
        target = _ALLOWED_GLOBALS.get((module, name))
        if target is None:
            raise FacedFormatError(
                f"refused to unpickle {module}.{name} from {self._path}: "
                "only numpy arrays are accepted"
            )
        return _numpy_attr(*target)

    def persistent_load(self, pid: Any) -> Any:
        raise FacedFormatError(
            f"refused persistent id {pid!r} in {self._path}: only numpy arrays are accepted"
        )


def load_de(path: str | Path) -> np.ndarray:
    """Load one subject's DE features with the restricted unpickler.

    Parameters
    ----------
    path : str or Path
        A FACED ``subXXX.pkl.pkl`` file.

    Returns
    -------
    ndarray, float32, shape (28, 32, 30, 5)
        (clip in clip order, channel in :data:`FACED_DE_CHANNELS` order, second, band).

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    FacedFormatError
        If the pickle refers to anything but numpy's array reconstruction, is
        truncated or corrupt, or is not a finite floating array of shape ``DE_SHAPE``.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"FACED DE file not found: {path}")
    try:
        with path.open("rb") as fh:
            obj = _NumpyArrayUnpickler(fh, path).load()
    except FacedFormatError:
        raise
    except Exception as err:  # truncated/corrupt pickles raise many types
        raise FacedFormatError(
            f"cannot unpickle {path}: {type(err).__name__}: {err} "
            f"(expected a pickled numpy array of shape {DE_SHAPE})"
        ) from err
    if not isinstance(obj, np.ndarray):
        raise FacedFormatError(
            f"{path} holds a {type(obj).__name__}, expected a numpy array of shape {DE_SHAPE}"
        )
    if obj.shape != DE_SHAPE or obj.dtype.kind != "f":
        raise FacedFormatError(
            f"{path} holds an array of shape {obj.shape} and dtype {obj.dtype}, "
            f"expected a floating array of shape {DE_SHAPE} (clip, channel, second, band)"
        )
    if not np.isfinite(obj).all():
        bad = int((~np.isfinite(obj)).sum())
        raise FacedFormatError(f"{path} holds {bad} non-finite DE values, expected all finite")
    return obj.astype(np.float32)
