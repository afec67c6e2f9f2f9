"""``bci-valence session-report SESSION --out DIR``: a Markdown page with figures for one session.

The session is a recording (an XDF file from ``run --record``, or anything ``replay``
reads), replayed through the online pipeline first
(:func:`~bci_valence.online.replay.run_offline`), or a step CSV from ``run --out``
(:func:`~bci_valence.streams.outlets.read_csv_log`), read as it is. The folder gets:

* ``report.md`` — the file and its provenance, one table row per segment (label, onset,
  duration, windows, usable windows, mean valence, 95% interval, difference from the
  baseline), the figures, and what the valence is worth on content the model never saw
  (:class:`~bci_valence.online.reliability.ValenceReliability`);
* ``trace.png`` — the valence trace with the segments shaded and their means;
* ``segments.png`` — per-segment bars with their 95% intervals (and the differences
  from the baseline);
* ``quality.png`` — the quality timeline: which windows were usable, which flags they
  carried, the calibration's progress;
* ``scalp_maps.png`` — recordings only: for each segment, the mean standardized DE per
  channel minus the baseline's (the chosen band), and the projection's share of the
  valence difference per channel. A step CSV holds no DE, so its page has no scalp maps
  and says so;
* ``segments.csv`` (and its ``.json``) — the table's numbers, unrounded
  (:func:`~bci_valence.online.segment_outputs.write_segments_csv`).

Segments, windows, usable windows and intervals are those of the live run's
``--segments-out`` (:func:`~bci_valence.online.segments.summarize_segments`, with the
settings :meth:`~bci_valence.online.segment_outputs.SegmentOutputs.segment_settings`
reads from a pipeline). Segments come from ``--segments FILE.csv`` when given, else from
the recording's markers, else (a step CSV) from the changes of its ``true_label``
column, where the pipeline writes the class named by the current marker.
"""

from __future__ import annotations

import argparse
import logging
import math
import sys
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Sequence

import numpy as np

log = logging.getLogger(__name__)

__all__ = [
    "EmptySessionError",
    "FIGURES",
    "MAX_MAP_ROWS",
    "REPORT_NAME",
    "SEGMENTS_CSV",
    "SessionReportError",
    "add_parser",
    "write_session_report",
]

#: The page's file name inside the output folder.
REPORT_NAME = "report.md"
#: The figures' file names inside the output folder.
FIGURES: dict[str, str] = {
    "trace": "trace.png",
    "segments": "segments.png",
    "quality": "quality.png",
    "scalp": "scalp_maps.png",
}
#: The table's numbers, unrounded.
SEGMENTS_CSV = "segments.csv"
#: Most segments named above a figure's axes; past it, their labels go to a legend.
MAX_NAMED_SEGMENTS = 16
#: Most rows of scalp maps: past it, a label's segments share a row.
MAX_MAP_ROWS = 24
#: Columns a step CSV must have (the others of ``run --out`` are not needed here).
CSV_REQUIRED = ("stream", "timestamp", "valence")

_NO_MAPS_CSV = (
    "A step CSV holds no DE features, so this page has no scalp maps: make the report from "
    "the session's XDF recording (`run --record`) to get them."
)


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


# ---------------------------------------------------------------------- reading
def _is_csv(path: Path) -> bool:
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


# ---------------------------------------------------------------------- numbers
def _fmt(x: float, spec: str = "+.4f") -> str:
    return "—" if x is None or not math.isfinite(x) else format(x, spec)


def _interval(low: float, high: float) -> str:
    if not (math.isfinite(low) and math.isfinite(high)):
        return "—"
    return f"[{low:+.4f}, {high:+.4f}]"


def _cell(text: str) -> str:
    """Text for a Markdown table cell."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def _baseline_index(segments: Sequence[Any], baseline: str | None) -> int | None:
    """The baseline segment: the first (by onset) labelled ``baseline``, as the summaries take it."""
    hits = [i for i, s in enumerate(segments) if baseline is not None and s.label == baseline]
    return min(hits, key=lambda i: segments[i].onset) if hits else None


def _map_rows(segments: Sequence[Any], base: int | None, origin: float) -> tuple[list[tuple[str, list[int]]], str]:
    """The rows of the scalp maps: each segment but the baseline, or, past :data:`MAX_MAP_ROWS`
    segments, each label's segments pooled; titles and segment indices, and what a row is."""
    others = [i for i in range(len(segments)) if i != base]
    if len(others) <= MAX_MAP_ROWS:
        return [(f"{segments[i].label} ({segments[i].onset - origin:.1f} s)", [i]) for i in others], "a segment"
    by_label: dict[str, list[int]] = {}
    for i in others:
        by_label.setdefault(segments[i].label, []).append(i)
    rows = [(f"{label} (×{len(ix)})", ix) for label, ix in by_label.items()]
    return rows, f"a label: its segments pooled ({len(others)} segments are too many for a map each)"


