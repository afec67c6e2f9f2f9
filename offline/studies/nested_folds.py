"""Folds and per-subject standardisation of :mod:`offline.studies.nested_unseen`.

Subjects are split into folds of consecutive subjects (:func:`subject_folds`); in each
clip fold the features are z-scored per subject either over all seconds or over the
fold's training clips only (:func:`fold_features`, :func:`standardize_from`), and frontal
alpha asymmetry is centred the same way (:func:`fai_centred`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["STANDARDISATIONS", "fai_centred", "fold_features", "standardize_from", "subject_folds", "train_clips"]

#: The per-subject standardisations compared (see the module docstring).
STANDARDISATIONS: dict[str, str] = {
    "all": "mean and SD over all of a subject's 840 seconds, the predicted clips' included",
    "disjoint": "mean and SD over the clip fold's training clips only, never the predicted clip's seconds",
}


def standardize_from(de: np.ndarray, clips: Sequence[int] | np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Per-subject z-score of every clip with the statistics of ``clips``' seconds only.

    The same as :func:`offline.training.standardize_subjects` (which takes every
    clip's seconds) except where the mean and SD come from.

    Parameters
    ----------
    de : ndarray (n_sub, n_clips, 32, 30, 5)
        DE as loaded.
    clips : sequence of int
        The clips whose seconds give each subject's mean and SD.
    eps : float

    Returns
    -------
    ndarray, float32 (n_sub, n_clips, 30, 32, 5)
    """
    de = np.asarray(de)
    if de.ndim != 5:
        raise ValueError(f"DE of shape {de.shape}, expected (n_sub, n_clips, 32, 30, 5)")
    clips = np.asarray(clips, dtype=int)
    if not len(clips):
        raise ValueError("no clips to take the statistics from")
    x = np.ascontiguousarray(de.transpose(0, 1, 3, 2, 4), dtype=np.float64)
    mean = x[:, clips].mean(axis=(1, 2), keepdims=True)
    std = x[:, clips].std(axis=(1, 2), keepdims=True) + eps
    return ((x - mean) / std).astype(np.float32)


def fai_centred(de: np.ndarray, clips: Sequence[int] | np.ndarray) -> np.ndarray:
    """Frontal alpha asymmetry of every second, centred per subject on ``clips``' seconds.

    :func:`offline.training.metrics.frontal_alpha_asymmetry` uncentred, minus each
    subject's mean over the seconds of ``clips``.

    Returns
    -------
    ndarray (n_sub, n_clips, 30)
    """
    from offline.training.metrics import frontal_alpha_asymmetry

    fai = frontal_alpha_asymmetry(de, center=False)
    return fai - fai[:, np.asarray(clips, dtype=int)].mean(axis=(1, 2), keepdims=True)


def train_clips(test: np.ndarray, n_clips: int) -> np.ndarray:
    """The clips of ``range(n_clips)`` not in ``test``."""
    return np.setdiff1d(np.arange(n_clips), test)


def fold_features(de: np.ndarray, test_sets: Sequence[np.ndarray], mode: str) -> list[np.ndarray]:
    """The standardized features each clip fold fits and predicts on.

    Parameters
    ----------
    de : ndarray (n_sub, n_clips, 32, 30, 5)
    test_sets : sequence of ndarray of int
        The clips each fold predicts.
    mode : {"all", "disjoint"}
        ``all``: one array for every fold, standardized over all seconds
        (:func:`offline.training.standardize_subjects`); ``disjoint``: fold ``k``'s
        array standardized over the seconds of the clips not in ``test_sets[k]``.

    Returns
    -------
    list of ndarray (n_sub, n_clips, 30, 32, 5), one per fold
    """
    from offline.training import standardize_subjects

    if mode == "all":
        z = standardize_subjects(de)
        return [z] * len(test_sets)
    if mode == "disjoint":
        return [standardize_from(de, train_clips(np.asarray(t), de.shape[1])) for t in test_sets]
    raise ValueError(f"unknown standardisation {mode!r}; choose from {list(STANDARDISATIONS)}")


def subject_folds(n: int, n_folds: int) -> list[np.ndarray]:
    """``n_folds`` folds of consecutive positions ``0..n-1`` (sizes differ by at most one)."""
    if not 2 <= n_folds <= n:
        raise ValueError(f"{n_folds} folds of {n} subjects: expected 2 to {n} folds")
    return [np.asarray(f, dtype=int) for f in np.array_split(np.arange(n), n_folds)]
