"""The features of due windows, batched across streams: the one place the pipeline calls the DE kernels."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np
import torch

from ..model.bundle import check_bundle_feature
from ..signal.de import BandFilterBank, variance_to_de
from ..signal.filter_design import FeatureSettings
from ..signal.streaming_de import StreamingBandVariance
from ..signal.window_timing import WindowTiming
from .settings import ComputeSettings
from .steps import DueWindow

__all__ = ["WindowFeatures"]


class WindowFeatures:
    """DE of every due window of every stream, in one batched call per poll.

    On CPU with an incremental feature (the release's FIR) each new sample is filtered
    once (:class:`~bci_valence.signal.streaming_de.StreamingBandVariance`); elsewhere
    whole windows go to the filter bank's batched FFT.

    Parameters
    ----------
    config : BundleConfig
        The model's rate, window, bands and the feature it was trained on.
    compute : ComputeSettings
        Feature method (None: the bundle's), incremental DE, CPU sub-batch.
    device : torch.device
        Resolved once by the pipeline.
    hop_s : float
        Seconds between windows: the :class:`~bci_valence.signal.window_timing.WindowTiming`
        every stream's processor shares is made here, once.
    """

    def __init__(self, config: Any, compute: ComputeSettings, device: torch.device, hop_s: float) -> None:
        self._compute = compute
        self._device = device
        self._bank = BandFilterBank(
            FeatureSettings(
                sfreq=float(config.sfreq),
                window_s=float(config.window_s),
                bands={k: tuple(v) for k, v in dict(config.bands).items()},
                method=check_bundle_feature(config, compute.feature_method),
                device=str(device),
            )
        )
        self._streaming = (
            StreamingBandVariance(self._bank.settings, len(config.channels))
            if compute.incremental_de and device.type == "cpu" and self._bank.extractor.incremental
            else None
        )
        self._timing = self._bank.window_timing(hop_s)
        self._shape = (len(config.channels), self._bank.n_bands)

    @property
    def bank(self) -> BandFilterBank:
        """The filter bank (whole-window DE)."""
        return self._bank

    @property
    def streaming(self) -> StreamingBandVariance | None:
        """The incremental FIR path, or None where whole windows are used."""
        return self._streaming

    @property
    def timing(self) -> WindowTiming:
        """Where windows end: rate, hop in samples, window, filter context."""
        return self._timing

    @property
    def shape(self) -> tuple[int, int]:
        """One window's features: (channels, bands)."""
        return self._shape

    def forget(self, stream: Hashable) -> None:
        """Drop what the incremental path keeps of a stream (it restarts)."""
        if self._streaming is not None:
            self._streaming.forget(stream)

    def compute(self, windows: Sequence[tuple[Hashable, DueWindow]]) -> np.ndarray:
        """DE of ``(stream key, window)`` pairs -> ``(n, channels, bands)`` float64."""
        if self._streaming is not None:
            return self._incremental(windows)
        return self.whole_windows(np.stack([w.data for _, w in windows]))

    def whole_windows(self, batch: np.ndarray) -> np.ndarray:
        """DE of a batch of windows ``(b, channels, n_input)`` -> ``(b, channels, bands)`` float64.

        On CUDA the whole batch is one device call. On CPU it is cut into sub-batches
        of ``cpu_sub_batch`` windows, which keeps the FFT working set in cache (a large
        batch is several times slower per window).
        """
        x = torch.from_numpy(np.ascontiguousarray(batch, dtype=np.float32))
        step = len(x) if self._device.type != "cpu" else max(1, self._compute.cpu_sub_batch)
        out = []
        with torch.inference_mode():
            for i in range(0, len(x), step):
                out.append(self._bank.differential_entropy(x[i : i + step].to(self._device)).cpu())
        return torch.cat(out).numpy().astype(np.float64)

    def _incremental(self, windows: Sequence[tuple[Hashable, DueWindow]]) -> np.ndarray:
        """DE through :class:`StreamingBandVariance`: a stream's windows are handed over
        oldest first, one per call (several may be pending after a pause)."""
        variance = np.empty((len(windows), *self._shape))
        seen: dict[int, int] = {}
        rounds: list[list[int]] = []
        for i, (key, _) in enumerate(windows):
            r = seen.get(id(key), 0)
            seen[id(key)] = r + 1
            if r == len(rounds):
                rounds.append([])
            rounds[r].append(i)
        for rows in rounds:
            batch = [(windows[i][0], windows[i][1].data, windows[i][1].end,
                      (windows[i][1].segment, windows[i][1].montage)) for i in rows]  # fmt: skip
            variance[rows] = self._streaming.update(batch)
        return variance_to_de(torch.from_numpy(variance)).numpy()