def _de_differences(trace: _Trace, segments: Sequence[Any], rows: Sequence[Sequence[int]], lag_s: float,
                    base: int | None) -> tuple[np.ndarray, np.ndarray, str]:  # fmt: skip
    """Mean standardized DE of each row's usable windows minus the reference's.

    A window belongs to the segment that holds its own centre (``timestamp - lag_s``).
    The reference is the baseline segment, else every usable window of the session.

    Parameters
    ----------
    rows : sequence of sequence of int
        The segments (indices) pooled into each row.

    Returns
    -------
    diffs : ndarray (n_rows, n_channels, n_bands)
        NaN for a row without a usable window (all NaN when the reference has none).
    counts : ndarray (n_rows,) int
        Usable windows behind each row's mean.
    reference : str
        What the maps are against, for the page ("" when the reference has no usable window).
    """
    assert trace.de_z is not None
    centre = trace.timestamps - lag_s
    ok = trace.usable
    shape = trace.de_z.shape[1:]

    def members(indices: Sequence[int]) -> np.ndarray:
        m = np.zeros(trace.size, dtype=bool)
        for i in indices:
            m |= np.asarray(segments[i].contains(centre), dtype=bool)
        return m & ok

    def mean(m: np.ndarray) -> np.ndarray:
        return trace.de_z[m].mean(axis=0) if m.any() else np.full(shape, np.nan)

    ref = members([base]) if base is not None else ok
    if base is not None:
        what = f"the baseline segment `{segments[base].label}` ({int(ref.sum())} usable windows)"
    else:
        what = f"the mean of every usable window of the session ({int(ref.sum())} windows; no --baseline)"
    masks = [members(ix) for ix in rows]
    diffs = np.stack([mean(m) for m in masks]) - mean(ref) if masks else np.zeros((0, *shape))
    return diffs, np.array([int(m.sum()) for m in masks], dtype=int), what if ref.any() else ""


# ---------------------------------------------------------------------- figures
def _label_colors(labels: Sequence[str]) -> dict[str, Any]:
    import matplotlib.pyplot as plt

    cmap = plt.get_cmap("tab10")
    return {label: cmap(k % 10) for k, label in enumerate(dict.fromkeys(labels))}


def _shade(ax: Any, segments: Sequence[Any], origin: float, colors: dict[str, Any], text: bool = True) -> None:
    """Shade the segments; name them above the axes when there are few, else in a legend."""
    from matplotlib.patches import Patch

    for seg in segments:
        ax.axvspan(seg.onset - origin, seg.end - origin, color=colors[seg.label], alpha=0.15, lw=0)
    if not text or not segments:
        return
    if len(segments) <= MAX_NAMED_SEGMENTS:
        for seg in segments:
            ax.text(seg.onset - origin, 1.0, f" {seg.label}", transform=ax.get_xaxis_transform(), va="bottom",
                    ha="left", fontsize=8, color=colors[seg.label], clip_on=False)  # fmt: skip
        return
    handles = [Patch(color=c, alpha=0.3, label=label) for label, c in list(colors.items())[:10]]
    ax.add_artist(ax.legend(handles=handles, fontsize=7, loc="upper left", ncols=min(5, len(handles)),
                            title="segments", title_fontsize=7))  # fmt: skip


