"""``bci-valence demo`` without a display: the same pipeline on the simulated headset,
for a fixed time, writing the session CSV and a PNG of the valence trace and of the
mean valence per segment.

A source text may name several sources, one person each, separated by ``;``
(:func:`split_specs`): the app and this demo then show each person's trace, the group's
mean with its interval across people, and the group's segment means.
:func:`group_spec` writes such a text for a simulated group. Nothing here needs Qt.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .widgets.source_list import SPEC_SEPARATOR, split_specs

__all__ = [
    "GROUP_SCRIPT", "SPEC_SEPARATOR", "HeadlessDemoResult", "HeadlessDemoSettings", "effect_size_text",
    "group_spec", "lag_caption", "plot_valence", "run_headless_demo", "simulated_contrasts", "split_specs",
    "start_pipeline", "start_together", "valence_figure",
]  # fmt: skip

#: The simulated group's script: segments that alternate in valence, 30 s each.
GROUP_SCRIPT = "neutral:30,joy:30,sadness:30,amusement:30,anger:30"


def group_spec(people: int = 10, script: str = GROUP_SCRIPT, contrast: float = 1.0, first_seed: int = 1) -> str:
    """A simulated group as one source text: ``people`` headsets, each with its own seed
    and name (``person1``...), all on the same script.

    Parameters
    ----------
    people : int
        How many people.
    script : str
        The simulator's script (``class:seconds,...``).
    contrast : float
        The simulator's effect size (1 = FACED's).
    first_seed : int
        The first person's seed; the others count up from it.

    Returns
    -------
    str
        Specs separated by ``;`` (:func:`split_specs`).
    """
    if people < 1:
        raise ValueError(f"a group needs at least one person, got {people}")
    return SPEC_SEPARATOR.join(f"sim:seed={first_seed + k}&name=person{k + 1}&contrast={contrast:g}&script={script}"
                               for k in range(int(people)))  # fmt: skip


def simulated_contrasts(specs: Sequence[str]) -> tuple[float, ...]:
    """The simulator's ``contrast`` of each ``sim:`` spec (1 = FACED's effect sizes), in order."""
    from bci_valence.streams.simulator import SimulationSettings
    from bci_valence.streams.spec import parse_source_spec

    out = []
    for spec in specs:
        parsed = parse_source_spec(spec)
        if parsed.kind == "sim":
            out.append(float(SimulationSettings.from_spec(parsed).contrast))
    return tuple(out)


def start_together(sources: Sequence[Any]) -> None:
    """Start several sources at once, each in its own thread.

    Connecting to an LSL stream takes about a second, and a simulated headset's script
    starts when its reader connects: started one after the other, ten simulated people
    would be up to ten seconds apart in their scripts, which blurs the group's trace.
    :meth:`~bci_valence.online.pipeline.Pipeline.start` then finds them started (a
    source's ``start`` does nothing the second time).

    Parameters
    ----------
    sources : sequence of Source

    Raises
    ------
    Exception
        The first source's error that could not start; the others are stopped again.
    """
    if len(sources) < 2:
        return
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=len(sources), thread_name_prefix="start-source") as pool:
        futures = [pool.submit(source.start) for source in sources]
    errors = [f.exception() for f in futures]
    failed = next((err for err in errors if err is not None), None)
    if failed is not None:
        for source in sources:
            source.stop()
        raise failed


def start_pipeline(pipeline: Any, sources: Sequence[Any]) -> None:
    """Start ``pipeline`` on ``sources`` started together (:func:`start_together`); on
    failure every source is stopped."""
    start_together(sources)
    try:
        pipeline.start()
    except BaseException:
        for source in sources:
            source.stop()
        raise


def effect_size_text(contrasts: Sequence[float]) -> str:
    """Which effect size is simulated, in words (empty without a simulated source)."""

    def size(c: float) -> str:
        return "FACED's effect size" if c == 1 else f"{c:g} × FACED's effect size"

    return ", ".join(f"contrast {c:g} ({size(c)})" for c in sorted(set(contrasts)))


@dataclass(frozen=True)
class HeadlessDemoSettings:
    """What the headless demo runs.

    Attributes
    ----------
    duration_s : float
        Seconds of simulated EEG processed (real time).
    out_dir : str
        Folder for ``valence.csv`` and ``valence.png``.
    source : str
        Source spec (the simulated headset by default), or several separated by ``;``
        (one person each, e.g. :func:`group_spec`).
    calibration_s : float
        Calibration period of the pipeline.
    bundle : str
        Model bundle (empty = the shipped default).
    """

    duration_s: float = 60.0
    out_dir: str = "bci-valence-demo"
    source: str = "sim:"
    calibration_s: float = 20.0
    bundle: str = ""

    def __post_init__(self) -> None:
        if not self.duration_s > 0:
            raise ValueError(f"duration must be positive, got {self.duration_s}")


#: Weight of each new step in the figure's smoothed valence (an exponential average).
SMOOTHING = 0.15


def lag_caption(valence_average: int, hop_s: float, window_s: float, context_s: float,
                sequence_s: float | None = None, smoothing: float = SMOOTHING) -> str:
    """Why the valence trace lags the true valence, with the delays of this pipeline.

    A change of valence reaches a step only through its DE windows: each is
    ``window_s`` long and ends half the band filters' context (``context_s / 2``)
    before the step's newest sample; the valence is projected from the mean of the
    last ``valence_average`` windows (``hop_s`` apart) and the figure smooths it
    exponentially (weight ``smoothing`` per step).

    Parameters
    ----------
    valence_average : int
        Windows averaged per step.
    hop_s : float
        Seconds between steps.
    window_s : float
        DE window length (s).
    context_s : float
        The band filters' context around each window (s), half on each side.
    sequence_s : float | None
        Seconds of DE the emotion probabilities look back, when there is a classifier.
    smoothing : float
        Weight of each new step in the smoothed curve.

    Returns
    -------
    str
        One or two lines for a figure caption.
    """
    tau = hop_s * (1.0 - smoothing) / smoothing  # time constant of the smoothing
    span = window_s + (valence_average - 1) * hop_s  # signal behind one step
    delay = context_s / 2 + span / 2 + tau  # centre of the response to a step change
    settle = context_s / 2 + span + 3 * tau  # until it has (nearly) settled
    text = (
        f"The trace lags the true valence by about {delay:.0f} s ({settle:.0f} s to settle): each step "
        f"averages {valence_average} DE windows of {window_s:g} s ({span:.1f} s of signal) ending "
        f"{context_s / 2:.1f} s before its newest sample (the filters' context), and the smoothed "
        f"curve adds {tau:.1f} s."
    )
    if sequence_s:
        text += f" The emotion probabilities look back {sequence_s:g} s."
    return text


@dataclass(frozen=True)
class HeadlessDemoResult:
    """What the headless demo wrote and how it went (``people``: sources in the session)."""

    csv: Path
    png: Path
    steps: int
    mean_latency_ms: float
    people: int = 1


def run_headless_demo(settings: HeadlessDemoSettings, progress: bool = True) -> HeadlessDemoResult:
    """Run the pipeline for ``duration_s`` seconds and write the CSV and PNG (the trace,
    the group's with several sources, and the segments of the sources' markers).

    Parameters
    ----------
    settings : HeadlessDemoSettings
    progress : bool
        Show a progress bar.

    Returns
    -------
    HeadlessDemoResult
    """
    from bci_valence.streams.outlets import CsvLog

    out = Path(settings.out_dir).expanduser()
    out.mkdir(parents=True, exist_ok=True)
    csv_path, png_path = out / "valence.csv", out / "valence.png"
    specs = split_specs(settings.source)
    if not specs:
        raise ValueError("no source spec given")
    contrasts = simulated_contrasts(specs)
    pipe, sources = _open_demo_pipeline(specs, settings)
    segments = _DemoSegments(pipe)
    with CsvLog(csv_path, pipe.class_names, overwrite=True) as csv_log:  # the demo folder is its own
        start_pipeline(pipe, sources)
        segments.start()
        try:
            steps = _poll_demo(pipe, settings.duration_s, csv_log, segments, progress, len(specs))
        finally:
            pipe.stop()
    _write_demo_figure(pipe, steps, segments, png_path, _demo_title(settings.source, contrasts, pipe.stream_names))
    lat = [s.latency_ms for s in steps if math.isfinite(s.latency_ms) and math.isfinite(s.valence)]
    return HeadlessDemoResult(csv_path, png_path, len(steps), float(np.mean(lat)) if lat else float("nan"),
                              people=len(pipe.stream_names))  # fmt: skip


def _open_demo_pipeline(specs: Sequence[str], settings: HeadlessDemoSettings) -> tuple[Any, list[Any]]:
    """The demo's sources and its pipeline on them (not started)."""
    from bci_valence.online.pipeline import Pipeline
    from bci_valence.online.settings import CalibrationSettings, PipelineSettings
    from bci_valence.online.tuning import tune_process
    from bci_valence.streams.factory import open_source

    sources = [open_source(spec) for spec in specs]
    pipe_settings = PipelineSettings(calibration=CalibrationSettings(seconds=settings.calibration_s))
    tune_process(pipe_settings)
    return Pipeline(sources, settings.bundle or None, pipe_settings), sources


class _DemoSegments:
    """The segments of the sources' markers, as the app keeps them, once the pipeline runs."""

    def __init__(self, pipe: Any) -> None:
        self.pipe = pipe
        self.tracker: Any = None
        pipe.add_chunk_listener(self.on_chunk)
        pipe.add_marker_listener(self.on_markers)

    def start(self) -> None:
        """Track with the summaries' settings as ``bci-valence run --segments-out`` derives them."""
        from bci_valence.online.segment_outputs import SegmentOutputs, SegmentOutputSettings
        from bci_valence.online.segments import SegmentTracker

        self.tracker = SegmentTracker(SegmentOutputs(self.pipe, SegmentOutputSettings(outlet=False)).segment_settings())

    def on_chunk(self, name: str, data: Any, timestamps: Any) -> None:
        if self.tracker is not None:
            self.tracker.add_samples(name, timestamps)

    def on_markers(self, name: str, markers: Sequence[tuple[float, str]]) -> None:
        if self.tracker is not None:
            self.tracker.add_markers(name, markers)

    def add_steps(self, steps: Sequence[Any]) -> None:
        if self.tracker is not None:
            self.tracker.add_steps(steps)

    def rows(self) -> list[Any]:
        """The segment panel's bars, by onset."""
        from .widgets.segment_rows import segment_rows

        tracker = self.tracker
        if tracker is None:
            return []
        ends = {n: e for n in self.pipe.stream_names if (e := tracker.end(n)) is not None}
        return segment_rows(tracker.summaries(), ends)


def _poll_demo(pipe: Any, duration_s: float, csv_log: Any, segments: _DemoSegments, progress: bool,
               people: int) -> list[Any]:
    """Poll ``pipe`` for ``duration_s`` seconds (or until its recording ends), writing every step."""
    from tqdm import tqdm

    steps: list[Any] = []
    t0 = time.perf_counter()
    who = f"{people} people" if people > 1 else "simulated headset"
    bar = tqdm(total=int(round(duration_s)), unit="s", desc=f"demo ({who})", disable=not progress)
    done = 0
    while (elapsed := time.perf_counter() - t0) < duration_s:
        new = pipe.poll()
        if new:
            csv_log.write(new)
            steps.extend(new)
            segments.add_steps(new)
        if int(elapsed) > done:
            bar.update(int(elapsed) - done)
            done = int(elapsed)
            last = next((s for s in reversed(steps) if math.isfinite(s.valence)), None)
            if last is not None:
                bar.set_postfix(valence=f"{last.valence:+.2f}", cal=f"{last.calibration_progress:.0%}")
        finished = getattr(pipe, "finished", False)
        if finished() if callable(finished) else finished:
            break
        time.sleep(0.05)
    bar.update(max(0, int(round(duration_s)) - done))
    bar.close()
    return steps


def _demo_title(source: str, contrasts: Sequence[float], names: Sequence[str]) -> str:
    """The figure's title: what is simulated, or the source."""
    simulated = effect_size_text(contrasts)
    if not simulated:
        return f"bci-valence · {source}"
    who = f"{len(names)} simulated people" if len(names) > 1 else "one simulated person"
    return f"bci-valence demo · SIMULATED · {who} · {simulated}"


def _write_demo_figure(pipe: Any, steps: list[Any], segments: _DemoSegments, path: Path, title: str) -> None:
    """The demo's PNG: the trace (the group's with several people), its lag and the segments."""
    from bci_valence.online.group import GroupSettings, group_trace
    from bci_valence.online.reliability import ValenceReliability

    coords = dict(getattr(pipe.bundle.config, "class_coordinates", {}) or {})
    timing = pipe.window_timing
    caption = lag_caption(pipe.valence_average, timing.effective_hop_s, timing.window_s,
                          timing.context_samples / timing.sfreq,
                          pipe.sequence_len * pipe.sequence_spacing if pipe.has_classifier else None)
    names = list(pipe.stream_names)
    group = None
    if len(names) > 1:
        by_stream = {name: [s for s in steps if s.stream == name] for name in names}
        group = group_trace(by_stream, GroupSettings(hop_s=pipe.window_timing.effective_hop_s))
    plot_valence(steps, path, coords, title=title, reliability=ValenceReliability.from_bundle(pipe.bundle),
                 caption=caption, group=group, segments=segments.rows())  # fmt: skip


def plot_valence(steps: list, path: Path, class_coordinates: dict | None = None, title: str = "",
                 reliability=None, caption: str | None = None, group: Sequence[Any] | None = None,
                 segments: Sequence[Any] | None = None) -> Path:
    """PNG of the valence trace (:func:`valence_figure`) written to ``path``."""
    import matplotlib.pyplot as plt

    fig = valence_figure(steps, class_coordinates, title, reliability, caption, group=group, segments=segments)
    fig.savefig(path)
    plt.close(fig)
    return path


def _smoothed(v: np.ndarray) -> np.ndarray:
    """The figure's exponential smoothing (weight :data:`SMOOTHING` per step); NaN steps are skipped."""
    smooth = np.full_like(v, np.nan)
    acc = None
    for i, x in enumerate(v):
        if math.isfinite(x):
            acc = x if acc is None else acc + SMOOTHING * (x - acc)
            smooth[i] = acc
    return smooth


def valence_figure(steps: list, class_coordinates: dict | None = None, title: str = "", reliability=None,
                   caption: str | None = None, group: Sequence[Any] | None = None,
                   segments: Sequence[Any] | None = None):
    """The valence trace: each step, a smoothed curve and the true valence (a matplotlib Figure).

    With ``reliability`` (:class:`bci_valence.online.reliability.ValenceReliability`)
    the smoothed curve carries its noise band and the figure says what the valence is
    worth on new content. ``caption`` (e.g. :func:`lag_caption`) is printed under the
    plot. With ``group`` (:class:`~bci_valence.online.group.GroupRow` rows: several
    people), each person's smoothed valence is a thin line and the group's mean a thick
    one with its 95% interval across people. With ``segments``
    (:class:`~gui.widgets.segment_rows.SegmentRow`), a second panel shows each segment's
    mean valence and 95% interval beside the true valence of its class.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    coords = class_coordinates or {}
    if segments:
        fig, (ax, seg_ax) = plt.subplots(2, 1, figsize=(10, 6.6), dpi=110, gridspec_kw={"height_ratios": [3, 2]})
    else:
        fig, ax = plt.subplots(figsize=(10, 4), dpi=110)
        seg_ax = None
    if steps and group:
        _group_axes(ax, steps, group, coords)
    elif steps:
        _one_person_axes(ax, steps, coords, getattr(reliability, "noise_sd", None))
    else:
        ax.text(0.5, 0.5, "no steps", transform=ax.transAxes, ha="center")
    ax.set_xlabel("time (s)")
    ax.set_ylabel("valence")
    ax.set_title(title)
    lines, line_h = _captions(fig, caption, reliability)
    ax.legend(loc="upper left", fontsize=8)
    ax.grid(alpha=0.3)
    if seg_ax is not None:
        _segment_axes(seg_ax, segments, coords)
    fig.tight_layout(rect=(0, min(0.3, line_h * lines + 0.01) if lines else 0, 1, 1))
    return fig


def _true_valence(steps: Sequence[Any], coords: dict) -> np.ndarray:
    """Each step's true valence (its marker's class coordinate; NaN without one)."""
    return np.array([coords.get(s.true_label, np.nan) if s.true_label else np.nan for s in steps], float)


def _truth_and_calibration(ax, t: np.ndarray, steps: Sequence[Any], coords: dict) -> np.ndarray:
    """Draw the true valence, the calibration span and the zero line; returns the true valence."""
    true = _true_valence(steps, coords)
    if np.isfinite(true).any():
        ax.step(t, true, where="post", color="#009640", lw=1.8, ls="--", label="true valence (markers)")
    calibrating = np.array([s.calibration_progress for s in steps], float) < 1.0
    if calibrating.any():
        ax.axvspan(t[0], t[calibrating][-1], color="#f0a040", alpha=0.15, label="calibration")
    ax.axhline(0.0, color="#999", lw=0.8, ls=":")
    return true


def _group_axes(ax, steps: Sequence[Any], group: Sequence[Any], coords: dict) -> None:
    """Each person's smoothed valence thinly, the group's mean thickly with its 95%
    interval across people, and the first person's true valence."""
    names = list(dict.fromkeys(s.stream for s in steps))
    stamps = np.array([s.timestamp for s in steps], float)
    t0 = float(np.nanmin(stamps)) if np.isfinite(stamps).any() else 0.0
    for k, name in enumerate(names):
        mine = [s for s in steps if s.stream == name]
        t = np.array([s.timestamp for s in mine], float) - t0
        ax.plot(t, _smoothed(np.array([s.valence for s in mine], float)), color="#7896d2", lw=0.7, alpha=0.8,
                label=f"each person ({len(names)}), smoothed" if k == 0 else None)  # fmt: skip
    gt = np.array([r.time for r in group], float) - t0
    mean = np.array([r.mean for r in group], float)
    ax.fill_between(gt, [r.ci_low for r in group], [r.ci_high for r in group], color="#c84600", alpha=0.2, lw=0,
                    label="95% interval across people")  # fmt: skip
    ax.plot(gt, mean, color="#c84600", lw=2.4, label=f"group mean (n up to {max(r.n_streams for r in group)})")
    first = [s for s in steps if s.stream == names[0]]
    true = _truth_and_calibration(ax, np.array([s.timestamp for s in first], float) - t0, first, coords)
    lo, hi = np.nanpercentile(np.concatenate([mean, true]), [0, 100]) if np.isfinite(mean).any() else (-1, 1)
    ax.set_ylim(min(-1.0, lo - 0.3), max(1.0, hi + 0.3))  # the interval of a few people may be wide


