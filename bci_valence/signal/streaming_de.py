"""Online DE: band variances of the newest window of continuous streams, each sample filtered once."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .filter_design import FeatureSettings, design_band_filters

__all__ = ["StreamingBandVariance"]


class StreamingBandVariance:
    """Band variance of the newest window of continuous streams, filtering each sample once.

    Online, consecutive windows overlap (a 0.25-s hop keeps 3/4 of the 1-s window), and
    the zero-phase filter's output at a sample depends only on the signal around it, so
    the band-passed samples of the previous windows stay valid. This keeps them and
    filters only the samples new since the last window of each stream: about 63 outputs
    per band at 250 Hz, done as one matrix product per band with the band's own FIR
    length (a Toeplitz matrix of its taps), instead of five inverse FFTs of the whole
    context + window. The values are those of :meth:`BandFilterBank.band_variance` on
    the same input (the same taps, summed directly instead of through FFTs).

    CPU only (numpy BLAS): on a GPU the batched FFT of whole windows is the better fit.

    Parameters
    ----------
    settings : FeatureSettings
        Rate, window and bands (``method="fir"``).
    n_channels : int
        Channels of every stream.
    """

    def __init__(self, settings: FeatureSettings | None = None, n_channels: int = 32) -> None:
        self.settings = settings or FeatureSettings()
        if self.settings.method != "fir":
            raise ValueError("StreamingBandVariance follows the release's FIR definition only")
        bank = design_band_filters(self.settings)  # (n_bands, context + 1), centred
        self.n_channels = int(n_channels)
        self.window_samples = self.settings.window_samples
        self.context_samples = bank.shape[1] - 1
        self.n_input = self.context_samples + self.window_samples
        self._taps: list[np.ndarray] = []
        self._offsets: list[int] = []
        for row in bank:
            nonzero = np.flatnonzero(row)
            first, last = int(nonzero[0]), int(nonzero[-1]) + 1
            self._taps.append(row[first:last].astype(np.float32))
            self._offsets.append(first)
        self._toeplitz: dict[tuple[int, int], np.ndarray] = {}
        self._state: dict[Any, _BandHistory] = {}

    @property
    def n_bands(self) -> int:
        """Number of bands."""
        return len(self._taps)

    def _matrix(self, band: int, n_out: int) -> np.ndarray:
        """``(n_out + n_taps - 1, n_out)`` matrix whose product filters ``n_out`` samples."""
        key = (band, n_out)
        if key not in self._toeplitz:
            taps = self._taps[band]
            width = n_out + len(taps) - 1
            matrix = np.zeros((width, n_out), np.float32)
            for i in range(n_out):
                matrix[i : i + len(taps), i] = taps[::-1]
            if len(self._toeplitz) > 64:
                self._toeplitz.clear()
            self._toeplitz[key] = matrix
        return self._toeplitz[key]

    def forget(self, stream: Any) -> None:
        """Drop a stream's kept samples (it ended or restarts)."""
        self._state.pop(stream, None)

    def update(self, windows: Sequence[tuple[Any, np.ndarray, int, int]]) -> np.ndarray:
        """Band variance of each stream's newest window.

        Parameters
        ----------
        windows : sequence of (stream, data, end, segment)
            ``stream``: any hashable key; ``data``: ``(n_channels, n_input)`` float
            signal, the window with its filter context; ``end``: index one past the
            newest sample of ``data`` in the stream's own count; ``segment``: changes
            whenever the signal restarts (nothing is kept across it). A stream may
            appear once per call.

        Returns
        -------
        ndarray, shape (n_windows, n_channels, n_bands), float64
        """
        half = self.context_samples // 2
        jobs: dict[int, list[tuple[int, np.ndarray, int]]] = {}
        histories = []
        seen: set = set()
        for row, (stream, data, end, segment) in enumerate(windows):
            data = np.asarray(data)
            if data.shape != (self.n_channels, self.n_input):
                raise ValueError(
                    f"windows must be ({self.n_channels}, {self.n_input}), got {data.shape}"
                )
            if stream in seen:
                raise ValueError(f"stream {stream!r} appears twice in one update")
            seen.add(stream)
            core_end = int(end) - half
            hist = self._state.get(stream)
            if hist is None or hist.segment != segment or not (
                core_end - self.window_samples <= hist.next_index <= core_end
            ):
                hist = _BandHistory(
                    self.n_bands, self.n_channels, self.window_samples, segment,
                    next_index=core_end - self.window_samples,
                )  # fmt: skip
                self._state[stream] = hist
            n_new = core_end - hist.next_index
            # input offset in ``data`` of the first new output's filter support
            first = hist.next_index - (int(end) - self.n_input) - half
            if n_new:
                jobs.setdefault(n_new, []).append((row, data, first))
            histories.append((hist, n_new, core_end))
        new: dict[int, list[np.ndarray]] = {}
        for n_new, group in jobs.items():
            for band, (taps, offset) in enumerate(zip(self._taps, self._offsets)):
                width = n_new + len(taps) - 1
                stacked = np.concatenate(
                    [d[:, f + offset : f + offset + width] for _, d, f in group]
                ).astype(np.float32, copy=False)
                out = stacked @ self._matrix(band, n_new)  # (len(group)·C, n_new)
                for k, (row, _, _) in enumerate(group):
                    new.setdefault(row, [None] * self.n_bands)[band] = out[
                        k * self.n_channels : (k + 1) * self.n_channels
                    ]
        result = np.empty((len(histories), self.n_channels, self.n_bands))
        for row, (hist, n_new, core_end) in enumerate(histories):
            if n_new:
                hist.push(new[row])
                hist.next_index = core_end
            result[row] = hist.variance()
        return result


class _BandHistory:
    """One stream's band-passed samples of its last window, ``(n_bands, n_channels, W)``.

    A circular buffer: the variance does not depend on the samples' order.
    """

    def __init__(self, n_bands: int, n_channels: int, window: int, segment: int, next_index: int) -> None:
        self.samples = np.zeros((n_bands, n_channels, window), np.float32)
        self.segment = segment
        self.next_index = next_index  # the stream's index of the next sample to filter
        self._write = 0

    def push(self, per_band: list[np.ndarray]) -> None:
        window = self.samples.shape[-1]
        n_new = min(per_band[0].shape[-1], window)
        first = min(n_new, window - self._write)
        for band, values in enumerate(per_band):
            values = values[..., -n_new:]
            self.samples[band, :, self._write : self._write + first] = values[..., :first]
            self.samples[band, :, : n_new - first] = values[..., first:]
        self._write = (self._write + n_new) % window

    def variance(self) -> np.ndarray:
        """Population variance over the window, ``(n_channels, n_bands)`` float64."""
        x = self.samples
        n = x.shape[-1]
        mean = x.sum(axis=-1) / n
        power = np.einsum("bci,bci->bc", x, x) / n
        return np.maximum(power - mean * mean, 0.0).T.astype(np.float64)