def _trace_figure(trace: _Trace, lag_s: float, origin: float, segments: Sequence[Any], summaries: Sequence[Any],
                  colors: dict[str, Any], noise_sd: float | None, path: Path) -> None:  # fmt: skip
    import matplotlib.pyplot as plt

    x = trace.timestamps - lag_s - origin
    usable = np.where(trace.usable, trace.valence, np.nan)
    fig, ax = plt.subplots(figsize=(11, 3.8))
    _shade(ax, segments, origin, colors)
    if noise_sd is not None and math.isfinite(noise_sd) and noise_sd > 0:
        ax.fill_between(x, usable - noise_sd, usable + noise_sd, color="k", alpha=0.08, lw=0,
                        label=f"±{noise_sd:.2f}: noise on new content (the bundle's)")  # fmt: skip
    ax.plot(x, trace.valence, color="0.75", lw=0.8, label="every window with a valence")
    ax.plot(x, usable, color="k", lw=1.0, label="usable windows")
    for seg, s in zip(segments, summaries):
        if not math.isfinite(s.mean):
            continue
        a, b = seg.onset - origin, seg.end - origin
        ax.hlines(s.mean, a, b, color=colors[seg.label], lw=2.0)
        if math.isfinite(s.ci_low):
            ax.fill_between([a, b], s.ci_low, s.ci_high, color=colors[seg.label], alpha=0.3, lw=0)
    ax.axhline(0.0, color="0.5", lw=0.5, ls=":")
    ax.set_xlabel("seconds from the session's first sample (window centres)")
    ax.set_ylabel("valence (V-axis units)")
    ax.set_title("Valence trace: segments shaded, their means and 95% intervals", pad=16)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _bars_figure(summaries: Sequence[Any], baseline: bool, colors: dict[str, Any], path: Path) -> None:
    import matplotlib.pyplot as plt

    k = len(summaries)
    panels = [("mean", "ci_low", "ci_high", "mean valence")]
    if baseline:
        panels.append(("diff", "diff_low", "diff_high", "difference from the baseline"))
    crowded = k > MAX_NAMED_SEGMENTS
    width = min(12.0, max(5.0, 0.8 * k + 2))
    fig, axes = plt.subplots(1, len(panels), figsize=(width * len(panels), 4.2 + 0.6 * crowded), squeeze=False)
    for ax, (key, lo, hi, title) in zip(axes[0], panels):
        ticks = []
        for i, s in enumerate(summaries):
            value, low, high = getattr(s, key), getattr(s, lo), getattr(s, hi)
            tick = f"{s.label} {s.onset_s:.0f} s" if crowded else f"{s.label}\n{s.onset_s:.1f} s"
            if not math.isfinite(value):
                why = "baseline" if key == "diff" and s.note.startswith("baseline") else "no usable window"
                ticks.append(tick if crowded else f"{tick}\n({why})")
                continue
            ticks.append(tick)
            ax.bar(i, value, color=colors[s.label], alpha=0.8)
            if math.isfinite(low) and math.isfinite(high):
                ax.errorbar(i, value, yerr=[[value - low], [high - value]], color="k", capsize=4, lw=1)
        ax.axhline(0.0, color="k", lw=0.6)
        ax.set_xticks(range(k), ticks, fontsize=4 if crowded else 7, rotation=90 if crowded else 0)
        ax.set_xlim(-0.6, k - 0.4)
        ax.set_ylabel("V-axis units")
        ax.set_title(f"{title}, 95% interval")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _quality_figure(trace: _Trace, lag_s: float, origin: float, segments: Sequence[Any],
                    colors: dict[str, Any], path: Path) -> list[tuple[str, int]]:  # fmt: skip
    """The quality timeline; returns the rows drawn and how many windows each holds."""
    import matplotlib.pyplot as plt

    from bci_valence.signal.quality import QualityFlag

    x = trace.timestamps - lag_s - origin
    rows: list[tuple[str, np.ndarray]] = [("usable", trace.usable)]
    for flag in QualityFlag:
        if flag.value and flag.name:
            mask = (trace.flags & int(flag.value)) != 0
            if mask.any():
                rows.append((flag.name, mask))
    fig, (ax, ax2) = plt.subplots(2, 1, figsize=(11, 1.0 + 0.35 * len(rows) + 1.4), sharex=True,
                                  gridspec_kw={"height_ratios": [max(1.0, 0.35 * len(rows)), 1.0]})  # fmt: skip
    _shade(ax, segments, origin, colors)
    _shade(ax2, segments, origin, colors, text=False)
    positions = [x[mask] for _, mask in rows]
    palette = ["tab:green"] + ["tab:red"] * (len(rows) - 1)
    ax.eventplot(positions, lineoffsets=range(len(rows)), linelengths=0.8, colors=palette, linewidths=0.8)
    ax.set_yticks(range(len(rows)), [f"{name} ({int(mask.sum())})" for name, mask in rows], fontsize=8)
    ax.set_ylim(len(rows) - 0.5, -0.5)
    ax.set_title("Signal quality per window (window centres; count of windows in brackets)", pad=16)
    ax2.plot(x, trace.calibration, color="tab:blue", lw=1.0)
    ax2.set_ylim(-0.05, 1.05)
    ax2.set_ylabel("calibration", fontsize=8)
    ax2.set_xlabel("seconds from the session's first sample")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return [(name, int(mask.sum())) for name, mask in rows]


