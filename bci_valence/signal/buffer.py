"""Ring buffer of multichannel samples with their timestamps.

Samples are stored in arrival order, never reordered, with an absolute sample
index (the number of samples pushed before them), so a consumer can ask for any
range still held and know exactly what was overwritten. Which samples are missing
is not the buffer's business: :class:`~bci_valence.signal.timing.StreamClock` owns a
stream's time and its gaps.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Gap", "RingBuffer"]


@dataclass(frozen=True)
class Gap:
    """A discontinuity between two consecutive samples of a stream.

    Attributes
    ----------
    index : int
        Absolute index of the first sample after the gap.
    t_before, t_after : float
        Times of the samples on either side (on the stream's fitted clock).
    missing : int
        Estimated number of missing samples; 0 for a restart (the clock went back).
    """

    index: int
    t_before: float
    t_after: float
    missing: int

    @property
    def backwards(self) -> bool:
        """True when the clock went backwards (a restarted device)."""
        return self.t_after < self.t_before

    @property
    def duration(self) -> float:
        """Seconds of signal missing (negative for a restart)."""
        return self.t_after - self.t_before

class RingBuffer:
    """Fixed-capacity ring buffer of ``(n_channels, n)`` samples plus timestamps.

    Parameters
    ----------
    n_channels : int
        Number of channels.
    capacity : int
        Samples held; older samples are overwritten (and counted).
    dtype : numpy dtype
        Storage type of the samples (timestamps are always float64).
    """

    def __init__(
        self,
        n_channels: int,
        capacity: int,
        *,
        dtype: np.dtype | type = np.float64,
    ) -> None:
        if n_channels < 1 or capacity < 1:
            raise ValueError(
                f"RingBuffer needs n_channels >= 1 and capacity >= 1, got {n_channels}, {capacity}"
            )
        self.n_channels = int(n_channels)
        self.capacity = int(capacity)
        self._data = np.zeros((self.n_channels, self.capacity), dtype=dtype)
        self._times = np.zeros(self.capacity, dtype=np.float64)
        self.pushed = 0  #: samples pushed in total (absolute index of the next sample)
        self._last_t: float | None = None

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
    def push(self, data: np.ndarray, timestamps: np.ndarray) -> None:
        """Append samples.

        Parameters
        ----------
        data : ndarray, shape (n_channels, n)
        timestamps : ndarray, shape (n,)
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
            return
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
