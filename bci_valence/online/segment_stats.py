"""Statistics of segments: each one's mean valence, its interval and the group's.

:func:`summarize_segments` is the per-segment summary of one stream: windows, usable
windows, the mean valence and its 95% interval (an effective-n interval that accounts
for the windows' autocorrelation, :func:`autocorrelation_time`), and the difference
from a baseline segment. :func:`summarize_group_segments` puts several people's
summaries of the same segment together, with an interval across people. The segments
themselves, and the live tracker, are in :mod:`bci_valence.online.segments`, which
re-exports everything public here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .segments import Segment

__all__ = [
    "SegmentSettings",
    "SegmentSummary",
    "autocorrelation_time",
    "summarize_group_segments",
    "summarize_segments",
    "t_interval",
]


@dataclass(frozen=True)
class SegmentSettings:
    """How steps are put into segments and summarized.

    Parameters
    ----------
    hop_s : float
        Seconds between steps (the pipeline's ``hop_s``): lags of the autocorrelation
        are counted in hops.
    window_s : float
        Length of the DE window (the bundle's ``window_s``).
    average : int
        Windows averaged into each valence (the pipeline's ``valence_average``).
        Windows ``window_s`` long every ``hop_s``, averaged ``average`` at a time, share
        signal, so the autocorrelation time is never taken to be below what that
        overlap alone gives (:attr:`min_tau`).
    lag_s : float
        Seconds from a step's timestamp back to the centre of the signal behind its
        valence (half the pipeline's ``WindowCounts.window_s``, feature context
        included, plus half the averaging span); 0 assigns steps by their timestamps.
    level : float
        Confidence level of the intervals.
    baseline : str | None
        Label of the baseline segment: the first segment with this label is the
        reference of the ``diff`` columns.
    max_lag_s : float
        Longest lag of the autocorrelation estimate.
    """

    hop_s: float = 0.25
    window_s: float = 1.0
    average: int = 1
    lag_s: float = 0.0
    level: float = 0.95
    baseline: str | None = None
    max_lag_s: float = 60.0

    def __post_init__(self) -> None:
        if not (self.hop_s > 0 and math.isfinite(self.hop_s)):
            raise ValueError(f"hop_s must be a positive number of seconds, got {self.hop_s!r}")
        if not (self.window_s > 0 and math.isfinite(self.window_s)):
            raise ValueError(f"window_s must be a positive number of seconds, got {self.window_s!r}")
        if int(self.average) != self.average or self.average < 1:
            raise ValueError(f"average must be a whole number of windows >= 1, got {self.average!r}")
        if not (self.lag_s >= 0 and math.isfinite(self.lag_s)):
            raise ValueError(f"lag_s must be >= 0 seconds, got {self.lag_s!r}")
        if not 0 < self.level < 1:
            raise ValueError(f"level must be between 0 and 1, got {self.level!r}")
        if not self.max_lag_s > 0:
            raise ValueError(f"max_lag_s must be > 0, got {self.max_lag_s!r}")

    @property
    def min_tau(self) -> float:
        """Smallest autocorrelation time in hops: what the overlap of the windows (and of
        their average) gives on its own, for a signal whose hop-long pieces are
        independent: ``(sum w)**2 / sum w**2`` of the weights ``w`` each piece has in a
        valence (``window_s / hop_s`` for single windows)."""
        pieces = max(1, int(round(self.window_s / self.hop_s)))
        w = np.convolve(np.ones(pieces), np.ones(int(self.average)))
        return float(max(1.0, w.sum() ** 2 / np.sum(w**2)))


@dataclass(frozen=True)
class SegmentSummary:
    """What the valence did in one segment, for one person (``stream``) or a group.

    Attributes
    ----------
    stream : str
        The stream (one person), or ``group`` for a summary across people.
    label : str
    onset : float
        Timestamp (LSL seconds) of the segment's start.
    onset_s : float
        Seconds from the session's first sample to the onset.
    duration_s : float
    n_windows : int
        Windows whose centre lies in the segment.
    n_usable : int
        Of them, windows without a bad flag, after calibration, with a finite valence.
    mean : float
        Mean valence of the usable windows (of the people's means for a group); NaN
        when there is none.
    ci_low, ci_high : float
        The interval at the settings' level; NaN when it cannot be given (too few
        independent windows, fewer than two people).
    n_effective : float
        Usable windows divided by the autocorrelation time (people for a group).
    n_people : int
        People with at least one usable window in the segment.
    diff, diff_low, diff_high : float
        Mean minus the baseline segment's mean, and its interval; NaN when there is no
        baseline, for the baseline itself, or when either has no usable window.
    note : str
        Why a number is missing (``no usable window``...), ``baseline`` for the
        baseline segment; empty otherwise.
    se, df : float
        Standard error of ``mean`` and the degrees of freedom of its interval (NaN
        where there is no interval; not set for a group).
    """

    stream: str
    label: str
    onset: float
    onset_s: float
    duration_s: float
    n_windows: int
    n_usable: int
    mean: float = math.nan
    ci_low: float = math.nan
    ci_high: float = math.nan
    n_effective: float = 0.0
    n_people: int = 0
    diff: float = math.nan
    diff_low: float = math.nan
    diff_high: float = math.nan
    note: str = ""
    se: float = field(default=math.nan, repr=False)
    df: float = field(default=math.nan, repr=False)


def t_interval(mean: float, se: float, df: float, level: float = 0.95) -> tuple[float, float]:
    """``mean ± t(df) se`` at ``level``; NaNs when ``se`` or ``df`` cannot give one."""
    from scipy import stats

    if not (math.isfinite(mean) and math.isfinite(se) and math.isfinite(df) and df >= 1):
        return math.nan, math.nan
    q = float(stats.t.ppf(0.5 + level / 2, df))
    return mean - q * se, mean + q * se


def _grid(t: np.ndarray, v: np.ndarray, hop_s: float) -> np.ndarray:
    """Values on the hop grid (NaN where a window is missing); consecutive when the
    timestamps do not fit the grid."""
    k = np.rint((t - t[0]) / hop_s).astype(np.int64)
    if k.size and (np.any(np.diff(k) <= 0) or k[-1] >= 1_000_000):
        return v.copy()  # timestamps off the hop grid: take the windows as consecutive
    out = np.full(int(k[-1]) + 1 if k.size else 0, np.nan)
    out[k] = v
    return out


def autocorrelation_time(
    blocks: Sequence[tuple[np.ndarray, np.ndarray]], settings: SegmentSettings
) -> float:
    """Integrated autocorrelation time (in hops) of the valence within segments.

    Each block (a segment's usable windows: timestamps and valences) is centred on its
    own mean, so differences between segments do not count as autocorrelation. The
    autocovariances of all blocks are pooled (the time is a property of the stream and
    the windowing, better estimated from the whole session than from one short
    segment), summed with Geyer's initial positive sequence, corrected for the bias
    that centring on short blocks leaves (each lag's autocovariance is low by about
    ``var * tau / n``), and never taken below the windows' overlap
    (:attr:`SegmentSettings.min_tau`).

    Parameters
    ----------
    blocks : sequence of (ndarray, ndarray)
        Timestamps and valences of each segment's usable windows.
    settings : SegmentSettings

    Returns
    -------
    float
        ``tau``: ``n`` usable windows hold about ``n / tau`` independent ones.
    """
    max_lag = max(1, int(round(settings.max_lag_s / settings.hop_s)))
    acov = np.zeros(max_lag + 1)
    n_total = 0
    n_blocks = 0
    for t, v in blocks:
        if v.size < 2:
            continue
        x = _grid(np.asarray(t, dtype=np.float64), np.asarray(v, dtype=np.float64), settings.hop_s)
        finite = np.isfinite(x)
        x = np.where(finite, x - np.nanmean(x), 0.0)
        nfft = 1 << int(math.ceil(math.log2(2 * x.size)))
        f = np.fft.rfft(x, nfft)
        ac = np.fft.irfft(f * np.conj(f), nfft)[: min(max_lag, x.size - 1) + 1]
        acov[: ac.size] += ac
        n_total += int(finite.sum())
        n_blocks += 1
    if n_blocks == 0 or acov[0] <= 0:
        return settings.min_tau
    rho = acov / acov[0]
    total, last = 0.0, 0
    for k in range(0, max_lag, 2):  # Geyer: pairs rho[2m] + rho[2m+1] while positive
        pair = rho[k] + rho[k + 1]
        if pair <= 0:
            break
        total += pair
        last = k + 1
    tau = max(2.0 * total - 1.0, 1.0)
    n_bar = n_total / n_blocks
    shrink = 1.0 - (2 * last + 1 - tau) / n_bar
    tau = tau / shrink if shrink > 0 else math.inf
    return max(tau, settings.min_tau)


def _mean_se(v: np.ndarray, tau: float) -> tuple[float, float, float, float]:
    """Mean, standard error, effective n and degrees of freedom of correlated windows."""
    n = v.size
    mean = float(v.mean())
    n_eff = n / tau
    if n_eff < 2 or n <= tau:
        return mean, math.nan, n_eff, math.nan
    ss = float(np.sum((v - mean) ** 2))
    var = ss / (n - tau)  # E[sum of squares] = var (n - tau) for correlated windows
    return mean, math.sqrt(var / n_eff), n_eff, n_eff - 1.0

def summarize_segments(
    segments: Sequence[Segment],
    timestamps: np.ndarray,
    valence: np.ndarray,
    usable: np.ndarray,
    settings: SegmentSettings | None = None,
    *,
    stream: str = "",
    origin: float | None = None,
) -> list[SegmentSummary]:
    """Per-segment summary of one stream's windows.

    The interval is ``mean ± t(n_eff - 1) se`` with an effective number of windows
    ``n_eff = n_usable / tau``. Windows 1 s long every 0.25 s share signal (neighbours
    3/4 of it) and EEG band power drifts, so the windows are far from independent: the
    naive ``sd / sqrt(n)`` is about half too narrow. ``tau`` is the integrated
    autocorrelation time (:func:`autocorrelation_time`), pooled over the stream's
    segments. An effective-n standard error was chosen over a moving-block bootstrap
    because segments are short (a 6-s segment holds 24 windows, too few blocks of a
    length that spans the correlation for a bootstrap to resample), because it extends
    to the difference from the baseline by adding variances, and because it is
    deterministic, so live, replayed and offline summaries agree to the last digit. On
    AR(1) data seen through overlapping windows its coverage is close to 95% for
    segments of 20 s and more; for shorter segments with strong drift it is lower.
    With fewer than two independent windows' worth there is no interval.

    Parameters
    ----------
    segments : sequence of Segment
    timestamps, valence : ndarray (n,)
        Every window's timestamp (its newest sample) and valence (STALE steps left
        out, see :func:`window_arrays`).
    usable : ndarray (n,) of bool
        Windows a summary may use (:func:`usable_mask`).
    settings : SegmentSettings
    stream : str
        Name written in the summaries.
    origin : float | None
        The session's first sample (for ``onset_s``); default the first timestamp.

    Returns
    -------
    list of SegmentSummary
        One per segment, in the order given.
    """
    settings = settings or SegmentSettings()
    t = np.asarray(timestamps, dtype=np.float64)
    v = np.asarray(valence, dtype=np.float64)
    ok = np.asarray(usable, dtype=bool) & np.isfinite(v)
    if not (t.shape == v.shape == ok.shape):
        raise ValueError(f"timestamps, valence and usable differ in shape: {t.shape}, {v.shape}, {ok.shape}")
    if origin is None:
        origin = float(t.min()) if t.size else 0.0
    centre = t - settings.lag_s
    order = np.argsort(centre, kind="stable")
    centre, v, ok = centre[order], v[order], ok[order]
    members = [seg.contains(centre) for seg in segments]
    blocks = [(centre[m & ok], v[m & ok]) for m in members]
    tau = autocorrelation_time(blocks, settings)
    stats_ = [_mean_se(b[1], tau) if b[1].size else (math.nan, math.nan, 0.0, math.nan) for b in blocks]
    base = _baseline_index(segments, settings.baseline)
    base_stats = None if base is None else stats_[base]
    return [
        _segment_summary(seg, int(m.sum()), int(bv.size), stats_[i], base_stats, i == base, settings,
                         stream=stream, origin=origin)
        for i, (seg, m, (_, bv)) in enumerate(zip(segments, members, blocks))
    ]  # fmt: skip


def _segment_summary(
    seg: Segment,
    n_windows: int,
    n_usable: int,
    stats: tuple[float, float, float, float],
    base_stats: tuple[float, float, float, float] | None,
    is_baseline: bool,
    settings: SegmentSettings,
    *,
    stream: str,
    origin: float,
) -> SegmentSummary:
    """One segment's summary from its ``(mean, se, n_eff, df)``; ``base_stats`` are the
    baseline segment's (None without a baseline), for the difference from it."""
    mean, se, n_eff, df = stats
    low, high = t_interval(mean, se, df, settings.level)
    diff = diff_low = diff_high = math.nan
    note = ""
    if n_usable == 0:
        note = "no usable window"
    elif math.isnan(low):
        note = f"no interval: fewer than 2 independent windows ({n_eff:.1f})"
    if is_baseline:
        note = "; ".join(x for x in ("baseline", note) if x)
    elif base_stats is not None and n_usable:
        bmean, bse, _, bdf = base_stats
        if math.isfinite(bmean):
            diff = mean - bmean
            se_d, df_d = _welch(se, df, bse, bdf)
            diff_low, diff_high = t_interval(diff, se_d, df_d, settings.level)
    return SegmentSummary(
        stream=stream, label=seg.label, onset=seg.onset, onset_s=seg.onset - origin,
        duration_s=seg.duration, n_windows=n_windows, n_usable=n_usable,
        mean=mean, ci_low=low, ci_high=high, n_effective=float(n_eff),
        n_people=1 if n_usable else 0, diff=diff, diff_low=diff_low, diff_high=diff_high,
        note=note, se=se, df=df,
    )  # fmt: skip


def _baseline_index(segments: Sequence[Segment], label: str | None) -> int | None:
    """Index of the first segment labelled ``label`` (by onset), or None."""
    if label is None:
        return None
    hits = [i for i, s in enumerate(segments) if s.label == label]
    return min(hits, key=lambda i: segments[i].onset) if hits else None


def _welch(se_a: float, df_a: float, se_b: float, df_b: float) -> tuple[float, float]:
    """Standard error and Welch-Satterthwaite degrees of freedom of a difference."""
    if not all(math.isfinite(x) for x in (se_a, df_a, se_b, df_b)):
        return math.nan, math.nan
    va, vb = se_a**2, se_b**2
    se = math.sqrt(va + vb)
    if se == 0:
        return 0.0, min(df_a, df_b)
    return se, (va + vb) ** 2 / (va**2 / df_a + vb**2 / df_b)


def summarize_group_segments(
    per_stream: Mapping[str, Sequence[SegmentSummary]], settings: SegmentSettings | None = None
) -> list[SegmentSummary]:
    """Each segment across people: the mean of their means and an interval across people.

    The k-th segment labelled ``X`` of each stream is taken to be the same segment
    (everyone saw the same stimuli; their markers differ by the streams' latencies).
    The interval is a t-interval over the people's means (``n_people - 1`` degrees of
    freedom); with one person there is none. The difference from the baseline is the
    mean over people of each person's difference, with its t-interval.

    Parameters
    ----------
    per_stream : mapping of str to sequence of SegmentSummary
        Each person's summaries (:func:`summarize_segments`).
    settings : SegmentSettings

    Returns
    -------
    list of SegmentSummary
        Stream ``group``, by onset: onset is the earliest person's, the duration spans
        them all, windows are summed over people.
    """
    settings = settings or SegmentSettings()
    groups: dict[tuple[str, int], list[SegmentSummary]] = {}
    for summaries in per_stream.values():
        seen: dict[str, int] = {}
        for s in sorted(summaries, key=lambda s: s.onset):
            k = seen.get(s.label, 0)
            seen[s.label] = k + 1
            groups.setdefault((s.label, k), []).append(s)
    out = []
    for (label, _), items in groups.items():
        means = np.array([s.mean for s in items if math.isfinite(s.mean)])
        diffs = np.array([s.diff for s in items if math.isfinite(s.diff)])
        mean, low, high = _across(means, settings.level)
        diff, diff_low, diff_high = _across(diffs, settings.level)
        first = min(items, key=lambda s: s.onset)
        end = max(s.onset + s.duration_s for s in items)
        note = ""
        if means.size == 0:
            note = "no usable window"
        elif means.size == 1:
            note = "no interval: one person"
        if any(s.note.startswith("baseline") for s in items):
            note = "; ".join(x for x in ("baseline", note) if x)
        out.append(
            SegmentSummary(
                stream="group", label=label, onset=first.onset, onset_s=first.onset_s,
                duration_s=end - first.onset, n_windows=sum(s.n_windows for s in items),
                n_usable=sum(s.n_usable for s in items), mean=mean, ci_low=low, ci_high=high,
                n_effective=float(means.size), n_people=int(means.size), diff=diff, diff_low=diff_low,
                diff_high=diff_high, note=note,
            )
        )  # fmt: skip
    out.sort(key=lambda s: s.onset)
    return out


def _across(values: np.ndarray, level: float) -> tuple[float, float, float]:
    """Mean and t-interval of independent values (people); NaNs where there are too few."""
    if values.size == 0:
        return math.nan, math.nan, math.nan
    mean = float(values.mean())
    if values.size < 2:
        return mean, math.nan, math.nan
    se = float(values.std(ddof=1)) / math.sqrt(values.size)
    low, high = t_interval(mean, se, values.size - 1, level)
    return mean, low, high
