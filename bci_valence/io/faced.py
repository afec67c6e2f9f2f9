"""FACED loader: the official per-second DE features, self-report ratings and labels.

FACED (Chen et al. 2023, Scientific Data) ships per-subject differential-entropy
features as pickled numpy arrays (``EEG_Features/DE/subXXX.pkl.pkl``, shape
``(28 clips, 32 channels, 30 s, 5 bands)``) and the ratings as a MATLAB struct array
(``Data/subXXX/After_remarks.mat``). The pickles are read with a restricted unpickler
that accepts nothing but a plain numpy array, so a tampered file cannot run code.
"""

from __future__ import annotations

import csv
import importlib
import os
import pickle
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from ..constants import (
    CLIP_LABELS,
    CLIP_MEAN_VALENCE,
    CLIP_VALENCE_GROUP,
    EMOTION_CLASSES,
    FACED_BANDS,
    FACED_CHANNELS,
    N_CLIPS,
)

__all__ = [
    "CLIP_LABELS",
    "CLIP_MEAN_VALENCE",
    "CLIP_VALENCE_GROUP",
    "DE_SHAPE",
    "EMOTION_CLASSES",
    "FACED_DE_CHANNELS",
    "N_CLIPS",
    "RATING_ITEMS",
    "VALENCE_ITEM",
    "FacedData",
    "FacedFormatError",
    "SubjectInfo",
    "available_subjects",
    "class_mean_valence",
    "clip_mean_ratings",
    "de_path",
    "default_faced_root",
    "format_subjects",
    "load_de",
    "load_faced",
    "load_ratings",
    "load_recording_info",
    "parse_subjects",
    "ratings_path",
]

#: Expected shape of one subject's DE array: (clip, channel, second, band).
DE_SHAPE: tuple[int, int, int, int] = (N_CLIPS, len(FACED_CHANNELS), 30, len(FACED_BANDS))

#: The 12 rating items of ``After_remark(k).score``, in file order (each 0-7).
RATING_ITEMS: tuple[str, ...] = (
    "joy",
    "tenderness",
    "inspiration",
    "amusement",
    "anger",
    "disgust",
    "fear",
    "sadness",
    "arousal",
    "valence",
    "familiarity",
    "liking",
)

#: Index of the valence item in :data:`RATING_ITEMS`.
VALENCE_ITEM = RATING_ITEMS.index("valence")

#: Channel order of the DE features, spelled as the release writes them (upper case):
#: the constants' FACED channels, not a second list.
FACED_DE_CHANNELS: tuple[str, ...] = tuple(name.upper() for name in FACED_CHANNELS)

_RATING_RANGE = (0.0, 7.0)


class FacedFormatError(ValueError):
    """A FACED file is malformed, of the wrong shape, or holds a refused object."""


# ---------------------------------------------------------------------------
# Subject specs and paths
# ---------------------------------------------------------------------------

_SUBJECT_RE = re.compile(r"^(?:sub)?(\d+)$", re.IGNORECASE)
_RANGE_RE = re.compile(r"^(?:sub)?(\d+)\s*-\s*(?:sub)?(\d+)$", re.IGNORECASE)


def parse_subjects(spec: str | Sequence[int]) -> list[int]:
    """Parse a subject selection into a sorted list of unique 0-based indices.

    Parameters
    ----------
    spec : str or sequence of int
        Comma-separated items, each an index (``7``, ``sub007``) or an inclusive
        range (``0-79``, ``sub000-sub079``); e.g. ``"0-3,7,10-12"``. A sequence of
        non-negative integers is accepted as is.

    Returns
    -------
    list of int
        Sorted, without duplicates.

    Raises
    ------
    ValueError
        For an empty spec, a malformed item, a negative index or a reversed range.
    """
    if isinstance(spec, str):
        items = [item.strip() for item in spec.split(",")]
        if not any(items):
            raise ValueError(f"empty subject spec {spec!r}: expected e.g. '0-79' or '0-3,7,sub010'")
        subjects: set[int] = set()
        for item in items:
            if match := _SUBJECT_RE.match(item):
                subjects.add(int(match.group(1)))
            elif match := _RANGE_RE.match(item):
                start, stop = int(match.group(1)), int(match.group(2))
                if stop < start:
                    raise ValueError(
                        f"reversed subject range {item!r} in {spec!r}: expected start <= end"
                    )
                subjects.update(range(start, stop + 1))
            else:
                raise ValueError(
                    f"malformed subject item {item!r} in {spec!r}: expected an index "
                    "('7', 'sub007') or an inclusive range ('0-79')"
                )
        return sorted(subjects)
    out: set[int] = set()
    for value in spec:
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
            raise ValueError(f"subject {value!r} in {spec!r} is not an integer index")
        if value < 0:
            raise ValueError(f"subject index {value} in {spec!r} is negative")
        out.add(int(value))
    if not out:
        raise ValueError("empty subject list: expected at least one subject index")
    return sorted(out)


