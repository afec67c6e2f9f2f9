"""The online pipeline: EEG streams in, valence and emotion probabilities out.

Per stream (:class:`StreamProcessor`, pure state machine on arrays)::

    chunk (source channels, source rate, LSL timestamps)
      -> RingBuffer (raw, timestamps, gap detection)
      -> Resampler (to the bundle's 250 Hz) -> CausalFilter (band-pass + notch)
      -> montage mapping (32 FACED channels, interpolation) -> common average reference
      -> processed RingBuffer -> due windows (context + 1 s, every ``hop_s``)

Across streams (:class:`Pipeline`): every due window of every stream goes to the
device in one batched :class:`~bci_valence.features.BandFilterBank` call; each
stream's :class:`~bci_valence.normalization.RunningStandardizer` z-scores the DE
(bad windows are kept out of the statistics); the bundle projects every step on the
valence axis (one batched call) and, once ``sequence_seconds`` of DE exist, predicts
the nine class probabilities from the DE vectors spaced 1 s apart ending at the step
(one batched call).

The GUI runs a :class:`Pipeline` in a worker thread::

    pipe = Pipeline([source], bundle, PipelineSettings(notch_hz=60))
    pipe.start()
    while running:
        for step in pipe.poll():   # non-blocking; does the work
            ...
        data, times, names = pipe.latest_raw(5.0)
        status = pipe.status()     # list[StreamStatus]
    pipe.stop()

:func:`run_offline` feeds a whole recording through the very same processors.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import deque
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

from .buffer import RingBuffer
from .preprocessing import (
    CausalFilter,
    FilterSettings,
    Resampler,
    ResamplerSettings,
    common_average_reference,
)
from .quality import BAD_FLAGS, QualityFlag, QualityThresholds, assess_window

__all__ = [
    "PipelineSettings",
    "ValenceStep",
    "StreamStatus",
    "DueWindow",
    "StreamProcessor",
    "Pipeline",
    "OnlinePipeline",
    "run_offline",
    "QualityFlag",
]

log = logging.getLogger(__name__)


# --------------------------------------------------------------------------- settings
@dataclass(frozen=True)
class PipelineSettings:
    """Settings of the online pipeline (one frozen value shared by all streams).

    Parameters
    ----------
    hop_s : float
        Step between successive 1-s DE windows (s).
    notch_hz : float | None
        Mains notch, 50 or 60 Hz (None: no notch).
    bandpass : (float, float)
        Causal Butterworth band-pass edges (Hz), applied at the bundle's rate.
    filter_order : int
        Butterworth order.
    calibration_s : float
        Seconds of good (unflagged) windows gathered for the per-session
        standardization; after that the statistics are frozen. 0 adapts forever.
    calibration_path : str | None
        JSON file of a saved calibration: loaded when it exists (no calibration
        period), else written when the calibration completes. With several
        streams, ``{stream}`` in the path is replaced by the stream's name (else the
        name is appended to the file stem).
    device : str
        ``"auto"`` (CUDA when present), ``"cpu"``, ``"cuda"``...
    min_channels : int
        Fewest model channels that must be placed from the stream's labels.
    channels : str | None
        Relabel every stream: ``"Fp1,Fp2,..."`` or an MNE montage name (``biosemi16``).
    units : {"auto", "uV", "V"}
        Units of the stream. ``"auto"`` takes values whose median magnitude is below
        0.01 for volts. Everything downstream is in microvolts.
    quality : QualityThresholds
        Thresholds of the per-window quality flags.
    gap_min_s : float
        Timestamp jitter tolerated before a delta counts as a gap (s).
    reset_gap_s : float
        A gap longer than this (or a stream lost and back) restarts the signal state:
        no window straddles it.
    stale_after_s : float
        A stream silent for this long (wall clock) is reported lost.
    buffer_s : float
        Seconds of raw and processed signal kept (for :meth:`Pipeline.latest_raw`).
    feature_method : {"fir", "fft"}
        :class:`~bci_valence.features.FeatureSettings` method.
    valence_average : int
        Valence is projected from the mean of this many most recent standardized DE
        vectors (1: the current one). None: the bundle's ``valence_average`` if it
        has one, else 1.
    max_batch : int
        Most windows sent to the device in one call. A poll reads every stream at
        least once and stops reading a stream once its share of this many windows is
        pending (the rest stays queued in the source for the next poll).
    torch_threads : int | None
        On CPU, ``torch.set_num_threads`` and numpy's BLAS threads (threadpoolctl) for
        the process (None: leave them). One
        thread is fastest for the pipeline's small batches and keeps its latency
        steady on a busy machine; intra-op threads only add synchronisation.
    cpu_sub_batch : int
        On CPU without ``incremental_de``, windows per feature-extractor call (see
        :meth:`Pipeline._differential_entropy`).
    incremental_de : bool
        On CPU with ``feature_method="fir"``, keep each stream's band-passed samples
        and filter only the samples new since its last window
        (:class:`~bci_valence.features.StreamingBandVariance`, 2-3 times as fast as
        filtering each window whole); False filters every window whole. Same values
        either way.
    tune_malloc : bool
        On glibc, keep freed large blocks in the heap (``mallopt``) instead of
        returning them to the OS: the per-step buffers (a few MB) are otherwise
        page-faulted back on every step, which costs more than the FFTs. Process-wide;
        resident memory then stays at its working-set peak.
    """

    hop_s: float = 0.25
    notch_hz: float | None = 50.0
    bandpass: tuple[float, float] = (0.5, 47.0)
    filter_order: int = 4
    calibration_s: float = 60.0
    calibration_path: str | None = None
    device: str = "auto"
    min_channels: int = 8
    channels: str | None = None
    units: str = "auto"
    quality: QualityThresholds = field(default_factory=QualityThresholds)
    gap_min_s: float = 0.02
    reset_gap_s: float = 1.0
    stale_after_s: float = 2.0
    buffer_s: float = 12.0
    feature_method: str = "fir"
    valence_average: int | None = None
    max_batch: int = 256
    torch_threads: int | None = 1
    cpu_sub_batch: int = 4
    incremental_de: bool = True
    tune_malloc: bool = True

    def __post_init__(self) -> None:
        if not self.hop_s > 0:
            raise ValueError(f"hop_s must be positive, got {self.hop_s}")
        if self.notch_hz not in (None, 0, 50, 60, 50.0, 60.0):
            raise ValueError(f"notch_hz must be 50, 60 or None, got {self.notch_hz}")
        if self.calibration_s < 0:
            raise ValueError(f"calibration_s must be >= 0, got {self.calibration_s}")
        if self.units not in ("auto", "uV", "V"):
            raise ValueError(f"units must be 'auto', 'uV' or 'V', got {self.units!r}")
        if self.min_channels < 1:
            raise ValueError(f"min_channels must be >= 1, got {self.min_channels}")

    def calibration_file(self, stream: str, n_streams: int = 1) -> Path | None:
        """Calibration JSON path for one stream (see ``calibration_path``)."""
        if not self.calibration_path:
            return None
        path = str(self.calibration_path)
        if "{stream}" in path:
            return Path(path.replace("{stream}", _safe_name(stream)))
        p = Path(path)
        if n_streams <= 1:
            return p
        return p.with_name(f"{p.stem}-{_safe_name(stream)}{p.suffix or '.json'}")


def _safe_name(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name) or "stream"


# --------------------------------------------------------------------------- outputs
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
        Projection on the valence axis (NaN for a STALE marker step).
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


# --------------------------------------------------------------------------- processor
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
    """

    data: np.ndarray
    timestamp: float
    end: int
    segment: int
    flags: QualityFlag
    arrival: float


