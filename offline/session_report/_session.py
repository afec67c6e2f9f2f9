"""Reading a session: a step CSV as written, or a recording replayed through the pipeline;
its window timing and its segments."""

from __future__ import annotations

import logging
import math
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Sequence

import numpy as np

#: Columns a step CSV must have (the others of ``run --out`` are not needed here).
CSV_REQUIRED = ("stream", "timestamp", "valence")


class SessionReportError(ValueError):
    """The session cannot be reported on; the message names the file and the cause.

    ``code`` is the command's exit status: 2 for refused or unreadable input.
    """

    code = 2



class EmptySessionError(SessionReportError):
    """The session yielded no step to report on (exit status 3)."""

    code = 3



@dataclass(frozen=True)
class _Trace:
    """One stream's steps as row-aligned arrays (STALE steps and steps without a finite
    timestamp left out: there is no window behind them).

    Attributes
    ----------
    stream : str
    timestamps, valence, calibration : ndarray (n,) float
    flags : ndarray (n,) int64
    labels : tuple of str
        The true label of each step ("" where none).
    de_z : ndarray (n, n_channels, n_bands) | None
        Standardized DE of each window; None for a step CSV.
    """

    stream: str
    timestamps: np.ndarray
    valence: np.ndarray
    flags: np.ndarray
    calibration: np.ndarray
    labels: tuple[str, ...]
    de_z: np.ndarray | None = None

    @property
    def usable(self) -> np.ndarray:
        """Windows a summary may use (:func:`~bci_valence.online.segments.usable_mask`)."""
        from bci_valence.online.segments import usable_mask

        return usable_mask(self.flags, self.valence)

    @property
    def size(self) -> int:
        """Number of windows."""
        return int(self.timestamps.size)

    @classmethod
    def build(cls, stream, timestamps, valence, flags, calibration, labels, de_z=None) -> _Trace:
        """Keep the rows that are windows (no STALE flag, a finite timestamp)."""
        from bci_valence.signal.quality import QualityFlag

        t = np.asarray(timestamps, dtype=np.float64)
        f = np.asarray(flags, dtype=np.int64)
        keep = np.isfinite(t) & ((f & int(QualityFlag.STALE)) == 0)
        return cls(
            stream=str(stream), timestamps=t[keep], valence=np.asarray(valence, dtype=np.float64)[keep],
            flags=f[keep], calibration=np.asarray(calibration, dtype=np.float64)[keep],
            labels=tuple(str(x) for x, k in zip(labels, keep) if k),
            de_z=None if de_z is None else np.asarray(de_z, dtype=np.float64)[keep],
        )  # fmt: skip



@dataclass(frozen=True)
class _Session:
    """What was read or replayed, and what the page says about where it came from."""

    trace: _Trace
    kind: str  # "recording" or "csv"
    origin: float  # the session's first sample (LSL seconds)
    end: float  # its last sample
    markers: list[tuple[float, str]] | None  # a recording's markers; None for a CSV
    lines: list[str]  # what the page says about the file
    about: dict[str, Any] | None = None  # a CSV's description (<file>.json)
    simulated: bool = False



@dataclass(frozen=True)
class _Analysis:
    """The session's segments, their summaries and what the page notes about them."""

    seg_settings: Any  # SegmentSettings, with the baseline
    segments: list[Any]
    segments_from: str  # where the segments came from, for the page
    summaries: list[Any]
    base: int | None  # the baseline segment's index
    notes: list[str]


def _is_csv(path: Path) -> bool:
    """Whether ``path`` is a step CSV (by its suffix) rather than a recording."""
    return path.suffix.lower() == ".csv"



def _replay(path: Path, settings: Any, bundle: Any, stream: str | None, progress: bool,
            allow_truncated: bool = False) -> _Session:  # fmt: skip
    """Replay a recording through the pipeline."""
    from bci_valence.io.recordings import RecordingError, read_recording
    from bci_valence.online.replay import run_offline
    from bci_valence.signal.quality import QualityFlag

    try:
        recording = read_recording(path, stream=stream, allow_truncated=allow_truncated)
    except RecordingError as err:
        raise SessionReportError(str(err)) from None
    if progress:
        print(f"replaying {path.name} through the pipeline", file=sys.stderr)
    try:
        steps = run_offline(recording, settings, bundle, progress=progress)
    except ValueError as err:  # channels that cannot be placed, a bad rate...
        raise SessionReportError(f"cannot replay {path}: {err}") from None
    if not steps:
        raise EmptySessionError(
            f"{path}: the replay gave no step ({recording.duration:.1f} s of signal; one window needs a few "
            "seconds more than the window itself)"
        )
    name = steps[0].stream
    trace = _Trace.build(
        name, [s.timestamp for s in steps], [s.valence for s in steps], [s.flags for s in steps],
        [s.calibration_progress for s in steps], [s.true_label or "" for s in steps],
        np.stack([s.de_z for s in steps]),
    )  # fmt: skip
    if trace.size == 0:
        raise EmptySessionError(f"{path}: the replay gave no window (every step was STALE)")
    simulated = bool(recording.simulated) or bool(np.any(trace.flags & int(QualityFlag.SIMULATED)))
    lines = [
        f"recording `{path.name}`: stream `{recording.stream_name or name}`, {recording.n_channels} channels at "
        f"{recording.sfreq:g} Hz, {recording.duration:.1f} s, {len(recording.markers)} markers; replayed through "
        f"the pipeline here: {trace.size} windows",
    ]
    return _Session(
        trace=trace, kind="recording", origin=float(recording.timestamps[0]), end=float(recording.timestamps[-1]),
        markers=list(recording.markers), lines=lines, simulated=simulated,
    )  # fmt: skip



