"""Group valence: one trace over several people, on the shared LSL clock.

With one stream per person, the group trace has a row every ``hop_s`` seconds of the
shared clock (ticks at whole multiples of ``hop_s``). At a tick ``T`` each person's
latest step at or before ``T`` counts when it is usable (no bad flag, calibration
complete, a finite valence: :func:`~bci_valence.online.segments.usable_mask`) and
recent (at most ``tolerance_s`` before ``T``). The row holds the mean over the people
who count, its interval across people (a t-interval with ``n - 1`` degrees of freedom;
with one person none), how many counted, and who was left out and why:

- ``waiting``: no step from that person yet;
- ``stale``: the stream is lost (its STALE step);
- ``late``: its latest step is older than ``tolerance_s`` (a stream that dropped
  without a STALE step yet, or that lags);
- ``unusable``: its window is flagged, calibrating, or has no valence.

Nobody's valence is carried forward past the tolerance or imputed: a person whose
stream drops leaves the mean, and the row says so.

:func:`group_trace` computes the rows from whole step sequences; :class:`GroupTracker`
gives the same rows live, each as soon as every stream has passed its tick (or the most
advanced one is ``tolerance_s`` past it, so a silent stream does not hold the trace
back). A step that arrives after its tick was given out, more than ``tolerance_s``
behind the other streams, is not reflected in the live rows.
"""

from __future__ import annotations

import logging
import math
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..signal.quality import QualityFlag
from .segments import t_interval, usable_mask

log = logging.getLogger(__name__)

__all__ = ["GroupRow", "GroupSettings", "GroupTracker", "group_trace", "group_row"]


@dataclass(frozen=True)
class GroupSettings:
    """Settings of the group trace.

    Parameters
    ----------
    hop_s : float
        Seconds between ticks (the pipeline's ``hop_s``).
    tolerance_s : float
        Oldest a person's latest step may be, at a tick, to count.
    level : float
        Confidence level of the interval across people.
    """

    hop_s: float = 0.25
    tolerance_s: float = 1.0
    level: float = 0.95

    def __post_init__(self) -> None:
        if not (self.hop_s > 0 and math.isfinite(self.hop_s)):
            raise ValueError(f"hop_s must be a positive number of seconds, got {self.hop_s!r}")
        if not (self.tolerance_s >= 0 and math.isfinite(self.tolerance_s)):
            raise ValueError(f"tolerance_s must be >= 0 seconds, got {self.tolerance_s!r}")
        if not 0 < self.level < 1:
            raise ValueError(f"level must be between 0 and 1, got {self.level!r}")


@dataclass(frozen=True)
class GroupRow:
    """The group at one tick.

    Attributes
    ----------
    time : float
        The tick, on the shared LSL clock.
    mean : float
        Mean valence over the people who count; NaN when nobody does.
    ci_low, ci_high : float
        Interval across people; NaN with fewer than two.
    n_streams : int
        How many people count.
    left_out : tuple of (str, str)
        ``(stream, reason)`` for every stream that does not count (``waiting``,
        ``stale``, ``late``, ``unusable``).
    """

    time: float
    mean: float
    ci_low: float
    ci_high: float
    n_streams: int
    left_out: tuple[tuple[str, str], ...] = ()


#: A step as the group sees it: timestamp, valence, usable, stale.
_Latest = tuple[float, float, bool, bool]


def group_row(time: float, latest: Mapping[str, _Latest | None], settings: GroupSettings) -> GroupRow:
    """The group row at ``time`` from each stream's latest step at or before it.

    Parameters
    ----------
    time : float
        The tick.
    latest : mapping of str to (timestamp, valence, usable, stale) | None
        Each stream's latest step at or before ``time`` (None: none yet).
    settings : GroupSettings

    Returns
    -------
    GroupRow
    """
    values = []
    left = []
    for name, step in latest.items():
        if step is None:
            left.append((name, "waiting"))
            continue
        ts, valence, usable, stale = step
        if stale:
            left.append((name, "stale"))
        elif time - ts > settings.tolerance_s:
            left.append((name, "late"))
        elif not usable:
            left.append((name, "unusable"))
        else:
            values.append(valence)
    arr = np.asarray(values, dtype=np.float64)
    if arr.size == 0:
        mean = low = high = math.nan
    else:
        mean = float(arr.mean())
        if arr.size < 2:
            low = high = math.nan
        else:
            low, high = t_interval(mean, float(arr.std(ddof=1)) / math.sqrt(arr.size), arr.size - 1, settings.level)
    return GroupRow(float(time), mean, low, high, int(arr.size), tuple(left))