def _scalp_figure(diffs: np.ndarray, weights: np.ndarray, titles: Sequence[str], channels: Sequence[str],
                  band_names: Sequence[str], bands: Sequence[str], path: Path) -> None:
    """Scalp maps: one row per ``diffs`` row (a segment), one column per chosen band, then the
    projection's contribution per channel (``sum over bands of weight × DE difference``)."""
    import matplotlib.pyplot as plt
    import mne

    from bci_valence.signal.montage import faced_info

    from .report import _montage_sphere

    info = faced_info()
    if list(info.ch_names) != list(channels):
        info = info.copy().pick(list(channels))
    sphere = _montage_sphere(info)
    cols = [band_names.index(b) for b in bands]
    contrib = (diffs * weights[None]).sum(axis=2)  # (rows, channels)
    lim_de = float(np.nanmax(np.abs(diffs[:, :, cols]))) or 1.0
    lim_c = float(np.nanmax(np.abs(contrib))) or 1.0
    n_cols = len(cols) + 1
    fig, axes = plt.subplots(len(titles), n_cols, figsize=(2.3 * n_cols + 0.4, 2.4 * len(titles) + 1.0),
                             squeeze=False, layout="constrained")  # fmt: skip
    im_de = im_c = None
    for r, title in enumerate(titles):
        for c, b in enumerate(cols):
            im_de, _ = mne.viz.plot_topomap(diffs[r, :, b], info, axes=axes[r, c], show=False, cmap="RdBu_r",
                                            vlim=(-lim_de, lim_de), contours=0, sphere=sphere)  # fmt: skip
            axes[r, c].set_title(f"{title}\n{band_names[b]} DE (z)", fontsize=8)
        im_c, _ = mne.viz.plot_topomap(contrib[r], info, axes=axes[r, -1], show=False, cmap="PuOr_r",
                                       vlim=(-lim_c, lim_c), contours=0, sphere=sphere)  # fmt: skip
        axes[r, -1].set_title(f"{title}\nprojection's share", fontsize=8)
    fig.colorbar(im_de, ax=list(axes[:, :-1].ravel()), location="bottom", shrink=0.9,
                 label="DE difference (z units)")  # fmt: skip
    fig.colorbar(im_c, ax=list(axes[:, -1]), location="bottom", shrink=0.9, label="valence difference (V-axis units)")
    fig.savefig(path, dpi=100)
    plt.close(fig)


# ---------------------------------------------------------------------- the page
def _bundle_name(bundle: Any) -> str:
    """The bundle, for the page: the shipped one, or its folder relative to the working folder."""
    from bci_valence.model.bundle import default_bundle_path
    from bci_valence.provenance import portable_paths

    folder = getattr(bundle, "path", None)
    if folder is None:
        return "the bundle given in memory"
    if Path(folder).resolve() == Path(default_bundle_path()).resolve():
        return "the shipped bundle"
    return f"the bundle `{portable_paths(str(folder))}`"


def _provenance_lines(prov: dict[str, Any]) -> list[str]:
    machine = prov.get("machine") or {}
    versions = ", ".join(f"{k} {v}" for k, v in (prov.get("versions") or {}).items())
    return [
        f"- made with `{prov.get('command', '?')}` on {prov.get('date', '?')} (UTC)",
        f"- machine: {machine.get('cpu', '?')}, {machine.get('cores', '?')} cores, GPU "
        f"{machine.get('gpu') or 'none'}; {machine.get('platform', '?')}, Python {machine.get('python', '?')}; "
        f"{versions}",
    ]


def _segment_table(summaries: Sequence[Any], baseline: str | None) -> list[str]:
    head = "difference from baseline (95% interval)" if baseline else "difference from baseline"
    lines = [
        f"| # | label | onset (s) | duration (s) | windows | usable | mean valence | 95% interval | {head} | note |",
        "|---:|---|---:|---:|---:|---:|---:|---|---|---|",
    ]
    for k, s in enumerate(summaries, start=1):
        diff = _fmt(s.diff)
        if math.isfinite(s.diff_low) and math.isfinite(s.diff_high):
            diff += f" {_interval(s.diff_low, s.diff_high)}"
        lines.append(
            f"| {k} | {_cell(s.label)} | {s.onset_s:.2f} | {s.duration_s:.2f} | {s.n_windows} | {s.n_usable} | "
            f"{_fmt(s.mean)} | {_interval(s.ci_low, s.ci_high)} | {diff} | {_cell(s.note)} |"
        )
    return lines


def _reliability(session: _Session, bundle: Any) -> dict[str, Any]:
    """What the valence is worth on new content: the session's own description's record (a
    CSV's: the bundle the run used), else the bundle's recorded figures.

    Returns
    -------
    dict
        ``source`` (for the page), ``details``, ``probabilities``, ``figures`` (as recorded).
    """
    from bci_valence.online.reliability import ValenceReliability

    recorded = (session.about or {}).get("reliability_on_new_content")
    if isinstance(recorded, dict) and recorded.get("details"):
        return {
            "source": "as the session's description records them (the bundle the run used)",
            "details": str(recorded["details"]),
            "probabilities": str(recorded.get("probabilities", "")),
            "figures": dict(recorded.get("figures") or {}),
        }
    rel = ValenceReliability.from_bundle(bundle)
    return {"source": f"as {_bundle_name(bundle)} records them", "details": rel.details(),
            "probabilities": rel.probabilities_note(), "figures": rel.as_dict()["figures"]}  # fmt: skip


