"""Streaming signal processors: resampling, causal filtering, re-referencing.

Every processor is array-in/array-out with explicit carried state: feeding a
signal in chunks of any size gives the same output as feeding it at once (up to
floating-point rounding), and inputs are never modified.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np
from scipy import signal

from ..constants import FACED_SFREQ

__all__ = [
    "ResamplerSettings",
    "Resampler",
    "FilterSettings",
    "CausalFilter",
    "common_average_reference",
]


# --------------------------------------------------------------------------- resampling
@dataclass(frozen=True)
class ResamplerSettings:
    """Settings of :class:`Resampler`.

    Parameters
    ----------
    sfreq_in, sfreq_out : float
        Input and output rates (Hz).
    max_denominator : int
        The ratio ``sfreq_out / sfreq_in`` is approximated by a fraction ``up/down``
        with ``down`` at most this.
    half_len : int
        Anti-alias FIR half length in units of ``max(up, down)`` (scipy's
        ``resample_poly`` uses 10).
    """

    sfreq_in: float
    sfreq_out: float = FACED_SFREQ
    max_denominator: int = 1000
    half_len: int = 10


class Resampler:
    """Causal streaming polyphase resampler (an ``upfirdn`` with carried history).

    Output sample ``k`` is computed from inputs up to index ``floor(k * down / up)``
    only; it is delayed by :attr:`delay_in` input samples (the FIR's group delay).
    Equal rates pass through unchanged.

    Parameters
    ----------
    settings : ResamplerSettings
    n_channels : int
    """

    def __init__(self, settings: ResamplerSettings, n_channels: int) -> None:
        if settings.sfreq_in <= 0 or settings.sfreq_out <= 0:
            raise ValueError(
                f"resampling needs positive rates, got {settings.sfreq_in} -> {settings.sfreq_out} Hz"
            )
        self.settings = settings
        self.n_channels = int(n_channels)
        frac = Fraction(settings.sfreq_out / settings.sfreq_in).limit_denominator(
            settings.max_denominator
        )
        self.up, self.down = frac.numerator, frac.denominator
        self.identity = self.up == self.down
        if self.identity:
            self._h = np.ones((1, 1))
            self.n_taps_per_phase = 1
            self.delay_in = 0.0
        else:
            m = max(self.up, self.down)
            half = settings.half_len * m
            h = signal.firwin(2 * half + 1, 1.0 / m, window=("kaiser", 5.0)) * self.up
            q = -(-h.size // self.up)
            h = np.concatenate([h, np.zeros(q * self.up - h.size)])
            # polyphase: phase p uses taps h[p + j*up], j = 0..q-1 applied to x[i0 - j]
            self._h = h.reshape(q, self.up).T.copy()  # (up, q)
            self.n_taps_per_phase = q
            self.delay_in = half / self.up
        self.reset()

    @property
    def ratio(self) -> float:
        """Effective ``sfreq_out / sfreq_in``."""
        return self.up / self.down

    def reset(self) -> None:
        """Forget all history (the next input is sample 0 of a new segment)."""
        q = self.n_taps_per_phase
        self._hist = np.zeros((self.n_channels, q - 1))
        self.n_in = 0  #: input samples consumed
        self.n_out = 0  #: output samples produced

    def source_index(self, out_index: np.ndarray | int) -> np.ndarray | int:
        """Index of the newest input sample that output sample(s) depend on."""
        return (np.asarray(out_index) * self.down) // self.up

    def process(self, x: np.ndarray) -> np.ndarray:
        """Resample a chunk.

        Parameters
        ----------
        x : ndarray, shape (n_channels, n)

        Returns
        -------
        ndarray, shape (n_channels, m)
            The output samples that became computable with this chunk.
        """
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2 or x.shape[0] != self.n_channels:
            raise ValueError(f"chunk must have shape ({self.n_channels}, n), got {x.shape}")
        n = x.shape[1]
        if self.identity:
            self.n_in += n
            self.n_out += n
            return x.copy()
        q = self.n_taps_per_phase
        ext = np.concatenate([self._hist, x], axis=1)  # ext[:, q-1] is input n_in
        total = self.n_in + n
        # outputs k whose newest input floor(k*down/up) <= total-1, i.e. k*down < total*up
        k_stop = -(-(total * self.up) // self.down)
        ks = np.arange(self.n_out, k_stop)
        if ks.size:
            m = ks * self.down
            phase = m % self.up
            i0 = m // self.up - self.n_in + (q - 1)  # position of x[i0] in ext
            idx = i0[:, None] - np.arange(q)[None, :]  # (n_out, q)
            taps = self._h[phase]  # (n_out, q)
            y = np.einsum("cnq,nq->cn", ext[:, idx], taps)
        else:
            y = np.zeros((self.n_channels, 0))
        if q > 1:
            self._hist = ext[:, ext.shape[1] - (q - 1) :].copy()
        self.n_in = total
        self.n_out = max(self.n_out, int(k_stop))
        return y


# --------------------------------------------------------------------------- filtering
@dataclass(frozen=True)
class FilterSettings:
    """Settings of :class:`CausalFilter`.

    Parameters
    ----------
    sfreq : float
        Sampling rate (Hz).
    bandpass : (float, float)
        Butterworth band-pass edges (Hz).
    order : int
        Butterworth order (per edge).
    notch_hz : float | None
        Mains frequency to notch (50 or 60), or None. Its harmonics below Nyquist
        and above the band-pass are not notched (the band-pass removes them).
    notch_q : float
        Quality factor of the notch.
    """

    sfreq: float = FACED_SFREQ
    bandpass: tuple[float, float] = (0.5, 47.0)
    order: int = 4
    notch_hz: float | None = 50.0
    notch_q: float = 30.0

    def sos(self) -> np.ndarray:
        """Second-order sections of band-pass followed by the notch."""
        nyq = self.sfreq / 2.0
        lo, hi = self.bandpass
        if not 0 < lo < hi < nyq:
            raise ValueError(
                f"band-pass {self.bandpass} Hz must satisfy 0 < low < high < Nyquist ({nyq} Hz)"
            )
        sos = signal.butter(self.order, [lo, hi], btype="bandpass", output="sos", fs=self.sfreq)
        if self.notch_hz:
            if not 0 < self.notch_hz < nyq:
                raise ValueError(f"notch {self.notch_hz} Hz must lie below Nyquist ({nyq} Hz)")
            b, a = signal.iirnotch(self.notch_hz, self.notch_q, fs=self.sfreq)
            sos = np.vstack([sos, signal.tf2sos(b, a)])
        return sos


class CausalFilter:
    """Causal IIR band-pass + notch (``sosfilt``) with carried state.

    The state is initialised on the first sample as if the signal had been constant
    before it (``sosfilt_zi``), so a DC offset gives no start-up step.

    Parameters
    ----------
    settings : FilterSettings
    n_channels : int
    """

    def __init__(self, settings: FilterSettings, n_channels: int) -> None:
        self.settings = settings
        self.n_channels = int(n_channels)
        self.sos = settings.sos()
        self._zi_unit = signal.sosfilt_zi(self.sos)  # (n_sections, 2)
        self.reset()

    def reset(self) -> None:
        """Forget the state; the next chunk starts a new segment."""
        self._zi: np.ndarray | None = None

    def process(self, x: np.ndarray) -> np.ndarray:
        """Filter a chunk ``(n_channels, n)``; returns a new array of the same shape."""
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2 or x.shape[0] != self.n_channels:
            raise ValueError(f"chunk must have shape ({self.n_channels}, n), got {x.shape}")
        if x.shape[1] == 0:
            return x.copy()
        if self._zi is None:
            self._zi = self._zi_unit[:, None, :] * x[None, :, 0, None]
        y, self._zi = signal.sosfilt(self.sos, x, axis=1, zi=self._zi)
        return y


# --------------------------------------------------------------------------- reference
def common_average_reference(x: np.ndarray, axis: int = -2) -> np.ndarray:
    """Subtract the mean over channels (``axis``, default the channel axis of ``(..., ch, t)``).

    Returns a new array; the input is not modified.
    """
    x = np.asarray(x)
    return x - x.mean(axis=axis, keepdims=True)
