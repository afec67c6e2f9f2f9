"""FIR design of the band filters and the settings every DE computation shares.

Each band is a zero-phase linear-phase FIR designed by MNE (the design
``mne.filter.filter_data`` applies), so the DE here follows FACED's definition.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from ..checks import check_range
from ..constants import FACED_BANDS, FACED_SFREQ
from .features import DEFAULT_FEATURE, check_feature

__all__ = ["CPU_BLOCK_FFT", "FeatureSettings", "design_band_filters", "fast_length"]

#: FFT length of one block of :meth:`BandFilterBank.continuous_de` on CPU (overlap-save):
#: measured fastest per useful sample here, 2048 wastes more on context, 8192 falls
#: out of cache.
CPU_BLOCK_FFT = 4096


@dataclass(frozen=True)
class FeatureSettings:
    """Settings of the band-feature extractor.

    Parameters
    ----------
    sfreq : float
        Sampling rate of the signal (Hz).
    window_s : float
        Length of one DE window (s); FACED uses 1 s.
    bands : dict
        Band name → (low, high) edges in Hz.
    method : str
        A registered feature method (:func:`~bci_valence.signal.features.feature_names`):
        the built-in ``"fir"`` follows the release's definition (band-pass, then
        variance), ``"fft"`` sums the periodogram of the window over each band.
    device : str
        ``"auto"``, ``"cpu"``, ``"cuda"``...
    """

    sfreq: float = FACED_SFREQ
    window_s: float = 1.0
    bands: dict[str, tuple[float, float]] = field(default_factory=lambda: dict(FACED_BANDS))
    method: str = DEFAULT_FEATURE
    device: str = "auto"

    def __post_init__(self) -> None:
        check_feature(self.method, "method")
        check_range(self.sfreq, "sfreq", 0, low_inclusive=False, unit="Hz")
        check_range(self.window_s, "window_s", 0, low_inclusive=False, unit="s")
        nyquist = self.sfreq / 2.0
        for name, (low, high) in self.bands.items():
            if not 0 < low < high < nyquist:
                raise ValueError(
                    f"band {name!r} ({low}-{high} Hz) must satisfy 0 < low < high < "
                    f"Nyquist ({nyquist} Hz)"
                )

    @property
    def window_samples(self) -> int:
        """Samples in one DE window."""
        return int(round(self.window_s * self.sfreq))


def design_band_filters(settings: FeatureSettings) -> np.ndarray:
    """Zero-phase FIR taps per band (cached per rate and bands); see :func:`_design`."""
    bands = tuple((float(low), float(high)) for low, high in settings.bands.values())
    return _design(float(settings.sfreq), bands).copy()


@lru_cache(maxsize=16)
def _design(sfreq: float, bands: tuple[tuple[float, float], ...]) -> np.ndarray:
    """Zero-phase FIR taps per band, centred and zero-padded to one odd length.

    Uses :func:`mne.filter.create_filter` with MNE's default (firwin, Hamming window,
    automatic transition bands and length), i.e. the filter ``mne.filter.filter_data``
    applies with ``method="fir", phase="zero"``.

    Returns
    -------
    ndarray, shape (n_bands, n_taps)
    """
    import mne

    taps = [
        mne.filter.create_filter(
            None, sfreq, low, high, method="fir", phase="zero",
            fir_design="firwin", verbose="error",
        )
        for low, high in bands
    ]  # fmt: skip
    length = max(len(h) for h in taps)
    bank = np.zeros((len(taps), length))
    for row, h in enumerate(taps):
        offset = (length - len(h)) // 2
        bank[row, offset : offset + len(h)] = h
    return bank


def fast_length(n: int) -> int:
    """Smallest multiple of 8 ≥ n with no prime factor above 5 (fast real FFT sizes).

    Odd sizes, 5-smooth or not, run 3-4 times slower per sample in torch's CPU real FFTs
    here (3375: 7 ns/sample, 3456: 2 ns, 4000: 1.4 ns), hence the factor 8.
    """
    n = max(8, -(-n // 8) * 8)
    while True:
        m = n
        for p in (2, 3, 5):
            while m % p == 0:
                m //= p
        if m == 1:
            return n
        n += 8