def _reliability_section(reliability: dict[str, Any], simulated: bool) -> list[str]:
    """The page's section on what the valence means on new content."""
    from bci_valence.online.session import VALENCE_MEANING

    para: list[str] = []
    bullets: list[str] = []
    tail: list[str] = []
    for line in reliability["details"].splitlines():
        text = line.strip()
        if not text:
            continue
        if text.startswith("• "):
            bullets.append(text[2:])
        elif line.startswith("  ") and bullets:
            bullets[-1] += f" {text}"
        else:
            (tail if bullets else para).append(text)
    meaning = VALENCE_MEANING[0].upper() + VALENCE_MEANING[1:]
    lines = ["## What the valence means on new content", "", f"{meaning}.", "",
             f"Reliability on new content, {reliability['source']}: {' '.join(para)}", ""]  # fmt: skip
    if bullets:
        lines += [*[f"- {b}" for b in bullets], ""]
    if tail:
        lines += [" ".join(tail), ""]
    if reliability["probabilities"]:
        lines += [reliability["probabilities"], ""]
    shown = {k: v for k, v in reliability["figures"].items() if v is not None}
    if shown:
        lines += ["| recorded figure | value |", "|---|---|", *[f"| {k} | {v} |" for k, v in shown.items()], ""]
    lines += [
        "The intervals in the segment table describe this session's windows (their scatter and their "
        "overlap), not whether the model reads new content correctly: the figures above say how well "
        "the valence tells positive from negative content it never saw.",
        "",
    ]
    if simulated:
        lines += ["**Simulated:** the session's stream is the simulated headset; these numbers describe the "
                  "simulator, not a person.", ""]  # fmt: skip
    return lines


def _check_folder(out: Path, overwrite: bool) -> None:
    """Refuse an existing report unless ``overwrite``; refuse a file where the folder should be."""
    if out.exists() and not out.is_dir():
        raise SessionReportError(f"--out {str(out)!r} is a file, expected a folder")
    report = out / REPORT_NAME
    if report.exists() and not overwrite:
        raise FileExistsError(
            f"{report} already exists: choose another folder, or pass --overwrite to replace the report"
        )


