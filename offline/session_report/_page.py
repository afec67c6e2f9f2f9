"""The Markdown page: its file names, numbers and tables, the reliability section."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Sequence

from ._session import _Analysis, _Session

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


def _fmt(x: float, spec: str = "+.4f") -> str:
    """A number for the page; a dash for a missing or non-finite one."""
    return "—" if x is None or not math.isfinite(x) else format(x, spec)



def _interval(low: float, high: float) -> str:
    """An interval for the page; a dash when an end is not finite."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return "—"
    return f"[{low:+.4f}, {high:+.4f}]"



def _cell(text: str) -> str:
    """Text for a Markdown table cell."""
    return str(text).replace("|", "\\|").replace("\n", " ")



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
    """The page's lines on the command, date, machine and library versions that made it."""
    machine = prov.get("machine") or {}
    versions = ", ".join(f"{k} {v}" for k, v in (prov.get("versions") or {}).items())
    return [
        f"- made with `{prov.get('command', '?')}` on {prov.get('date', '?')} (UTC)",
        f"- machine: {machine.get('cpu', '?')}, {machine.get('cores', '?')} cores, GPU "
        f"{machine.get('gpu') or 'none'}; {machine.get('platform', '?')}, Python {machine.get('python', '?')}; "
        f"{versions}",
    ]



def _segment_table(summaries: Sequence[Any], baseline: str | None) -> list[str]:
    """The segment table: one row per segment summary."""
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



def _page(path: Path, session: _Session, settings: Any, window_s: float, bundle: Any, baseline: str | None,
          found: _Analysis, figures: tuple[Sequence[tuple[str, int]], Sequence[str], Sequence[str]],
          reliability: dict[str, Any], prov: dict[str, Any]) -> str:  # fmt: skip
    """The Markdown page; ``figures`` as the figures' drawing returns them (quality rows, what
    the page says about the scalp maps, the file names drawn)."""
    from bci_valence.online.segment_outputs import about_path

    seg_settings, segments_from, summaries, notes = (found.seg_settings, found.segments_from, found.summaries,
                                                     found.notes)  # fmt: skip
    quality, maps, drawn = figures
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
