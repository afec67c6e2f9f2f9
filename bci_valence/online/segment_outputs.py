"""Where segment summaries and the group trace go: two CSV files and an LSL outlet.

- :func:`write_segments_csv`: one row per segment and stream (and, with several
  people, per segment for the group), written at the end of a session.
- :class:`GroupCsv`: the group trace, one row per tick, flushed per row.
- The ``bci_valence_group`` outlet (:class:`~bci_valence.streams.group_outlet.GroupOutlet`).

Each CSV has a JSON description beside it (``<file>.json``: the columns and what they
mean, the settings, what the valence is), as the step log has. An existing file (or
description) is refused unless ``overwrite``.

:class:`SegmentOutputs` wires them to a running
:class:`~bci_valence.online.pipeline.Pipeline`, like
:class:`~bci_valence.online.session.SessionOutputs` does for the step outputs::

    settings = SegmentOutputSettings(segments_out="segments.csv", group_out="group.csv")
    settings.check_outputs()          # before any source is opened
    outputs = SegmentOutputs(pipe, settings, source_id_prefix=prefix)
    pipe.start()
    outputs.open()                    # trackers, the group CSV and outlet
    while running:
        outputs.write(pipe.poll())
    messages = outputs.close()        # the rest of the group trace, the segments CSV
"""

from __future__ import annotations

import csv
import io
import json
import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from .group import GroupRow, GroupSettings, GroupTracker
from .segments import (
    END_MARKER,
    END_PREFIX,
    START_PREFIX,
    ScheduleEntry,
    SegmentSettings,
    SegmentSummary,
    SegmentTracker,
    read_schedule,
)

log = logging.getLogger(__name__)

__all__ = [
    "GROUP_COLUMNS",
    "SEGMENT_COLUMNS",
    "GroupCsv",
    "SegmentOutputSettings",
    "SegmentOutputs",
    "about_path",
    "check_output_file",
    "write_segments_csv",
]

#: Columns of the segments CSV and what each holds.
SEGMENT_COLUMNS: dict[str, str] = {
    "stream": "the person's stream, or 'group' for the segment across people",
    "label": "the segment's label (marker or schedule)",
    "onset_s": "seconds from the session's first sample to the segment's start",
    "duration_s": "the segment's length in seconds",
    "onset_time": "the segment's start on the LSL clock (seconds)",
    "n_windows": "windows whose centre lies in the segment (summed over people for 'group')",
    "n_usable": "of them, windows without a bad flag, after calibration, with a valence",
    "n_people": "people with at least one usable window in the segment",
    "valence_mean": "mean valence of the usable windows (for 'group': mean of the people's means); "
    "empty when there is no usable window",
    "valence_ci_low": "lower end of the 95% interval (empty when it cannot be given)",
    "valence_ci_high": "upper end of the 95% interval",
    "n_effective": "usable windows divided by their autocorrelation time (people for 'group')",
    "baseline_diff": "valence_mean minus the baseline segment's (for 'group': mean of the people's "
    "differences); empty without a baseline and for the baseline itself",
    "baseline_diff_ci_low": "lower end of the difference's 95% interval",
    "baseline_diff_ci_high": "upper end of the difference's 95% interval",
    "note": "why a number is missing ('no usable window'...), 'baseline' for the baseline segment",
}

#: Columns of the group CSV and what each holds.
GROUP_COLUMNS: dict[str, str] = {
    "time": "the tick on the shared LSL clock (seconds), every hop",
    "valence_mean": "mean valence over the people whose latest window is usable and recent; "
    "empty when nobody's is",
    "valence_ci_low": "lower end of the 95% t-interval across people (empty with fewer than two)",
    "valence_ci_high": "upper end of the 95% t-interval across people",
    "n_streams": "how many people the mean is over",
    "n_sources": "how many people are in the session",
    "left_out": "the people left out of this row and why (stream:reason, ';'-separated): waiting "
    "(no step yet), stale (stream lost), late (latest step older than the tolerance), unusable "
    "(flagged, calibrating or no valence); their valence is never carried forward or imputed",
}