def _number(cell: str | None, what: str, where: str) -> float:
    """A CSV cell as a float; an empty cell is NaN (a missing value, never 0)."""
    text = (cell or "").strip()
    if not text:
        return math.nan
    try:
        return float(text)
    except ValueError:
        raise SessionReportError(f"{where}: {what} {text!r} is not a number") from None



def _read_csv(path: Path, stream: str | None) -> _Session:
    """Read a step CSV (``run --out``) and its description, if it has one."""
    import csv
    import json

    from bci_valence.online.segment_outputs import about_path
    from bci_valence.signal.quality import QualityFlag, parse_flags
    from bci_valence.streams.outlets import csv_columns, read_csv_log

    if path.stat().st_size == 0:
        raise SessionReportError(f"step CSV {str(path)!r} is empty (0 bytes)")
    try:
        rows = read_csv_log(path)
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise SessionReportError(f"cannot read the step CSV {str(path)!r}: {err}") from None
    if not rows:
        raise EmptySessionError(f"step CSV {str(path)!r} holds no step (a header and no row)")
    columns = set(rows[0])
    missing = [c for c in CSV_REQUIRED if c not in columns]
    if not ({"flags_int", "flags"} & columns):
        missing.append("flags_int")
    if missing:
        expected = ", ".join(csv_columns(["<class>"]))
        raise SessionReportError(
            f"{path}: not a step CSV of `bci-valence run --out`: it lacks {', '.join(missing)} (expected {expected})"
        )
    names = list(dict.fromkeys(r["stream"] for r in rows))
    if stream is None and len(names) > 1:
        raise SessionReportError(f"{path} holds {len(names)} streams ({', '.join(names)}): choose one with --stream")
    name = names[0] if stream is None else stream
    if name not in names:
        raise SessionReportError(f"{path} has no stream {name!r}; its streams: {', '.join(names)}")
    t, v, f, cal, labels = [], [], [], [], []
    for lineno, row in enumerate(rows, start=2):
        if row["stream"] != name:
            continue
        where = f"{path}:{lineno}"
        t.append(_number(row["timestamp"], "timestamp", where))
        v.append(_number(row["valence"], "valence", where))
        bits = (row.get("flags_int") or "").strip()
        try:
            flags = int(bits) if bits else int(parse_flags(row.get("flags") or ""))
        except ValueError as err:
            raise SessionReportError(f"{where}: bad flags: {err}") from None
        f.append(flags)
        cal.append(_number(row.get("calibration_progress"), "calibration_progress", where))
        labels.append((row.get("true_label") or "").strip())
    trace = _Trace.build(name, t, v, f, cal, labels)
    if trace.size == 0:
        raise EmptySessionError(f"{path}: stream {name!r} has no window (every row is STALE or has no timestamp)")
    about = None
    try:
        about = json.loads(about_path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        pass
    if not isinstance(about, dict):
        about = None
    lines = [f"step CSV `{path.name}`: stream `{name}`, {trace.size} windows, read as written by the run"]
    if about is None:
        lines.append(f"no description beside it (`{about_path(path).name}`): the run's settings are unknown")
    return _Session(
        trace=trace, kind="csv", origin=math.nan, end=float(trace.timestamps.max()), markers=None, lines=lines,
        about=about, simulated=bool(np.any(trace.flags & int(QualityFlag.SIMULATED))),
    )  # fmt: skip



def _csv_settings(session: _Session, device: str) -> Any:
    """The pipeline settings the run that wrote a step CSV had, as far as its description says
    (the hop, the valence average, the feature method); the hop is read off the timestamps
    when there is no description."""
    from bci_valence.online.settings import ComputeSettings, PipelineSettings

    recorded = (session.about or {}).get("settings") or {}
    hop = recorded.get("hop_s")
    if not (isinstance(hop, (int, float)) and hop > 0):
        steps = np.diff(np.sort(session.trace.timestamps))
        hop = float(np.median(steps)) if steps.size else 0.25
    compute = recorded.get("compute") or {}
    method = compute.get("feature_method", "fir") if isinstance(compute, dict) else "fir"
    return PipelineSettings(
        hop_s=float(hop), valence_average=recorded.get("valence_average"),
        compute=ComputeSettings(device=device, feature_method=method),
    )  # fmt: skip



def _window_timing(bundle: Any, settings: Any) -> tuple[Any, float]:
    """The segment summaries' settings a live run with ``settings`` uses, and the seconds
    of signal one window needs.

    Both are read from a pipeline started over one silent second of the bundle's
    channels (:meth:`~bci_valence.online.segment_outputs.SegmentOutputs.segment_settings`
    and :meth:`~bci_valence.online.pipeline.Pipeline.window_counts`); nothing is polled.
    """
    from bci_valence.io.recordings import Recording
    from bci_valence.online.pipeline import Pipeline
    from bci_valence.online.segment_outputs import SegmentOutputs, SegmentOutputSettings
    from bci_valence.streams.array_source import ArraySource

    cfg = bundle.config
    n = int(round(float(cfg.sfreq)))
    silent = Recording(
        data=np.zeros((len(cfg.channels), n)), sfreq=float(cfg.sfreq), ch_names=list(cfg.channels),
        ch_types=["eeg"] * len(cfg.channels), timestamps=np.arange(n) / float(cfg.sfreq), stream_name="timing",
    )  # fmt: skip
    quiet = logging.getLogger(Pipeline.__module__)  # its start-up lines are about this silent stream
    level = quiet.level
    quiet.setLevel(max(level, logging.WARNING))
    try:
        own_labels = replace(settings, stream=replace(settings.stream, channels=None))  # the silence has them
        pipe = Pipeline([ArraySource(silent)], bundle, own_labels)
        pipe.start()
        try:
            seg = SegmentOutputs(pipe, SegmentOutputSettings(outlet=False)).segment_settings()
            window_s = float(pipe.window_counts(0).window_s or 0.0)
        finally:
            pipe.stop()
    finally:
        quiet.setLevel(level)
    return seg, window_s



def _read_schedule(schedule: str | Path | None) -> tuple[Any, ...] | None:
    """The schedule's entries (None without one), read before any replay."""
    from bci_valence.online.segments import ScheduleError, read_schedule

    if schedule is None:
        return None
    try:
        return read_schedule(schedule)
    except ScheduleError as err:
        raise SessionReportError(str(err)) from None



def _segments(session: _Session, schedule: Sequence[Any] | None, schedule_name: str = "") -> tuple[list[Any], str]:
    """The session's segments (from the schedule's entries, else the markers or the true
    labels) and where they came from."""
    from bci_valence.online.segments import END_MARKER, segments_from_markers, segments_from_schedule

    if schedule is not None:
        return segments_from_schedule(schedule, session.origin), f"the schedule `{schedule_name}`"
    if session.markers is not None:
        return segments_from_markers(session.markers, session.end), "the recording's markers"
    # a step CSV: each change of the true label is a marker (a step without one ends the segment);
    # the label the first step already carries was given before it: from the session's first sample
    markers: list[tuple[float, str]] = []
    previous = None
    for t, label in zip(session.trace.timestamps, session.trace.labels):
        if label != previous:
            markers.append((session.origin if previous is None else float(t), label or END_MARKER))
            previous = label
    return (
        segments_from_markers(markers, session.end),
        "the changes of the `true_label` column (the class named by the current marker): a segment starts "
        "at the first step that carries its label, within one hop of its marker, and the first step's label "
        "at the session's first sample",
    )



def _load(path: Path, csv_session: _Session | None, bundle: Any, settings: Any, stream: str | None,
          allow_truncated: bool, progress: bool) -> tuple[_Session, Any, Any, float]:  # fmt: skip
    """Replay a recording, or complete a step CSV's session (``csv_session``) with its timing.

    ``settings`` None: the default :class:`~bci_valence.online.settings.PipelineSettings`.

    Returns
    -------
    session : _Session
    settings : PipelineSettings
        The replay's, or those a CSV's description gives.
    segment_settings : SegmentSettings
        As the live run's ``--segments-out`` has them.
    window_s : float
        Seconds of signal one window needs (feature context included).
    """
    from bci_valence.online.settings import PipelineSettings

    settings = settings if settings is not None else PipelineSettings()
    if csv_session is not None:
        settings = _csv_settings(csv_session, settings.compute.device)
        seg_settings, window_s = _window_timing(bundle, settings)
        # the first window's newest sample came window_s after the session's first sample
        origin = float(csv_session.trace.timestamps.min()) - window_s
        return replace(csv_session, origin=origin), settings, seg_settings, window_s
    seg_settings, window_s = _window_timing(bundle, settings)
    session = _replay(path, settings, bundle, stream, progress, allow_truncated)
    return session, settings, seg_settings, window_s
