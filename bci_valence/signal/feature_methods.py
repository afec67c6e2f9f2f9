"""The built-in feature methods, registered under ``bci_valence.features`` (``pyproject.toml``).

``fir``
    FACED's definition: each band band-passed by a zero-phase FIR designed by MNE
    (:func:`~bci_valence.signal.filter_design.design_band_filters`), then the variance
    over the window. The filtering itself is :class:`~bci_valence.signal.de.BandFilterBank`'s
    (it filters the span shared by overlapping windows once).
``fft``
    The window's periodogram summed over each band (Parseval), no context needed;
    faster, and its agreement with ``fir`` is measured in the tests, not assumed.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import torch

from .filter_design import FeatureSettings, design_band_filters

__all__ = ["FirBandVariance", "PeriodogramBandVariance"]


class FirBandVariance:
    """Band-pass (zero-phase FIR per band), then the variance over the window.

    Parameters
    ----------
    settings : FeatureSettings
        Rate, window and bands.
    device : torch.device
        Where the filter bank runs (the taps stay numpy; the bank moves them).
    """

    name: ClassVar[str] = "fir"
    summary: ClassVar[str] = "band-pass then variance, as the FACED release"
    incremental: ClassVar[bool] = True

    def __init__(self, settings: FeatureSettings, device: torch.device) -> None:
        self.n_bands = len(settings.bands)
        self.taps: np.ndarray | None = design_band_filters(settings)
        self.context_samples = self.taps.shape[1] - 1

    def band_variance(self, x: torch.Tensor) -> torch.Tensor:
        """Not used: with taps the bank filters and takes the variance itself."""
        raise NotImplementedError("the fir method is computed by BandFilterBank from its taps")


class PeriodogramBandVariance:
    """Band variance from the window's one-sided periodogram (Parseval).

    Parameters
    ----------
    settings : FeatureSettings
        Rate, window and bands (a frequency bin counts for a band when ``low <= f < high``).
    device : torch.device
        Where the band weights live.
    """

    name: ClassVar[str] = "fft"
    summary: ClassVar[str] = "periodogram band power of the window (faster, no filter context)"
    incremental: ClassVar[bool] = False

    def __init__(self, settings: FeatureSettings, device: torch.device) -> None:
        self.n_bands = len(settings.bands)
        self.taps: np.ndarray | None = None
        self.context_samples = 0
        n = settings.window_samples
        freqs = np.fft.rfftfreq(n, 1.0 / settings.sfreq)
        masks = np.stack([(freqs >= low) & (freqs < high) for low, high in settings.bands.values()])
        # One-sided periodogram → variance (Parseval); DC and Nyquist count once.
        weights = np.full(freqs.shape, 2.0, np.float32)
        weights[0] = 1.0
        if n % 2 == 0:
            weights[-1] = 1.0
        weights /= float(n) ** 2
        self._band_weights = torch.as_tensor(masks.astype(np.float32) * weights, device=device)

    def band_variance(self, x: torch.Tensor) -> torch.Tensor:
        """Band variance of ``x (..., n_channels, window_samples)``, shape (..., n_channels, n_bands)."""
        power = torch.fft.rfft(x - x.mean(-1, keepdim=True), dim=-1).abs().square()
        return power.to(self._band_weights.dtype) @ self._band_weights.T
