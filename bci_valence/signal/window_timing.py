"""Where windows end on a processed stream: the one place a hop in seconds becomes samples.

The processor, the pipeline, the DE kernels and the offline feature sequence all take
the hop, the window and the filter context from one :class:`WindowTiming`; the stream's
timestamps belong to :class:`~bci_valence.signal.timing.StreamClock`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from ..constants import HOP_RANGE_S

__all__ = ["MAX_HOP_DENOMINATOR", "WindowTiming"]

#: Largest denominator of a hop in samples: a hop of 0.25 s at 250 Hz is 125/2 samples,
#: kept exact so that four hops make one second.
MAX_HOP_DENOMINATOR = 16


@dataclass(frozen=True)
class WindowTiming:
    """Where the windows of one processed stream end: rate, hop, window and filter context.

    A hop that is not a whole number of samples (0.25 s at 250 Hz is 62.5) stays exact
    as a fraction ``p/q``; window ``k`` then starts ``round_half_up(k·p/q)`` samples after
    the first, so every ``q`` windows are exactly ``p`` samples apart and windows spaced
    a whole second apart fall on whole samples. Half-up rounding keeps that period (a
    half-even rule would not).

    Parameters
    ----------
    sfreq : float
        Rate of the processed stream (Hz).
    hop_s : float
        Requested seconds between windows; must lie in
        :data:`~bci_valence.constants.HOP_RANGE_S`.
    window_samples : int
        Samples of the window the feature describes.
    context_samples : int
        Extra samples the feature's filters need around it (half before, half after).
    """

    sfreq: float
    hop_s: float
    window_samples: int
    context_samples: int = 0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.sfreq) and self.sfreq > 0):
            raise ValueError(f"sfreq must be a positive rate in Hz, got {self.sfreq!r}")
        low, high = HOP_RANGE_S
        if not (math.isfinite(self.hop_s) and low <= self.hop_s <= high):
            raise ValueError(f"hop_s must be in [{low:g}, {high:g}] s, got {self.hop_s!r}")
        if int(self.window_samples) < 1 or int(self.context_samples) < 0:
            raise ValueError(
                f"window_samples must be >= 1 and context_samples >= 0, got "
                f"{self.window_samples} and {self.context_samples}"
            )
        if self.hop_samples < 1:
            raise ValueError(
                f"a hop of {self.hop_s:g} s at {self.sfreq:g} Hz is less than one sample"
            )

    @property
    def hop_samples(self) -> Fraction:
        """The hop in samples, exact (a fraction when it is not whole)."""
        return Fraction(self.hop_s * self.sfreq).limit_denominator(MAX_HOP_DENOMINATOR)

    @property
    def effective_hop_s(self) -> float:
        """Seconds between windows as they are cut (the hop in samples over the rate)."""
        return float(self.hop_samples) / self.sfreq

    @property
    def n_input(self) -> int:
        """Samples each window needs: its context and the window."""
        return int(self.context_samples) + int(self.window_samples)

    @property
    def input_s(self) -> float:
        """Seconds of signal behind each window: its context and the window."""
        return self.n_input / self.sfreq

    @property
    def window_s(self) -> float:
        """Seconds of signal the feature describes."""
        return int(self.window_samples) / self.sfreq

    @property
    def period(self) -> tuple[int, int]:
        """``(q, p)``: every ``q`` windows are exactly ``p`` samples apart."""
        hop = self.hop_samples
        return hop.denominator, hop.numerator

    def offset(self, k: int | np.ndarray) -> int | np.ndarray:
        """Samples from the first window's start to window ``k``'s start."""
        q, p = self.period
        k = np.asarray(k, dtype=np.int64)
        out = (2 * k * p + q) // (2 * q)  # round half up of k·p/q
        return int(out) if out.ndim == 0 else out

    def window_end(self, k: int) -> int:
        """Samples from a segment's first processed sample to one past window ``k``."""
        return self.n_input + int(self.offset(k))

    def n_windows(self, n_times: int) -> int:
        """Complete windows in ``n_times`` samples."""
        room = int(n_times) - self.n_input
        if room < 0:
            return 0
        q, p = self.period
        # largest k with (2kp + q) // 2q <= room  <=>  2kp + q < 2q(room + 1)
        return (2 * q * (room + 1) - q - 1) // (2 * p) + 1

    def starts(self, n_windows: int) -> np.ndarray:
        """First input sample of each of the first ``n_windows`` windows."""
        return np.asarray(self.offset(np.arange(int(n_windows))), dtype=np.int64)

    def windows_in(self, seconds: float) -> float:
        """How many hops make ``seconds`` (a history or a calibration length)."""
        return seconds / self.effective_hop_s

    def to_dict(self) -> dict:
        """JSON-ready description (for the run's side file)."""
        q, p = self.period
        return {
            "sfreq": self.sfreq,
            "hop_s": self.hop_s,
            "effective_hop_s": self.effective_hop_s,
            "hop_samples": p / q,
            "window_samples": int(self.window_samples),
            "context_samples": int(self.context_samples),
        }