def format_subjects(subjects: Iterable[int]) -> str:
    """Compact spec for a list of subjects (inverse of :func:`parse_subjects`).

    Examples
    --------
    >>> format_subjects([0, 1, 2, 5, 7, 8])
    '0-2,5,7-8'
    """
    values = sorted(set(int(s) for s in subjects))
    parts: list[str] = []
    i = 0
    while i < len(values):
        j = i
        while j + 1 < len(values) and values[j + 1] == values[j] + 1:
            j += 1
        parts.append(str(values[i]) if i == j else f"{values[i]}-{values[j]}")
        i = j + 1
    return ",".join(parts)


def default_faced_root() -> Path:
    """Where every command looks for the FACED release when it is given no root.

    Resolved from the environment and the working folder only, never from where this
    package is installed, so an installed copy does not look inside its virtualenv.

    Returns
    -------
    Path
        ``$BCI_VALENCE_FACED`` if set; else ``$BCI_VALENCE_SHARED_DATA/faced`` if that
        variable is set; else ``../shared/data/faced`` from the working folder when that
        folder exists (a checkout beside the shared data); else ``./faced`` in the
        working folder. The path need not exist.
    """
    faced = os.environ.get("BCI_VALENCE_FACED")
    if faced:
        return Path(faced).expanduser()
    shared = os.environ.get("BCI_VALENCE_SHARED_DATA")
    if shared:
        return Path(shared).expanduser() / "faced"
    cwd = Path.cwd()
    beside = cwd.parent / "shared" / "data" / "faced"
    return beside if beside.is_dir() else cwd / "faced"


def de_path(root: str | Path, subject: int) -> Path:
    """Path of one subject's DE pickle in a FACED root (``EEG_Features/DE/subXXX.pkl.pkl``)."""
    return Path(root) / "EEG_Features" / "DE" / f"sub{subject:03d}.pkl.pkl"


def ratings_path(root: str | Path, subject: int) -> Path:
    """Path of one subject's ratings in a FACED root (``Data/subXXX/After_remarks.mat``)."""
    return Path(root) / "Data" / f"sub{subject:03d}" / "After_remarks.mat"


# ---------------------------------------------------------------------------
# Restricted unpickling of the DE arrays
# ---------------------------------------------------------------------------

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


# ---------------------------------------------------------------------------
# Ratings and recording info
# ---------------------------------------------------------------------------


def load_ratings(path: str | Path) -> np.ndarray:
    """Load one subject's self-report ratings, rows in clip order.

    Parameters
    ----------
    path : str or Path
        A FACED ``After_remarks.mat`` holding the struct array ``After_remark(28)``
        with fields ``score`` (12 items, :data:`RATING_ITEMS` order) and ``vid``
        (1-based clip index of that presentation).

    Returns
    -------
    ndarray, float32, shape (28, 12)
        Row ``c`` is the rating of clip ``c + 1``.

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    FacedFormatError
        If the file cannot be read, lacks the struct or its fields, or the vids are
        not each of 1..28 exactly once, or scores are not 12 values in 0..7.
    """
    import scipy.io

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"FACED ratings file not found: {path}")
    try:
        mat = scipy.io.loadmat(path)
    except Exception as err:
        raise FacedFormatError(
            f"cannot read {path} as a MATLAB file: {type(err).__name__}: {err}"
        ) from err
    remarks = mat.get("After_remark")
    names = getattr(getattr(remarks, "dtype", None), "names", None)
    if remarks is None or not names or "score" not in names or "vid" not in names:
        raise FacedFormatError(
            f"{path} has no struct array 'After_remark' with fields 'score' and 'vid' "
            f"(found variables {sorted(k for k in mat if not k.startswith('__'))})"
        )
    rows = remarks.ravel()
    if rows.size != N_CLIPS:
        raise FacedFormatError(f"{path}: After_remark has {rows.size} entries, expected {N_CLIPS}")
    ratings = np.full((N_CLIPS, len(RATING_ITEMS)), np.nan, dtype=np.float32)
    seen: list[int] = []
    for k, row in enumerate(rows):
        score = np.asarray(row["score"], dtype=float).ravel()
        vid = np.asarray(row["vid"]).ravel()
        if score.size != len(RATING_ITEMS):
            raise FacedFormatError(
                f"{path}: After_remark({k + 1}).score has {score.size} values, "
                f"expected {len(RATING_ITEMS)} ({', '.join(RATING_ITEMS)})"
            )
        if vid.size != 1 or not 1 <= int(vid[0]) <= N_CLIPS or vid[0] != int(vid[0]):
            raise FacedFormatError(
                f"{path}: After_remark({k + 1}).vid is {vid.tolist()}, expected one clip index 1..{N_CLIPS}"
            )
        lo, hi = _RATING_RANGE
        if not (np.isfinite(score).all() and (score >= lo).all() and (score <= hi).all()):
            raise FacedFormatError(
                f"{path}: After_remark({k + 1}).score = {score.tolist()}, expected values in {lo:g}..{hi:g}"
            )
        clip = int(vid[0])
        seen.append(clip)
        ratings[clip - 1] = score
    missing = sorted(set(range(1, N_CLIPS + 1)) - set(seen))
    repeated = sorted({v for v in seen if seen.count(v) > 1})
    if missing or repeated:
        raise FacedFormatError(
            f"{path}: vids must list each clip 1..{N_CLIPS} once; "
            f"missing {missing}, repeated {repeated}"
        )
    return ratings