def _one_person_axes(ax, steps: Sequence[Any], coords: dict, noise: float | None) -> None:
    """Each step, the smoothed curve with its noise band (``noise``: its SD on new
    content), and the true valence."""
    t = np.array([s.timestamp for s in steps], float)
    t0 = float(t[np.isfinite(t)][0]) if np.isfinite(t).any() else None
    t = t - t0 if t0 is not None else t
    v = np.array([s.valence for s in steps], float)
    smooth = _smoothed(v)
    ax.plot(t, v, color="#7896d2", lw=0.8, label="valence")
    ax.plot(t, smooth, color="#143caa", lw=2.2, label="smoothed")
    if noise:
        ax.fill_between(t, smooth - noise, smooth + noise, color="#143caa", alpha=0.15, lw=0,
                        label=f"±{noise:.2f}: noise on new content")  # fmt: skip
    _truth_and_calibration(ax, t, steps, coords)


def _captions(fig, caption: str | None, reliability: Any) -> tuple[int, float]:
    """Write ``caption`` and the reliability line at the figure's foot, the lowest first.

    Returns
    -------
    lines : int
        Caption lines written.
    line_h : float
        One line's height as a fraction of the figure.
    """
    import textwrap

    lines = 0
    line_h = 0.14 / fig.get_figheight()
    if caption:
        wrapped = textwrap.wrap(caption, 170)
        fig.text(0.01, 0.01, "\n".join(wrapped), fontsize=7.5, color="#444", ha="left", va="bottom")
        lines += len(wrapped)
    if reliability is not None:
        fig.text(0.01, 0.01 + line_h * lines, reliability.summary(), fontsize=7.5, color="#444", ha="left",
                 va="bottom")  # fmt: skip
        lines += 1
    return lines, line_h


