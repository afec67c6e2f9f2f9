"""The FACED release's layout: subject selections, file paths and the format error.

Shared by the DE reader (:mod:`bci_valence.io.faced_de`), the ratings reader
(:mod:`bci_valence.io.faced_ratings`) and the dataset loader
(:mod:`bci_valence.io.faced`), which re-exports everything public here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

__all__ = [
    "FacedFormatError",
    "available_subjects",
    "de_path",
    "format_subjects",
    "parse_subjects",
    "ratings_path",
]


class FacedFormatError(ValueError):
    """A FACED file is malformed, of the wrong shape, or holds a refused object."""


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


def de_path(root: str | Path, subject: int) -> Path:
    """Path of one subject's DE pickle in a FACED root (``EEG_Features/DE/subXXX.pkl.pkl``)."""
    return Path(root) / "EEG_Features" / "DE" / f"sub{subject:03d}.pkl.pkl"


def ratings_path(root: str | Path, subject: int) -> Path:
    """Path of one subject's ratings in a FACED root (``Data/subXXX/After_remarks.mat``)."""
    return Path(root) / "Data" / f"sub{subject:03d}" / "After_remarks.mat"


def available_subjects(root: str | Path) -> list[int]:
    """Subjects that have a DE file in ``root/EEG_Features/DE``."""
    found = []
    for path in (Path(root) / "EEG_Features" / "DE").glob("sub*.pkl.pkl"):
        match = _SUBJECT_RE.match(path.name.removesuffix(".pkl.pkl"))
        if match:
            found.append(int(match.group(1)))
    return sorted(found)
