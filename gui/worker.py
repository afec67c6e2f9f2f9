"""The acquisition/processing worker: owns the pipeline, lives in its own QThread.

The worker opens the source, loads the bundle, runs :class:`bci_valence.pipeline.Pipeline`
and sends what the window shows through queued signals: every new
:class:`~bci_valence.pipeline.ValenceStep` (a few per second), and, at most
``raw_hz`` times per second, the latest mapped EEG and the streams' status. The UI
keeps only the latest raw snapshot and redraws on its own capped timer, so a slow
frame drops intermediate snapshots instead of queueing them.

Every error (unreadable file, stream not found, bad channels, a failing poll) is
turned into a readable :attr:`PipelineWorker.error` message; nothing is left to a
traceback on the console.
"""

from __future__ import annotations

import logging
import time
import traceback
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PySide6 import QtCore  # noqa: E402

from bci_valence.constants import FACED_SFREQ
from bci_valence.signal.quality import QualityThresholds

from . import qt_compat  # noqa: F401  (before any widget)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SessionRequest:
    """What to start: a source spec, a bundle and the pipeline settings.

    Attributes
    ----------
    spec : str
        Source spec (``sim:``, ``lsl:name=X``, ``xdf:FILE?speed=2`` ...).
    bundle_path : str
        Model bundle path; empty for the shipped default.
    settings : Any
        A :class:`bci_valence.pipeline.PipelineSettings`.
    raw_seconds : float
        Seconds of signal sent with each raw snapshot.
    """

    spec: str
    bundle_path: str = ""
    settings: Any = None
    raw_seconds: float = 10.0


@dataclass(frozen=True)
class SessionInfo:
    """Sent once a session has started: what the widgets need to label themselves."""

    spec: str
    stream_names: tuple[str, ...]
    class_names: tuple[str, ...]
    class_coordinates: dict[str, float]
    channels: tuple[str, ...]
    band_names: tuple[str, ...]
    projection_weights: np.ndarray | None
    device: str
    simulated: bool
    bundle: str
    extra: dict[str, Any] = field(default_factory=dict)
    #: What the valence is worth on new content
    #: (:class:`bci_valence.online.reliability.ValenceReliability` from the bundle's figures).
    reliability: Any = None


@dataclass(frozen=True)
class RawSnapshot:
    """The latest mapped EEG of the first stream and per-channel display states."""

    data: np.ndarray
    times: np.ndarray
    names: tuple[str, ...]
    flagged: tuple[str, ...]


def describe_error(err: BaseException, spec: str = "") -> str:
    """A one-paragraph, human-readable message for an exception from a session."""
    name = type(err).__name__
    text = str(err).strip() or name
    where = f" ({spec})" if spec else ""
    if isinstance(err, FileNotFoundError):
        return f"File not found{where}: {text}"
    if name in ("RecordingError",):
        return f"Cannot read the recording{where}: {text}"
    if name in ("SourceSpecError",):
        return f"Invalid source{where}: {text}"
    if name in ("SourceError", "TimeoutError"):
        return f"Cannot open the source{where}: {text}"
    if name in ("ChannelMappingError",):
        return f"Bad channels{where}: {text}"
    if name in ("BundleError",):
        return f"Cannot load the model bundle: {text}"
    return f"{name}{where}: {text}"


def flagged_channels(data: np.ndarray, names: tuple[str, ...], interpolated: tuple[str, ...],
                     thresholds: QualityThresholds | None = None, sfreq: float = FACED_SFREQ) -> tuple[str, ...]:
    """Recorded channels whose last second looks bad (non-finite, flat or beyond the
    artefact amplitude of ``thresholds``, the pipeline's own): for display only, the
    pipeline flags whole windows itself."""
    thresholds = thresholds or QualityThresholds()
    flat_uv, artefact_uv = thresholds.flat_uv, thresholds.artefact_uv
    if data.ndim != 2 or data.shape[1] < 2:
        return ()
    last = data[:, -int(min(data.shape[1], max(sfreq, 2))):]
    with np.errstate(invalid="ignore"):
        finite = np.isfinite(last).all(axis=1)
        ptp = np.nanmax(last, axis=1) - np.nanmin(last, axis=1)
        peak = np.nanmax(np.abs(last), axis=1)
    bad = (~finite) | (ptp < flat_uv) | (peak > artefact_uv)
    skip = set(interpolated)
    return tuple(n for n, b in zip(names, bad) if b and n not in skip)


