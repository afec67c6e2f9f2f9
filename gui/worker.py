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

A session may read several sources, one person each (specs separated by ``;``,
:func:`split_specs`). The worker keeps, for the window, what ``bci-valence run`` computes
for the segment and group outputs: the segments of the sources' markers and of the
app's own marks (:class:`SessionSegments`), and, with two people or more, the group
trace (:class:`~bci_valence.online.group.GroupTracker`) on the ``bci_valence_group``
outlet. A press of *Mark* (:meth:`PipelineWorker.mark`) is a sample on the app's
``bci_valence_marks`` outlet (:class:`MarkOutlet`), which a recording keeps.

What a session is (:class:`SessionRequest`, :class:`SessionInfo`, :class:`RawSnapshot`)
lives in :mod:`gui.session`, the marks and segments in :mod:`gui.marks`; both are
re-exported here.
"""

from __future__ import annotations

import logging
import math
import time
import traceback
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from PySide6 import QtCore  # noqa: E402

from . import qt_compat  # noqa: F401  (before any widget)
from .headless import simulated_contrasts, start_pipeline
from .marks import MARK_CLOCK_TOLERANCE_S, MARKS_OUTLET_NAME, MARKS_OUTLET_TYPE, MarkOutlet, SessionSegments
from .session import RawSnapshot, SessionInfo, SessionRequest, describe_error, flagged_channels
from .widgets.source_list import split_specs

__all__ = [
    "MARKS_OUTLET_NAME", "MARKS_OUTLET_TYPE", "MARK_CLOCK_TOLERANCE_S", "MarkOutlet", "PipelineWorker",
    "RawSnapshot", "SessionInfo", "SessionRequest", "SessionSegments", "describe_error", "flagged_channels",
]  # fmt: skip

log = logging.getLogger(__name__)


class PipelineWorker(QtCore.QObject):
    """Runs one pipeline session at a time; create it, move it to a QThread, then
    call :meth:`start_session` / :meth:`stop_session` through queued signals.

    Signals
    -------
    started(SessionInfo), stopped(str reason), steps(list[ValenceStep]),
    raw(RawSnapshot), status(list[StreamStatus]), error(str), message(str),
    segments(list[SegmentRow]) (at most ``segments_hz`` times a second, and at each
    mark), group(list[GroupRow]) (with two people or more, as rows settle),
    marked((float timestamp, str label)).
    """

    started = QtCore.Signal(object)
    stopped = QtCore.Signal(str)
    steps = QtCore.Signal(object)
    raw = QtCore.Signal(object)
    status = QtCore.Signal(object)
    error = QtCore.Signal(str)
    message = QtCore.Signal(str)
    segments = QtCore.Signal(object)
    group = QtCore.Signal(object)
    marked = QtCore.Signal(object)

    def __init__(self, poll_ms: int = 40, raw_hz: float = 10.0, status_hz: float = 4.0, segments_hz: float = 2.0):
        super().__init__()
        self.poll_ms = int(poll_ms)
        self.raw_period = 1.0 / raw_hz
        self.status_period = 1.0 / status_hz
        self.segments_period = 1.0 / segments_hz
        self.pipeline = None
        self.request: SessionRequest | None = None
        self._timer: QtCore.QTimer | None = None
        self._last_raw = 0.0
        self._last_status = 0.0
        self._last_segments = 0.0
        self._segments_due = False
        self._failures = 0
        self._last_messages: dict[str, str] = {}
        self.outputs = None  # SessionOutputs: the recording and its valence outlet
        self.segment_tracker: SessionSegments | None = None
        self.group_tracker = None  # GroupTracker, with two people or more
        self.group_outlet = None  # GroupOutlet, with two people or more
        self.marks: MarkOutlet | None = None

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
        specs = split_specs(request.spec)
        if not specs:
            raise ValueError("no source spec given")
        self.message.emit(f"opening {request.spec} ..." if len(specs) == 1 else
                          f"opening {len(specs)} sources (one person each) ...")  # fmt: skip
        contrasts = simulated_contrasts(specs)
        sources = [open_source(spec) for spec in (request.sources or specs)]
        bundle = ModelBundle.load(request.bundle_path or None)
        tune_process(settings)
        pipeline = Pipeline(sources, bundle, settings)
        self.pipeline = pipeline
        # the same wiring as ``bci-valence run``: the valence outlet exists while recording
        self.outputs = SessionOutputs(pipeline, SessionSettings(outlet=False))
        pipeline.add_chunk_listener(self._on_chunk)
        pipeline.add_marker_listener(self._on_markers)
        start_pipeline(pipeline, sources)  # together: a group's simulated scripts stay in step
        marks_id = self._open_segments(pipeline)
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
            simulated=any(bool(getattr(s, "simulated", False)) for s in sources) or bool(contrasts),
            bundle=str(request.bundle_path or "shipped default"),
            reliability=ValenceReliability.from_bundle(bundle),
            contrasts=contrasts,
            marks_source_id=marks_id,
        )

    def _open_segments(self, pipeline: Any) -> str:
        """Start the segment and group trackers and the marker (and group) outlets of a
        started pipeline, and have a recording keep those outlets; returns the marker
        outlet's source_id ("" when it could not be opened)."""
        from bci_valence.online.group import GroupSettings, GroupTracker
        from bci_valence.online.segment_outputs import SegmentOutputs, SegmentOutputSettings

        names = list(pipeline.stream_names)
        prefix = self.outputs.settings.source_id_prefix
        # the summaries' settings as ``bci-valence run --segments-out`` derives them
        seg_settings = SegmentOutputs(pipeline, SegmentOutputSettings(outlet=False)).segment_settings()
        self.segment_tracker = SessionSegments(seg_settings, names)
        self._segments_due = False
        marks_id = ""
        try:
            self.marks = MarkOutlet(f"{prefix}-marks")
            marks_id = self.marks.source_id
            self.outputs.also_record(marks_id, f"marks as {MARKS_OUTLET_NAME!r}")
        except Exception as err:  # noqa: BLE001 - the session runs without marks on LSL
            self.marks = None
            self.error.emit(f"Cannot open the marker outlet {MARKS_OUTLET_NAME!r}: {err}")
        if len(names) >= 2:
            from bci_valence.streams.group_outlet import GROUP_OUTLET_NAME, GroupOutlet

            self.group_tracker = GroupTracker(names, GroupSettings(hop_s=pipeline.window_timing.effective_hop_s))
            try:
                self.group_outlet = GroupOutlet(f"{prefix}-group", about={
                    "valence_mean": "mean valence over the people whose latest window is usable and recent",
                    "interval": "95% t-interval across people (NaN with fewer than two)",
                    "n_streams": f"how many of the session's {len(names)} people the mean is over",
                })  # fmt: skip
                self.outputs.also_record(self.group_outlet.source_id, f"the group trace as {GROUP_OUTLET_NAME!r}")
            except Exception as err:  # noqa: BLE001 - the window still shows the group
                self.group_outlet = None
                self.error.emit(f"Cannot open the group outlet {GROUP_OUTLET_NAME!r}: {err}")
        return marks_id

    # ------------------------------------------------------------------ segments
    def _on_chunk(self, name: str, data: Any, timestamps: Any) -> None:
        if self.segment_tracker is not None:
            self.segment_tracker.add_samples(name, timestamps)

    def _on_markers(self, name: str, markers: Sequence[tuple[float, str]]) -> None:
        if self.segment_tracker is not None:
            self.segment_tracker.add_markers(name, markers)
            self._segments_due = True

    def _emit_segments(self) -> None:
        tracker = self.segment_tracker
        if tracker is None:
            return
        self._last_segments = time.perf_counter()
        self._segments_due = False
        try:
            rows = tracker.rows()
        except Exception as err:  # noqa: BLE001
            log.debug("segment summaries failed:\n%s", traceback.format_exc())
            self.error.emit(f"Cannot summarize the segments: {err}")
            return
        self.segments.emit(rows)

    @QtCore.Slot(str, float)
    def mark(self, label: str = "", pressed: float = math.nan) -> None:
        """Start a segment now: push ``label`` (default ``mark N``) on the marker outlet and
        into the segments.

        Parameters
        ----------
        label : str
            The segment's label; empty for ``mark 1``, ``mark 2``...
        pressed : float
            When the button was pressed, on the LSL clock (default: now). Streams on
            another clock (a file replayed as fast as possible) get their newest
            sample's timestamp instead.
        """
        tracker = self.segment_tracker
        if self.pipeline is None or tracker is None:
            self.error.emit("Start a session before marking.")
            return
        from mne_lsl.lsl import local_clock

        label = str(label or "").strip()
        if not label:
            numbered = sum(1 for _, text in tracker.marks.markers(tracker.streams[0]) if text.startswith("mark "))
            label = f"mark {numbered + 1}"
        stamp = float(pressed) if math.isfinite(pressed) else local_clock()
        newest = tracker.newest()
        if newest is not None and abs(stamp - newest) > MARK_CLOCK_TOLERANCE_S:
            stamp = newest
        if self.marks is not None:
            try:
                self.marks.push(label, stamp)
            except Exception as err:  # noqa: BLE001
                self.error.emit(f"Cannot push the mark {label!r} on {MARKS_OUTLET_NAME!r}: {err}")
        tracker.add_mark(stamp, label)
        self.marked.emit((stamp, label))
        self._emit_segments()
        self._segments_due = True  # again once samples past the mark have come

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
        if self.group_tracker is not None:  # the rest of the group trace
            self._push_group(self.group_tracker.flush())
        for outlet in (self.marks, self.group_outlet):
            if outlet is not None:
                outlet.close()
        self.marks = self.group_outlet = self.group_tracker = self.segment_tracker = None
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
            if self.segment_tracker is not None:
                self.segment_tracker.add_steps(steps)
                self._segments_due = True
            if self.group_tracker is not None:
                self._push_group(self.group_tracker.push(steps))
        failure = outputs.check() if outputs is not None else None
        if failure:
            self.error.emit(failure)
            self.stop_session("error")
            return
        now = time.perf_counter()
        if self._segments_due and now - self._last_segments >= self.segments_period:
            self._emit_segments()
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
            self._emit_segments()
            counts = [pipeline.window_counts(name) for name in pipeline.stream_names]
            problems = [p for p in (c.problem() for c in counts) if p]
            for problem in problems:  # a replay that never gave a usable window says why
                self.error.emit(problem)
            for note in (n for n in (c.note() for c in counts) if n):  # it did, uncalibrated
                self.message.emit("warning: " + note.replace("(--calibration)", "(a saved calibration file)")
                                  .replace("(--calibration-s)", "(the calibration setting)"))
            self.message.emit("recording finished" + (": no usable window" if problems else ""))
            self.stop_session("finished")

    def _push_group(self, rows: Iterable[Any]) -> None:
        rows = list(rows)
        if not rows:
            return
        if self.group_outlet is not None:
            try:
                for r in rows:
                    self.group_outlet.push(r.time, r.mean, r.ci_low, r.ci_high, r.n_streams)
            except Exception as err:  # noqa: BLE001
                self.error.emit(f"Cannot push to the group outlet: {err}")
        self.group.emit(rows)

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
