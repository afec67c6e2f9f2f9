"""Segments: labelled intervals of a session, and what the valence did in each of them.

A :class:`Segment` is a label with an onset and an end on the stream's timestamp clock
(LSL seconds). Segments come from a marker stream (:func:`segments_from_markers`) or
from a schedule file (:func:`read_schedule`, :func:`segments_from_schedule`).

Markers (``(timestamp, label)``, as the pipeline's marker listeners get them):

- A plain label (``joy``, ``clip 7``, ``baseline``) starts a segment that ends at the
  next plain label that differs, at a bare ``end`` marker, or at the session's end. A
  repeat of the label of the segment that is running continues it: the simulator and
  FACED-style players re-send the current class every few seconds for late joiners.
  (Two scripted segments with the same label back to back are therefore one segment.)
- ``start:LABEL`` and ``end:LABEL`` (any case) delimit a segment explicitly. Explicit
  segments may overlap each other and the plain-label ones; a ``start:`` without its
  ``end:`` ends at the session's end; an ``end:`` without a ``start:`` is ignored.

A step belongs to a segment when the centre of its 1-s window lies in the segment's
half-open interval ``[onset, end)``. The window's centre is ``timestamp - lag_s``
(:attr:`SegmentSettings.lag_s`; a step's timestamp is its newest sample, half the
feature filter's context after the window, see
:class:`~bci_valence.online.steps.ValenceStep`).

:func:`summarize_segments` is the per-segment summary: windows, usable windows (no bad
flag, calibration complete, a finite valence), the mean valence and its 95% interval,
and the difference from a baseline segment. A segment with no usable window has no
mean (NaN, written as an empty cell), never 0. :func:`summarize_group_segments` puts
several people's summaries of the same segment together, with an interval across
people. :class:`SegmentTracker` gathers steps, markers and sample times as a session
runs and gives, at any moment, the numbers these functions give on the same input.
"""

from __future__ import annotations

import csv
import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..signal.quality import BAD_FLAGS, QualityFlag

log = logging.getLogger(__name__)

__all__ = [
    "END_MARKER",
    "END_PREFIX",
    "START_PREFIX",
    "ScheduleEntry",
    "ScheduleError",
    "Segment",
    "SegmentSettings",
    "SegmentSummary",
    "SegmentTracker",
    "autocorrelation_time",
    "read_schedule",
    "segments_from_markers",
    "segments_from_schedule",
    "summarize_group_segments",
    "summarize_segments",
    "t_interval",
    "usable_mask",
    "window_arrays",
]

#: Marker prefix that opens an explicit segment (``start:baseline``).
START_PREFIX = "start:"
#: Marker prefix that closes the explicit segment of that label (``end:baseline``).
END_PREFIX = "end:"
#: A bare marker that ends the running plain-label segment.
END_MARKER = "end"

#: Flags that keep a window out of a segment's mean (bad windows and calibration).
UNUSABLE_FLAGS = BAD_FLAGS | QualityFlag.CALIBRATING


@dataclass(frozen=True)
class Segment:
    """A labelled interval ``[onset, end)`` on the stream's timestamp clock.

    Parameters
    ----------
    label : str
        What the segment is (a class, a condition, ``baseline``...).
    onset, end : float
        Timestamps (LSL seconds) of its start and end; ``end > onset``.
    """

    label: str
    onset: float
    end: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.onset) and math.isfinite(self.end) and self.end > self.onset):
            raise ValueError(
                f"segment {self.label!r}: expected finite onset < end, got onset {self.onset!r}, end {self.end!r}"
            )

    @property
    def duration(self) -> float:
        """Seconds from onset to end."""
        return self.end - self.onset

    def contains(self, t: np.ndarray | float) -> np.ndarray | bool:
        """Whether ``t`` (window centres) lies in ``[onset, end)``."""
        return (np.asarray(t) >= self.onset) & (np.asarray(t) < self.end)


@dataclass(frozen=True)
class ScheduleEntry:
    """One row of a schedule file: seconds relative to the session's first sample."""

    label: str
    onset_s: float
    duration_s: float


class ScheduleError(ValueError):
    """A schedule file cannot be read; the message names the file and the line."""


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


