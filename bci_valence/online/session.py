"""Where a running pipeline's steps go: one wiring for the command line and the app.

:class:`SessionOutputs` connects a started :class:`~bci_valence.online.pipeline.Pipeline`
to its outputs: the ``bci_valence`` LSL outlet, the CSV log and the XDF recording.
``bci-valence run``/``replay`` and the app's worker use it alike::

    settings = SessionSettings(out="steps.csv", record="session.xdf")
    settings.check_outputs()           # before any source is opened
    pipe = Pipeline(sources, bundle, pipeline_settings)
    outputs = SessionOutputs(pipe, settings)
    pipe.start()
    outputs.open()                     # outlet, recorder, then the CSV
    while running:
        outputs.write(pipe.poll())
        failure = outputs.check()      # a stream that cannot come back, or lost too long
    outputs.close()                    # the recorder writes its footers

Nothing is written before the inputs are valid: :meth:`SessionSettings.check_outputs`
refuses existing files (unless ``overwrite``) before a source is opened, and the CSV
is created only once the recorder has started.

The recording holds, for every stream, a mirror of the raw samples the pipeline read
(with their timestamps) and of its markers (the true labels), and the valence outlet.
The mirrors' source_ids are this session's own, so a device that restarts with a new
source_id (which the pipeline follows) keeps being recorded; LabRecorder cannot follow
a new source_id itself.

:func:`stop_on_signals` turns SIGTERM and SIGHUP into :class:`Terminated` (a
:class:`KeyboardInterrupt`, like Ctrl-C) so that the ``finally`` blocks close the
recording; :func:`shielded` keeps a second signal from interrupting that close.
"""

from __future__ import annotations

import contextlib
import logging
import math
import signal
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..provenance import provenance
from ..streams.outlets import CsvLog, CsvWriteError, ValenceOutlet
from ..streams.recorder import MarkerMirror, RawMirror, RecorderSettings, XdfRecorder
from .reliability import ValenceReliability

__all__ = [
    "SessionError",
    "SessionOutputs",
    "SessionSettings",
    "Terminated",
    "VALENCE_MEANING",
    "describe_session",
    "shielded",
    "stop_on_signals",
]

log = logging.getLogger(__name__)

#: What the valence number is, for every output that carries it.
VALENCE_MEANING = (
    "valence: the person's standardized EEG band features (DE, z-scored against their own "
    "calibration period) projected on the language-model valence axis (V-axis: joy positive, "
    "anger and disgust negative), in the axis's units; compare it within a session, not across people"
)


def describe_session(pipeline: Any) -> dict[str, Any]:
    """What a session's outputs mean: the valence, its reliability on new content, the settings.

    Parameters
    ----------
    pipeline : Pipeline
        The running pipeline (its bundle's recorded figures and its settings).

    Returns
    -------
    dict
        JSON-able: ``valence``, ``reliability_on_new_content``
        (:meth:`~bci_valence.online.reliability.ValenceReliability.as_dict`), ``bundle``
        (classes, axis, creation), ``settings`` (the ``PipelineSettings``), ``window_timing``
        (:meth:`~bci_valence.signal.window_timing.WindowTiming.to_dict`), ``provenance``.
    """
    config = pipeline.bundle.config
    return {
        "valence": VALENCE_MEANING,
        "reliability_on_new_content": ValenceReliability.from_bundle(pipeline.bundle).as_dict(),
        "bundle": {
            "class_names": list(config.class_names),
            "axis": getattr(config, "axis", {}),
            "created": getattr(config, "created", ""),
        },
        "settings": asdict(pipeline.settings),
        "window_timing": pipeline.window_timing.to_dict(),
        "provenance": provenance(),
    }


class SessionError(RuntimeError):
    """The session's outputs cannot be opened, or a stream cannot go on."""


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP arrived (handled like Ctrl-C); ``signum`` says which."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = int(signum)