class PipelineWorker(QtCore.QObject):
    """Runs one pipeline session at a time; create it, move it to a QThread, then
    call :meth:`start_session` / :meth:`stop_session` through queued signals.

    Signals
    -------
    started(SessionInfo), stopped(str reason), steps(list[ValenceStep]),
    raw(RawSnapshot), status(list[StreamStatus]), error(str), message(str).
    """

    started = QtCore.Signal(object)
    stopped = QtCore.Signal(str)
    steps = QtCore.Signal(object)
    raw = QtCore.Signal(object)
    status = QtCore.Signal(object)
    error = QtCore.Signal(str)
    message = QtCore.Signal(str)

    def __init__(self, poll_ms: int = 40, raw_hz: float = 10.0, status_hz: float = 4.0):
        super().__init__()
        self.poll_ms = int(poll_ms)
        self.raw_period = 1.0 / raw_hz
        self.status_period = 1.0 / status_hz
        self.pipeline = None
        self.request: SessionRequest | None = None
        self._timer: QtCore.QTimer | None = None
        self._last_raw = 0.0
        self._last_status = 0.0
        self._failures = 0
        self._last_messages: dict[str, str] = {}
        self.outputs = None  # SessionOutputs: the recording and its valence outlet

    # ------------------------------------------------------------------ control
    @QtCore.Slot(object)
    def start_session(self, request: SessionRequest) -> None:
        """Open the source, load the bundle, start the pipeline (in the worker thread)."""
        if self.pipeline is not None:
            self.stop_session("restart")
        self.request = request
        try:
            info = self._open(request)
        except Exception as err:  # noqa: BLE001 - everything goes to the window
            log.debug("session start failed:\n%s", traceback.format_exc())
            self._close_pipeline()
            self.error.emit(describe_error(err, request.spec))
            self.stopped.emit("error")
            return
        if self._timer is None:
            self._timer = QtCore.QTimer(self)
            self._timer.setTimerType(QtCore.Qt.TimerType.PreciseTimer)
            self._timer.timeout.connect(self._tick)
        self._failures = 0
        self._last_messages = {}
        self._timer.start(self.poll_ms)
        self.started.emit(info)

    def _open(self, request: SessionRequest) -> SessionInfo:
        from bci_valence.constants import BAND_NAMES
        from bci_valence.model.bundle import ModelBundle
        from bci_valence.online.pipeline import Pipeline
        from bci_valence.online.reliability import ValenceReliability
        from bci_valence.online.session import SessionOutputs, SessionSettings
        from bci_valence.online.settings import PipelineSettings
        from bci_valence.online.tuning import tune_process
        from bci_valence.streams.factory import open_source

        settings = request.settings or PipelineSettings()
        self.message.emit(f"opening {request.spec} ...")
        source = open_source(request.spec)
        bundle = ModelBundle.load(request.bundle_path or None)
        tune_process(settings)
        pipeline = Pipeline([source], bundle, settings)
        self.pipeline = pipeline
        # the same wiring as ``bci-valence run``: the valence outlet exists while recording
        self.outputs = SessionOutputs(pipeline, SessionSettings(outlet=False))
        pipeline.start()
        cfg = bundle.config
        try:
            weights = np.asarray(bundle.projection_weights, dtype=np.float32)
        except Exception:  # noqa: BLE001 - a bundle without a linear projection
            weights = None
        coords = {str(k): float(v) for k, v in dict(getattr(cfg, "class_coordinates", {}) or {}).items()}
        return SessionInfo(
            spec=request.spec,
            stream_names=tuple(st.name for st in pipeline.status()),
            class_names=tuple(pipeline.class_names),
            class_coordinates=coords,
            channels=tuple(pipeline.target_channels),
            band_names=tuple(getattr(cfg, "bands", None) or BAND_NAMES),
            projection_weights=weights,
            device=str(pipeline.device),
            simulated=bool(getattr(source, "simulated", False)),
            bundle=str(request.bundle_path or "shipped default"),
            reliability=ValenceReliability.from_bundle(bundle),
        )

    @QtCore.Slot()
    @QtCore.Slot(str)
    def stop_session(self, reason: str = "stopped") -> None:
        """Stop the pipeline and its source (idempotent)."""
        if self._timer is not None:
            self._timer.stop()
        was_running = self.pipeline is not None
        self.stop_recording()
        self._close_pipeline()
        if was_running:
            self.stopped.emit(reason)

    def _close_pipeline(self) -> None:
        outputs, self.outputs = self.outputs, None
        if outputs is not None:
            outputs.close()
        pipeline, self.pipeline = self.pipeline, None
        if pipeline is not None:
            try:
                pipeline.stop()
            except Exception as err:  # noqa: BLE001
                self.error.emit(f"Error while stopping: {err}")

    # ------------------------------------------------------------------ recording
    @QtCore.Slot(str)
    def start_recording(self, path: str) -> None:
        """Record the session to XDF with LabRecorder: the raw EEG and the markers the
        pipeline reads, and the valence outlet (:meth:`SessionOutputs.start_recording`).
        An existing file is replaced: the window's save dialog asked first."""
        outputs = self.outputs
        if self.pipeline is None or outputs is None:
            self.error.emit("Start a session before recording.")
            return
        try:
            lines = outputs.start_recording(path, overwrite=True)
        except Exception as err:  # noqa: BLE001 - everything goes to the window
            self.error.emit(f"Cannot record to {path}: {err}")
            return
        self.message.emit(f"recording to {path}")
        for line in lines:
            self.message.emit(line)

    @QtCore.Slot()
    def stop_recording(self) -> None:
        """Stop LabRecorder and close the valence outlet (idempotent)."""
        outputs = self.outputs
        if outputs is None:
            return
        path = outputs.recording
        try:
            clean = outputs.stop_recording()
        except Exception as err:  # noqa: BLE001
            self.error.emit(f"Error while stopping the recording: {err}")
            return
        if clean:
            self.message.emit(f"recording saved: {path}")
        elif clean is False:
            why = "; ".join(outputs.recording_problems) or "it was not closed cleanly"
            self.error.emit(f"The recording {path} is not what was recorded: {why}.")

    # ------------------------------------------------------------------ loop
    @QtCore.Slot()
    def _tick(self) -> None:
        pipeline = self.pipeline
        if pipeline is None:
            return
        try:
            steps = pipeline.poll()
            self._failures = 0
        except Exception as err:  # noqa: BLE001
            self._failures += 1
            log.debug("poll failed:\n%s", traceback.format_exc())
            self.error.emit(describe_error(err, self.request.spec if self.request else ""))
            if self._failures >= 5:
                self.stop_session("error")
            return
        outputs = self.outputs
        if steps:
            if outputs is not None:
                try:
                    outputs.write(steps)
                except Exception as err:  # noqa: BLE001
                    self.error.emit(f"Cannot push to the valence outlet: {err}")
            self.steps.emit(steps)
        failure = outputs.check() if outputs is not None else None
        if failure:
            self.error.emit(failure)
            self.stop_session("error")
            return
        now = time.perf_counter()
        if now - self._last_status >= self.status_period:
            self._last_status = now
            self._emit_status(pipeline)
        if now - self._last_raw >= self.raw_period:
            self._last_raw = now
            self._emit_raw(pipeline)
        finished = getattr(pipeline, "finished", None)
        try:
            done = bool(finished() if callable(finished) else finished)
        except Exception:  # noqa: BLE001
            done = False
        if done:
            self._emit_status(pipeline)
            counts = [pipeline.window_counts(name) for name in pipeline.stream_names]
            problems = [p for p in (c.problem() for c in counts) if p]
            for problem in problems:  # a replay that never gave a usable window says why
                self.error.emit(problem)
            for note in (n for n in (c.note() for c in counts) if n):  # it did, uncalibrated
                self.message.emit("warning: " + note.replace("(--calibration)", "(a saved calibration file)")
                                  .replace("(--calibration-s)", "(the calibration setting)"))
            self.message.emit("recording finished" + (": no usable window" if problems else ""))
            self.stop_session("finished")

    def _emit_status(self, pipeline) -> None:
        try:
            statuses = pipeline.status()
        except Exception as err:  # noqa: BLE001
            self.error.emit(f"Cannot read the stream status: {err}")
            return
        self.status.emit(statuses)
        for st in statuses:
            msg = getattr(st, "message", "") or ""
            if msg and self._last_messages.get(st.name) != msg:
                self.message.emit(f"{st.name}: {msg}")
            self._last_messages[st.name] = msg

    def _emit_raw(self, pipeline) -> None:
        seconds = self.request.raw_seconds if self.request else 10.0
        try:
            data, times, names = pipeline.latest_raw(seconds)
            statuses = pipeline.status()
        except Exception as err:  # noqa: BLE001
            self.error.emit(f"Cannot read the latest signal: {err}")
            return
        interpolated = tuple(statuses[0].interpolated) if statuses else ()
        flagged = flagged_channels(
            np.asarray(data), tuple(names), interpolated, pipeline.settings.quality,
            sfreq=float(pipeline.target_sfreq),
        )
        self.raw.emit(RawSnapshot(np.asarray(data), np.asarray(times), tuple(names), flagged))
