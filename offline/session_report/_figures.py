"""The session's figures of the valence trace, the segment means and the signal quality."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ._session import _Trace

#: Most segments named above a figure's axes; past it, their labels go to a legend.
MAX_NAMED_SEGMENTS = 16


def _label_colors(labels: Sequence[str]) -> dict[str, Any]:
    """One colour per distinct label, in order of first appearance."""
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
    """The valence trace with the segments shaded, their means and 95% intervals."""
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
    """Per-segment means (and differences from the baseline) as bars with 95% intervals."""
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