@dataclass(frozen=True)
class SessionSettings:
    """What a session writes.

    Parameters
    ----------
    out : str | Path | None
        CSV log of every step.
    record : str | Path | None
        XDF file recording each stream's raw samples and markers and the valence outlet.
    outlet : bool
        Publish the ``bci_valence`` LSL outlet (a recording publishes it regardless).
    overwrite : bool
        Replace existing ``out``/``record`` files (otherwise they are refused).
    lost_timeout : float | None
        End the session when a stream stays lost this many seconds (None: wait for it).
    source_id_prefix : str
        Prefix of the outlets' source_ids; default ``bci_valence-<8 hex digits>``, unique
        to this session, so that several sessions on one network stay apart.
    recorder : RecorderSettings
        LabRecorder timeouts (its ``overwrite`` follows ``overwrite``).
    """

    out: str | Path | None = None
    record: str | Path | None = None
    outlet: bool = True
    overwrite: bool = False
    lost_timeout: float | None = None
    source_id_prefix: str = field(default_factory=lambda: f"bci_valence-{uuid.uuid4().hex[:8]}")
    recorder: RecorderSettings = field(default_factory=RecorderSettings)

    def __post_init__(self) -> None:
        if self.record is not None and Path(self.record).suffix.lower() != ".xdf":
            raise ValueError(f"--record expects a .xdf file name, got {str(self.record)!r}")
        if self.out is not None and Path(self.out).suffix.lower() == ".xdf":
            raise ValueError(f"--out writes a CSV log, got the XDF name {str(self.out)!r} (use --record for XDF)")
        if self.lost_timeout is not None and not (self.lost_timeout > 0 and math.isfinite(self.lost_timeout)):
            raise ValueError(f"--timeout must be a positive number of seconds, got {self.lost_timeout!r}")

    def check_outputs(self) -> None:
        """Check that the output files can be written, without touching them.

        Raises
        ------
        FileExistsError
            A file exists and ``overwrite`` is False (the message names the flag).
        SessionError
            A path names a folder, or its folder cannot be created.
        """
        about = None if self.out is None else Path(self.out).expanduser().with_name(Path(self.out).name + ".json")
        for flag, path in (("--out", self.out), ("--out (its description)", about), ("--record", self.record)):
            if path is None:
                continue
            path = Path(path).expanduser()
            if path.is_dir():
                raise SessionError(f"{flag} {str(path)!r} is a folder, expected a file name")
            if path.exists() and not self.overwrite:
                raise FileExistsError(
                    f"{flag} {str(path)!r} already exists: choose another name, or pass --overwrite to replace it"
                )
            parent = next((p for p in (path.parent, *path.parent.parents) if p.exists()), None)
            if parent is None or not parent.is_dir():
                raise SessionError(f"{flag} {str(path)!r}: its folder cannot be created ({parent} is not a folder)")
            problem = _unwritable(parent)
            if problem:
                raise SessionError(f"{flag} {str(path)!r} cannot be written: {problem}")


def _unwritable(folder: Path) -> str | None:
    """Why nothing can be written in ``folder`` (a real probe: permissions, a read-only
    file system or a full disk all show), or None."""
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as err:
        return f"{folder} is not writable ({err.strerror or err})"
    return None


