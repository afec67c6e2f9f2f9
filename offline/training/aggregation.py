"""How much is enough: valence AUC as seconds per stimulus and people per group grow.

One person's valence on one 10-s window of content the model never saw separates
positive from negative stimuli only weakly; evidence accumulates with time on a
stimulus and with the number of people watching it. This measures that on FACED with
the same code the live product uses: each person's windows of a clip are summarized as
a segment (:func:`bci_valence.online.segments.summarize_segments`), and a group's
segment is the mean over its people (:func:`~bci_valence.online.segments.
summarize_group_segments`). Groups are drawn from the evaluated subjects (with
replacement), and clips are resampled within their valence group, so each interval says
how the figure varies with who watches and what is watched.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from bci_valence.online.segments import (
    Segment,
    SegmentSettings,
    SegmentSummary,
    summarize_group_segments,
    summarize_segments,
)

from .metrics import binary_auc

__all__ = ["SECONDS", "GROUP_SIZES", "aggregation_curve", "clip_segment_means"]

#: Seconds per stimulus (FACED's windows are 10 s; a clip holds 30 s).
SECONDS: tuple[int, ...] = (10, 20, 30)
#: People per group.
GROUP_SIZES: tuple[int, ...] = (1, 2, 5, 10, 20)
WINDOW_S = 10.0


def clip_segment_means(valence: np.ndarray, seconds: int) -> np.ndarray:
    """Each subject's mean valence over the first ``seconds`` of each clip, as the live
    segment summary computes it.

    Parameters
    ----------
    valence : ndarray (n_sub, n_clips, n_windows)
        One value per 10-s window.
    seconds : int
        A multiple of 10, at most ``10 * n_windows``.

    Returns
    -------
    ndarray (n_sub, n_clips)
    """
    valence = np.asarray(valence, dtype=np.float64)
    n_sub, n_clips, n_windows = valence.shape
    k = int(seconds // WINDOW_S)
    if k < 1 or k > n_windows or seconds % WINDOW_S:
        raise ValueError(f"seconds must be a multiple of 10 up to {10 * n_windows}, got {seconds}")
    span = WINDOW_S * n_windows
    # each clip a segment of the stream, its windows stamped at their ends and placed by
    # their centres (lag_s), as the live summary places steps
    segments = [Segment(f"clip{c + 1}", c * span, c * span + seconds) for c in range(n_clips)]
    stamps = (np.arange(n_clips)[:, None] * span + (np.arange(n_windows)[None, :] + 1) * WINDOW_S).ravel()
    settings = SegmentSettings(hop_s=WINDOW_S, window_s=WINDOW_S, lag_s=WINDOW_S / 2)
    out = np.empty((n_sub, n_clips))
    for s in range(n_sub):
        summaries = summarize_segments(segments, stamps, valence[s].ravel(), np.ones(stamps.size, bool), settings)
        out[s] = [x.mean for x in sorted(summaries, key=lambda x: x.onset)]
    return out


def aggregation_curve(
    valence: np.ndarray,
    valence_group: np.ndarray,
    *,
    seconds: Sequence[int] = SECONDS,
    group_sizes: Sequence[int] = GROUP_SIZES,
    n_resamples: int = 200,
    seed: int = 0,
) -> list[dict[str, Any]]:
    """Positive-vs-negative AUC of group segment means, by seconds and group size.

    Parameters
    ----------
    valence : ndarray (n_sub, n_clips, n_windows)
        Valence per 10-s window (the unseen-clips protocol's predictions).
    valence_group : ndarray (n_clips,)
        -1, 0, +1 per clip (neutral clips are left out).
    seconds, group_sizes : sequences of int
        The grid (group sizes above the number of subjects are skipped).
    n_resamples : int
        Groups (and clip sets) drawn per cell.
    seed : int

    Returns
    -------
    list of dict
        ``{seconds, group_size, valence_auc, ci95, ci95_over, n_resamples}``: the mean AUC
        over resamples and its 2.5-97.5 percentile interval.
    """
    group = np.asarray(valence_group)
    positive, negative = np.flatnonzero(group > 0), np.flatnonzero(group < 0)
    n_sub = valence.shape[0]
    rng = np.random.default_rng(seed)
    out = []
    for sec in seconds:
        means = clip_segment_means(valence, int(sec))
        for size in group_sizes:
            if size > n_sub:
                continue
            aucs = np.empty(n_resamples)
            labels = np.r_[np.ones(positive.size, bool), np.zeros(negative.size, bool)]
            for r in range(n_resamples):
                people = rng.choice(n_sub, size=int(size), replace=True)
                clips = np.r_[rng.choice(positive, positive.size), rng.choice(negative, negative.size)]
                # each drawn clip a segment (position j) of every person; the group's
                # segment is the mean over its people, as live
                per_person = {
                    f"p{k}": [_segment(j, means[p, c]) for j, c in enumerate(clips)] for k, p in enumerate(people)
                }
                scores = np.array([g.mean for g in summarize_group_segments(per_person)])  # by onset: j order
                aucs[r] = binary_auc(scores, labels)
            out.append({
                "seconds": int(sec), "group_size": int(size),
                "valence_auc": round(float(aucs.mean()), 4),
                "ci95": [round(float(np.percentile(aucs, 2.5)), 4), round(float(np.percentile(aucs, 97.5)), 4)],
                "ci95_over": ["people", "clips"], "n_resamples": int(n_resamples),
            })  # fmt: skip
    return out


def _segment(position: int, mean: float) -> SegmentSummary:
    """A person's summary of one drawn clip (what :func:`summarize_segments` gave)."""
    return SegmentSummary(stream="", label=f"s{position}", onset=float(position), onset_s=float(position),
                          duration_s=1.0, n_windows=1, n_usable=1, mean=float(mean))