def _load(path: Path, csv_session: _Session | None, bundle: Any, settings: Any, stream: str | None,
          allow_truncated: bool, progress: bool) -> tuple[_Session, Any, Any, float]:  # fmt: skip
    """Replay a recording, or complete a step CSV's session (``csv_session``) with its timing.

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
    if csv_session is not None:
        settings = _csv_settings(csv_session, settings.compute.device)
        seg_settings, window_s = _window_timing(bundle, settings)
        # the first window's newest sample came window_s after the session's first sample
        origin = float(csv_session.trace.timestamps.min()) - window_s
        return replace(csv_session, origin=origin), settings, seg_settings, window_s
    seg_settings, window_s = _window_timing(bundle, settings)
    session = _replay(path, settings, bundle, stream, progress, allow_truncated)
    return session, settings, seg_settings, window_s


def _scalp_section(session: _Session, segments: Sequence[Any], summaries: Sequence[Any], base: int | None,
                   bundle: Any, band: str, window_s: float, average: int,
                   path: Path) -> tuple[list[str], bool]:  # fmt: skip
    """Draw the scalp maps (when the session has DE and a segment to map); what the page says
    about them, and whether they were drawn."""
    trace = session.trace
    if trace.de_z is None:
        return [_NO_MAPS_CSV], False
    rows, row_is = _map_rows(segments, base, session.origin)
    if not rows:
        return ["No segment to map" + (" but the baseline." if base is not None else "."), ], False
    diffs, counts, reference = _de_differences(trace, segments, [ix for _, ix in rows], window_s / 2, base)
    if not reference:
        return [f"The baseline segment `{segments[base].label}` has no usable window: no scalp map."], False
    keep = [r for r in range(len(rows)) if counts[r] > 0][:MAX_MAP_ROWS]
    left = [rows[r][0] for r in range(len(rows)) if r not in keep]
    if not keep:
        return ["No segment other than the baseline has a usable window: no scalp map."], False
    band_names = list(bundle.config.band_names)
    bands = band_names if band == "all" else [band]
    weights = np.asarray(bundle.projection_weights, dtype=np.float64)
    _scalp_figure(diffs[keep], weights, [rows[r][0] for r in keep], list(bundle.config.channels), band_names, bands,
                  path)  # fmt: skip
    shares = (diffs * weights[None]).sum(axis=(1, 2))
    lines = [
        f"Each row is {row_is}, against {reference}: the mean standardized DE (z against the calibration) of "
        f"its usable windows minus the reference's, for {', '.join(bands)}, and the projection's share per "
        "channel (the sum over bands of weight × DE difference). A window belongs to the segment that holds "
        f"its own centre (timestamp − {window_s / 2:.3f} s).",
        "",
        f"![scalp maps against the reference]({path.name})",
        "",
        "The shares summed over channels give the difference the projection makes of single windows' DE"
        + ("" if base is None else
           f"; the table's difference is of the valence, averaged over {average} window(s) and assigned by the "
           "centre of that average, so the two differ a little") + ":",  # fmt: skip
        "",
        "| map | windows | summed share |" + ("" if base is None else " table's difference |"),
        "|---|---:|---:|" + ("" if base is None else "---:|"),
    ]
    for r in keep:
        title, ix = rows[r]
        table = "" if base is None else f" {_fmt(summaries[ix[0]].diff) if len(ix) == 1 else '—'} |"
        lines.append(f"| {_cell(title)} | {counts[r]} | {_fmt(float(shares[r]))} |{table}")
    if left:
        lines += ["", f"No map for {', '.join(left)}: no usable window, or more than {MAX_MAP_ROWS} rows."]
    return lines, True


def write_session_report(
    path: str | Path,
    out_dir: str | Path,
    *,
    bundle: Any = None,
    settings: Any = None,
    schedule: str | Path | None = None,
    baseline: str | None = None,
    band: str = "alpha",
    stream: str | None = None,
    overwrite: bool = False,
    allow_truncated: bool = False,
    progress: bool = False,
    command: str | None = None,
) -> Path:
    """Write ``out_dir/report.md`` and its figures for one session.

    Parameters
    ----------
    path : str | Path
        A step CSV (``run --out``, read as it is) or a recording (XDF from ``run
        --record``, or any file ``replay`` reads), replayed through the pipeline.
    out_dir : str | Path
        The folder (created); an existing ``report.md`` in it is refused unless
        ``overwrite``.
    bundle : ModelBundle | path | None
        The model (default: the shipped one): it replays a recording, and gives the
        window timing (and, for a CSV without a description, the reliability figures).
    settings : PipelineSettings | None
        The replay's settings (default :class:`~bci_valence.online.settings.PipelineSettings`:
        a 60-s calibration); a CSV's own are read from its description.
    schedule : str | Path | None
        A segment schedule (``label,onset_s,duration_s``); default: the markers (a
        recording) or the ``true_label`` column (a CSV).
    baseline : str | None
        Label of the baseline segment (the first with it): the differences and the
        scalp maps are against it. Without one the maps are against the session's mean.
    band : str
        The band of the scalp maps (a band of the bundle), or ``"all"``.
    stream : str | None
        The stream: an XDF's EEG stream (by name or type), a CSV's stream (needed when
        it holds several).
    overwrite : bool
        Replace an existing report and its files.
    allow_truncated : bool
        Use what a cut-off recording holds (refused by default).
    progress : bool
        Show the replay's progress bar and the figures'.
    command : str | None
        The command line the page names (default: this process's).

    Returns
    -------
    Path
        ``report.md``.

    Raises
    ------
    FileExistsError
        ``report.md`` exists and ``overwrite`` is False.
    SessionReportError
        The file is missing, unreadable or not a session, a stream or band is unknown,
        the schedule is malformed (``code`` 2); :class:`EmptySessionError` when it
        yields no step (``code`` 3).
    BundleError
        The bundle cannot be read.
    """
    import matplotlib

    matplotlib.use("Agg")

    from bci_valence.model.bundle import ModelBundle
    from bci_valence.online.segment_outputs import INTERVAL_METHOD, write_segments_csv
    from bci_valence.online.segments import summarize_segments
    from bci_valence.online.settings import PipelineSettings
    from bci_valence.provenance import provenance

    path, out = Path(path).expanduser(), Path(out_dir).expanduser()
    _check_folder(out, overwrite)
    if not path.exists():
        raise SessionReportError(f"session file {str(path)!r} does not exist")
    if not path.is_file():
        raise SessionReportError(f"session file {str(path)!r} is not a file")
    if baseline is not None and not str(baseline).strip():
        raise SessionReportError("--baseline expects a segment label, got an empty one")
    csv_session = _read_csv(path, stream) if _is_csv(path) else None  # refused before the bundle loads
    entries = _read_schedule(schedule)
    if not isinstance(bundle, ModelBundle):
        bundle = ModelBundle.load(bundle, device="cpu")
    if band != "all" and band not in bundle.config.band_names:
        raise SessionReportError(
            f"--band {band!r} is not a band of the bundle; expected 'all' or one of {list(bundle.config.band_names)}"
        )
    settings = settings if settings is not None else PipelineSettings()
    session, settings, seg_settings, window_s = _load(path, csv_session, bundle, settings, stream, allow_truncated,
                                                      progress)  # fmt: skip
    seg_settings = replace(seg_settings, baseline=baseline)
    trace = session.trace
    segments, segments_from = _segments(session, entries, "" if schedule is None else Path(schedule).name)
    summaries = summarize_segments(segments, trace.timestamps, trace.valence, trace.usable, seg_settings,
                                   stream=trace.stream, origin=session.origin)  # fmt: skip
    base = _baseline_index(segments, baseline)
    reliability = _reliability(session, bundle)
    notes: list[str] = []
    if baseline is not None and base is None:
        labels = ", ".join(dict.fromkeys(s.label for s in segments)) or "none"
        notes.append(f"No segment is labelled `{baseline}` (--baseline); labels: {labels}. No differences are given.")
    elif base is not None and summaries[base].n_usable == 0:
        notes.append(f"The baseline segment `{baseline}` (the first with that label, at "
                     f"{summaries[base].onset_s:.2f} s) has no usable window: no differences are given.")  # fmt: skip
    if not trace.usable.any():
        notes.append("No window of this session is usable (every one flagged or calibrating): it has no mean "
                     "valence. The quality timeline shows why.")  # fmt: skip
    for note in notes:
        log.warning("%s", note)

    out.mkdir(parents=True, exist_ok=True)
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=4, unit="figure", desc="figures", file=sys.stderr)
    colors = _label_colors([s.label for s in segments])
    noise_sd = reliability["figures"].get("window_noise_sd")
    noise_sd = float(noise_sd) if isinstance(noise_sd, (int, float)) else None
    drawn = []
    try:
        _trace_figure(trace, seg_settings.lag_s, session.origin, segments, summaries, colors, noise_sd,
                      out / FIGURES["trace"])  # fmt: skip
        drawn.append(FIGURES["trace"])
        if bar is not None:
            bar.update(1)
        if summaries:
            _bars_figure(summaries, base is not None, colors, out / FIGURES["segments"])
            drawn.append(FIGURES["segments"])
        if bar is not None:
            bar.update(1)
        quality = _quality_figure(trace, seg_settings.lag_s, session.origin, segments, colors,
                                  out / FIGURES["quality"])  # fmt: skip
        drawn.append(FIGURES["quality"])
        if bar is not None:
            bar.update(1)
        maps, mapped = _scalp_section(session, segments, summaries, base, bundle, band, window_s,
                                      seg_settings.average, out / FIGURES["scalp"])  # fmt: skip
        if mapped:
            drawn.append(FIGURES["scalp"])
        if bar is not None:
            bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    for name in set(FIGURES.values()) - set(drawn):
        (out / name).unlink(missing_ok=True)  # an earlier report's figure is not this page's
    about = {"session": path.name, "segments_from": segments_from, "segment_settings": asdict(seg_settings),
             "interval": INTERVAL_METHOD, "provenance": provenance(command)}  # fmt: skip
    write_segments_csv(out / SEGMENTS_CSV, summaries, overwrite=True, about=about)
    page = _page(path, session, settings, seg_settings, window_s, bundle, segments_from, baseline, summaries,
                 notes, quality, maps, reliability, about["provenance"], drawn)  # fmt: skip
    report = out / REPORT_NAME
    report.write_text(page, encoding="utf-8")
    return report


def _page(path: Path, session: _Session, settings: Any, seg_settings: Any, window_s: float, bundle: Any,
          segments_from: str, baseline: str | None, summaries: Sequence[Any], notes: Sequence[str],
          quality: Sequence[tuple[str, int]], maps: Sequence[str], reliability: dict[str, Any],
          prov: dict[str, Any], drawn: Sequence[str]) -> str:  # fmt: skip
    """The Markdown page."""
    from bci_valence.online.segment_outputs import about_path

    trace = session.trace
    n_ok = int(trace.usable.sum())
    cal = settings.calibration.seconds if session.kind == "recording" else None
    lines = [
        f"# Session report: `{path.name}`",
        "",
        *[f"- {line}" for line in session.lines],
        f"- windows: {trace.size}, usable {n_ok} ({n_ok / trace.size:.0%}); hop {seg_settings.hop_s:g} s, "
        f"valence averaged over {seg_settings.average} window(s)"
        + (f", calibration {cal:g} s" if cal is not None else ""),
        f"- model: {_bundle_name(bundle)} (created {bundle.config.created or '?'})",
        *_provenance_lines(prov),
    ]
    recorded = (session.about or {}).get("provenance")
    if isinstance(recorded, dict):
        lines.append(f"- the session: `{recorded.get('command', '?')}` on {recorded.get('date', '?')} (UTC)")
    origin = "." if session.kind == "recording" else (
        f" (a step CSV: estimated as the first window's timestamp minus the {window_s:.3f} s of signal a "
        "window needs).")  # fmt: skip
    lines += [
        "",
        "## Segments",
        "",
        f"Segments from {segments_from}; baseline: " + (f"`{baseline}`." if baseline else "none (--baseline)."),
        "A window belongs to the segment that holds the centre of the signal behind its valence (timestamp − "
        f"{seg_settings.lag_s:.3f} s). Usable: no bad flag, calibration complete, a valence. Onsets are seconds "
        f"from the session's first sample{origin}",
        "",
    ]
    if summaries:
        lines += _segment_table(summaries, baseline)
    else:
        hint = "the recording has no markers" if session.kind == "recording" else "no row carries a true label"
        lines.append(f"No segment: {hint}; give a schedule with `--segments FILE.csv` (label,onset_s,duration_s).")
    lines.append("")
    for note in notes:
        lines += [f"**Note:** {note}", ""]
    csv_about = about_path(SEGMENTS_CSV).name
    lines += [
        "The 95% interval allows for the overlap of consecutive windows and the valence's drift: it counts the "
        "usable windows divided by their autocorrelation time as independent (none below two such windows); "
        "the difference from the baseline adds the two variances. The numbers, unrounded, are in "
        f"[{SEGMENTS_CSV}]({SEGMENTS_CSV}), and the method in [{csv_about}]({csv_about}).",
        "",
        "## Valence trace",
        "",
        f"![valence trace]({FIGURES['trace']})",
        "",
    ]
    if FIGURES["segments"] in drawn:
        lines += ["## Segment means", "", f"![per-segment means]({FIGURES['segments']})", ""]
    lines += [
        "## Signal quality",
        "",
        f"![quality timeline]({FIGURES['quality']})",
        "",
        "| | windows | share |",
        "|---|---:|---:|",
        *[f"| {name} | {count} | {count / trace.size:.0%} |" for name, count in quality],
        "",
        "## Scalp maps against the baseline",
        "",
        *maps,
        "",
        *_reliability_section(reliability, session.simulated),
    ]
    return "\n".join(lines).rstrip() + "\n"


# ---------------------------------------------------------------------- command
def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register the ``session-report`` subcommand."""
    p = subparsers.add_parser(
        "session-report",
        help="a Markdown page with figures for one session (XDF recording or step CSV)",
        description=(
            "Write DIR/report.md with figures: the valence trace with the segments shaded, per-segment "
            "means with 95% intervals, the quality timeline, and scalp maps of each segment against the "
            "baseline. A recording (XDF from `run --record`, or anything `replay` reads) is replayed "
            "through the pipeline first; a step CSV (`run --out`) is read as it is and has no scalp maps "
            "(it holds no DE)."
        ),
    )
    p.add_argument("session", help="SESSION.xdf (or another recording) or SESSION.csv (a `run --out` log)")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder (report.md and PNG figures)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing DIR/report.md and its figures")
    p.add_argument("--segments", default=None, metavar="CSV",
                   help="segment schedule (label,onset_s,duration_s; seconds from the first sample); default: "
                        "the recording's markers, or a CSV's true_label column")  # fmt: skip
    p.add_argument("--baseline", default=None, metavar="LABEL",
                   help="label of the baseline segment: differences and scalp maps are against it")  # fmt: skip
    p.add_argument("--band", default="alpha",
                   help="band of the scalp maps (delta ... gamma) or 'all' (default alpha)")  # fmt: skip
    p.add_argument("--stream", default=None, help="an XDF's EEG stream (name or type), or a CSV's stream")
    p.add_argument("--bundle", default=None, help="model bundle folder (default: the shipped one)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument("--allow-bad", action="store_true",
                   help="read what a truncated recording holds (its rows flagged) instead of refusing it")  # fmt: skip
    g = p.add_argument_group("replay (recordings only; a CSV's own settings are read from its description)")
    g.add_argument("--calibration-s", type=float, default=60.0,
                   help="calibration period in seconds (default 60: give the live run's)")  # fmt: skip
    g.add_argument("--hop", type=float, default=0.25, help="seconds between steps (default 0.25)")
    g.add_argument("--notch", type=float, default=50.0, choices=(0.0, 50.0, 60.0),
                   help="mains notch in Hz, 0 for none (default 50)")  # fmt: skip
    g.add_argument("--channels", default=None, help="relabel the stream: 'Fp1,Fp2,...' or an MNE montage name")
    g.add_argument("--min-channels", type=int, default=8, help="fewest placed channels (default 8)")
    g.add_argument("--units", default="auto", choices=("auto", "uV", "V"),
                   help="units of the stream when it does not say (default auto)")  # fmt: skip
    g.add_argument("--device", default="auto", help="torch device: auto, cpu, cuda (default auto)")
    p.set_defaults(func=_run, calibration=None)
    return p


def _run(args: argparse.Namespace) -> int:
    """Write the report; returns the exit code (2 refused input, 3 a session with no step)."""
    from bci_valence.commands import fail
    from bci_valence.commands.run import settings_from_args
    from bci_valence.model.bundle import BundleError

    try:
        settings = settings_from_args(args)
    except ValueError as err:
        return fail(str(err))
    try:
        report = write_session_report(
            args.session, args.out, bundle=args.bundle, settings=settings, schedule=args.segments,
            baseline=args.baseline, band=args.band, stream=args.stream, overwrite=args.overwrite,
            allow_truncated=args.allow_bad, progress=not args.no_progress,
        )  # fmt: skip
    except SessionReportError as err:
        return fail(str(err), err.code)
    except (FileExistsError, BundleError) as err:
        return fail(str(err))
    except OSError as err:
        return fail(f"cannot write the report in {args.out}: {err}")
    print(report)
    return 0