def _as_latest(step: Any) -> _Latest | None:
    """A step as (timestamp, valence, usable, stale), or None without a finite timestamp."""
    ts = step.timestamp
    if ts is None or not math.isfinite(ts):
        return None
    flags = int(step.flags)
    stale = bool(flags & QualityFlag.STALE)
    usable = bool(usable_mask(np.array([flags]), np.array([step.valence]))[0])
    return float(ts), float(step.valence), usable and not stale, stale


def _tick_index(t: float, hop_s: float, up: bool) -> int:
    x = t / hop_s
    return int(math.ceil(x - 1e-9)) if up else int(math.floor(x + 1e-9))


def group_trace(
    steps: Mapping[str, Sequence[Any]], settings: GroupSettings | None = None
) -> list[GroupRow]:
    """The group trace of whole step sequences, one row per tick.

    Parameters
    ----------
    steps : mapping of str to sequence of ValenceStep
        Each person's steps, in the order the pipeline gave them (their timestamps
        increase; a STALE step repeats the last one).
    settings : GroupSettings

    Returns
    -------
    list of GroupRow
        Ticks from the first step of any stream to the last one.
    """
    settings = settings or GroupSettings()
    seqs = {name: sorted((x for x in map(_as_latest, seq) if x is not None), key=lambda x: x[0])
            for name, seq in steps.items()}  # fmt: skip
    times = [x[0] for seq in seqs.values() for x in seq]
    if not times:
        return []
    first = _tick_index(min(times), settings.hop_s, up=True)
    last = _tick_index(max(times), settings.hop_s, up=False)
    stamps = {name: np.asarray([x[0] for x in seq], dtype=np.float64) for name, seq in seqs.items()}
    rows = []
    for k in range(first, last + 1):
        tick = k * settings.hop_s
        latest: dict[str, _Latest | None] = {}
        for name, seq in seqs.items():
            i = int(np.searchsorted(stamps[name], tick + 1e-9, side="right")) - 1
            latest[name] = seq[i] if i >= 0 else None
        rows.append(group_row(tick, latest, settings))
    return rows


class GroupTracker:
    """The group trace, live: push steps as they come, get the rows that are settled.

    Ticks start at the first step received. Fed the steps in the order of their
    timestamps, it gives the rows of :func:`group_trace`.

    Parameters
    ----------
    streams : sequence of str
        Every person's stream (those that have not sent a step yet are ``waiting``).
    settings : GroupSettings
    """

    def __init__(self, streams: Sequence[str], settings: GroupSettings | None = None) -> None:
        self._settings = settings or GroupSettings()
        self._pending: dict[str, deque[_Latest]] = {name: deque() for name in streams}
        self._latest: dict[str, _Latest | None] = {name: None for name in streams}
        self._received: dict[str, _Latest | None] = {name: None for name in streams}
        self._front = -math.inf
        self._next: int | None = None

    @property
    def settings(self) -> GroupSettings:
        """The trace's settings."""
        return self._settings

    @property
    def streams(self) -> tuple[str, ...]:
        """The people's streams."""
        return tuple(self._latest)

    def push(self, steps: Iterable[Any]) -> list[GroupRow]:
        """Take new steps; return the rows they settle (possibly none)."""
        for step in steps:
            x = _as_latest(step)
            if x is None:
                continue
            name = step.stream
            if name not in self._latest:
                self._pending[name] = deque()
                self._latest[name] = None
                self._received[name] = None
            self._pending[name].append(x)
            self._received[name] = x
            self._front = max(self._front, x[0])
            if self._next is None:
                self._next = _tick_index(x[0], self._settings.hop_s, up=True)
        return self._emit(final=False)

    def flush(self) -> list[GroupRow]:
        """The remaining rows, up to the last step of any stream (at the end of a session)."""
        return self._emit(final=True)

    def _settled(self, tick: float) -> bool:
        if self._front >= tick + self._settings.tolerance_s:
            return True
        for x in self._received.values():
            if x is None or (x[0] <= tick + 1e-9 and not x[3]):
                return False
        return True

    def _emit(self, final: bool) -> list[GroupRow]:
        rows: list[GroupRow] = []
        hop = self._settings.hop_s
        while self._next is not None and self._next * hop <= self._front + 1e-9:
            tick = self._next * hop
            if not final and not self._settled(tick):
                break
            for name, queue in self._pending.items():
                while queue and queue[0][0] <= tick + 1e-9:
                    self._latest[name] = queue.popleft()
            rows.append(group_row(tick, self._latest, self._settings))
            self._next += 1
        return rows