def _segment_axes(ax, rows: Sequence[Any], coords: dict) -> None:
    """Each segment's mean valence (the group's, with a dot per person) and its 95%
    interval, beside the true valence of the segment's class; a segment without a usable
    window is a hatched column, not a bar of height 0."""
    from .widgets.segment_rows import NO_USABLE_WINDOW

    x = np.arange(len(rows), dtype=float)
    span = [v for r in rows for v in (r.summary.mean, r.summary.ci_low, r.summary.ci_high, *r.people)
            if v is not None and math.isfinite(v)]  # fmt: skip
    lo, hi = min([-0.5, *span]), max([0.5, *span])
    lo, hi = max(lo - 0.15 * (hi - lo), -4.0), min(hi + 0.15 * (hi - lo), 4.0)
    for i, r in enumerate(rows):
        s = r.summary
        if r.empty:
            ax.bar(x[i], hi - lo, bottom=lo, width=0.6, color="none", edgecolor="#999", hatch="//", lw=0.8)
            ax.text(x[i], (lo + hi) / 2, NO_USABLE_WINDOW, rotation=90, ha="center", va="center", fontsize=8,
                    color="#555")  # fmt: skip
            continue
        ax.bar(x[i], s.mean, width=0.6, color="#466ebe", alpha=0.55 if r.running else 0.85,
               label="mean valence, 95% interval" if i == 0 else None)  # fmt: skip
        if math.isfinite(s.ci_low) and math.isfinite(s.ci_high):
            ax.errorbar(x[i], s.mean, yerr=[[s.mean - s.ci_low], [s.ci_high - s.mean]], color="#222", capsize=4,
                        lw=1.4)  # fmt: skip
        people = [v for v in r.people if math.isfinite(v)]
        if people:
            ax.scatter(x[i] + np.linspace(-0.22, 0.22, len(people)), people, s=9, color="#444", zorder=3,
                       label="each person's mean" if not any(rr.people for rr in rows[:i]) else None)  # fmt: skip
    truth = [(x[i], coords[r.summary.label]) for i, r in enumerate(rows) if r.summary.label in coords]
    if truth:
        ax.scatter(*zip(*truth), marker="_", s=500, lw=2.2, color="#009640", zorder=4,
                   label="true valence of the class")  # fmt: skip
    ax.axhline(0.0, color="#999", lw=0.8, ls=":")
    ax.set_xticks(x, [r.summary.label + (" (running)" if r.running else "") for r in rows], fontsize=8)
    ax.set_xlim(-0.6, max(len(rows), 4) - 0.4)
    ax.set_ylim(lo, hi)
    ax.set_ylabel("mean valence")
    group = any(r.summary.stream == "group" for r in rows)
    ax.set_title("per segment: " + ("the group's mean, 95% interval across people" if group
                                    else "mean valence, 95% interval"), fontsize=9)  # fmt: skip
    ax.legend(loc="upper right", fontsize=7)
    ax.grid(alpha=0.3, axis="y")
