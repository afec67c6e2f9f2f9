"""One stream's signal path from raw chunks to windows due for features (pure arrays, no device work)."""

from __future__ import annotations

import logging
import math
import time
from collections import deque
from dataclasses import replace
from typing import Sequence

import numpy as np

from ..signal.buffer import RingBuffer
from ..signal.preprocessing import (
    CausalFilter,
    Resampler,
    ResamplerSettings,
    common_average_reference,
)
from ..signal.montage import ChannelMappingError, map_channels
from ..signal.quality import QualityFlag, assess_window, undersampled
from ..signal.timing import ClockHealth, StreamClock, TimedRun
from ..signal.window_timing import WindowTiming
from .settings import PipelineSettings
from .steps import DueWindow

log = logging.getLogger(__name__)

__all__ = ['MAX_HELD_FRACTION', 'StreamProcessor']

#: A window whose raw input is non-finite (NaN/Inf, held at the last finite value for
#: the filters) for more than this fraction has no signal behind it: no valence.
MAX_HELD_FRACTION = 0.05


class StreamProcessor:
    """One stream's signal path from raw chunks to due windows (no device work).

    Parameters
    ----------
    name : str
        Stream name.
    sfreq : float
        Stream's nominal rate.
    ch_names : sequence of str
        Stream's labels (after any ``--channels`` relabelling).
    settings : PipelineSettings
    target_channels : sequence of str
        The model's channels (the bundle's order).
    timing : WindowTiming
        Where windows end on the processed stream: the model's rate, the hop in samples
        and the feature's window and filter context (each window is
        ``context + window`` samples). Made once by the pipeline
        (:meth:`~bci_valence.signal.de.BandFilterBank.window_timing`).
    unit : str | None
        The source's unit (``"V"`` when it states volts); used when
        ``settings.stream.units`` is ``"auto"``.
    ch_types : sequence of str | None
        The stream's channel types when known (trigger, EOG... channels are left out).
    top_hz : float | None
        The highest frequency the features need (the top band's upper edge; default
        the band-pass's upper edge). A stream whose Nyquist frequency is below it
        cannot carry that band: :attr:`undersampled` is True and every window is
        flagged ``UNDERSAMPLED``.

    Raises
    ------
    bci_valence.signal.montage.ChannelMappingError
        When fewer than ``settings.stream.min_channels`` can be placed.
    """

    def __init__(
        self,
        name: str,
        sfreq: float,
        ch_names: Sequence[str],
        settings: PipelineSettings,
        target_channels: Sequence[str],
        timing: WindowTiming,
        unit: str | None = None,
        ch_types: Sequence[str] | None = None,
        top_hz: float | None = None,
    ) -> None:
        if not sfreq or sfreq <= 0:
            raise ValueError(f"stream {name!r} has no regular sampling rate ({sfreq})")
        self.name = name
        self.sfreq = float(sfreq)
        self.settings = settings
        self._timing = timing
        self.top_hz = float(top_hz if top_hz is not None else settings.filter.bandpass[1])
        self.undersampled = undersampled(self.sfreq, self.top_hz)
        if self.undersampled:
            log.warning("stream %r: %s", name, self.rate_problem)
        types = list(ch_types) if ch_types is not None and len(ch_types) == len(ch_names) else None
        self._ch_names, self._ch_types, self._targets = list(ch_names), types, tuple(target_channels)
        self.mapping = map_channels(
            list(ch_names), tuple(target_channels), min_channels=settings.stream.min_channels, ch_types=types
        )
        used = np.flatnonzero(np.abs(self.mapping.matrix).sum(axis=0) > 0)
        self.picks = used  # source channels that feed the model
        self.matrix = self.mapping.matrix[:, used]
        self.n_src = len(used)
        self.n_target = self.matrix.shape[0]
        self.clock = StreamClock(self.sfreq, settings.stream.timing)
        self.raw = RingBuffer(
            self.n_src,
            max(int(math.ceil(settings.stream.buffer_s * self.sfreq)), int(self.n_input * self.sfreq / self.target_sfreq) + 1024),
        )
        proc_cap = max(int(math.ceil(settings.stream.buffer_s * self.target_sfreq)), self.n_input + 512)
        # filtered source channels: the montage is applied per window, so a channel that is
        # dead for a window is interpolated for that window only
        self.proc = RingBuffer(self.n_src, proc_cap, dtype=np.float32)
        self._without: dict[frozenset[int], np.ndarray | None] = {}  # montage with channels left out
        self.resampler = Resampler(ResamplerSettings(self.sfreq, self.target_sfreq), self.n_src)
        self.filter = CausalFilter(
            replace(settings.filter, sfreq=self.target_sfreq, notch_hz=settings.filter.notch_hz or None),
            self.n_src,
        )
        # a unit the stream states wins; --units speaks only for streams that say nothing
        self.scale: float | None = 1e6 if unit == "V" else {"uV": 1.0, "V": 1e6}.get(settings.stream.units)
        if unit == "V" and settings.stream.units not in ("auto", "V"):
            log.warning("stream %r states its unit (volts): units=%s is not applied to it", name, settings.stream.units)
        self.segment = -1
        self._hold = np.zeros(self.n_src)
        self._arrivals: deque[tuple[int, float]] = deque()
        self._mapping_keys: dict[frozenset[int], int] = {frozenset(): 0}
        self._held = np.empty((self.n_src, 0))  # samples the clock has not settled yet
        self._held_arrivals: deque[tuple[int, float]] = deque()  # (end index, arrival) per chunk
        self._new_segment(first=True)

    @property
    def window_timing(self) -> WindowTiming:
        """Where this stream's windows end (rate, hop in samples, window, context)."""
        return self._timing

    @property
    def target_sfreq(self) -> float:
        """The processed (model's) rate, Hz."""
        return self._timing.sfreq

    @property
    def context_samples(self) -> int:
        """Filter context around each window, in processed samples."""
        return int(self._timing.context_samples)

    @property
    def window_samples(self) -> int:
        """Samples of the window the feature describes."""
        return int(self._timing.window_samples)

    @property
    def n_input(self) -> int:
        """Samples each due window holds: context and window."""
        return self._timing.n_input

    @property
    def rate_problem(self) -> str | None:
        """Why the stream's rate cannot carry the bands, or None when it can."""
        if not self.undersampled:
            return None
        return (
            f"its rate ({self.sfreq:g} Hz) cannot carry the features' top band (up to "
            f"{self.top_hz:g} Hz needs more than {2 * self.top_hz:g} Hz): every window is "
            "flagged UNDERSAMPLED"
        )

    # ------------------------------------------------------------------ segments
    def _new_segment(self, first: bool = False) -> None:
        self.segment += 1
        self.resampler.reset()
        self.filter.reset()
        self.seg_raw_start = self.raw.pushed
        self.seg_proc_start = self.proc.pushed
        self._win_count = 0
        self._restarted = not first

    def reset(self) -> None:
        """Restart the signal state (after a long gap or a reconnection)."""
        self._new_segment()

    def _next_end(self) -> int:
        return self.seg_proc_start + self._timing.window_end(self._win_count)

    def _raw_index(self, proc_index: np.ndarray | int) -> np.ndarray | int:
        """Absolute raw index of the newest input behind processed sample(s)."""
        return self.seg_raw_start + self.resampler.source_index(
            np.asarray(proc_index) - self.seg_proc_start
        )

    # ------------------------------------------------------------------ input
    def push(
        self, data: np.ndarray, timestamps: np.ndarray, arrival: float | None = None,
        lost_before: np.ndarray | None = None,
    ) -> list[DueWindow]:
        """Process one chunk ``(n_source_channels, n)``; returns the windows now due.

        ``lost_before``: samples a packet counter says were lost before each sample
        (see :meth:`~bci_valence.signal.timing.StreamClock.push`).
        """
        data = np.asarray(data)
        timestamps = np.asarray(timestamps, dtype=np.float64).reshape(-1)
        if data.ndim != 2 or data.shape[0] != len(self.mapping.source_names):
            raise ValueError(
                f"stream {self.name!r}: chunk has shape {data.shape}, expected "
                f"({len(self.mapping.source_names)}, n)"
            )
        if data.shape[1] == 0:
            return []
        arrival = time.perf_counter() if arrival is None else arrival
        x = np.asarray(data[self.picks], dtype=np.float64)
        if self.scale is None:
            with np.errstate(all="ignore"):
                level = np.nanmedian(np.abs(x[np.isfinite(x)])) if np.isfinite(x).any() else np.nan
            if np.isfinite(level) and level > 0:
                self.scale = 1e6 if level < 1e-2 else 1.0
                log.info("stream %r: units taken as %s", self.name, "V" if self.scale != 1 else "uV")
        x = x * (self.scale or 1.0)
        self._held = np.concatenate((self._held, x), axis=1) if self._held.shape[1] else x
        self._held_arrivals.append((self.clock.received + x.shape[1], arrival))
        return self._take(self.clock.push(timestamps, lost_before))

    def flush(self) -> list[DueWindow]:
        """Settle the samples the clock still holds (the stream ended or was lost)."""
        return self._take(self.clock.flush())

    @property
    def timing(self) -> ClockHealth:
        """The stream's timing: effective rate, jitter, gaps (see :class:`ClockHealth`)."""
        return self.clock.health()

    def _take(self, runs: list[TimedRun]) -> list[DueWindow]:
        """Push the settled runs through the signal path; a long gap or a restart
        starts a new segment so that no window straddles it."""
        out: list[DueWindow] = []
        for run in runs:
            n = run.n_samples
            x, self._held = self._held[:, :n], self._held[:, n:]
            end = run.start + n
            while len(self._held_arrivals) > 1 and self._held_arrivals[0][0] < end:
                self._held_arrivals.popleft()
            arrival = self._held_arrivals[0][1]
            gap = run.gap
            if gap is not None and (gap.backwards or gap.duration > self.clock.settings.restart_gap_s):
                self._new_segment()
            out.extend(self._push_segment(x, run.timestamps, arrival))
        return out

    def _push_segment(self, x: np.ndarray, ts: np.ndarray, arrival: float) -> list[DueWindow]:
        # a long chunk goes in pieces, so each window is cut before the ring buffers
        # overwrite its samples
        room = (self.proc.capacity - self.n_input - 8) * self.sfreq / self.target_sfreq
        piece = max(1, min(int(room), self.raw.capacity - 8))
        if x.shape[1] > piece:
            due = []
            for i in range(0, x.shape[1], piece):
                due.extend(self._push_piece(x[:, i : i + piece], ts[i : i + piece], arrival))
            return due
        return self._push_piece(x, ts, arrival)

    def _push_piece(self, x: np.ndarray, ts: np.ndarray, arrival: float) -> list[DueWindow]:
        self.raw.push(x, ts)
        # non-finite samples: hold the last finite value so the IIR state survives (the raw
        # buffer keeps them as they came: windows judge each channel from it)
        finite = np.isfinite(x)
        if not finite.all():
            x = x.copy()
            for c in np.flatnonzero(~finite.all(axis=1)):
                row = x[c]
                bad = ~np.isfinite(row)
                idx = np.where(~bad, np.arange(row.size), -1)
                np.maximum.accumulate(idx, out=idx)
                filled = np.where(idx >= 0, row[np.maximum(idx, 0)], self._hold[c])
                x[c] = filled
        self._hold = x[:, -1].copy()
        n_in_before = self.resampler.n_in
        y = self.resampler.process(x)
        if y.shape[1] == 0:
            return []
        k = np.arange(self.resampler.n_out - y.shape[1], self.resampler.n_out)
        src = self.resampler.source_index(k) - n_in_before
        out_ts = ts[src]
        y = self.filter.process(y)
        self.proc.push(y.astype(np.float32), out_ts)
        self._arrivals.append((self.proc.pushed, arrival))
        if len(self._arrivals) > 4096:  # no window for a long time (restarting segments)
            self._arrivals.popleft()
        due = []
        while self._next_end() <= self.proc.pushed:
            end = self._next_end()
            due.append(self._make_window(end))
            self._win_count += 1
            while len(self._arrivals) > 1 and self._arrivals[0][0] < end:
                self._arrivals.popleft()
        return due

    def _arrival_of(self, end: int) -> float:
        for idx, t in self._arrivals:
            if idx >= end:
                return t
        return self._arrivals[-1][1] if self._arrivals else time.perf_counter()

    def _montage_without(self, bad: frozenset[int]) -> np.ndarray | None:
        """The montage matrix (model channels × picks) with the ``bad`` picks left out and
        interpolated; None when too few channels would remain. Cached per set."""
        if bad not in self._without:
            names = list(self._ch_names)
            for k in bad:
                names[int(self.picks[k])] = ""
            try:
                mapping = map_channels(names, self._targets, min_channels=self.settings.stream.min_channels,
                                       ch_types=self._ch_types)  # fmt: skip
            except ChannelMappingError:
                self._without[bad] = None
            else:
                self._without[bad] = mapping.matrix[:, self.picks]
            if len(self._without) > 64:  # a flickering channel must not grow it without bound
                self._without.pop(next(iter(self._without)))
        return self._without[bad]

    def _bad_channels(self, raw_full: np.ndarray, raw_core: np.ndarray) -> frozenset[int]:
        """Picks with no signal for this window: non-finite for more than
        :data:`MAX_HELD_FRACTION` of its input, or flat over its 1-s core."""
        finite = np.isfinite(raw_full)
        bad = (~finite).mean(axis=1) > MAX_HELD_FRACTION if raw_full.shape[1] else np.zeros(self.n_src, bool)
        if raw_core.shape[1]:
            finite_core = np.where(np.isfinite(raw_core), raw_core, np.nan)  # Inf counts as no value
            with np.errstate(invalid="ignore"):
                ptp = np.nanmax(finite_core, axis=1, initial=-np.inf) - np.nanmin(finite_core, axis=1, initial=np.inf)
            bad |= ~(ptp >= self.settings.quality.flat_uv)
        return frozenset(int(k) for k in np.flatnonzero(bad))

    def _make_window(self, end: int) -> DueWindow:
        start = end - self.n_input
        filtered, times = self.proc.get(start, end, copy=False)
        flags = QualityFlag.NONE
        # raw spans (delay-compensated) of the whole input and of the 1-s core
        delay = int(math.ceil(self.resampler.delay_in))
        core_start = end - self.context_samples // 2 - self.window_samples
        core_end = end - self.context_samples // 2
        r_full0 = max(self.seg_raw_start, int(self._raw_index(start)) - delay)
        r_full1 = int(self._raw_index(end - 1)) + 1
        r_core0 = max(self.seg_raw_start, int(self._raw_index(core_start)) - delay)
        r_core1 = max(r_core0 + 1, int(self._raw_index(core_end - 1)) - delay + 1)
        r_full0 = max(r_full0, self.raw.first_index)
        r_core0 = max(r_core0, self.raw.first_index)
        for g in reversed(self.clock.gaps):
            if g.index <= r_full0:
                break
            if g.index < r_full1 and g.index > self.seg_raw_start:
                flags |= QualityFlag.GAP
                break
        if self._restarted and self._win_count == 0:
            flags |= QualityFlag.GAP
        raw_full, _ = self.raw.get(r_full0, min(r_full1, self.raw.pushed), copy=False)
        raw_core, _ = self.raw.get(r_core0, min(r_core1, self.raw.pushed), copy=False)
        bad = self._bad_channels(raw_full, raw_core)
        matrix = self.matrix
        if bad and len(bad) < self.n_src:
            without = self._montage_without(bad)
            if without is not None:  # the dead channels are interpolated for this window
                matrix = without
                flags |= QualityFlag.BAD_CHANNEL | QualityFlag.INTERPOLATED
                good = np.setdiff1d(np.arange(self.n_src), sorted(bad))
                raw_full, raw_core = raw_full[good], raw_core[good]
            else:
                bad = frozenset()
        else:
            bad = frozenset()
        nonfinite = ~np.isfinite(raw_full)
        held = int(nonfinite.any(axis=0).sum())
        if held:
            flags |= QualityFlag.NONFINITE
        data = common_average_reference(matrix @ filtered).astype(np.float32)
        core = data[:, core_start - start : core_end - start]
        flags |= assess_window(raw_core, core, self.settings.quality)
        if self.mapping.interpolated:
            flags |= QualityFlag.INTERPOLATED
        if self.undersampled:
            flags |= QualityFlag.UNDERSAMPLED
        return DueWindow(
            data=data,
            timestamp=float(times[-1]),
            end=end,
            segment=self.segment,
            flags=flags,
            arrival=self._arrival_of(end),
            held_fraction=held / max(1, r_full1 - r_full0),
            montage=self._mapping_keys.setdefault(bad, len(self._mapping_keys)),
            window_timing=self._timing,
        )

    # ------------------------------------------------------------------ display
    def latest(self, seconds: float) -> tuple[np.ndarray, np.ndarray]:
        """Newest processed (filtered, mapped, re-referenced) signal, µV."""
        n = int(round(seconds * self.target_sfreq))
        filtered, times = self.proc.latest(n)
        return common_average_reference(self.matrix @ filtered).astype(np.float32), times
