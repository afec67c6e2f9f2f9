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
people. Both, with their settings and result (:class:`SegmentSettings`,
:class:`SegmentSummary`), live in :mod:`bci_valence.online.segment_stats` and are
re-exported here. :class:`SegmentTracker` gathers steps, markers and sample times as a session
runs and gives, at any moment, the numbers these functions give on the same input.
"""

from __future__ import annotations

import csv
import logging
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..signal.quality import BAD_FLAGS, QualityFlag
from .segment_stats import (
    SegmentSettings,
    SegmentSummary,
    autocorrelation_time,
    summarize_group_segments,
    summarize_segments,
    t_interval,
)

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