# ---------------------------------------------------------------------- inputs
def usable_mask(flags: np.ndarray, valence: np.ndarray) -> np.ndarray:
    """Windows whose valence a summary may use.

    Parameters
    ----------
    flags : ndarray of int
        :class:`~bci_valence.signal.quality.QualityFlag` bitmasks.
    valence : ndarray of float

    Returns
    -------
    ndarray of bool
        No bad flag (:data:`~bci_valence.signal.quality.BAD_FLAGS`), not
        ``CALIBRATING``, and a finite valence.
    """
    flags = np.asarray(flags, dtype=np.int64)
    valence = np.asarray(valence, dtype=np.float64)
    return ((flags & int(UNUSABLE_FLAGS)) == 0) & np.isfinite(valence)


def window_arrays(steps: Iterable[Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Timestamps, valences and usable mask of the windows among ``steps``.

    STALE steps (one per loss of a stream, no window behind them) and steps without a
    finite timestamp are left out.

    Parameters
    ----------
    steps : iterable of ValenceStep

    Returns
    -------
    timestamps, valence : ndarray of float
    usable : ndarray of bool
    """
    rows = [
        (float(s.timestamp), float(s.valence), int(s.flags))
        for s in steps
        if not int(s.flags) & QualityFlag.STALE and s.timestamp is not None and math.isfinite(s.timestamp)
    ]
    if not rows:
        return np.zeros(0), np.zeros(0), np.zeros(0, dtype=bool)
    t, v, f = (np.asarray(c) for c in zip(*rows))
    return t.astype(np.float64), v.astype(np.float64), usable_mask(f, v)


def segments_from_markers(markers: Iterable[tuple[float, str]], end: float) -> list[Segment]:
    """Segments delimited by markers (see the module's conventions).

    Parameters
    ----------
    markers : iterable of (float, str)
        ``(timestamp, label)``, in any order (sorted here, ties kept in order).
    end : float
        The session's end (its last sample's timestamp): where the segments that are
        still running end.

    Returns
    -------
    list of Segment
        By onset; segments of zero length (two labels at one timestamp, a marker after
        the end) are left out.
    """
    items = sorted(((float(t), str(label).strip()) for t, label in markers), key=lambda m: m[0])
    out: list[Segment] = []
    running: tuple[str, float] | None = None  # the plain-label segment
    explicit: dict[str, list[float]] = {}

    def close(label: str, onset: float, stop: float) -> None:
        stop = min(float(stop), float(end))
        if math.isfinite(onset) and stop > onset:
            out.append(Segment(label, onset, stop))

    for t, text in items:
        if not text or not math.isfinite(t):
            continue
        low = text.lower()
        if low.startswith(START_PREFIX):
            label = text[len(START_PREFIX) :].strip()
            if label:
                explicit.setdefault(label, []).append(t)
        elif low.startswith(END_PREFIX):
            label = text[len(END_PREFIX) :].strip()
            opened = explicit.get(label)
            if opened:
                close(label, opened.pop(), t)
            else:
                log.warning("marker %r at %.3f ends no open segment: ignored", text, t)
        elif low == END_MARKER:
            if running is not None:
                close(running[0], running[1], t)
                running = None
        elif running is None or running[0] != text:
            if running is not None:
                close(running[0], running[1], t)
            running = (text, t)
    if running is not None:
        close(running[0], running[1], end)
    for label, onsets in explicit.items():
        for onset in onsets:
            close(label, onset, end)
    out.sort(key=lambda s: s.onset)
    return out


def read_schedule(path: str | Path) -> tuple[ScheduleEntry, ...]:
    """Read a schedule CSV: a header with ``label,onset_s,duration_s``, one segment a row.

    Onsets are seconds from the session's first sample. Blank lines and lines starting
    with ``#`` are skipped; other columns are ignored.

    Parameters
    ----------
    path : str | Path

    Returns
    -------
    tuple of ScheduleEntry

    Raises
    ------
    ScheduleError
        The file cannot be read, lacks a column, or a row is malformed; the message
        is one line naming the file and the line.
    """
    path = Path(path).expanduser()
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as err:
        raise ScheduleError(f"{path}: cannot read the segment schedule: {err}") from err
    lines = [(i, line) for i, line in enumerate(text.splitlines(), start=1)
             if line.strip() and not line.lstrip().startswith("#")]  # fmt: skip
    if not lines:
        raise ScheduleError(f"{path}: the segment schedule is empty (expected a header label,onset_s,duration_s)")
    reader = csv.reader([line for _, line in lines])
    rows = list(reader)
    header = [h.strip().lower() for h in rows[0]]
    missing = [c for c in ("label", "onset_s", "duration_s") if c not in header]
    if missing:
        raise ScheduleError(
            f"{path}:{lines[0][0]}: the header lacks {', '.join(missing)} (expected label,onset_s,duration_s, got "
            f"{','.join(rows[0])})"
        )
    col = {c: header.index(c) for c in ("label", "onset_s", "duration_s")}
    out = []
    for (lineno, _), row in zip(lines[1:], rows[1:]):
        where = f"{path}:{lineno}"
        if len(row) <= max(col.values()):
            raise ScheduleError(f"{where}: expected label,onset_s,duration_s, got {','.join(row)!r}")
        label = row[col["label"]].strip()
        if not label:
            raise ScheduleError(f"{where}: empty label")
        values = {}
        for name in ("onset_s", "duration_s"):
            cell = row[col[name]].strip()
            try:
                values[name] = float(cell)
            except ValueError:
                raise ScheduleError(f"{where}: {name} {cell!r} is not a number") from None
            if not math.isfinite(values[name]):
                raise ScheduleError(f"{where}: {name} {cell!r} is not a finite number")
        if values["onset_s"] < 0:
            raise ScheduleError(f"{where}: onset_s {values['onset_s']:g} is negative (seconds from the first sample)")
        if values["duration_s"] <= 0:
            raise ScheduleError(f"{where}: duration_s {values['duration_s']:g} must be > 0")
        out.append(ScheduleEntry(label, values["onset_s"], values["duration_s"]))
    if not out:
        raise ScheduleError(f"{path}: the segment schedule has a header but no segment")
    return tuple(out)


def segments_from_schedule(entries: Iterable[ScheduleEntry], origin: float) -> list[Segment]:
    """The schedule's segments on the timestamp clock.

    Parameters
    ----------
    entries : iterable of ScheduleEntry
    origin : float
        Timestamp of the session's first sample (onsets are relative to it).

    Returns
    -------
    list of Segment
        By onset.
    """
    out = [Segment(e.label, origin + e.onset_s, origin + e.onset_s + e.duration_s) for e in entries]
    out.sort(key=lambda s: s.onset)
    return out


# ---------------------------------------------------------------------- statistics
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
    out = []
    for i, (seg, m, (bt, bv)) in enumerate(zip(segments, members, blocks)):
        mean, se, n_eff, df = stats_[i]
        low, high = t_interval(mean, se, df, settings.level)
        diff = diff_low = diff_high = math.nan
        note = ""
        if bv.size == 0:
            note = "no usable window"
        elif math.isnan(low):
            note = f"no interval: fewer than 2 independent windows ({n_eff:.1f})"
        if base is not None and i == base:
            note = "; ".join(x for x in ("baseline", note) if x)
        elif base is not None and bv.size:
            bmean, bse, _, bdf = stats_[base]
            if math.isfinite(bmean):
                diff = mean - bmean
                se_d, df_d = _welch(se, df, bse, bdf)
                diff_low, diff_high = t_interval(diff, se_d, df_d, settings.level)
        out.append(
            SegmentSummary(
                stream=stream, label=seg.label, onset=seg.onset, onset_s=seg.onset - origin,
                duration_s=seg.duration, n_windows=int(m.sum()), n_usable=int(bv.size),
                mean=mean, ci_low=low, ci_high=high, n_effective=float(n_eff),
                n_people=1 if bv.size else 0, diff=diff, diff_low=diff_low, diff_high=diff_high,
                note=note, se=se, df=df,
            )
        )  # fmt: skip
    return out


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


# ---------------------------------------------------------------------- live
class SegmentTracker:
    """Segments and their summaries while a session runs.

    Feed it the steps (:meth:`add_steps`), each stream's markers (:meth:`add_markers`)
    and the timestamps of the raw samples (:meth:`add_samples`: the first gives the
    schedule's origin, the last the session's end); :meth:`summaries` gives, at any
    moment, what :func:`summarize_segments` and :func:`summarize_group_segments` give
    on the same input.

    Parameters
    ----------
    settings : SegmentSettings
    schedule : sequence of ScheduleEntry | None
        Segments from a schedule file; None takes them from each stream's markers.
    """

    def __init__(self, settings: SegmentSettings | None = None, schedule: Sequence[ScheduleEntry] | None = None):
        self._settings = settings or SegmentSettings()
        self._schedule = tuple(schedule) if schedule is not None else None
        self._steps: dict[str, list[tuple[float, float, bool]]] = {}
        self._markers: dict[str, list[tuple[float, str]]] = {}
        self._first: dict[str, float] = {}
        self._last: dict[str, float] = {}

    @property
    def settings(self) -> SegmentSettings:
        """The summaries' settings."""
        return self._settings

    @property
    def schedule(self) -> tuple[ScheduleEntry, ...] | None:
        """The schedule, or None when segments come from markers."""
        return self._schedule

    @property
    def streams(self) -> tuple[str, ...]:
        """Streams seen so far, in order of appearance."""
        names = dict.fromkeys([*self._first, *self._steps, *self._markers])
        return tuple(names)

    def add_samples(self, stream: str, timestamps: np.ndarray) -> None:
        """Note the timestamps of a chunk of raw samples (their first and last)."""
        ts = np.asarray(timestamps, dtype=np.float64).reshape(-1)
        ts = ts[np.isfinite(ts)]
        if ts.size == 0:
            return
        self._first.setdefault(stream, float(ts.min()))
        self._first[stream] = min(self._first[stream], float(ts.min()))
        self._last[stream] = max(self._last.get(stream, -math.inf), float(ts.max()))
        self._steps.setdefault(stream, [])

    def add_markers(self, stream: str, markers: Iterable[tuple[float, str]]) -> None:
        """Keep a batch of ``(timestamp, label)`` markers of ``stream``."""
        self._markers.setdefault(stream, []).extend((float(t), str(label)) for t, label in markers)
        self._steps.setdefault(stream, [])

    def add_steps(self, steps: Iterable[Any]) -> None:
        """Keep the windows among ``steps`` (STALE steps are no windows)."""
        for s in steps:
            rows = self._steps.setdefault(s.stream, [])
            flags = int(s.flags)
            if flags & QualityFlag.STALE or s.timestamp is None or not math.isfinite(s.timestamp):
                continue
            valence = float(s.valence)
            usable = not flags & int(UNUSABLE_FLAGS) and math.isfinite(valence)
            rows.append((float(s.timestamp), valence, usable))

    def arrays(self, stream: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Timestamps, valences and usable mask of the windows of ``stream`` so far."""
        rows = self._steps.get(stream, [])
        if not rows:
            return np.zeros(0), np.zeros(0), np.zeros(0, dtype=bool)
        t, v, ok = zip(*rows)
        return np.asarray(t), np.asarray(v), np.asarray(ok, dtype=bool)

    @property
    def origin(self) -> float | None:
        """The session's first sample: the earliest first sample of any stream (else the
        earliest window's timestamp); None before anything came."""
        if self._first:
            return min(self._first.values())
        firsts = [rows[0][0] for rows in self._steps.values() if rows]
        return min(firsts) if firsts else None

    def end(self, stream: str) -> float | None:
        """The stream's last sample (else its last window's timestamp), or None."""
        if stream in self._last:
            return self._last[stream]
        rows = self._steps.get(stream)
        return max(r[0] for r in rows) if rows else None

    def markers(self, stream: str) -> list[tuple[float, str]]:
        """The markers of ``stream`` so far."""
        return list(self._markers.get(stream, []))

    def segments(self, stream: str) -> list[Segment]:
        """The segments of ``stream`` so far (from the schedule, else its markers)."""
        if self._schedule is not None:
            origin = self.origin
            return [] if origin is None else segments_from_schedule(self._schedule, origin)
        end = self.end(stream)
        return [] if end is None else segments_from_markers(self._markers.get(stream, []), end)

    def summaries(self) -> list[SegmentSummary]:
        """Every stream's segment summaries, then (with several streams) the group's."""
        per_stream: dict[str, list[SegmentSummary]] = {}
        origin = self.origin
        for name in self.streams:
            t, v, ok = self.arrays(name)
            per_stream[name] = summarize_segments(
                self.segments(name), t, v, ok, self._settings, stream=name, origin=origin
            )
        out = [s for rows in per_stream.values() for s in rows]
        if len(per_stream) > 1:
            out += summarize_group_segments(per_stream, self._settings)
        return out