class StreamProcessor:
    """One stream's signal path from raw chunks to due windows (no device work).

    Parameters
    ----------
    name : str
        Stream name.
    sfreq : float
        Stream's nominal rate.
    ch_names : sequence of str
        Stream's labels (after any ``--channels`` relabelling).
    settings : PipelineSettings
    target_channels : sequence of str
        The model's channels (the bundle's order).
    target_sfreq : float
        The model's rate.
    context_samples, window_samples : int
        From the feature extractor: each window is ``context + window`` samples.
    unit : str | None
        The source's unit (``"V"`` when it states volts); used when
        ``settings.units`` is ``"auto"``.

    Raises
    ------
    bci_valence.montage.ChannelMappingError
        When fewer than ``settings.min_channels`` can be placed.
    """

    def __init__(
        self,
        name: str,
        sfreq: float,
        ch_names: Sequence[str],
        settings: PipelineSettings,
        target_channels: Sequence[str],
        target_sfreq: float,
        context_samples: int,
        window_samples: int,
        unit: str | None = None,
    ) -> None:
        from .montage import map_channels

        if not sfreq or sfreq <= 0:
            raise ValueError(f"stream {name!r} has no regular sampling rate ({sfreq})")
        self.name = name
        self.sfreq = float(sfreq)
        self.settings = settings
        self.target_sfreq = float(target_sfreq)
        self.mapping = map_channels(
            list(ch_names), tuple(target_channels), min_channels=settings.min_channels
        )
        used = np.flatnonzero(np.abs(self.mapping.matrix).sum(axis=0) > 0)
        self.picks = used  # source channels that feed the model
        self.matrix = self.mapping.matrix[:, used]
        self.n_src = len(used)
        self.n_target = self.matrix.shape[0]
        self.context_samples = int(context_samples)
        self.window_samples = int(window_samples)
        self.n_input = self.context_samples + self.window_samples
        self.hop = settings.hop_s * self.target_sfreq  # in processed samples (fractional)
        self.raw = RingBuffer(
            self.n_src,
            max(int(math.ceil(settings.buffer_s * self.sfreq)), int(self.n_input * self.sfreq / self.target_sfreq) + 1024),
            sfreq=self.sfreq,
            gap_min_s=settings.gap_min_s,
        )
        proc_cap = max(int(math.ceil(settings.buffer_s * self.target_sfreq)), self.n_input + 512)
        self.proc = RingBuffer(self.n_target, proc_cap, dtype=np.float32)
        self.resampler = Resampler(ResamplerSettings(self.sfreq, self.target_sfreq), self.n_src)
        self.filter = CausalFilter(
            FilterSettings(
                sfreq=self.target_sfreq,
                bandpass=tuple(settings.bandpass),
                order=settings.filter_order,
                notch_hz=settings.notch_hz or None,
            ),
            self.n_src,
        )
        self.scale: float | None = {"uV": 1.0, "V": 1e6}.get(settings.units)
        if self.scale is None and unit == "V":
            self.scale = 1e6
        self.segment = -1
        self._hold = np.zeros(self.n_src)
        self._arrivals: deque[tuple[int, float]] = deque()
        self._nonfinite: deque[tuple[int, int]] = deque(maxlen=1000)  # raw index ranges
        self._new_segment(first=True)

    # ------------------------------------------------------------------ segments
    def _new_segment(self, first: bool = False) -> None:
        self.segment += 1
        self.resampler.reset()
        self.filter.reset()
        self.raw.clear_history()
        self.proc.clear_history()
        self.seg_raw_start = self.raw.pushed
        self.seg_proc_start = self.proc.pushed
        self._win_count = 0
        self._restarted = not first

    def reset(self) -> None:
        """Restart the signal state (after a long gap or a reconnection)."""
        self._new_segment()

    def _next_end(self) -> int:
        return self.seg_proc_start + self.n_input + int(round(self._win_count * self.hop))

    def _raw_index(self, proc_index: np.ndarray | int) -> np.ndarray | int:
        """Absolute raw index of the newest input behind processed sample(s)."""
        return self.seg_raw_start + self.resampler.source_index(
            np.asarray(proc_index) - self.seg_proc_start
        )

    # ------------------------------------------------------------------ input
    def push(self, data: np.ndarray, timestamps: np.ndarray, arrival: float | None = None) -> list[DueWindow]:
        """Process one chunk ``(n_source_channels, n)``; returns the windows now due."""
        data = np.asarray(data)
        timestamps = np.asarray(timestamps, dtype=np.float64).reshape(-1)
        if data.ndim != 2 or data.shape[0] != len(self.mapping.source_names):
            raise ValueError(
                f"stream {self.name!r}: chunk has shape {data.shape}, expected "
                f"({len(self.mapping.source_names)}, n)"
            )
        if data.shape[1] == 0:
            return []
        arrival = time.perf_counter() if arrival is None else arrival
        x = np.asarray(data[self.picks], dtype=np.float64)
        if self.scale is None:
            with np.errstate(all="ignore"):
                level = np.nanmedian(np.abs(x[np.isfinite(x)])) if np.isfinite(x).any() else np.nan
            if np.isfinite(level) and level > 0:
                self.scale = 1e6 if level < 1e-2 else 1.0
                log.info("stream %r: units taken as %s", self.name, "V" if self.scale != 1 else "uV")
        x = x * (self.scale or 1.0)
        # gaps: split the chunk at long gaps so no window straddles them
        out: list[DueWindow] = []
        start = 0
        base = self.raw.pushed
        long_gaps = [
            g
            for g in self.raw._find_gaps(timestamps)
            if (g.t_after - g.t_before) > self.settings.reset_gap_s or g.backwards
        ]
        for g in long_gaps + [None]:
            cut = x.shape[1] if g is None else g.index - base
            if cut > start:
                out.extend(self._push_segment(x[:, start:cut], timestamps[start:cut], arrival))
            if g is not None:
                self.raw.record_gap(g)
                self._new_segment()
            start = cut
        return out

    def _push_segment(self, x: np.ndarray, ts: np.ndarray, arrival: float) -> list[DueWindow]:
        # a long chunk goes in pieces, so each window is cut before the ring buffers
        # overwrite its samples
        room = (self.proc.capacity - self.n_input - 8) * self.sfreq / self.target_sfreq
        piece = max(1, min(int(room), self.raw.capacity - 8))
        if x.shape[1] > piece:
            due = []
            for i in range(0, x.shape[1], piece):
                due.extend(self._push_piece(x[:, i : i + piece], ts[i : i + piece], arrival))
            return due
        return self._push_piece(x, ts, arrival)

    def _push_piece(self, x: np.ndarray, ts: np.ndarray, arrival: float) -> list[DueWindow]:
        self.raw.push(x, ts)
        # non-finite samples: hold the last finite value so the IIR state survives
        finite = np.isfinite(x)
        if not finite.all():
            bad_cols = np.flatnonzero(~finite.all(axis=0))
            first = self.raw.pushed - x.shape[1]
            self._nonfinite.append((first + int(bad_cols[0]), first + int(bad_cols[-1]) + 1))
            x = x.copy()
            for c in np.flatnonzero(~finite.all(axis=1)):
                row = x[c]
                bad = ~np.isfinite(row)
                idx = np.where(~bad, np.arange(row.size), -1)
                np.maximum.accumulate(idx, out=idx)
                filled = np.where(idx >= 0, row[np.maximum(idx, 0)], self._hold[c])
                x[c] = filled
        self._hold = x[:, -1].copy()
        n_in_before = self.resampler.n_in
        y = self.resampler.process(x)
        if y.shape[1] == 0:
            return []
        k = np.arange(self.resampler.n_out - y.shape[1], self.resampler.n_out)
        src = self.resampler.source_index(k) - n_in_before
        out_ts = ts[src]
        y = self.filter.process(y)
        y = common_average_reference(self.matrix @ y)
        self.proc.push(y.astype(np.float32), out_ts)
        self._arrivals.append((self.proc.pushed, arrival))
        if len(self._arrivals) > 4096:  # no window for a long time (restarting segments)
            self._arrivals.popleft()
        due = []
        while self._next_end() <= self.proc.pushed:
            end = self._next_end()
            due.append(self._make_window(end))
            self._win_count += 1
            while len(self._arrivals) > 1 and self._arrivals[0][0] < end:
                self._arrivals.popleft()
        return due

    def _arrival_of(self, end: int) -> float:
        for idx, t in self._arrivals:
            if idx >= end:
                return t
        return self._arrivals[-1][1] if self._arrivals else time.perf_counter()

    def _make_window(self, end: int) -> DueWindow:
        start = end - self.n_input
        data, times = self.proc.get(start, end, copy=False)
        flags = QualityFlag.NONE
        # raw spans (delay-compensated) of the whole input and of the 1-s core
        delay = int(math.ceil(self.resampler.delay_in))
        core_start = end - self.context_samples // 2 - self.window_samples
        core_end = end - self.context_samples // 2
        r_full0 = max(self.seg_raw_start, int(self._raw_index(start)) - delay)
        r_full1 = int(self._raw_index(end - 1)) + 1
        r_core0 = max(self.seg_raw_start, int(self._raw_index(core_start)) - delay)
        r_core1 = max(r_core0 + 1, int(self._raw_index(core_end - 1)) - delay + 1)
        r_full0 = max(r_full0, self.raw.first_index)
        r_core0 = max(r_core0, self.raw.first_index)
        for g in reversed(self.raw.gaps):
            if g.index <= r_full0:
                break
            if g.index < r_full1 and g.index > self.seg_raw_start:
                flags |= QualityFlag.GAP
                break
        if self._restarted and self._win_count == 0:
            flags |= QualityFlag.GAP
        while self._nonfinite and self._nonfinite[0][1] <= self.raw.first_index:
            self._nonfinite.popleft()
        if any(a < r_full1 and b > r_full0 for a, b in self._nonfinite):
            flags |= QualityFlag.NONFINITE
        raw_core, _ = self.raw.get(r_core0, min(r_core1, self.raw.pushed), copy=False)
        core = data[:, core_start - start : core_end - start]
        flags |= assess_window(raw_core, core, self.settings.quality)
        if self.mapping.interpolated:
            flags |= QualityFlag.INTERPOLATED
        return DueWindow(
            data=data.copy(),  # the ring buffer may be overwritten before the batch runs
            timestamp=float(times[-1]),
            end=end,
            segment=self.segment,
            flags=flags,
            arrival=self._arrival_of(end),
        )

    # ------------------------------------------------------------------ display
    def latest(self, seconds: float) -> tuple[np.ndarray, np.ndarray]:
        """Newest processed (filtered, mapped, re-referenced) signal, µV."""
        n = int(round(seconds * self.target_sfreq))
        return self.proc.latest(n)