@dataclass(frozen=True)
class SubjectInfo:
    """One row of ``Recording_info.csv``."""

    subject: int
    gender: str
    age: int
    cohort: int
    sample_rate: float
    unit: str


def load_recording_info(root: str | Path) -> dict[int, SubjectInfo]:
    """Parse ``Recording_info.csv`` of a FACED root.

    Parameters
    ----------
    root : str or Path
        The FACED root folder.

    Returns
    -------
    dict of int to SubjectInfo
        Keyed by 0-based subject index.

    Raises
    ------
    FileNotFoundError
        If the CSV is absent.
    FacedFormatError
        If a column is missing or a value cannot be parsed.
    """
    path = Path(root) / "Recording_info.csv"
    if not path.is_file():
        raise FileNotFoundError(f"FACED recording info not found: {path}")
    required = ("sub", "Gender", "Age", "Cohort", "Sample_rate", "Unit")
    info: dict[int, SubjectInfo] = {}
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.reader(fh)
        header = [h.strip() for h in next(reader, [])]  # the release writes "Cohort "
        absent = [c for c in required if c not in header]
        if absent:
            raise FacedFormatError(f"{path}: missing columns {absent}, found {header}")
        col = {name: header.index(name) for name in required}
        for line_no, raw in enumerate(reader, start=2):
            if not any(cell.strip() for cell in raw):
                continue
            try:
                cells = {name: raw[i].strip() for name, i in col.items()}
                match = _SUBJECT_RE.match(cells["sub"])
                if match is None:
                    raise ValueError(f"subject {cells['sub']!r}")
                subject = int(match.group(1))
                info[subject] = SubjectInfo(
                    subject=subject,
                    gender=cells["Gender"],
                    age=int(cells["Age"]),
                    cohort=int(cells["Cohort"]),
                    sample_rate=float(cells["Sample_rate"]),
                    unit=cells["Unit"],
                )
            except (ValueError, IndexError) as err:
                raise FacedFormatError(f"{path}, line {line_no}: cannot parse {raw}: {err}") from err
    return info


# ---------------------------------------------------------------------------
# Whole dataset
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class FacedData:
    """DE features and ratings of a set of FACED subjects.

    Attributes
    ----------
    subjects : list of int
        0-based subject indices, in the order of the first axis below.
    de : ndarray, float32, shape (n_sub, 28, 32, 30, 5)
        DE features (subject, clip, channel, second, band).
    ratings : ndarray, float32, shape (n_sub, 28, 12)
        Ratings in clip order, items as :data:`RATING_ITEMS`.
    cohorts : ndarray, int, shape (n_sub,)
    sample_rates : ndarray, float, shape (n_sub,)
        Original recording rates (Hz); the features are all from 250 Hz data.
    units : tuple of str
        Original recording units per subject.
    root : Path
    """

    subjects: list[int]
    de: np.ndarray
    ratings: np.ndarray
    cohorts: np.ndarray
    sample_rates: np.ndarray
    units: tuple[str, ...] = ()
    root: Path = field(default_factory=Path)

    @property
    def n_subjects(self) -> int:
        """Number of subjects loaded."""
        return len(self.subjects)

    @property
    def valence(self) -> np.ndarray:
        """Rated valence, shape (n_sub, 28)."""
        return self.ratings[..., VALENCE_ITEM]

    @property
    def labels(self) -> np.ndarray:
        """Emotion label per clip, shape (28,) (same for every subject)."""
        return CLIP_LABELS