class SessionOutputs:
    """The outlet, CSV log and XDF recording of a pipeline.

    Parameters
    ----------
    pipeline : Pipeline
        The pipeline (started before :meth:`open` / :meth:`start_recording`).
    settings : SessionSettings
    """

    def __init__(self, pipeline: Any, settings: SessionSettings | None = None) -> None:
        self.pipeline = pipeline
        self.settings = settings or SessionSettings()
        self.outlet: ValenceOutlet | None = None
        self.csv: CsvLog | None = None
        self.recording_problems: list[str] = []  #: what the last recording lost (empty when nothing)
        self._write_failure: str | None = None
        self._also_recorded: list[tuple[str, str]] = []
        self.recorder: XdfRecorder | None = None
        self._mirrors: dict[str, RawMirror] = {}
        self._marker_mirrors: dict[str, MarkerMirror] = {}
        self._lost_since: dict[str, float] = {}
        self._lock = threading.Lock()
        pipeline.add_chunk_listener(self._on_chunk)
        pipeline.add_marker_listener(self._on_markers)

    # ------------------------------------------------------------------ opening
    def open(self) -> None:
        """Open what the settings ask for: the outlet, the recording, then the CSV log.

        Raises
        ------
        FileExistsError, SessionError, OSError
            An output cannot be opened; what was opened is closed again.
        """
        try:
            if self.settings.outlet:
                self._open_outlet()
            if self.settings.record is not None:
                self.start_recording(self.settings.record, overwrite=self.settings.overwrite)
            if self.settings.out is not None:
                self.csv = CsvLog(Path(self.settings.out).expanduser(), self.pipeline.class_names,
                                  overwrite=self.settings.overwrite, about=describe_session(self.pipeline))  # fmt: skip
        except BaseException:
            recorded = self.recording
            self.close()
            if recorded is not None:
                recorded.unlink(missing_ok=True)  # a session that never ran leaves no file
            raise

    def _open_outlet(self) -> ValenceOutlet:
        if self.outlet is None:
            reliability = ValenceReliability.from_bundle(self.pipeline.bundle)
            about = {"valence": VALENCE_MEANING, "reliability": reliability.summary(),
                     "probabilities": reliability.probabilities_note()}  # fmt: skip
            self.outlet = ValenceOutlet(self.pipeline.class_names, source_id_prefix=self.settings.source_id_prefix,
                                        about=about)  # fmt: skip
            self.outlet.open(self.pipeline.stream_names)
        return self.outlet

    def also_record(self, source_id: str, what: str) -> None:
        """Record another outlet of this session too (the group trace), from the next
        :meth:`start_recording` on; ``what`` is said in the list of recorded streams."""
        self._also_recorded.append((str(source_id), str(what)))

    def start_recording(self, path: str | Path, *, overwrite: bool | None = None) -> list[str]:
        """Record every stream's raw samples and markers and the valence outlet to ``path``.

        Parameters
        ----------
        path : str | Path
            The ``.xdf`` file.
        overwrite : bool | None
            Replace an existing file (default: the settings' ``overwrite``).

        Returns
        -------
        list of str
            What is recorded, one line per stream, for the user.

        Raises
        ------
        FileExistsError, ValueError, SessionError
            The file exists, is not ``.xdf``, or LabRecorder did not start.
        """
        from ..streams.recorder import RecorderError

        self.stop_recording()
        overwrite = self.settings.overwrite if overwrite is None else overwrite
        rec_settings = RecorderSettings(
            overwrite=overwrite, timeout=self.settings.recorder.timeout,
            stop_timeout=self.settings.recorder.stop_timeout, flush_s=self.settings.recorder.flush_s,
        )  # fmt: skip
        recorder = XdfRecorder(Path(path).expanduser(), rec_settings)
        outlet = self._open_outlet()
        prefix = self.settings.source_id_prefix
        preds: list[dict[str, str]] = []
        lines: list[str] = []
        mirrors: dict[str, RawMirror] = {}
        marker_mirrors: dict[str, MarkerMirror] = {}
        for name in self.pipeline.stream_names:
            source = self.pipeline.source(name)
            mapping = self.pipeline.mapping(name)
            raw = RawMirror(name, mapping.source_names, float(source.sfreq), str(getattr(source, "unit", "unknown")),
                            source_id=f"{prefix}-{name}", simulated=bool(source.simulated))  # fmt: skip
            markers = MarkerMirror(f"{name}-markers", source_id=f"{prefix}-{name}-markers")
            mirrors[name], marker_mirrors[name] = raw, markers
            preds += [{"source_id": raw.source_id}, {"source_id": markers.source_id},
                      {"source_id": outlet.source_id(name)}]  # fmt: skip
            lines.append(f"{name}: raw EEG as {raw.name!r}, markers as {markers.name!r}, valence as 'bci_valence'")
        for source_id, what in self._also_recorded:
            preds.append({"source_id": source_id})
            lines.append(what)
        try:
            recorder.start(preds)
        except (RecorderError, OSError) as err:
            for m in (*mirrors.values(), *marker_mirrors.values()):
                m.close()
            if isinstance(err, FileExistsError):
                raise
            raise SessionError(str(err)) from err
        with self._lock:
            self._mirrors, self._marker_mirrors = mirrors, marker_mirrors
        self.recorder = recorder
        return lines

    def stop_recording(self) -> bool | None:
        """Stop the recording (idempotent).

        Returns
        -------
        bool | None
            True when the file was closed cleanly and holds what was recorded, False
            when it does not (:attr:`recording_problems` says why), None when nothing
            was recording.
        """
        recorder, self.recorder = self.recorder, None
        with self._lock:
            expected = {m.source_id: m.pushed for m in self._mirrors.values()}
            mirrors = [*self._mirrors.values(), *self._marker_mirrors.values()]
            self._mirrors, self._marker_mirrors = {}, {}
        if recorder is None:
            return None
        clean = recorder.stop(expected)
        self.recording_problems = list(recorder.problems)
        for m in mirrors:
            m.close()
        if not self.settings.outlet and self.outlet is not None:
            self.outlet.close()
            self.outlet = None
        return clean

    @property
    def recording(self) -> Path | None:
        """The file being recorded, if any."""
        return self.recorder.path if self.recorder is not None else None

    # ------------------------------------------------------------------ running
    def _on_chunk(self, name: str, data: Any, timestamps: Any) -> None:
        mirror = self._mirrors.get(name)
        if mirror is not None:
            mirror.push(data, timestamps)

    def _on_markers(self, name: str, markers: Sequence[tuple[float, str]]) -> None:
        mirror = self._marker_mirrors.get(name)
        if mirror is not None:
            mirror.push(markers)

    def write(self, steps: Sequence[Any]) -> None:
        """Send steps to the outlet and the CSV log."""
        if not steps:
            return
        if self.outlet is not None:
            self.outlet.push(steps)
        if self.csv is not None and self._write_failure is None:
            try:
                self.csv.write(steps)
            except CsvWriteError as err:  # the run ends with this line (check()), its rows kept
                self._write_failure = str(err)
                log.error("%s", err)
                self.csv.close()

    @property
    def rows(self) -> int:
        """Rows written to the CSV log."""
        return self.csv.rows if self.csv is not None else 0

    def check(self, now: float | None = None) -> str | None:
        """Why the session cannot go on, or None.

        A source that cannot continue (``failure``: a stream back with another rate
        or channel count) ends it at once; a stream lost for longer than
        ``lost_timeout`` ends it then.
        """
        if self._write_failure is not None:
            return self._write_failure
        now = time.monotonic() if now is None else now
        for name in self.pipeline.stream_names:
            failure = getattr(self.pipeline.source(name), "failure", None)
            if failure:
                return f"stream {name!r}: {failure}"
        timeout = self.settings.lost_timeout
        for st in self.pipeline.status():
            if st.connected or st.message == "finished":
                self._lost_since.pop(st.name, None)
                continue
            since = self._lost_since.setdefault(st.name, now)
            if timeout is not None and now - since > timeout:
                return f"stream {st.name!r} has been lost for {now - since:.0f} s (--timeout {timeout:g} s)"
        return None

    # ------------------------------------------------------------------ closing
    def close(self) -> bool | None:
        """Stop the recording, close the CSV log and the outlet (idempotent).

        Returns
        -------
        bool | None
            As :meth:`stop_recording`.
        """
        clean = self.stop_recording()
        if self.csv is not None:
            timing = {st.name: st.timing.to_dict() for st in self.pipeline.status() if st.timing is not None}
            if timing:
                try:
                    self.csv.describe("stream_timing", timing)
                except OSError as err:
                    log.warning("could not add the streams' timing to %s: %s", self.csv.about_path, err)
            self.csv.close()
        if self.outlet is not None:
            self.outlet.close()
            self.outlet = None
        return clean


@contextlib.contextmanager
def stop_on_signals(signums: Sequence[int] = (signal.SIGTERM, signal.SIGHUP)) -> Iterator[None]:
    """Raise :class:`Terminated` in the main thread on these signals (as Ctrl-C raises
    :class:`KeyboardInterrupt`), so that cleanup runs; a no-op outside the main thread."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def raise_terminated(signum: int, frame: Any) -> None:
        raise Terminated(signum)

    previous = {s: signal.signal(s, raise_terminated) for s in signums}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


@contextlib.contextmanager
def shielded(signums: Sequence[int] = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)) -> Iterator[None]:
    """Ignore these signals for the duration (a second Ctrl-C while the recording
    closes); a no-op outside the main thread."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.signal(s, signal.SIG_IGN) for s in signums}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
