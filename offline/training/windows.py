"""The samples of the recipe: per-subject standardization and the 10-s windows.

A sample is a 10-s window: 10 consecutive 1-s DE vectors (10 × 32 × 5); three
non-overlapping windows per clip (seconds 0–9, 10–19, 20–29 of the clip's last 30 s).
"""

from __future__ import annotations

import numpy as np

__all__ = ["CLIP_SECONDS", "N_WINDOWS", "SEQ_LEN", "make_windows", "standardize_subjects"]


#: 10-s windows per clip.
N_WINDOWS = 3

#: 1-s DE vectors per window.
SEQ_LEN = 10

#: Seconds of DE features per FACED clip.
CLIP_SECONDS = 30



def standardize_subjects(de: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Per-subject z-score from each subject's own unlabeled features.

    Parameters
    ----------
    de : ndarray, shape (n_sub, 28, 32, 30, 5)
        FACED DE as loaded (subject, clip, channel, second, band).
    eps : float
        Added to the standard deviation (as :class:`RunningStandardizer`).

    Returns
    -------
    ndarray, float32, shape (n_sub, 28, 30, 32, 5)
        (subject, clip, second, channel, band), each channel × band z-scored over all
        of the subject's 840 1-s vectors; equal to
        :class:`bci_valence.signal.normalization.RunningStandardizer` fed the same vectors.
    """
    de = np.asarray(de)
    if de.ndim != 5:
        raise ValueError(f"DE of shape {de.shape}, expected (n_sub, 28, 32, 30, 5)")
    x = np.ascontiguousarray(de.transpose(0, 1, 3, 2, 4), dtype=np.float64)
    mean = x.mean(axis=(1, 2), keepdims=True)
    std = x.std(axis=(1, 2), keepdims=True) + eps
    return ((x - mean) / std).astype(np.float32)



def make_windows(z: np.ndarray, labels: np.ndarray) -> dict[str, np.ndarray]:
    """The evaluation samples: three non-overlapping 10-s windows per clip.

    Parameters
    ----------
    z : ndarray (n_sub, 28, 30, 32, 5)
        Standardized features from :func:`standardize_subjects`.
    labels : ndarray (28,)
        Class index per clip.

    Returns
    -------
    dict with ``x (n, 10, 32, 5)``, ``y (n,)``, ``clip (n,)``, ``subject (n,)``
    (subject = position in ``z``), ``window (n,)``.
    """
    n_sub, n_clips = z.shape[:2]
    x = z.reshape(n_sub, n_clips, N_WINDOWS, SEQ_LEN, *z.shape[3:]).reshape(-1, SEQ_LEN, *z.shape[3:])
    grid = np.meshgrid(np.arange(n_sub), np.arange(n_clips), np.arange(N_WINDOWS), indexing="ij")
    subject, clip, window = (g.reshape(-1) for g in grid)
    return {
        "x": x,
        "y": np.asarray(labels)[clip],
        "clip": clip,
        "subject": subject,
        "window": window,
    }

