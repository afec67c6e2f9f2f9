"""``bci-valence demo`` without a display: the same pipeline on the simulated headset,
for a fixed time, writing the session CSV and a PNG of the valence trace."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np


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
        Source spec (the simulated headset by default).
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
    csv: Path
    png: Path
    steps: int
    mean_latency_ms: float


def run_headless_demo(settings: HeadlessDemoSettings, progress: bool = True) -> HeadlessDemoResult:
    """Run the pipeline for ``duration_s`` seconds and write the CSV and PNG."""
    from tqdm import tqdm

    from bci_valence.online.pipeline import Pipeline
    from bci_valence.online.settings import CalibrationSettings, PipelineSettings
    from bci_valence.online.tuning import tune_process
    from bci_valence.streams.factory import open_source
    from bci_valence.streams.outlets import CsvLog

    out = Path(settings.out_dir).expanduser()
    out.mkdir(parents=True, exist_ok=True)
    csv_path = out / "valence.csv"
    png_path = out / "valence.png"
    source = open_source(settings.source)
    pipe_settings = PipelineSettings(calibration=CalibrationSettings(seconds=settings.calibration_s))
    tune_process(pipe_settings)
    pipe = Pipeline([source], settings.bundle or None, pipe_settings)
    steps = []
    with CsvLog(csv_path, pipe.class_names, overwrite=True) as csv_log:  # the demo folder is its own
        pipe.start()
        try:
            t0 = time.perf_counter()
            bar = tqdm(total=int(round(settings.duration_s)), unit="s", desc="demo (simulated headset)",
                       disable=not progress)
            done = 0
            while (elapsed := time.perf_counter() - t0) < settings.duration_s:
                new = pipe.poll()
                if new:
                    csv_log.write(new)
                    steps.extend(new)
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
            bar.update(max(0, int(round(settings.duration_s)) - done))
            bar.close()
        finally:
            pipe.stop()
    from bci_valence.online.reliability import ValenceReliability

    coords = dict(getattr(pipe.bundle.config, "class_coordinates", {}) or {})
    caption = lag_caption(pipe.valence_average, pipe.settings.hop_s, pipe.bank.window_samples / pipe.target_sfreq,
                          pipe.bank.context_samples / pipe.target_sfreq,
                          pipe.sequence_len * pipe.sequence_spacing if pipe.has_classifier else None)
    plot_valence(steps, png_path, coords, title=f"bci-valence demo · {settings.source} (SIMULATED)"
                 if settings.source.startswith("sim") else f"bci-valence · {settings.source}",
                 reliability=ValenceReliability.from_bundle(pipe.bundle), caption=caption)
    lat = [s.latency_ms for s in steps if math.isfinite(s.latency_ms) and math.isfinite(s.valence)]
    return HeadlessDemoResult(csv_path, png_path, len(steps), float(np.mean(lat)) if lat else float("nan"))


def plot_valence(steps: list, path: Path, class_coordinates: dict | None = None, title: str = "",
                 reliability=None, caption: str | None = None) -> Path:
    """PNG of the valence trace (:func:`valence_figure`) written to ``path``."""
    import matplotlib.pyplot as plt

    fig = valence_figure(steps, class_coordinates, title, reliability, caption)
    fig.savefig(path)
    plt.close(fig)
    return path


def valence_figure(steps: list, class_coordinates: dict | None = None, title: str = "", reliability=None,
                   caption: str | None = None):
    """The valence trace: each step, a smoothed curve and the true valence (a matplotlib Figure).

    With ``reliability`` (:class:`bci_valence.online.reliability.ValenceReliability`)
    the smoothed curve carries its noise band and the figure says what the valence is
    worth on new content. ``caption`` (e.g. :func:`lag_caption`) is printed under the
    plot.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    coords = class_coordinates or {}
    fig, ax = plt.subplots(figsize=(10, 4), dpi=110)
    if steps:
        t = np.array([s.timestamp for s in steps], float)
        t = t - t[np.isfinite(t)][0] if np.isfinite(t).any() else t
        v = np.array([s.valence for s in steps], float)
        smooth = np.full_like(v, np.nan)
        acc = None
        for i, x in enumerate(v):
            if math.isfinite(x):
                acc = x if acc is None else acc + SMOOTHING * (x - acc)
                smooth[i] = acc
        true = np.array([coords.get(s.true_label, np.nan) if s.true_label else np.nan for s in steps], float)
        cal = np.array([s.calibration_progress for s in steps], float)
        ax.plot(t, v, color="#7896d2", lw=0.8, label="valence")
        ax.plot(t, smooth, color="#143caa", lw=2.2, label="smoothed")
        noise = getattr(reliability, "noise_sd", None)
        if noise:
            ax.fill_between(t, smooth - noise, smooth + noise, color="#143caa", alpha=0.15, lw=0,
                            label=f"±{noise:.2f}: noise on new content")
        if np.isfinite(true).any():
            ax.step(t, true, where="post", color="#009640", lw=1.8, ls="--", label="true valence (markers)")
        calibrating = cal < 1.0
        if calibrating.any():
            end = t[calibrating][-1]
            ax.axvspan(t[0], end, color="#f0a040", alpha=0.15, label="calibration")
        ax.axhline(0.0, color="#999", lw=0.8, ls=":")
    else:
        ax.text(0.5, 0.5, "no steps", transform=ax.transAxes, ha="center")
    ax.set_xlabel("time (s)")
    ax.set_ylabel("valence")
    ax.set_title(title)
    import textwrap

    lines = 0  # caption lines at the foot of the figure, the lowest first
    if caption:
        wrapped = textwrap.wrap(caption, 170)
        fig.text(0.01, 0.01, "\n".join(wrapped), fontsize=7.5, color="#444", ha="left", va="bottom")
        lines += len(wrapped)
    if reliability is not None:
        fig.text(0.01, 0.01 + 0.035 * lines, reliability.summary(), fontsize=7.5, color="#444", ha="left",
                 va="bottom")
        lines += 1
    ax.legend(loc="upper left", fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout(rect=(0, min(0.3, 0.035 * lines + 0.01) if lines else 0, 1, 1))
    return fig