def available_subjects(root: str | Path) -> list[int]:
    """Subjects that have a DE file in ``root/EEG_Features/DE``."""
    found = []
    for path in (Path(root) / "EEG_Features" / "DE").glob("sub*.pkl.pkl"):
        match = _SUBJECT_RE.match(path.name.removesuffix(".pkl.pkl"))
        if match:
            found.append(int(match.group(1)))
    return sorted(found)


def load_faced(
    root: str | Path,
    subjects: str | Sequence[int] | None = None,
    progress: bool = True,
) -> FacedData:
    """Load DE features, ratings and recording info of FACED subjects.

    Parameters
    ----------
    root : str or Path
        FACED root in the release's layout (``EEG_Features/DE``, ``Data``,
        ``Recording_info.csv``).
    subjects : str, sequence of int or None
        Selection as for :func:`parse_subjects`; None loads every subject with a
        DE file.
    progress : bool
        Show a tqdm progress bar.

    Returns
    -------
    FacedData

    Raises
    ------
    FileNotFoundError
        If the root is missing, or listing every selected subject whose DE file,
        ratings file or Recording_info row is absent.
    FacedFormatError
        If any file is malformed or refused (see :func:`load_de`, :func:`load_ratings`).
    """
    from tqdm.auto import tqdm

    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(
            f"FACED root not found: {root} (expected a folder with EEG_Features/DE/, "
            "Data/ and Recording_info.csv)"
        )
    selected = available_subjects(root) if subjects is None else parse_subjects(subjects)
    if not selected:
        raise FileNotFoundError(f"no FACED DE files in {root / 'EEG_Features' / 'DE'}")
    info = load_recording_info(root)
    missing: list[str] = []
    incomplete: set[int] = set()
    for s in selected:
        for path in (de_path(root, s), ratings_path(root, s)):
            if not path.is_file():
                missing.append(f"sub{s:03d}: {path}")
                incomplete.add(s)
        if s not in info:
            missing.append(f"sub{s:03d}: no row in {root / 'Recording_info.csv'}")
            incomplete.add(s)
    if missing:
        raise FileNotFoundError(
            f"FACED data missing for {len(incomplete)} of {len(selected)} selected subjects "
            f"(sub {format_subjects(incomplete)}) under {root}:\n  " + "\n  ".join(missing)
        )
    de = np.empty((len(selected), *DE_SHAPE), dtype=np.float32)
    ratings = np.empty((len(selected), N_CLIPS, len(RATING_ITEMS)), dtype=np.float32)
    for i, s in enumerate(tqdm(selected, desc="FACED", unit="subject", disable=not progress)):
        de[i] = load_de(de_path(root, s))
        ratings[i] = load_ratings(ratings_path(root, s))
    return FacedData(
        subjects=selected,
        de=de,
        ratings=ratings,
        cohorts=np.array([info[s].cohort for s in selected], dtype=int),
        sample_rates=np.array([info[s].sample_rate for s in selected], dtype=float),
        units=tuple(info[s].unit for s in selected),
        root=root,
    )


# ---------------------------------------------------------------------------
# Summaries
# ---------------------------------------------------------------------------


def clip_mean_ratings(data: FacedData | np.ndarray) -> np.ndarray:
    """Mean rating of each clip over subjects.

    Parameters
    ----------
    data : FacedData or ndarray (n_sub, 28, 12)

    Returns
    -------
    ndarray, shape (28, 12)
    """
    ratings = data.ratings if isinstance(data, FacedData) else np.asarray(data)
    if ratings.ndim != 3 or ratings.shape[1:] != (N_CLIPS, len(RATING_ITEMS)):
        raise ValueError(
            f"ratings of shape {ratings.shape}, expected (n_sub, {N_CLIPS}, {len(RATING_ITEMS)})"
        )
    return ratings.mean(axis=0)


def class_mean_valence(clip_valence: np.ndarray) -> np.ndarray:
    """Mean of a per-clip value within each emotion class.

    Parameters
    ----------
    clip_valence : ndarray, shape (28,)
        E.g. :data:`CLIP_MEAN_VALENCE` or ``clip_mean_ratings(data)[:, VALENCE_ITEM]``.

    Returns
    -------
    ndarray, shape (9,)
        In :data:`EMOTION_CLASSES` order.
    """
    values = np.asarray(clip_valence, dtype=float)
    if values.shape != (N_CLIPS,):
        raise ValueError(f"clip values of shape {values.shape}, expected ({N_CLIPS},)")
    return np.array([values[CLIP_LABELS == k].mean() for k in range(len(EMOTION_CLASSES))])