INTERVAL_METHOD = (
    "per stream: mean ± t(n_eff - 1) × se, n_eff = n_usable / tau, where tau is the integrated "
    "autocorrelation time of the valence within segments (pooled over the stream's segments, Geyer's "
    "initial positive sequence, corrected for centring on short segments, at least what the overlap of "
    "the windows and of the valence average alone gives); no interval below 2 effective windows. For 'group': a "
    "t-interval across the people's segment means. The baseline difference adds the two variances "
    "(Welch-Satterthwaite degrees of freedom); for 'group' it is a t-interval of the people's differences."
)


def about_path(path: str | Path) -> Path:
    """The JSON file that describes a CSV output (``<file>.json``)."""
    path = Path(path)
    return path.with_name(path.name + ".json")


def check_output_file(flag: str, path: str | Path, overwrite: bool) -> None:
    """Check that an output CSV and its description can be written, without touching them.

    Parameters
    ----------
    flag : str
        The option that names it (for the messages).
    path : str | Path
    overwrite : bool

    Raises
    ------
    FileExistsError
        The file or its description exists and ``overwrite`` is False.
    ValueError
        The path names a folder, is an XDF name, or its folder cannot be created.
    """
    path = Path(path).expanduser()
    if path.suffix.lower() == ".xdf":
        raise ValueError(f"{flag} writes a CSV file, got the XDF name {str(path)!r}")
    for what, p in ((flag, path), (f"{flag} (its description)", about_path(path))):
        if p.is_dir():
            raise ValueError(f"{what} {str(p)!r} is a folder, expected a file name")
        if p.exists() and not overwrite:
            raise FileExistsError(
                f"{what} {str(p)!r} already exists: choose another name, or pass --overwrite to replace it"
            )
    parent = next((p for p in (path.parent, *path.parent.parents) if p.exists()), None)
    if parent is None or not parent.is_dir():
        raise ValueError(f"{flag} {str(path)!r}: its folder cannot be created ({parent} is not a folder)")


