"""One stream's clock: smoothed timestamps, effective rate and gaps from evidence.

Real devices stamp samples imperfectly: liblsl stamps a chunk on arrival and back-dates
its samples by the nominal period, Bluetooth delivers late and in bursts, clocks drift
and a board sold as 250 Hz delivers 249.6 Hz. A timestamp is a measurement with noise,
not a fact. :class:`StreamClock` owns time for one stream: it fits a line through the
lower envelope of the (sample index, timestamp) pairs (late stamps lie above it, never
below), follows the stream's effective rate, gives every sample a smoothed timestamp on
that line, and declares a gap only when the sample count and the clock disagree by more
than the stream's own jitter *for long enough that lateness cannot explain it*: samples
stamped later than the tolerance are held back until a sample on time shows they were
only late, or until ``hold_s`` of them show the stream really lost samples. A clock that
jumps back by more than ``restart_gap_s`` is a restarted device.

The clock is pure (timestamps in, decisions out); :class:`~bci_valence.online.processor.
StreamProcessor` holds the samples it has not released yet.

The other half of time, where windows end on the processed stream, is
:class:`~bci_valence.signal.window_timing.WindowTiming`.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np

from .buffer import Gap

__all__ = ["ClockHealth", "StreamClock", "TimedRun", "TimingSettings"]

@dataclass(frozen=True)
class TimingSettings:
    """How a stream's timestamps are read.

    Parameters
    ----------
    tolerance_min_s : float
        Least disagreement between sample count and clock counted as a gap, on top of
        1.5 sample periods (s). The working tolerance is learned from the stream's jitter.
    tolerance_quantile : float
        Quantile of the stream's own lateness (stamps above the fitted clock) that
        late samples may reach without being suspected of following a gap.
    warmup_s : float
        Seconds of samples before the learned tolerance is trusted; until then it is at
        least ``warmup_tolerance_s``.
    warmup_tolerance_s : float
        Tolerance while the jitter is not known yet (s).
    hold_s : float
        Seconds of samples that must all be late before their lateness counts as lost
        samples (a gap). Until then they are held back (latency, never a false gap).
    fit_s : float
        Span of the clock fit (s): long enough to average jitter, short enough to follow
        drift.
    block_s : float
        The lower envelope is sampled once per block of this length (s).
    restart_gap_s : float
        A gap longer than this, or a clock that jumps back by more, restarts the
        stream's signal state (no window straddles it).
    """

    tolerance_min_s: float = 0.002
    tolerance_quantile: float = 0.75
    warmup_s: float = 3.0
    warmup_tolerance_s: float = 0.05
    hold_s: float = 1.0
    fit_s: float = 30.0
    block_s: float = 0.25
    restart_gap_s: float = 1.0

    def __post_init__(self) -> None:
        for name in ("hold_s", "fit_s", "block_s", "restart_gap_s"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"timing setting {name} must be a positive number of seconds, got {value!r}")
        for name in ("tolerance_min_s", "warmup_s", "warmup_tolerance_s"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"timing setting {name} must be >= 0 seconds, got {value!r}")
        if not 0 < self.tolerance_quantile < 1:
            raise ValueError(f"tolerance_quantile must be in (0, 1), got {self.tolerance_quantile!r}")


@dataclass(frozen=True)
class TimedRun:
    """Consecutive samples the clock has settled.

    Attributes
    ----------
    start : int
        Absolute index (samples received before it) of the run's first sample.
    timestamps : ndarray, shape (n,)
        Smoothed timestamps (strictly increasing within a clock epoch).
    gap : Gap | None
        The gap (or restart) just before the run's first sample.
    """

    start: int
    timestamps: np.ndarray
    gap: Gap | None = None

    @property
    def n_samples(self) -> int:
        """Number of samples in the run."""
        return int(self.timestamps.shape[0])


@dataclass(frozen=True)
class ClockHealth:
    """What a stream's timing looks like, for status lines and logs.

    Attributes
    ----------
    nominal_rate : float
        The rate the stream declares (Hz).
    effective_rate : float
        The rate its samples actually arrive at on this machine's clock (Hz).
    jitter_ms : float
        95th percentile of how late samples are stamped above the fitted clock (ms).
    tolerance_ms : float
        Disagreement between sample count and clock counted as a gap (ms).
    gaps : int
        Gaps and restarts found.
    lost_samples : int
        Samples estimated missing from all gaps.
    held : int
        Samples held back now, waiting for evidence.
    """

    nominal_rate: float
    effective_rate: float
    jitter_ms: float
    tolerance_ms: float
    gaps: int
    lost_samples: int
    held: int

    @property
    def drift_ppm(self) -> float:
        """Relative difference of the effective rate from the nominal one (ppm)."""
        return (self.effective_rate / self.nominal_rate - 1.0) * 1e6

    def describe(self) -> str:
        """One line: ``249.60 Hz (−1600 ppm), jitter 12.0 ms, 0 gaps``."""
        return (
            f"{self.effective_rate:.2f} Hz ({self.drift_ppm:+.0f} ppm), jitter {self.jitter_ms:.1f} ms, "
            f"{self.gaps} gaps, {self.lost_samples} lost"
        )

    def to_dict(self) -> dict:
        """JSON-able values (for CSV descriptions and benchmarks)."""
        return {
            "nominal_rate": self.nominal_rate,
            "effective_rate": round(self.effective_rate, 4),
            "drift_ppm": round(self.drift_ppm, 1),
            "jitter_ms": round(self.jitter_ms, 3),
            "tolerance_ms": round(self.tolerance_ms, 3),
            "gaps": self.gaps,
            "lost_samples": self.lost_samples,
        }


class StreamClock:
    """The timing model of one stream (see the module's docstring).

    Parameters
    ----------
    sfreq : float
        Nominal sampling rate (Hz).
    settings : TimingSettings
    max_gaps : int
        How many recent :class:`Gap` records are kept (counters cover all).
    """

    def __init__(self, sfreq: float, settings: TimingSettings | None = None, *, max_gaps: int = 1000) -> None:
        if not (math.isfinite(sfreq) and sfreq > 0):
            raise ValueError(f"a stream clock needs a positive nominal rate, got {sfreq!r}")
        self._settings = settings or TimingSettings()
        self._nominal = float(sfreq)
        self._period0 = 1.0 / self._nominal
        self._received = 0  # absolute index of the next sample to arrive
        self._released = 0  # absolute index of the next sample to settle
        self._pending = np.empty(0)
        self._carry: Gap | None = None  # a gap found before samples that are still held
        self.gaps: deque[Gap] = deque(maxlen=max_gaps)  #: the latest gaps found, oldest first
        self._n_gaps = 0
        self._missing = 0
        block = max(1, int(round(self._settings.block_s * self._nominal)))
        self._block = block
        self._n_points = max(4, int(round(self._settings.fit_s / self._settings.block_s)))
        n_excess = max(64, int(round(10.0 * self._nominal)))
        self._excess = np.zeros(n_excess)
        self._n_excess = 0
        self._hold = max(1, int(round(self._settings.hold_s * self._nominal)))
        self._warmup = int(round(self._settings.warmup_s * self._nominal))
        self._restart_epoch(None)

    # ------------------------------------------------------------------ state
    def _restart_epoch(self, t0: float | None) -> None:
        """Forget the fitted line: the next sample starts a new clock epoch."""
        self._epoch_index = self._released
        self._shift = 0  # samples missing inside this epoch
        self._slope = self._period0
        self._intercept = t0
        self._points_v: deque[float] = deque(maxlen=self._n_points)
        self._points_t: deque[float] = deque(maxlen=self._n_points)
        self._block_best: tuple[float, float, float] | None = None
        self._block_fill = 0
        self._epoch_samples = 0
        self._last_out: float | None = None
        self._tolerance = self._tolerance_now()

    @property
    def settings(self) -> TimingSettings:
        """The settings the clock was made with."""
        return self._settings

    @property
    def nominal_rate(self) -> float:
        """The rate the stream declares (Hz)."""
        return self._nominal

    @property
    def effective_rate(self) -> float:
        """The rate samples actually arrive at, on the receiving clock (Hz)."""
        return 1.0 / self._slope

    @property
    def tolerance(self) -> float:
        """Disagreement between sample count and clock (s) beyond which samples are suspect."""
        return self._tolerance

    @property
    def held(self) -> int:
        """Samples received and not settled yet."""
        return self._received - self._released

    @property
    def received(self) -> int:
        """Samples received in total."""
        return self._received

    @property
    def n_gaps(self) -> int:
        """Gaps and restarts found in total."""
        return self._n_gaps

    @property
    def missing_samples(self) -> int:
        """Samples estimated lost from all forward gaps."""
        return self._missing

    @property
    def jitter(self) -> float:
        """95th percentile of lateness above the fitted clock over the last seconds (s)."""
        if self._n_excess == 0:
            return 0.0
        n = min(self._n_excess, self._excess.shape[0])
        return float(max(0.0, np.quantile(self._excess[:n], 0.95)))

    def health(self) -> ClockHealth:
        """The stream's timing, as a :class:`ClockHealth`."""
        return ClockHealth(
            nominal_rate=self._nominal,
            effective_rate=self.effective_rate,
            jitter_ms=1e3 * self.jitter,
            tolerance_ms=1e3 * self._tolerance,
            gaps=self._n_gaps,
            lost_samples=self._missing,
            held=self.held,
        )

    # ------------------------------------------------------------------ input
    def push(self, timestamps: np.ndarray, lost_before: np.ndarray | None = None) -> list[TimedRun]:
        """Take the raw timestamps of newly received samples; return what is settled.

        Parameters
        ----------
        timestamps : ndarray, shape (n,)
            Timestamps as the source stamped them, in arrival order.
        lost_before : ndarray of int, shape (n,), optional
            Samples a device's packet counter says were lost just before each sample.
            A counted loss is a gap at once, whatever the timestamps say; the samples
            held before it were late, not lost.

        Returns
        -------
        list of TimedRun
            Runs of settled samples, in order, each with the gap before it (if any).
            Samples not in a run yet are held until evidence settles them.
        """
        ts = np.asarray(timestamps, dtype=np.float64).reshape(-1)
        if lost_before is None:
            return self._push(ts)
        lost = np.asarray(lost_before).reshape(-1)
        if lost.shape != ts.shape:
            raise ValueError(f"{ts.size} timestamps but {lost.size} packet-counter values")
        runs: list[TimedRun] = []
        start = 0
        for k in np.flatnonzero(lost > 0):
            runs += self._push(ts[start:k])
            runs += self._settle(force=True)
            if self._last_out is not None:  # a loss before the first sample is no gap
                self._carry = self._record_gap(int(lost[k]))
            start = int(k)
        return runs + self._push(ts[start:])

    def _push(self, ts: np.ndarray) -> list[TimedRun]:
        if ts.size == 0:
            return []
        if not np.isfinite(ts).all():  # a stamp that is no measurement: one period after the last
            ts = ts.copy()
            last = self._pending[-1] if self._pending.size else (self._last_out if self._last_out is not None else 0.0)
            for k in np.flatnonzero(~np.isfinite(ts)):
                ts[k] = (ts[k - 1] if k else last) + self._slope
        self._pending = np.concatenate((self._pending, ts)) if self._pending.size else ts.copy()
        self._received += ts.size
        return self._settle(force=False)

    def flush(self) -> list[TimedRun]:
        """Settle every held sample now (the stream ended or was lost).

        Samples held for less than ``hold_s`` are settled as late, not as after a gap:
        there is no evidence either way, and a false gap costs more than a missed one
        at the very end of a stream.
        """
        return self._settle(force=True)

    # ------------------------------------------------------------------ decisions
    def _virtual(self, start: int, n: int) -> np.ndarray:
        """Positions on the epoch's clock of ``n`` samples from absolute index ``start``."""
        return (start - self._epoch_index + self._shift) + np.arange(n, dtype=np.float64)

    def _line(self, v: np.ndarray) -> np.ndarray:
        return self._intercept + self._slope * v

    def _settle(self, *, force: bool) -> list[TimedRun]:
        runs: list[TimedRun] = []
        gap, self._carry = self._carry, None
        restart_s = self._settings.restart_gap_s
        while self._pending.size:
            if self._intercept is None:
                self._intercept = float(self._pending[0])
            v = self._virtual(self._released, self._pending.size)
            excess = self._pending - self._line(v)
            back = np.flatnonzero(excess < -restart_s)
            if back.size and back[0] == 0:
                gap = self._record_restart(float(self._pending[0]))
                continue
            limit = int(back[0]) if back.size else self._pending.size
            low = np.flatnonzero(excess[:limit] <= self._tolerance)
            if low.size:
                runs.append(self._release(int(low[-1]) + 1, gap))
                gap = None
                continue
            if back.size:  # late samples just before a restart: nothing to gain by holding them
                runs.append(self._release(limit, gap))
                gap = None
                continue
            if limit < self._hold:
                if force:  # too few to tell lateness from loss: settle them as late, no gap
                    runs.append(self._release(limit, gap))
                    gap = None
                    continue
                break
            # every held sample is late, for longer than lateness explains: a gap
            at, missing = self._locate_gap(excess[:limit])
            if at:
                runs.append(self._release(at, gap))
            gap = self._record_gap(missing)
        if gap is not None:  # a gap whose next samples are still held: the next run carries it
            self._carry = gap
        return runs

    def _locate_gap(self, excess: np.ndarray) -> tuple[int, int]:
        """Where the held samples' lateness steps up for good, and by how many samples."""
        suffix_min = np.minimum.accumulate(excess[::-1])[::-1]
        steps = np.diff(np.concatenate(([0.0], suffix_min)))
        at = int(np.argmax(steps)) if excess.size > 1 else 0
        missing = max(1, int(round(suffix_min[at] / self._slope)))
        return at, missing

    def _record_gap(self, missing: int) -> Gap:
        t_before = self._last_out if self._last_out is not None else float(self._pending[0])
        self._shift += missing
        t_after = float(self._line(self._virtual(self._released, 1))[0])
        gap = Gap(self._released, t_before, t_after, missing)
        self.gaps.append(gap)
        self._n_gaps += 1
        self._missing += missing
        return gap

    def _record_restart(self, t_new: float) -> Gap:
        t_before = self._last_out if self._last_out is not None else t_new
        gap = Gap(self._released, t_before, t_new, 0)
        self.gaps.append(gap)
        self._n_gaps += 1
        self._restart_epoch(t_new)
        return gap

    def _release(self, n: int, gap: Gap | None) -> TimedRun:
        """Settle the first ``n`` held samples on the current line; learn from them."""
        start = self._released
        raw = self._pending[:n]
        v = self._virtual(start, n)
        line = self._line(v)
        self._learn(v, raw, raw - line)
        out = self._line(v)  # the line may have moved while learning
        if self._last_out is not None and out[0] <= self._last_out:
            step = 0.5 * self._slope
            out = np.maximum(out, self._last_out + step * np.arange(1, n + 1))
        self._last_out = float(out[-1])
        self._pending = self._pending[n:]
        self._released += n
        return TimedRun(start, out, gap)

    # ------------------------------------------------------------------ learning
    def _learn(self, v: np.ndarray, t: np.ndarray, excess: np.ndarray) -> None:
        k = excess.shape[0]
        if k >= self._excess.shape[0]:
            self._excess[:] = excess[-self._excess.shape[0] :]
        else:
            pos = self._n_excess % self._excess.shape[0]
            first = min(k, self._excess.shape[0] - pos)
            self._excess[pos : pos + first] = excess[:first]
            self._excess[: k - first] = excess[first:]
        self._n_excess += k
        self._epoch_samples += k
        i = 0
        while i < k:
            take = min(k - i, self._block - self._block_fill)
            j = i + int(np.argmin(excess[i : i + take]))
            best = (float(excess[j]), float(v[j]), float(t[j]))
            if self._block_best is None or best[0] < self._block_best[0]:
                self._block_best = best
            self._block_fill += take
            i += take
            if self._block_fill >= self._block:
                self._close_block()
        if len(self._points_v) < 2:  # the first block: anchor the line on the lowest stamp yet
            if self._block_best is not None:
                _, bv, bt = self._block_best
                self._intercept = min(self._intercept, bt - self._slope * bv)

    def _close_block(self) -> None:
        assert self._block_best is not None
        lowest, bv, bt = self._block_best
        self._block_best = None
        self._block_fill = 0
        if lowest <= self._tolerance:  # a block whose every sample came late says nothing of the clock
            self._points_v.append(bv)
            self._points_t.append(bt)
            self._refit()
        self._tolerance = self._tolerance_now()

    def _refit(self) -> None:
        """Slope by least squares over the envelope points (shrunk to the nominal period
        while their span is short); intercept from the lowest of the latest points."""
        v = np.asarray(self._points_v)
        t = np.asarray(self._points_t)
        if v.size >= 2:
            x = v - v.mean()
            y = t - self._period0 * v
            y = y - y.mean()
            prior = v.size * (2.0 * self._nominal) ** 2 / 12.0  # as if a 2-s span were seen
            slope = self._period0 + float(x @ y) / (float(x @ x) + prior)
            self._slope = float(np.clip(slope, 0.95 * self._period0, 1.05 * self._period0))
        recent = max(2, int(round(2.0 / self._settings.block_s)))
        self._intercept = float(np.min(t[-recent:] - self._slope * v[-recent:]))

    def _tolerance_now(self) -> float:
        tol = max(1.5 * self._slope, self._settings.tolerance_min_s)
        n = min(self._n_excess, self._excess.shape[0])
        if n:
            tol = max(tol, float(np.quantile(self._excess[:n], self._settings.tolerance_quantile)))
        if self._epoch_samples < self._warmup:
            tol = max(tol, self._settings.warmup_tolerance_s)
        return tol
