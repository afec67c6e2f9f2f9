"""FACED's self-report ratings, recording info and per-class label summaries.

The ratings are a MATLAB struct array (``Data/subXXX/After_remarks.mat``), one row per
presentation; the recording info is the release's ``Recording_info.csv``.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..constants import CLIP_LABELS, EMOTION_CLASSES, N_CLIPS
from .faced_layout import _SUBJECT_RE, FacedFormatError

__all__ = [
    "RATING_ITEMS",
    "VALENCE_ITEM",
    "SubjectInfo",
    "class_mean_valence",
    "load_ratings",
    "load_recording_info",
]

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

_RATING_RANGE = (0.0, 7.0)


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
