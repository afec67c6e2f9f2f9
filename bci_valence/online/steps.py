"""What the pipeline hands out: a valence step per window, a status per stream, and the windows due for features."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from ..signal.quality import QualityFlag
from ..signal.timing import ClockHealth
from ..signal.window_timing import WindowTiming

log = logging.getLogger(__name__)

__all__ = ['DueWindow', 'StreamStatus', 'ValenceStep']


@dataclass(frozen=True, eq=False)
class ValenceStep:
    """One output of the pipeline for one stream.

    Attributes
    ----------
    stream : str
        Name of the stream.
    timestamp : float
        Source-clock (LSL) timestamp of the newest sample the step used. The 1-s DE
        window ends half the feature filter's context (about 1.65 s at 250 Hz) before it.
    valence : float
        Projection on the valence axis. NaN for a STALE marker step and where no
        signal is behind the window: more than
        :data:`~bci_valence.online.processor.MAX_HELD_FRACTION` of its input was
        non-finite, no window was ever fit for the calibration statistics, or no feature
        is finite (``probabilities`` is then None).
    probabilities : ndarray (9,) | None
        Class probabilities in ``bundle.config.class_names`` order; None until
        ``sequence_seconds`` of DE exist.
    de_z : ndarray (32, 5)
        Standardized DE of this window.
    flags : int
        :class:`QualityFlag` bitmask.
    calibration_progress : float
        0..1, fraction of the calibration period gathered.
    latency_ms : float
        Processing latency: from the arrival of the newest sample to this step.
    true_label : str | None
        The class named by the last marker, when the stream has markers.
    window_timing : WindowTiming | None
        The stream's window timing: the effective hop between steps, the window and
        its filter context (None for a STALE marker step).
    """

    stream: str
    timestamp: float
    valence: float
    probabilities: np.ndarray | None
    de_z: np.ndarray
    flags: int
    calibration_progress: float
    latency_ms: float
    true_label: str | None = None
    window_timing: WindowTiming | None = None

    @property
    def quality(self) -> QualityFlag:
        """``flags`` as a :class:`QualityFlag`."""
        return QualityFlag(self.flags)


@dataclass(frozen=True)
class StreamStatus:
    """What the pipeline knows about one stream (for status displays)."""

    name: str
    connected: bool
    sfreq: float | None
    n_channels: int
    n_real: int
    real: tuple[str, ...]
    interpolated: tuple[str, ...]
    non_eeg: tuple[str, ...]
    unplaced: tuple[str, ...]
    lost_samples: int
    gaps: int
    reconnects: int
    samples: int
    steps: int
    calibration_progress: float
    calibrated: bool
    simulated: bool
    device: str
    last_timestamp: float | None
    message: str = ""
    timing: ClockHealth | None = None



@dataclass(frozen=True, eq=False)
class DueWindow:
    """A window ready for the feature extractor.

    Attributes
    ----------
    data : ndarray (32, n_input) float32
        Filtered, mapped, re-referenced signal: feature context + 1-s window.
    timestamp : float
        Source timestamp of the newest sample.
    end : int
        Absolute processed-sample index one past the window (its identity).
    segment : int
        Signal segment (increments on every reset).
    flags : QualityFlag
        Window-level quality flags.
    arrival : float
        ``time.perf_counter()`` when the newest sample arrived.
    montage : int
        Which montage made ``data``: 0 the stream's own, another number for each set of
        channels left out (dead for the window) and interpolated. Incremental feature
        state is kept only across windows of one montage.
    held_fraction : float
        Fraction of the window's raw input that was non-finite and held at the last
        finite value (``NONFINITE`` windows); above
        :data:`~bci_valence.online.processor.MAX_HELD_FRACTION` the window gets no
        valence.
    window_timing : WindowTiming | None
        The stream's window timing (rate, hop in samples, window, context).
    """

    data: np.ndarray
    timestamp: float
    end: int
    segment: int
    flags: QualityFlag
    arrival: float
    held_fraction: float = 0.0
    montage: int = 0
    window_timing: WindowTiming | None = None