def _open_new(path: Path, overwrite: bool, what: str) -> io.TextIOBase:
    """Open ``path`` for writing; an existing file is refused unless ``overwrite``."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return path.open("w" if overwrite else "x", newline="", encoding="utf-8")
    except FileExistsError as err:
        raise FileExistsError(f"{what} {path} already exists: choose another name or allow overwriting it") from err
    except OSError as err:
        raise OSError(f"cannot write {what} {path}: {err}") from err


def _write_about(path: Path, columns: Mapping[str, str], about: Mapping[str, Any] | None, overwrite: bool) -> None:
    target = about_path(path)
    with _open_new(target, overwrite, "the description") as fh:
        json.dump({"file": path.name, "columns": list(columns), "meaning": dict(columns), **(about or {})},
                  fh, indent=2, default=str)  # fmt: skip
        fh.write("\n")


def _num(x: float, fmt: str = ".6g") -> str:
    """A number for the CSV; empty for NaN (a missing value is never written as 0)."""
    if x is None or not math.isfinite(x):
        return ""
    text = format(x, fmt)
    return text[1:] if text.startswith("-") and not any(c in "123456789" for c in text) else text  # no "-0.000"


def segment_row(s: SegmentSummary) -> list[str]:
    """The CSV cells of one summary, in :data:`SEGMENT_COLUMNS` order."""
    return [
        s.stream, s.label, _num(s.onset_s, ".3f"), _num(s.duration_s, ".3f"), _num(s.onset, ".6f"),
        str(s.n_windows), str(s.n_usable), str(s.n_people), _num(s.mean), _num(s.ci_low), _num(s.ci_high),
        _num(s.n_effective, ".3g"), _num(s.diff), _num(s.diff_low), _num(s.diff_high), s.note,
    ]  # fmt: skip


def write_segments_csv(
    path: str | Path,
    summaries: Iterable[SegmentSummary],
    *,
    overwrite: bool = False,
    about: Mapping[str, Any] | None = None,
) -> Path:
    """Write the segment summaries, and their description beside them.

    Parameters
    ----------
    path : str | Path
        The CSV file (parent folders are created).
    summaries : iterable of SegmentSummary
    overwrite : bool
        Replace existing files; by default they are refused.
    about : mapping, optional
        JSON-able description added to ``<file>.json`` (settings, what the valence is).

    Returns
    -------
    Path
        The CSV file.

    Raises
    ------
    FileExistsError
        The file or its description exists and ``overwrite`` is False.
    OSError
        It cannot be written; the message names it.
    """
    path = Path(path).expanduser()
    if not overwrite and about_path(path).exists():
        raise FileExistsError(f"{about_path(path)} (the segments' description) already exists")
    with _open_new(path, overwrite, "the segments CSV") as fh:
        writer = csv.writer(fh)
        writer.writerow(list(SEGMENT_COLUMNS))
        for s in summaries:
            writer.writerow(segment_row(s))
    _write_about(path, SEGMENT_COLUMNS, about, overwrite)
    return path


class GroupCsv:
    """The group trace as CSV, one row per tick, each flushed to disk as it is written.

    Parameters
    ----------
    path : str | Path
        File to write (parent folders are created).
    n_sources : int
        People in the session (the ``n_sources`` column).
    overwrite : bool
        Replace existing files; by default they are refused.
    about : mapping, optional
        JSON-able description added to ``<file>.json``.

    Raises
    ------
    FileExistsError
        The file or its description exists and ``overwrite`` is False.
    OSError
        It cannot be created; the message names it.
    """

    def __init__(
        self, path: str | Path, n_sources: int, *, overwrite: bool = False, about: Mapping[str, Any] | None = None
    ) -> None:
        self.path = Path(path).expanduser()
        self.n_sources = int(n_sources)
        if not overwrite and about_path(self.path).exists():
            raise FileExistsError(f"{about_path(self.path)} (the group CSV's description) already exists")
        self._fh: io.TextIOBase | None = _open_new(self.path, overwrite, "the group CSV")
        try:
            _write_about(self.path, GROUP_COLUMNS, about, overwrite)
        except BaseException:
            self.close()
            raise
        self._writer = csv.writer(self._fh)
        self._writer.writerow(list(GROUP_COLUMNS))
        self._fh.flush()
        self.rows = 0

    def write(self, rows: Iterable[GroupRow]) -> None:
        """Append rows and flush."""
        if self._fh is None:
            raise ValueError(f"the group CSV {self.path} is closed")
        for r in rows:
            left = ";".join(f"{name}:{why}" for name, why in r.left_out)
            self._writer.writerow([_num(r.time, ".6f"), _num(r.mean), _num(r.ci_low), _num(r.ci_high),
                                   r.n_streams, self.n_sources, left])  # fmt: skip
            self.rows += 1
        self._fh.flush()

    def close(self) -> None:
        """Close the file (idempotent)."""
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    def __enter__(self) -> GroupCsv:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass(frozen=True)
class SegmentOutputSettings:
    """What a session writes about segments and the group.

    Parameters
    ----------
    schedule : str | Path | None
        Schedule CSV (``label,onset_s,duration_s``); None takes segments from markers.
    segments_out : str | Path | None
        The segments CSV, written at the end.
    baseline : str | None
        Label of the baseline segment.
    group_out : str | Path | None
        The group trace CSV, written as the session goes.
    outlet : bool
        Publish the ``bci_valence_group`` outlet when the session has two streams or more.
    overwrite : bool
        Replace existing files.
    tolerance_s : float
        Group trace: oldest a person's latest step may be to count.
    """

    schedule: str | Path | None = None
    segments_out: str | Path | None = None
    baseline: str | None = None
    group_out: str | Path | None = None
    outlet: bool = True
    overwrite: bool = False
    tolerance_s: float = 1.0

    def __post_init__(self) -> None:
        if self.segments_out is None:
            for flag, value in (("--segments", self.schedule), ("--baseline", self.baseline)):
                if value is not None:
                    raise ValueError(f"{flag} is used by the segments CSV: add --segments-out FILE.csv")
        if self.baseline is not None and not str(self.baseline).strip():
            raise ValueError("--baseline expects a segment label, got an empty one")

    def read_schedule(self) -> tuple[ScheduleEntry, ...] | None:
        """The schedule's entries, or None without one.

        Raises
        ------
        ScheduleError
            The file is missing or malformed (the message names the file and line).
        """
        return None if self.schedule is None else read_schedule(self.schedule)

    def check_outputs(self, others: Sequence[str | Path | None] = ()) -> None:
        """Check the schedule and that the outputs can be written, touching nothing.

        Parameters
        ----------
        others : sequence of path | None
            The session's other output files (``--out``, ``--record``): none may be
            the same file.

        Raises
        ------
        ScheduleError
            The schedule cannot be read.
        FileExistsError
            An output exists and ``overwrite`` is False.
        ValueError
            An output names a folder, an XDF file, or the same file as another.
        """
        self.read_schedule()
        seen = {Path(p).expanduser().resolve() for p in others if p is not None}
        for flag, path in (("--segments-out", self.segments_out), ("--group-out", self.group_out)):
            if path is None:
                continue
            check_output_file(flag, path, self.overwrite)
            resolved = Path(path).expanduser().resolve()
            if resolved in seen or about_path(resolved) in seen:
                raise ValueError(f"{flag} {str(path)!r} names a file another output writes")
            seen.update({resolved, about_path(resolved)})


class SegmentOutputs:
    """Segment summaries and the group trace of a running pipeline.

    Parameters
    ----------
    pipeline : Pipeline
        The pipeline (started before :meth:`open`; this registers its listeners).
    settings : SegmentOutputSettings
    source_id_prefix : str
        The group outlet's source_id is ``{prefix}-group``.
    """

    def __init__(
        self, pipeline: Any, settings: SegmentOutputSettings | None = None, *, source_id_prefix: str = "bci_valence"
    ) -> None:
        self.pipeline = pipeline
        self.settings = settings or SegmentOutputSettings()
        self.prefix = source_id_prefix
        self.tracker: SegmentTracker | None = None
        self.group: GroupTracker | None = None
        self.csv: GroupCsv | None = None
        self.outlet: Any = None
        self._closed = False
        if self.settings.segments_out is not None:
            pipeline.add_chunk_listener(self._on_chunk)
            pipeline.add_marker_listener(self._on_markers)

    def segment_settings(self) -> SegmentSettings:
        """The summaries' settings, read from the pipeline: its hop, the bundle's window,
        the valence average, and the lag from a step's timestamp to the centre of the
        signal behind it."""
        pipe = self.pipeline
        timing = pipe.window_timing
        hop = timing.effective_hop_s
        average = int(getattr(pipe, "valence_average", 1))
        return SegmentSettings(
            hop_s=hop,
            window_s=timing.window_s,
            average=average,
            lag_s=timing.input_s / 2 + (average - 1) * hop / 2,
            baseline=self.settings.baseline,
        )

    def _about(self) -> dict[str, Any]:
        from .session import describe_session

        return describe_session(self.pipeline)

    def open(self) -> None:
        """Start the trackers and open the group CSV and outlet.

        Raises
        ------
        FileExistsError, OSError
            The group CSV cannot be created; nothing stays open.
        """
        names = list(self.pipeline.stream_names)
        hop = self.pipeline.window_timing.effective_hop_s
        try:
            if self.settings.segments_out is not None:
                self.tracker = SegmentTracker(self.segment_settings(), self.settings.read_schedule())
            publish = self.settings.outlet and len(names) >= 2
            if self.settings.group_out is not None or publish:
                self.group = GroupTracker(names, GroupSettings(hop_s=hop, tolerance_s=self.settings.tolerance_s))
            if self.settings.group_out is not None:
                about = {"group": asdict(self.group.settings), "streams": names, **self._about()}
                self.csv = GroupCsv(self.settings.group_out, len(names), overwrite=self.settings.overwrite,
                                    about=about)  # fmt: skip
            if publish:
                from ..streams.group_outlet import GroupOutlet

                self.outlet = GroupOutlet(f"{self.prefix}-group", about={
                    "valence_mean": "mean valence over the people whose latest window is usable and recent",
                    "interval": "95% t-interval across people (NaN with fewer than two)",
                    "n_streams": f"how many of the session's {len(names)} people the mean is over",
                })  # fmt: skip
        except BaseException:
            self.close(write=False)
            raise

    def _on_chunk(self, name: str, data: Any, timestamps: Any) -> None:
        if self.tracker is not None:
            self.tracker.add_samples(name, timestamps)

    def _on_markers(self, name: str, markers: Sequence[tuple[float, str]]) -> None:
        if self.tracker is not None:
            self.tracker.add_markers(name, markers)

    def write(self, steps: Sequence[Any]) -> None:
        """Take new steps: into the segments, and the group rows they settle out."""
        if not steps:
            return
        if self.tracker is not None:
            self.tracker.add_steps(steps)
        if self.group is not None:
            self._emit(self.group.push(steps))

    def _emit(self, rows: Sequence[GroupRow]) -> None:
        if not rows:
            return
        if self.csv is not None:
            self.csv.write(rows)
        if self.outlet is not None:
            for r in rows:
                self.outlet.push(r.time, r.mean, r.ci_low, r.ci_high, r.n_streams)

    def summaries(self) -> list[SegmentSummary]:
        """The segment summaries so far (none without ``segments_out``)."""
        return self.tracker.summaries() if self.tracker is not None else []

    def close(self, write: bool = True) -> list[str]:
        """Finish the group trace, write the segments CSV, close everything (idempotent).

        Parameters
        ----------
        write : bool
            Write the segments CSV (False when the session never ran).

        Returns
        -------
        list of str
            What was written and what a reader should know, one line each.

        Raises
        ------
        FileExistsError, OSError
            The segments CSV cannot be written.
        """
        if self._closed:
            return []
        self._closed = True
        messages = []
        try:
            if self.group is not None and write:
                self._emit(self.group.flush())
            if self.csv is not None:
                messages.append(f"group valence: {self.csv.rows} rows written to {self.csv.path}")
        finally:
            if self.csv is not None:
                self.csv.close()
            if self.outlet is not None:
                self.outlet.close()
                self.outlet = None
        if self.tracker is None or not write or self.settings.segments_out is None:
            return messages
        summaries = self.tracker.summaries()
        about = {
            "interval": INTERVAL_METHOD,
            "segments_from": (f"schedule {self.settings.schedule}" if self.settings.schedule is not None else
                              f"markers: a plain label runs until the next different one, a bare '{END_MARKER}' "
                              f"or the end; '{START_PREFIX}X' ... '{END_PREFIX}X' delimit X explicitly"),
            "window_assignment": "a window belongs to the segment that holds its centre (timestamp - lag_s)",
            "segment_settings": asdict(self.tracker.settings),
            "streams": list(self.tracker.streams),
            **self._about(),
        }  # fmt: skip
        path = write_segments_csv(self.settings.segments_out, summaries, overwrite=self.settings.overwrite,
                                  about=about)  # fmt: skip
        messages.append(f"segments: {len(summaries)} rows written to {path}")
        if not summaries:
            messages.append(
                "warning: no segment: the stream(s) sent no markers (--segments FILE.csv gives a schedule)"
            )
        baseline = self.settings.baseline
        if baseline is not None and not any(s.label == baseline for s in summaries):
            labels = ", ".join(sorted({s.label for s in summaries})) or "none"
            messages.append(f"warning: no segment is labelled {baseline!r} (--baseline); labels: {labels}")
        empty = [s for s in summaries if s.n_usable == 0 and s.stream != "group"]
        if empty:
            messages.append(f"note: {len(empty)} segment(s) had no usable window (their valence is left empty)")
        return messages
