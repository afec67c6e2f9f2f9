"""Ring buffer of multichannel samples with their LSL timestamps.

Samples are stored in arrival order, never reordered, with an absolute sample
index (the number of samples pushed before them), so a consumer can ask for any
range still held and know exactly what was overwritten. Gaps are found from the
timestamp deltas against the nominal sampling period.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

__all__ = ["Gap", "RingBuffer"]


@dataclass(frozen=True)
class Gap:
    """A discontinuity found between two consecutive samples.

    Attributes
    ----------
    index : int
        Absolute index of the first sample after the gap.
    t_before, t_after : float
        Timestamps of the samples on either side.
    missing : int
        Estimated number of missing samples (``round(delta * sfreq) - 1``); negative
        when the timestamps went backwards (a clock reset: a restarted stream).
    """

    index: int
    t_before: float
    t_after: float
    missing: int

    @property
    def backwards(self) -> bool:
        """True when the timestamps went backwards."""
        return self.t_after < self.t_before


class RingBuffer:
    """Fixed-capacity ring buffer of ``(n_channels, n)`` samples plus timestamps.

    Parameters
    ----------
    n_channels : int
        Number of channels.
    capacity : int
        Samples held; older samples are overwritten (and counted).
    sfreq : float | None
        Nominal sampling rate, for gap detection. None (or 0, irregular) disables it.
    gap_factor : float
        A delta larger than ``gap_factor / sfreq`` ...
    gap_min_s : float
        ... and larger than ``1 / sfreq + gap_min_s`` is a gap. The absolute margin
        keeps scheduling jitter of chunk timestamps from being reported as gaps.
    dtype : numpy dtype
        Storage type of the samples (timestamps are always float64).
    max_gaps : int
        How many recent :class:`Gap` records are kept (counters cover all).
    """

    def __init__(
        self,
        n_channels: int,
        capacity: int,
        *,
        sfreq: float | None = None,
        gap_factor: float = 1.5,
        gap_min_s: float = 0.0,
        dtype: np.dtype | type = np.float64,
        max_gaps: int = 1000,
    ) -> None:
        if n_channels < 1 or capacity < 1:
            raise ValueError(
                f"RingBuffer needs n_channels >= 1 and capacity >= 1, got {n_channels}, {capacity}"
            )
        self.n_channels = int(n_channels)
        self.capacity = int(capacity)
        self.sfreq = float(sfreq) if sfreq else None
        self._data = np.zeros((self.n_channels, self.capacity), dtype=dtype)
        self._times = np.zeros(self.capacity, dtype=np.float64)
        self.pushed = 0  #: samples pushed in total (absolute index of the next sample)
        self.gaps: deque[Gap] = deque(maxlen=max_gaps)  #: the latest gaps found, oldest first
        self.n_gaps = 0  #: gaps found in total
        self.missing_samples = 0  #: samples estimated lost from all forward gaps
        self._last_t: float | None = None
        if self.sfreq:
            period = 1.0 / self.sfreq
            self.gap_threshold = max(gap_factor * period, period + gap_min_s)
        else:
            self.gap_threshold = float("inf")

    # ------------------------------------------------------------------ counters
    @property
    def overwritten(self) -> int:
        """Samples that were overwritten before anyone could read them from here."""
        return max(0, self.pushed - self.capacity)

    @property
    def first_index(self) -> int:
        """Absolute index of the oldest sample still held."""
        return self.overwritten

    def __len__(self) -> int:
        return min(self.pushed, self.capacity)

    @property
    def last_timestamp(self) -> float | None:
        """Timestamp of the newest sample (None when empty)."""
        return self._last_t

    # ------------------------------------------------------------------ writing
    def push(self, data: np.ndarray, timestamps: np.ndarray) -> list[Gap]:
        """Append samples.

        Parameters
        ----------
        data : ndarray, shape (n_channels, n)
        timestamps : ndarray, shape (n,)

        Returns
        -------
        list of Gap
            The gaps found in this chunk, including the one between the previous
            chunk's last sample and this chunk's first.
        """
        data = np.asarray(data)
        timestamps = np.asarray(timestamps, dtype=np.float64).reshape(-1)
        if data.ndim != 2 or data.shape[0] != self.n_channels:
            raise ValueError(
                f"chunk must have shape ({self.n_channels}, n), got {data.shape}"
            )
        n = data.shape[1]
        if timestamps.shape[0] != n:
            raise ValueError(f"{n} samples but {timestamps.shape[0]} timestamps")
        if n == 0:
            return []
        gaps = self.find_gaps(timestamps)
        if n >= self.capacity:
            data = data[:, -self.capacity :]
            ts = timestamps[-self.capacity :]
            start = (self.pushed + n - self.capacity) % self.capacity
            idx = (start + np.arange(self.capacity)) % self.capacity
            self._data[:, idx] = data
            self._times[idx] = ts
        else:
            start = self.pushed % self.capacity
            end = start + n
            if end <= self.capacity:
                self._data[:, start:end] = data
                self._times[start:end] = timestamps
            else:
                k = self.capacity - start
                self._data[:, start:] = data[:, :k]
                self._data[:, : end - self.capacity] = data[:, k:]
                self._times[start:] = timestamps[:k]
                self._times[: end - self.capacity] = timestamps[k:]
        self.pushed += n
        self._last_t = float(timestamps[-1])
        for g in gaps:
            self.record_gap(g)
        return gaps

    def record_gap(self, gap: Gap) -> None:
        """Add a gap to the record and the counters."""
        self.gaps.append(gap)
        self.n_gaps += 1
        self.missing_samples += max(0, gap.missing)

    def find_gaps(self, ts: np.ndarray) -> list[Gap]:
        if self._last_t is not None:
            full = np.concatenate(([self._last_t], ts))
            offset = self.pushed - 1
        else:
            full = ts
            offset = self.pushed
        if full.shape[0] < 2:
            return []
        d = np.diff(full)
        bad = np.flatnonzero((d > self.gap_threshold) | (d < 0))
        gaps = []
        for i in bad:
            missing = int(round(d[i] * self.sfreq)) - 1 if self.sfreq else 0
            gaps.append(Gap(int(offset + i + 1), float(full[i]), float(full[i + 1]), missing))
        return gaps

    def clear_history(self) -> None:
        """Forget the previous timestamp (next push starts a new segment, no gap)."""
        self._last_t = None

    # ------------------------------------------------------------------ reading
    def get(self, start: int, stop: int, copy: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """Samples with absolute indices ``start <= i < stop``.

        Parameters
        ----------
        start, stop : int
            Absolute sample indices.
        copy : bool
            Return copies (default). With False, a range that does not wrap around
            the end of the storage is returned as views, valid until overwritten.

        Raises
        ------
        IndexError
            When part of the range was overwritten or not pushed yet.
        """
        if start < self.first_index or stop > self.pushed or start > stop:
            raise IndexError(
                f"samples [{start}, {stop}) not held: buffer holds "
                f"[{self.first_index}, {self.pushed})"
            )
        a = start % self.capacity
        b = a + (stop - start)
        if b <= self.capacity:
            data, times = self._data[:, a:b], self._times[a:b]
            return (data.copy(), times.copy()) if copy else (data, times)
        idx = np.arange(start, stop) % self.capacity
        return self._data[:, idx], self._times[idx]

    def latest(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """The newest ``min(n, len(self))`` samples and timestamps, oldest first."""
        n = min(int(n), len(self))
        return self.get(self.pushed - n, self.pushed)
