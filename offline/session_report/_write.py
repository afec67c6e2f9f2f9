"""Writing a session's report: the checks, the segments and their summaries, the figures,
the segment table and the page."""

from __future__ import annotations

import logging
import sys
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any, Sequence

from ._figures import _bars_figure, _label_colors, _quality_figure, _trace_figure
from ._page import FIGURES, REPORT_NAME, SEGMENTS_CSV, _page, _reliability
from ._scalp import _scalp_section
from ._session import (
    SessionReportError,
    _Analysis,
    _is_csv,
    _load,
    _read_csv,
    _read_schedule,
    _segments,
    _Session,
)

log = logging.getLogger(__name__)


def _check_folder(out: Path, overwrite: bool) -> None:
    """Refuse an existing report unless ``overwrite``; refuse a file where the folder should be."""
    if out.exists() and not out.is_dir():
        raise SessionReportError(f"--out {str(out)!r} is a file, expected a folder")
    report = out / REPORT_NAME
    if report.exists() and not overwrite:
        raise FileExistsError(
            f"{report} already exists: choose another folder, or pass --overwrite to replace the report"
        )


def _open_inputs(path: Path, out: Path, bundle: Any, schedule: str | Path | None, baseline: str | None, band: str,
                 stream: str | None, overwrite: bool) -> tuple[_Session | None, tuple[Any, ...] | None, Any]:  # fmt: skip
    """Check the request and read what comes before any replay: a step CSV's session (None
    for a recording), the schedule's entries and the bundle."""
    from bci_valence.model.bundle import ModelBundle

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
    return csv_session, entries, bundle


def _baseline_index(segments: Sequence[Any], baseline: str | None) -> int | None:
    """The baseline segment: the first (by onset) labelled ``baseline``, as the summaries take it."""
    hits = [i for i, s in enumerate(segments) if baseline is not None and s.label == baseline]
    return min(hits, key=lambda i: segments[i].onset) if hits else None


def _analyse(session: _Session, entries: Sequence[Any] | None, schedule_name: str, baseline: str | None,
             seg_settings: Any) -> _Analysis:  # fmt: skip
    """The segments, their summaries (as the live run's ``--segments-out``) and the page's
    notes (also logged as warnings)."""
    from bci_valence.online.segments import summarize_segments

    seg_settings = replace(seg_settings, baseline=baseline)
    trace = session.trace
    segments, segments_from = _segments(session, entries, schedule_name)
    summaries = summarize_segments(segments, trace.timestamps, trace.valence, trace.usable, seg_settings,
                                   stream=trace.stream, origin=session.origin)  # fmt: skip
    base = _baseline_index(segments, baseline)
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
    return _Analysis(seg_settings, segments, segments_from, summaries, base, notes)


def _draw_figures(out: Path, session: _Session, found: _Analysis, reliability: dict[str, Any], bundle: Any,
                  band: str, window_s: float, progress: bool) -> tuple[list[tuple[str, int]], list[str], list[str]]:  # fmt: skip
    """Draw the figures into ``out`` (off-screen) and delete an earlier report's that this one lacks.

    Returns
    -------
    quality : list of (str, int)
        The quality timeline's rows and their windows.
    maps : list of str
        What the page says about the scalp maps.
    drawn : list of str
        The figures' file names.
    """
    import matplotlib

    matplotlib.use("Agg")
    trace, segments, summaries = session.trace, found.segments, found.summaries
    lag_s = found.seg_settings.lag_s
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=4, unit="figure", desc="figures", file=sys.stderr)
    colors = _label_colors([s.label for s in segments])
    noise_sd = reliability["figures"].get("window_noise_sd")
    noise_sd = float(noise_sd) if isinstance(noise_sd, (int, float)) else None
    drawn = []
    try:
        _trace_figure(trace, lag_s, session.origin, segments, summaries, colors, noise_sd, out / FIGURES["trace"])
        drawn.append(FIGURES["trace"])
        if bar is not None:
            bar.update(1)
        if summaries:
            _bars_figure(summaries, found.base is not None, colors, out / FIGURES["segments"])
            drawn.append(FIGURES["segments"])
        if bar is not None:
            bar.update(1)
        quality = _quality_figure(trace, lag_s, session.origin, segments, colors, out / FIGURES["quality"])
        drawn.append(FIGURES["quality"])
        if bar is not None:
            bar.update(1)
        maps, mapped = _scalp_section(session, segments, summaries, found.base, bundle, band, window_s,
                                      found.seg_settings.average, out / FIGURES["scalp"])  # fmt: skip
        if mapped:
            drawn.append(FIGURES["scalp"])
        if bar is not None:
            bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    for name in set(FIGURES.values()) - set(drawn):
        (out / name).unlink(missing_ok=True)  # an earlier report's figure is not this page's
    return quality, maps, drawn


def _write_segments(out: Path, path: Path, found: _Analysis, command: str | None) -> dict[str, Any]:
    """Write the table's numbers (``segments.csv`` and its description); returns the provenance."""
    from bci_valence.online.segment_outputs import INTERVAL_METHOD, write_segments_csv
    from bci_valence.provenance import provenance

    about = {"session": path.name, "segments_from": found.segments_from,
             "segment_settings": asdict(found.seg_settings), "interval": INTERVAL_METHOD,
             "provenance": provenance(command)}  # fmt: skip
    write_segments_csv(out / SEGMENTS_CSV, found.summaries, overwrite=True, about=about)
    return about["provenance"]


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
    path, out = Path(path).expanduser(), Path(out_dir).expanduser()
    csv_session, entries, bundle = _open_inputs(path, out, bundle, schedule, baseline, band, stream, overwrite)
    session, settings, seg_settings, window_s = _load(path, csv_session, bundle, settings, stream, allow_truncated,
                                                      progress)  # fmt: skip
    found = _analyse(session, entries, "" if schedule is None else Path(schedule).name, baseline, seg_settings)
    reliability = _reliability(session, bundle)
    out.mkdir(parents=True, exist_ok=True)
    figures = _draw_figures(out, session, found, reliability, bundle, band, window_s, progress)
    prov = _write_segments(out, path, found, command)
    page = _page(path, session, settings, window_s, bundle, baseline, found, figures, reliability, prov)
    report = out / REPORT_NAME
    report.write_text(page, encoding="utf-8")
    return report
