"""The online pipeline: EEG streams in, valence and emotion probabilities out.

Per stream (:class:`StreamProcessor`, pure state machine on arrays)::

    chunk (source channels, source rate, LSL timestamps)
      -> RingBuffer (raw, timestamps, gap detection)
      -> Resampler (to the bundle's 250 Hz) -> CausalFilter (band-pass + notch)
      -> montage mapping (32 FACED channels, interpolation) -> common average reference
      -> processed RingBuffer -> due windows (context + 1 s, every ``hop_s``)

Across streams (:class:`Pipeline`): every due window of every stream goes to the
device in one batched :class:`~bci_valence.features.BandFilterBank` call; each
stream's :class:`~bci_valence.signal.normalization.RunningStandardizer` z-scores the DE
(bad windows are kept out of the statistics); the bundle projects every step on the
valence axis (one batched call) and, once ``sequence_seconds`` of DE exist, predicts
the nine class probabilities from the DE vectors spaced 1 s apart ending at the step
(one batched call).

The GUI runs a :class:`Pipeline` in a worker thread::

    pipe = Pipeline([source], bundle, PipelineSettings(filter=FilterSettings(notch_hz=60)))  # US mains
    pipe.start()
    while running:
        for step in pipe.poll():   # non-blocking; does the work
            ...
        data, times, names = pipe.latest_raw(5.0)
        status = pipe.status()     # list[StreamStatus]
    pipe.stop()

:func:`~bci_valence.online.replay.run_offline` feeds a whole recording through the very same processors.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import numpy as np

from ..model.protocol import ValenceModel
from ..signal.montage import MontageMapping
from ..signal.quality import BAD_FLAGS, QualityFlag
from ..signal.timing import StreamClock
from ..signal.window_timing import WindowTiming
from ..streams.base import Source

from .markers import normalize_markers
from .processor import MAX_HELD_FRACTION, StreamProcessor
from .settings import PipelineSettings
from .steps import DueWindow, StreamStatus, ValenceStep
from .stream_state import StreamState, unique_names
from .usability import WindowCounts

if TYPE_CHECKING:
    from ..signal.de import BandFilterBank
    from ..signal.streaming_de import StreamingBandVariance

__all__ = ["Pipeline", "QualityFlag"]

log = logging.getLogger(__name__)


class Pipeline:
    """Many streams in, :class:`ValenceStep` s out; all device work batched.

    Parameters
    ----------
    sources : Source | sequence of Source
        The streams (:class:`~bci_valence.streams.base.Source`; see
        :func:`~bci_valence.streams.factory.open_source`).
    bundle : ValenceModel | str | Path | None
        The model (:class:`~bci_valence.model.bundle.ModelBundle` or anything with the
        :class:`~bci_valence.model.protocol.ValenceModel` attributes), a path to a
        bundle, or None for the shipped default.
    settings : PipelineSettings
    names : sequence of str | None
        Stream names (default: the sources' ``name`` attribute, else ``stream<i>``).
    """

    def __init__(
        self,
        sources: Source | Sequence[Source],
        bundle: ValenceModel | str | Path | None = None,
        settings: PipelineSettings | None = None,
        names: Sequence[str] | None = None,
    ) -> None:
        from ..device import resolve_device
        from .window_features import WindowFeatures  # torch: imported when a pipeline is made

        if not isinstance(sources, (list, tuple)):
            sources = [sources]
        self.settings = settings or PipelineSettings()
        if bundle is None or isinstance(bundle, (str, Path)):
            from ..model.bundle import ModelBundle

            bundle = ModelBundle.load(bundle)
        self.bundle = bundle
        self.device = resolve_device(self.settings.compute.device)
        bundle.to(self.device)
        cfg = bundle.config
        self.class_names: tuple[str, ...] = tuple(cfg.class_names)
        self.target_channels: tuple[str, ...] = tuple(cfg.channels)
        self.target_sfreq = float(cfg.sfreq)
        self.sequence_len = int(round(float(cfg.sequence_seconds)))
        self.sequence_spacing = float(cfg.sequence_spacing_s)
        va = self.settings.valence_average
        if va is None:
            va = int(cfg.valence_average)
        self.valence_average = max(1, int(va))
        self.has_classifier = bool(bundle.has_classifier)
        self._features = WindowFeatures(cfg, self.settings.compute, self.device, self.settings.hop_s)
        self.feature_shape = self._features.shape
        # the raw DE the classifier's sequence reaches back to, in windows
        self._history_len = int(math.ceil(self.window_timing.windows_in(self.sequence_len * self.sequence_spacing + 2)))
        self._auto_names = names is None
        if names is None:
            names = [s.name or f"stream{i}" for i, s in enumerate(sources)]
        self._streams = [StreamState(s, n) for s, n in zip(sources, unique_names(names))]
        self._lock = threading.RLock()
        self._running = False
        self._chunk_listeners: list = []
        self._marker_listeners: list = []

    def add_chunk_listener(self, fn) -> None:
        """Call ``fn(stream_name, data, timestamps)`` with every raw chunk read."""
        self._chunk_listeners.append(fn)

    def add_marker_listener(self, fn) -> None:
        """Call ``fn(stream_name, markers)`` with every batch of ``(timestamp, label)`` markers read."""
        self._marker_listeners.append(fn)

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        """Start every source and build its processor.

        Raises
        ------
        bci_valence.signal.montage.ChannelMappingError
            A stream's labels place fewer than ``min_channels`` model channels.
        Exception
            Whatever a source raises when it cannot start (``SourceError``: stream
            not found, board not answering...). Sources already started are stopped.
        """
        with self._lock:
            self._running = True
            for st in self._streams:
                try:
                    self._try_start(st)
                except Exception:
                    self.stop()  # leave no source half-started
                    raise
            if self._auto_names:  # sources know their real names once started
                names = [st.source.name or st.name for st in self._streams]
                for st, name in zip(self._streams, unique_names(names)):
                    st.name = name
                    if st.proc is not None:
                        st.proc.name = name

    def _try_start(self, st: StreamState) -> None:
        """Start one source and build its processor; errors propagate (and name it)."""
        if not st.started:
            try:
                st.source.start()
            except Exception:
                st.message = "could not start"
                raise
            st.started = True
        st.simulated = bool(st.source.simulated)  # known once started
        if st.proc is None:
            try:
                self._build_processor(st)
            except Exception:
                st.source.stop()
                st.started = False
                raise
        st.connected = bool(st.source.connected)
        st.last_data_wall = time.perf_counter()

    def _build_processor(self, st: StreamState) -> None:
        from ..signal.normalization import RunningStandardizer

        src = st.source
        sfreq = float(getattr(src, "sfreq"))
        n_ch = int(getattr(src, "n_channels", 0) or len(src.ch_names))
        own = list(src.ch_names) or [""] * n_ch
        types = list(getattr(src, "ch_types", None) or [])
        types = types if len(types) == len(own) else None
        # the source's own relabelling (its spec's channels=), else the global one
        relabel = src.channels or self.settings.stream.channels
        names = relabel.apply(own, types) if relabel is not None else own
        if st.proc is not None:
            self._features.forget(st.proc)
        st.proc = StreamProcessor(
            st.name,
            sfreq,
            names,
            self.settings,
            self.target_channels,
            self.window_timing,
            unit=getattr(src, "unit", None),
            ch_types=types,
            top_hz=max(high for _, high in self.bank.settings.bands.values()),
        )
        cal = self.settings.calibration.file(str(getattr(src, "name", "") or st.name), len(self._streams))
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
            for st in self._streams:
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
            pending: list[tuple[StreamState, DueWindow]] = []
            stale_steps: list[ValenceStep] = []
            now = time.perf_counter()
            for st in self._streams:
                if st.proc is None or not st.started:
                    continue  # not started (call start()) or stopped
                got = self._read_stream(st, pending)
                if got:
                    st.last_data_wall = now
                if (st.source.finished or not st.source.connected) and st.proc.clock.held:
                    for win in st.proc.flush():  # the end of the stream settles what was held
                        pending.append((st, win))
                if st.source.finished:
                    st.connected = False
                    st.message = "finished"
                    continue
                connected = bool(st.source.connected)
                silent = st.last_data_wall is not None and now - st.last_data_wall > self.settings.stream.stale_after_s
                if (not connected or silent) and not st.lost and not got:
                    st.lost = True
                    st.message = "stream lost; waiting for it to come back"
                    log.warning("stream %r lost; waiting for it to come back", st.name)
                    stale_steps.append(self._stale_step(st))
                st.connected = connected and not st.lost
            steps = self._compute(pending)
            return stale_steps + steps

    def _read_stream(self, st: StreamState, pending: list) -> bool:
        """Read one stream: at least one ``read()``, more while its share of
        ``max_batch`` is not pending yet (every stream is read on every poll)."""
        got = False
        cap = max(4, self.settings.compute.max_batch // max(1, len(self._streams)))
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
            for win in st.proc.push(data, chunk.timestamps, lost_before=chunk.lost_before):
                pending.append((st, win))
                mine += 1
            st.last_timestamp = st.proc.raw.last_timestamp
        try:
            markers = st.source.read_markers()
        except Exception:
            markers = None
        new_markers = list(normalize_markers(markers))
        st.markers.extend(new_markers)
        if new_markers:
            for fn in self._marker_listeners:
                fn(st.name, new_markers)
        if len(st.markers) > 1000:
            del st.markers[:-1000]
        return got

    def _stale_step(self, st: StreamState) -> ValenceStep:
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

    def _progress(self, st: StreamState) -> float:
        if st.calibrated:
            return 1.0
        if self.settings.calibration.seconds <= 0:
            return 1.0
        return min(1.0, st.good_windows / self.window_timing.windows_in(self.settings.calibration.seconds))

    def _compute(self, pending: list[tuple[StreamState, DueWindow]]) -> list[ValenceStep]:
        steps: list[ValenceStep] = []
        size = max(1, self.settings.compute.max_batch)
        for i in range(0, len(pending), size):
            steps.extend(self._compute_batch(pending[i : i + size]))
        return steps

    def _compute_batch(self, pending: list[tuple[StreamState, DueWindow]]) -> list[ValenceStep]:
        if not pending:
            return []
        de = self._features.compute([(st.proc, win) for st, win in pending])
        n = len(pending)
        de_z, vz = np.empty_like(de), np.empty_like(de)
        flags = np.zeros(n, dtype=np.int64)
        progress = np.zeros(n)
        blank = np.zeros(n, dtype=bool)
        sequences: dict[int, np.ndarray] = {}
        for i, (st, win) in enumerate(pending):
            flags[i], blank[i], de_z[i], vz[i] = self._standardize(st, win, de[i])
            progress[i] = self._progress(st)
            seq = self._sequence(st, win) if self.has_classifier and not blank[i] else None
            if seq is not None and np.isfinite(seq).all():
                sequences[i] = st.standardizer.transform(seq)
        valence = np.asarray(self.bundle.project(vz.astype(np.float32)), dtype=np.float64).reshape(n)
        valence[blank] = np.nan
        probs: dict[int, np.ndarray] = {}
        if sequences:
            p = self.bundle.predict_proba(np.nan_to_num(np.stack(list(sequences.values()))).astype(np.float32))
            probs = dict(zip(sequences, np.asarray(p, dtype=np.float64)))
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
                    true_label=st.label_at(win.timestamp, self.class_names),
                    window_timing=self.window_timing,
                )
            )
        return steps

    def _standardize(self, st: StreamState, win: DueWindow, de: np.ndarray) -> tuple[int, bool, np.ndarray, np.ndarray]:
        """Calibrate on and z-score one window's DE; returns its flags, whether it has
        no signal behind it (blank), its z-scored DE and the averaged z the valence
        projects."""
        f = win.flags
        if not np.isfinite(de).all():
            f |= QualityFlag.NONFINITE
        std = st.standardizer
        adapt = self.settings.calibration.seconds <= 0
        if not st.calibrated and not (f & BAD_FLAGS):
            std.update(de)
            st.good_windows += 1
            if not adapt and self._progress(st) >= 1.0:
                st.calibrated = True
                self._save_calibration(st)
        if not st.calibrated and not adapt:
            f |= QualityFlag.CALIBRATING
        if st.simulated:
            f |= QualityFlag.SIMULATED
        z = std.transform(de)
        # No valence where no signal is behind the window: much of its input was
        # non-finite (held at the last finite value only for the filters' sake), no
        # window was ever fit for the statistics, or no feature is finite.
        blank = win.held_fraction > MAX_HELD_FRACTION or std.count == 0 or not np.isfinite(z).any()
        z = np.full_like(z, np.nan) if blank else np.where(np.isfinite(z), z, 0.0)
        st.tally(f, blank)
        st.de_history.append((win.segment, win.end, np.full_like(de, np.nan) if blank else de))
        if not blank:
            st.z_history.append((win.segment, win.end, z))
        while len(st.de_history) > self._history_len:
            st.de_history.popleft()
        while len(st.z_history) > max(self.valence_average, 1):
            st.z_history.popleft()
        recent = [zz for seg, _, zz in st.z_history if seg == win.segment]
        vz = np.zeros_like(z) if blank or not recent else np.mean(recent[-self.valence_average :], axis=0)
        return int(f), bool(blank), z, vz

    def _sequence(self, st: StreamState, win: DueWindow) -> np.ndarray | None:
        """Raw DE of the ``sequence_len`` windows spaced ``sequence_spacing`` s ending at ``win``."""
        return st.sequence(
            win.segment, win.end, self.sequence_len, self.sequence_spacing * self.target_sfreq,
            tolerance=max(1.0, float(self.window_timing.hop_samples) / 2.0),
        )

    def _save_calibration(self, st: StreamState) -> None:
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

    def _stream(self, stream: int | str) -> StreamState:
        if isinstance(stream, int):
            return self._streams[stream]
        for st in self._streams:
            if st.name == stream:
                return st
        raise KeyError(f"no stream named {stream!r}; streams: {[s.name for s in self._streams]}")

    @property
    def window_timing(self) -> WindowTiming:
        """Where every stream's windows end: the model's rate, the hop in samples (exact,
        a fraction when it is not whole), the window and the filter context."""
        return self._features.timing

    @property
    def bank(self) -> BandFilterBank:
        """The feature's filter bank (its window, context and bands)."""
        return self._features.bank

    @property
    def streaming(self) -> StreamingBandVariance | None:
        """The incremental FIR path, or None where whole windows go to the bank."""
        return self._features.streaming

    @property
    def stream_names(self) -> tuple[str, ...]:
        """The streams' names, in the order of the sources (unique)."""
        return tuple(st.name for st in self._streams)

    def source(self, stream: int | str) -> Source:
        """The source a stream reads from."""
        return self._stream(stream).source

    def mapping(self, stream: int | str) -> MontageMapping:
        """How a started stream's channels map onto the model's (measured, interpolated, left out).

        Raises
        ------
        RuntimeError
            The stream has not started yet (its channels are not known).
        """
        proc = self._stream(stream).proc
        if proc is None:
            raise RuntimeError(f"stream {self._stream(stream).name!r} has not started: its channels are not known yet")
        return proc.mapping

    def stream_clock(self, stream: int | str) -> StreamClock:
        """A started stream's clock: its effective rate, jitter and the gaps it found.

        Raises
        ------
        RuntimeError
            The stream has not started yet.
        """
        proc = self._stream(stream).proc
        if proc is None:
            raise RuntimeError(f"stream {self._stream(stream).name!r} has not started: it has no clock yet")
        return proc.clock

    def standardized_windows(self, stream: int | str) -> int:
        """How many windows the stream's calibration statistics have taken in (bad ones are kept out)."""
        standardizer = self._stream(stream).standardizer
        return int(standardizer.count) if standardizer is not None else 0

    def window_counts(self, stream: int | str) -> WindowCounts:
        """How many windows the stream gave, how many were usable, and why the others were not."""
        with self._lock:
            st = self._stream(stream)
            proc = st.proc
            return WindowCounts(
                stream=st.name,
                windows=st.windows,
                usable=st.usable,
                blank=st.blank,
                flagged=dict(st.flag_counts),
                samples=int(proc.raw.pushed) if proc is not None else 0,
                sfreq=proc.sfreq if proc is not None else None,
                window_s=self.window_timing.input_s if proc is not None else None,
                calibration_progress=self._progress(st),
                calibration_s=float(self.settings.calibration.seconds),
                calibrated=st.calibrated or self.settings.calibration.seconds <= 0,
                rate_problem=proc.rate_problem if proc is not None else None,
            )

    def samples_read(self, stream: int | str) -> int:
        """Samples the stream has delivered so far."""
        proc = self._stream(stream).proc
        return int(proc.raw.pushed) if proc is not None else 0

    def status(self) -> list[StreamStatus]:
        """One :class:`StreamStatus` per stream."""
        with self._lock:
            return [st.status(self._progress(st), str(self.device)) for st in self._streams]

    @property
    def finished(self) -> bool:
        """True when every source is finite and has delivered everything (replays)."""
        return all(st.source.finished for st in self._streams)

    def calibration(self, stream: int | str = 0) -> dict | None:
        """The stream's standardizer state (JSON-able), or None before it starts."""
        with self._lock:
            st = self._stream(stream)
            return st.standardizer.to_dict() if st.standardizer is not None else None
