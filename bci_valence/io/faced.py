"""FACED loader: the official per-second DE features, self-report ratings and labels.

FACED (Chen et al. 2023, Scientific Data) ships per-subject differential-entropy
features as pickled numpy arrays (``EEG_Features/DE/subXXX.pkl.pkl``, shape
``(28 clips, 32 channels, 30 s, 5 bands)``) and the ratings as a MATLAB struct array
(``Data/subXXX/After_remarks.mat``). The pickles are read with a restricted unpickler
that accepts nothing but a plain numpy array, so a tampered file cannot run code.

This module loads whole subject sets (:func:`load_faced`) and says where the release
is (:func:`default_faced_root`); the readers of each file live beside it
(:mod:`~bci_valence.io.faced_de`, :mod:`~bci_valence.io.faced_ratings`, and the
release's layout in :mod:`~bci_valence.io.faced_layout`) and their public names are
re-exported here, the import path callers use.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..constants import (
    CLIP_LABELS,
    CLIP_MEAN_VALENCE,
    CLIP_VALENCE_GROUP,
    EMOTION_CLASSES,
    N_CLIPS,
)
from .faced_de import DE_SHAPE, FACED_DE_CHANNELS, load_de
from .faced_layout import (
    FacedFormatError,
    available_subjects,
    de_path,
    format_subjects,
    parse_subjects,
    ratings_path,
)
from .faced_ratings import (
    RATING_ITEMS,
    VALENCE_ITEM,
    SubjectInfo,
    class_mean_valence,
    load_ratings,
    load_recording_info,
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