# --------------------------------------------------------------------------- pipeline
class _StreamState:
    """Everything the pipeline holds for one source."""

    def __init__(self, source: Any, name: str) -> None:
        self.source = source
        self.name = name
        self.proc: StreamProcessor | None = None
        self.cal_path: Path | None = None
        self.standardizer = None
        self.calibrated = False
        self.good_windows = 0
        self.de_history: deque[tuple[int, int, np.ndarray]] = deque()  # (segment, end, de)
        self.z_history: deque[tuple[int, int, np.ndarray]] = deque()
        self.connected = False
        self.started = False
        self.lost = False
        self.last_data_wall: float | None = None
        self.reconnects = 0
        self.steps = 0
        self.markers: list[tuple[float, str]] = []
        self.message = ""
        self.simulated = bool(getattr(source, "simulated", False))
        self.last_timestamp: float | None = None


class Pipeline:
    """Many streams in, :class:`ValenceStep` s out; all device work batched.

    Parameters
    ----------
    sources : Source | sequence of Source
        Objects with ``start()``, non-blocking ``read() -> Chunk | None``,
        ``read_markers()``, ``stop()``, ``connected``, ``ch_names``, ``sfreq``,
        ``simulated`` (see :mod:`bci_valence.sources`).
    bundle : ModelBundle | str | Path | None
        The model bundle, a path to one, or None for the shipped default.
    settings : PipelineSettings
    names : sequence of str | None
        Stream names (default: the sources' ``name`` attribute, else ``stream<i>``).
    """

    def __init__(
        self,
        sources: Any,
        bundle: Any = None,
        settings: PipelineSettings | None = None,
        names: Sequence[str] | None = None,
    ) -> None:
        from .features import BandFilterBank, FeatureSettings, StreamingBandVariance, resolve_device

        if not isinstance(sources, (list, tuple)):
            sources = [sources]
        self.settings = settings or PipelineSettings()
        if bundle is None or isinstance(bundle, (str, Path)):
            from .bundle import ModelBundle

            bundle = ModelBundle.load(bundle)
        self.bundle = bundle
        self.device = resolve_device(self.settings.device)
        if self.settings.tune_malloc:
            _tune_malloc()
        if self.device.type == "cpu" and self.settings.torch_threads:
            import torch
            from threadpoolctl import threadpool_limits

            torch.set_num_threads(int(self.settings.torch_threads))
            # numpy's BLAS too (the CPU ensemble's products): its spinning worker
            # threads otherwise fight the stream's own threads for the cores.
            threadpool_limits(int(self.settings.torch_threads), user_api="blas")
        if hasattr(bundle, "to"):
            try:
                bundle.to(self.device)
            except Exception as err:  # pragma: no cover - depends on bundle
                log.warning("bundle.to(%s) failed (%s); running it where it is", self.device, err)
        cfg = bundle.config
        self.class_names: tuple[str, ...] = tuple(cfg.class_names)
        self.target_channels: tuple[str, ...] = tuple(getattr(cfg, "channels", None) or _faced_channels())
        self.target_sfreq = float(getattr(cfg, "sfreq", 250.0) or 250.0)
        self.sequence_len = int(round(float(getattr(cfg, "sequence_seconds", 10) or 10)))
        self.sequence_spacing = float(getattr(cfg, "sequence_spacing_s", 1.0) or 1.0)
        va = self.settings.valence_average
        if va is None:
            va = int(getattr(cfg, "valence_average", 1) or 1)
        self.valence_average = max(1, int(va))
        bands = getattr(cfg, "bands", None)
        self.has_classifier = bool(getattr(bundle, "has_classifier", True))
        self.bank = BandFilterBank(
            FeatureSettings(
                sfreq=self.target_sfreq,
                window_s=1.0,
                method=self.settings.feature_method,
                device=str(self.device),
                **({"bands": {k: tuple(v) for k, v in dict(bands).items()}} if bands else {}),
            )
        )
        # On CPU the FIR DE of consecutive windows filters each new sample once
        # (StreamingBandVariance); elsewhere whole windows go to the batched FFT.
        self.streaming = (
            StreamingBandVariance(self.bank.settings, len(self.target_channels))
            if self.settings.incremental_de
            and self.device.type == "cpu"
            and self.bank.settings.method == "fir"
            else None
        )
        n_bands = self.bank.n_bands
        self.feature_shape = (len(self.target_channels), n_bands)
        self._auto_names = names is None
        if names is None:
            names = [str(getattr(s, "name", None) or f"stream{i}") for i, s in enumerate(sources)]
        self.streams = [_StreamState(s, n) for s, n in zip(sources, _unique(names))]
        self._lock = threading.RLock()
        self._running = False
        self._chunk_listeners: list = []

    def add_chunk_listener(self, fn) -> None:
        """Call ``fn(stream_name, data, timestamps)`` with every raw chunk read."""
        self._chunk_listeners.append(fn)

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        """Start every source and build its processor.

        Raises
        ------
        bci_valence.montage.ChannelMappingError
            A stream's labels place fewer than ``min_channels`` model channels.
        Exception
            Whatever a source raises when it cannot start (``SourceError``: stream
            not found, board not answering...). Sources already started are stopped.
        """
        with self._lock:
            self._running = True
            for st in self.streams:
                try:
                    self._try_start(st)
                except Exception:
                    self.stop()  # leave no source half-started
                    raise
            if self._auto_names:  # sources know their real names once started
                names = [str(getattr(st.source, "name", "") or st.name) for st in self.streams]
                for st, name in zip(self.streams, _unique(names)):
                    st.name = name
                    if st.proc is not None:
                        st.proc.name = name

    def _try_start(self, st: _StreamState) -> None:
        """Start one source and build its processor; errors propagate (and name it)."""
        if not st.started:
            try:
                st.source.start()
            except Exception:
                st.message = "could not start"
                raise
            st.started = True
        st.simulated = bool(getattr(st.source, "simulated", False))  # known once started
        if st.proc is None:
            try:
                self._build_processor(st)
            except Exception:
                st.source.stop()
                st.started = False
                raise
        st.connected = bool(getattr(st.source, "connected", True))
        st.last_data_wall = time.perf_counter()

    def _build_processor(self, st: _StreamState) -> None:
        from .normalization import RunningStandardizer

        src = st.source
        sfreq = float(getattr(src, "sfreq"))
        names = list(getattr(src, "ch_names", None) or [])
        n_ch = int(getattr(src, "n_channels", 0) or len(names))
        if self.settings.channels:
            from .montage import resolve_channel_labels

            names = resolve_channel_labels(self.settings.channels, n_ch)
        elif not names:
            names = [""] * n_ch
        if st.proc is not None and self.streaming is not None:
            self.streaming.forget(st.proc)
        st.proc = StreamProcessor(
            st.name,
            sfreq,
            names,
            self.settings,
            self.target_channels,
            self.target_sfreq,
            self.bank.context_samples,
            self.bank.window_samples,
            unit=getattr(src, "unit", None),
        )
        cal = self.settings.calibration_file(str(getattr(src, "name", "") or st.name), len(self.streams))
        st.cal_path = cal
        if cal is not None and cal.exists():
            st.standardizer = RunningStandardizer.load(cal)
            if tuple(st.standardizer.shape) != self.feature_shape:
                raise ValueError(
                    f"calibration {cal} has shape {st.standardizer.shape}, expected {self.feature_shape}"
                )
            st.calibrated = True
            log.info("stream %r: calibration loaded from %s", st.name, cal)
        else:
            st.standardizer = RunningStandardizer(self.feature_shape)
            st.calibrated = False
        log.info("stream %r: %s", st.name, st.proc.mapping.describe())

    def stop(self) -> None:
        """Stop every source (idempotent)."""
        with self._lock:
            self._running = False
            for st in self.streams:
                if st.started:
                    try:
                        st.source.stop()
                    except Exception as err:  # pragma: no cover
                        log.warning("stream %r: stop failed: %s", st.name, err)
                    st.started = False

    def __enter__(self) -> Pipeline:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ work
    def poll(self) -> list[ValenceStep]:
        """Read everything available, process it, return the new steps (non-blocking)."""
        with self._lock:
            pending: list[tuple[_StreamState, DueWindow]] = []
            stale_steps: list[ValenceStep] = []
            now = time.perf_counter()
            for st in self.streams:
                if st.proc is None or not st.started:
                    continue  # not started (call start()) or stopped
                got = self._read_stream(st, pending)
                if got:
                    st.last_data_wall = now
                if bool(getattr(st.source, "finished", False)):
                    st.connected = False
                    st.message = "finished"
                    continue
                connected = bool(getattr(st.source, "connected", True))
                silent = st.last_data_wall is not None and now - st.last_data_wall > self.settings.stale_after_s
                if (not connected or silent) and not st.lost and not got:
                    st.lost = True
                    st.message = "stream lost; waiting for it to come back"
                    log.warning("stream %r lost; waiting for it to come back", st.name)
                    stale_steps.append(self._stale_step(st))
                st.connected = connected and not st.lost
            steps = self._compute(pending)
            return stale_steps + steps

    def _read_stream(self, st: _StreamState, pending: list) -> bool:
        """Read one stream: at least one ``read()``, more while its share of
        ``max_batch`` is not pending yet (every stream is read on every poll)."""
        got = False
        cap = max(4, self.settings.max_batch // max(1, len(self.streams)))
        mine = 0
        while mine < cap:
            try:
                chunk = st.source.read()
            except Exception as err:
                if not st.lost:
                    log.warning("stream %r: read failed: %s", st.name, err)
                break
            if chunk is None:
                break
            data = np.asarray(chunk.data)
            if data.ndim != 2 or data.shape[1] == 0:
                continue
            got = True
            for fn in self._chunk_listeners:
                fn(st.name, data, np.asarray(chunk.timestamps))
            if st.lost:
                st.lost = False
                st.reconnects += 1
                st.message = "stream back"
                log.warning("stream %r is back", st.name)
            for win in st.proc.push(data, chunk.timestamps):
                pending.append((st, win))
                mine += 1
            st.last_timestamp = st.proc.raw.last_timestamp
        try:
            markers = st.source.read_markers()
        except Exception:
            markers = None
        for ts, label in _normalize_markers(markers):
            st.markers.append((ts, label))
        if len(st.markers) > 1000:
            del st.markers[:-1000]
        return got

    def _stale_step(self, st: _StreamState) -> ValenceStep:
        flags = QualityFlag.STALE | QualityFlag.GAP
        if st.simulated:
            flags |= QualityFlag.SIMULATED
        return ValenceStep(
            stream=st.name,
            timestamp=float(st.last_timestamp if st.last_timestamp is not None else float("nan")),
            valence=float("nan"),
            probabilities=None,
            de_z=np.full(self.feature_shape, np.nan, dtype=np.float32),
            flags=int(flags),
            calibration_progress=self._progress(st),
            latency_ms=0.0,
            true_label=None,
        )

    def _progress(self, st: _StreamState) -> float:
        if st.calibrated:
            return 1.0
        if self.settings.calibration_s <= 0:
            return 1.0
        return min(1.0, st.good_windows * self.settings.hop_s / self.settings.calibration_s)

    def _compute(self, pending: list[tuple[_StreamState, DueWindow]]) -> list[ValenceStep]:
        steps: list[ValenceStep] = []
        size = max(1, self.settings.max_batch)
        for i in range(0, len(pending), size):
            steps.extend(self._compute_batch(pending[i : i + size]))
        return steps

    def _compute_batch(self, pending: list[tuple[_StreamState, DueWindow]]) -> list[ValenceStep]:
        if not pending:
            return []
        import torch

        if self.streaming is not None:
            de = self._streaming_de(pending)
        else:
            de = self._differential_entropy(np.stack([w.data for _, w in pending]))
        n = len(pending)
        de_z = np.empty_like(de)
        flags = np.zeros(n, dtype=np.int64)
        progress = np.zeros(n)
        seq_rows: list[int] = []
        seqs: list[np.ndarray] = []
        vz = np.empty_like(de)
        for i, (st, win) in enumerate(pending):
            f = win.flags
            if not np.isfinite(de[i]).all():
                f |= QualityFlag.NONFINITE
            std = st.standardizer
            adapt = self.settings.calibration_s <= 0
            if not st.calibrated and not (f & BAD_FLAGS):
                std.update(de[i])
                st.good_windows += 1
                if not adapt and self._progress(st) >= 1.0:
                    st.calibrated = True
                    self._save_calibration(st)
            if not st.calibrated and not adapt:
                f |= QualityFlag.CALIBRATING
            if st.simulated:
                f |= QualityFlag.SIMULATED
            z = std.transform(de[i])
            z = np.where(np.isfinite(z), z, 0.0)
            de_z[i] = z
            flags[i] = int(f)
            progress[i] = self._progress(st)
            st.de_history.append((win.segment, win.end, de[i]))
            st.z_history.append((win.segment, win.end, z))
            horizon = int(math.ceil((self.sequence_len * self.sequence_spacing + 2) / self.settings.hop_s))
            while len(st.de_history) > horizon:
                st.de_history.popleft()
            while len(st.z_history) > max(self.valence_average, 1):
                st.z_history.popleft()
            recent = [zz for seg, _, zz in st.z_history if seg == win.segment]
            vz[i] = np.mean(recent[-self.valence_average :], axis=0)
            seq = self._sequence(st, win) if self.has_classifier else None
            if seq is not None:
                seq_rows.append(i)
                seqs.append(std.transform(seq))
        valence = np.asarray(self.bundle.project(vz.astype(np.float32)), dtype=np.float64).reshape(n)
        probs: dict[int, np.ndarray] = {}
        if seqs:
            seq_arr = np.nan_to_num(np.stack(seqs)).astype(np.float32)
            p = np.asarray(self.bundle.predict_proba(seq_arr), dtype=np.float64)
            for row, i in enumerate(seq_rows):
                probs[i] = p[row]
        done = time.perf_counter()
        steps = []
        for i, (st, win) in enumerate(pending):
            st.steps += 1
            steps.append(
                ValenceStep(
                    stream=st.name,
                    timestamp=win.timestamp,
                    valence=float(valence[i]),
                    probabilities=probs.get(i),
                    de_z=de_z[i].astype(np.float32),
                    flags=int(flags[i]),
                    calibration_progress=float(progress[i]),
                    latency_ms=(done - win.arrival) * 1e3,
                    true_label=self._label_at(st, win.timestamp),
                )
            )
        return steps

    def _differential_entropy(self, batch: np.ndarray) -> np.ndarray:
        """DE of a batch of windows ``(b, 32, n_input)`` -> ``(b, 32, n_bands)`` float64.

        On CUDA the whole batch is one device call. On CPU it is cut into sub-batches
        of ``cpu_sub_batch`` windows, which keeps the FFT working set in cache (a large
        batch is several times slower per window).
        """
        import torch

        x = torch.from_numpy(np.ascontiguousarray(batch, dtype=np.float32))
        step = len(x) if self.device.type != "cpu" else max(1, self.settings.cpu_sub_batch)
        out = []
        with torch.inference_mode():
            for i in range(0, len(x), step):
                xs = x[i : i + step].to(self.device)
                out.append(self.bank.differential_entropy(xs).cpu())
        return torch.cat(out).numpy().astype(np.float64)

    def _streaming_de(self, pending: list[tuple[_StreamState, DueWindow]]) -> np.ndarray:
        """DE of the pending windows through :class:`StreamingBandVariance`.

        A stream's windows are handed over oldest first, one per call (several may be
        pending after a pause); the kept samples belong to the processor that made them.
        """
        import torch

        from .features import variance_to_de

        variance = np.empty((len(pending), *self.feature_shape))
        seen: dict[int, int] = {}
        rounds: list[list[int]] = []
        for i, (st, _) in enumerate(pending):
            r = seen.get(id(st), 0)
            seen[id(st)] = r + 1
            if r == len(rounds):
                rounds.append([])
            rounds[r].append(i)
        for rows in rounds:
            windows = [
                (pending[i][0].proc, pending[i][1].data, pending[i][1].end, pending[i][1].segment)
                for i in rows
            ]
            variance[rows] = self.streaming.update(windows)
        return variance_to_de(torch.from_numpy(variance)).numpy()

    def _sequence(self, st: _StreamState, win: DueWindow) -> np.ndarray | None:
        """Raw DE of the ``sequence_len`` windows spaced ``sequence_spacing`` s ending at ``win``."""
        spacing = self.sequence_spacing * self.target_sfreq
        tol = max(1.0, self.settings.hop_s * self.target_sfreq / 2.0)
        by_end = {end: de for seg, end, de in st.de_history if seg == win.segment}
        ends: np.ndarray | None = None
        out = []
        for j in range(self.sequence_len - 1, -1, -1):
            target = win.end - j * spacing
            de = by_end.get(int(target)) if target == int(target) else None
            if de is None:  # hops that are not whole samples: the nearest window
                if ends is None:
                    ends = np.fromiter(by_end.keys(), dtype=np.int64, count=len(by_end))
                if ends.size == 0:
                    return None
                k = int(ends[np.argmin(np.abs(ends - target))])
                if abs(k - target) > tol:
                    return None
                de = by_end[k]
            out.append(de)
        return np.stack(out)

    def _label_at(self, st: _StreamState, ts: float) -> str | None:
        label = None
        for mts, mlabel in st.markers:
            if mts <= ts:
                label = mlabel
            else:
                break
        if label is None:
            return None
        return _marker_to_class(label, self.class_names)

    def _save_calibration(self, st: _StreamState) -> None:
        path = st.cal_path
        if path is None:
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            st.standardizer.save(path)
            log.info("stream %r: calibration saved to %s", st.name, path)
        except OSError as err:
            log.warning("stream %r: cannot save calibration to %s: %s", st.name, path, err)

    # ------------------------------------------------------------------ views
    def latest_raw(self, seconds: float, stream: int | str = 0) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
        """The newest ``seconds`` of one stream's mapped signal for trace displays.

        Returns
        -------
        data : ndarray (32, n) float32
            Filtered, mapped, re-referenced EEG in microvolts at the bundle's rate.
        times : ndarray (n,)
            Source timestamps.
        ch_names : tuple of str
            The model's channel names.
        """
        with self._lock:
            st = self._stream(stream)
            if st.proc is None:
                return (
                    np.zeros((len(self.target_channels), 0), np.float32),
                    np.zeros(0),
                    self.target_channels,
                )
            data, times = st.proc.latest(seconds)
            return data, times, self.target_channels

    def _stream(self, stream: int | str) -> _StreamState:
        if isinstance(stream, int):
            return self.streams[stream]
        for st in self.streams:
            if st.name == stream:
                return st
        raise KeyError(f"no stream named {stream!r}; streams: {[s.name for s in self.streams]}")

    def status(self) -> list[StreamStatus]:
        """One :class:`StreamStatus` per stream."""
        with self._lock:
            out = []
            for st in self.streams:
                p = st.proc
                m = p.mapping if p is not None else None
                out.append(
                    StreamStatus(
                        name=st.name,
                        connected=bool(st.connected and not st.lost and p is not None),
                        sfreq=p.sfreq if p is not None else None,
                        n_channels=len(m.source_names) if m is not None else 0,
                        n_real=m.n_real if m is not None else 0,
                        real=m.real if m is not None else (),
                        interpolated=m.interpolated if m is not None else (),
                        non_eeg=m.non_eeg if m is not None else (),
                        unplaced=m.unplaced if m is not None else (),
                        lost_samples=p.raw.missing_samples if p is not None else 0,
                        gaps=p.raw.n_gaps if p is not None else 0,
                        reconnects=st.reconnects,
                        samples=p.raw.pushed if p is not None else 0,
                        steps=st.steps,
                        calibration_progress=self._progress(st),
                        calibrated=st.calibrated,
                        simulated=st.simulated,
                        device=str(self.device),
                        last_timestamp=st.last_timestamp,
                        message=st.message,
                    )
                )
            return out

    @property
    def finished(self) -> bool:
        """True when every source is finite and has delivered everything (replays)."""
        return all(bool(getattr(st.source, "finished", False)) for st in self.streams)

    def calibration(self, stream: int | str = 0) -> dict | None:
        """The stream's standardizer state (JSON-able), or None before it starts."""
        with self._lock:
            st = self._stream(stream)
            return st.standardizer.to_dict() if st.standardizer is not None else None


#: Alias (the name used in the design notes).
OnlinePipeline = Pipeline


# --------------------------------------------------------------------------- helpers
def _unique(names: Sequence[str]) -> list[str]:
    """Names made unique by suffixing ``#i`` to repeats."""
    out, seen = [], set()
    for i, n in enumerate(names):
        name = n if n not in seen else f"{n}#{i}"
        seen.add(name)
        out.append(name)
    return out


_MALLOC_TUNED = False


def _tune_malloc() -> None:
    """glibc: no mmap for blocks under 256 MB and no trimming (see ``tune_malloc``)."""
    global _MALLOC_TUNED
    if _MALLOC_TUNED:
        return
    _MALLOC_TUNED = True
    import ctypes
    import ctypes.util
    import sys

    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        m_trim_threshold, m_mmap_threshold = -1, -3
        libc.mallopt(m_mmap_threshold, 256 * 1024 * 1024)
        libc.mallopt(m_trim_threshold, 512 * 1024 * 1024)
    except (OSError, AttributeError):  # not glibc
        log.debug("mallopt unavailable; malloc left as is")


def _faced_channels() -> tuple[str, ...]:
    from .montage import FACED_CHANNELS

    return tuple(FACED_CHANNELS)


def _normalize_markers(markers: Any) -> Iterable[tuple[float, str]]:
    """Accept ``[(ts, label), ...]``, objects with ``timestamp``/``label`` or a Chunk of labels."""
    if markers is None:
        return []
    if hasattr(markers, "timestamps") and hasattr(markers, "data"):
        labels = np.asarray(markers.data, dtype=object).reshape(-1)
        return [(float(t), str(lbl)) for t, lbl in zip(np.asarray(markers.timestamps).reshape(-1), labels)]
    out = []
    for m in markers:
        if hasattr(m, "timestamp"):
            out.append((float(m.timestamp), str(getattr(m, "label", getattr(m, "value", "")))))
        else:
            ts, label = m[0], m[1]
            if isinstance(label, (list, tuple, np.ndarray)):
                label = label[0] if len(label) else ""
            out.append((float(ts), str(label)))
    return out


def _marker_to_class(label: str, class_names: Sequence[str]) -> str | None:
    """A marker label naming a class (any case) or a FACED clip (``clip 7``, ``7``)."""
    text = str(label).strip()
    lower = {c.lower(): c for c in class_names}
    if text.lower() in lower:
        return lower[text.lower()]
    digits = "".join(ch for ch in text if ch.isdigit())
    if digits and len(digits) <= 2:
        clip = int(digits)
        if 1 <= clip <= 28:
            try:
                from .faced import CLIP_LABELS, EMOTION_CLASSES

                name = EMOTION_CLASSES[int(CLIP_LABELS[clip - 1])]
                return lower.get(name.lower(), name)
            except Exception:  # pragma: no cover
                return None
    return None


# --------------------------------------------------------------------------- offline
class _ArrayFeed:
    """Minimal in-process source over an array: every ``read()`` returns the next chunk."""

    simulated = False

    def __init__(
        self,
        data: np.ndarray,
        sfreq: float,
        ch_names: Sequence[str],
        timestamps: np.ndarray | None = None,
        markers: Sequence[tuple[float, str]] = (),
        chunk: int = 32,
        name: str = "recording",
    ) -> None:
        self.data = np.asarray(data)
        self.sfreq = float(sfreq)
        self.ch_names = list(ch_names)
        n = self.data.shape[1]
        self.timestamps = (
            np.asarray(timestamps, dtype=np.float64) if timestamps is not None else np.arange(n) / self.sfreq
        )
        self.markers = list(markers)
        self.chunk = int(chunk)
        self.name = name
        self.pos = 0
        self.connected = False

    def start(self) -> None:
        self.connected = True

    def read(self):
        from types import SimpleNamespace

        if self.pos >= self.data.shape[1]:
            return None
        a, b = self.pos, min(self.pos + self.chunk, self.data.shape[1])
        self.pos = b
        return SimpleNamespace(data=self.data[:, a:b], timestamps=self.timestamps[a:b])

    def read_markers(self):
        out = [m for m in self.markers]
        self.markers = []
        return out

    def stop(self) -> None:
        self.connected = False

    @property
    def finished(self) -> bool:
        return self.pos >= self.data.shape[1]


def run_offline(
    recording: Any,
    settings: PipelineSettings | None = None,
    bundle: Any = None,
    *,
    chunk_s: float = 0.1,
    name: str | None = None,
    progress: bool = False,
) -> list[ValenceStep]:
    """Feed a whole recording through the online processors as fast as possible.

    Parameters
    ----------
    recording : Recording | tuple
        A :class:`~bci_valence.recordings.Recording` (fed through an
        :class:`~bci_valence.sources.ArraySource`, markers included) or a tuple
        ``(data, sfreq, ch_names)`` (timestamps ``i / sfreq``).
    settings : PipelineSettings | None
    bundle : ModelBundle | path | None
    chunk_s : float
        Chunk length fed per read; results do not depend on it.
    name : str | None
        Stream name (default: the recording's ``name`` or ``"recording"``).
    progress : bool
        Show a progress bar.

    Returns
    -------
    list of ValenceStep
        The same steps a real-time run over the recording gives (latencies aside).
    """
    if isinstance(recording, tuple):
        data, sfreq, ch_names = recording[:3]
        feed: Any = _ArrayFeed(
            data, sfreq, ch_names, chunk=max(1, int(round(chunk_s * float(sfreq)))),
            name=name or "recording",
        )  # fmt: skip
    else:
        from .sources import ArraySource

        feed = ArraySource(recording, chunk_size=max(1, int(round(chunk_s * float(recording.sfreq)))))
        if name:
            feed.name = name
    n_total = int(np.asarray(feed.recording.data if hasattr(feed, "recording") else feed.data).shape[1])
    settings = settings or PipelineSettings()
    # an offline run never goes stale: silence is only the CPU being busy
    settings = replace(settings, stale_after_s=float("inf"))
    pipe = Pipeline([feed], bundle, settings, names=[feed.name or "recording"])
    steps: list[ValenceStep] = []
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=n_total, unit="sample", desc=f"replay {feed.name}")
    pipe.start()
    try:
        done = 0
        while not feed.finished:
            steps.extend(s for s in pipe.poll() if not (s.flags & QualityFlag.STALE))
            if bar is not None:
                now = pipe.streams[0].proc.raw.pushed if pipe.streams[0].proc is not None else 0
                bar.update(now - done)
                done = now
        steps.extend(s for s in pipe.poll() if not (s.flags & QualityFlag.STALE))
    finally:
        pipe.stop()
        if bar is not None:
            bar.close()
    return steps
