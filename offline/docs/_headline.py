"""The README's headline table (:mod:`offline.docs`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ._base import COMMAND, FIGURES_END, FIGURES_START, DocsError, _get, anchor, fmt, table
from ._nested import NESTED_MODES, _interval, _is_nested, _nested_modes
from ._sections import _aggregation_cells, _is_evaluation, title_of
from ._selected import _is_selected_inside, chosen_inside, selected_row


def _times(value: Any) -> str:
    """A ratio with its ×, or – when not measured."""
    return "–" if value is None else f"{fmt(value)}×"


def _claim_verdicts(records: dict[str, dict[str, Any]]) -> list[tuple[str, str, str]]:
    """``offline.studies.claims.claim_verdicts`` when that module exists (else none)."""
    try:
        from offline.studies.claims import claim_verdicts  # type: ignore[import-not-found]
    except ModuleNotFoundError as err:
        if err.name and (err.name == "offline.studies" or err.name.startswith("offline.studies.claims")):
            return []
        raise
    return claim_verdicts(records)


Row = tuple[str, str, str]


def _link(records: dict[str, dict[str, Any]], page: str, name: str) -> str:
    return f"[{page}](docs/{page}#{anchor(title_of(name, records[name]))})"


def _evaluation_rows(records: dict[str, dict[str, Any]], nested: bool) -> list[Row]:
    """``bci-valence evaluate`` records: BACC / kappa / per-stimulus r. Where a nested record
    gives the unseen-clips per-stimulus r, an unseen-clips evaluation's own is left out."""
    rows = []
    for name, r in records.items():
        if name.startswith("bench_") or not _is_evaluation(r) or _is_selected_inside(r):
            continue
        what = f"{title_of(name, r)}: BACC / kappa"
        measured = f"{fmt(r['bacc'])} / {fmt(r['kappa'])}"
        if nested and r.get("protocol") == "unseen-clips":
            what += " (per-stimulus r on unseen clips: the nested row)"
        else:
            what += " / per-stimulus r (projection, ensemble)"
            measured += f" / {fmt(r.get('clip_r_axis'))}, {fmt(r.get('ensemble_clip_r_axis'))}"
        if r.get("in_sample_subjects"):
            what += " (in-sample)"
        rows.append((what, measured, _link(records, "results.md", name)))
    return rows


def _nested_row(records: dict[str, dict[str, Any]], name: str) -> Row:
    """The nested cross-validation: AUC, per-stimulus r against the V-axis coordinate and the
    ratings, frontal alpha asymmetry's AUC."""
    r = records[name]
    mode = _nested_modes(r)[0]
    summ = r["results"][mode].get("summary") or {}
    auc = _get(summ, "nested", "valence_auc_subject_clip") or {}
    axis_r = _get(summ, "nested", "clip_r_axis") or {}
    clip_r = _get(summ, "nested", "clip_r_ratings") or {}
    fai = _get(summ, "fai", "valence_auc_subject_clip") or {}
    ci = auc.get("ci95")
    measured = (f"{fmt(auc.get('mean'))} (SD {fmt(auc.get('sd'))}, folds {fmt(auc.get('min'))}–"
                f"{fmt(auc.get('max'))}" + (f"; 95 % interval {_interval(ci)}" if ci else "") + "); ")
    if axis_r:
        measured += (f"{fmt(axis_r.get('mean'))} (SD {fmt(axis_r.get('sd'))}, folds {fmt(axis_r.get('min'))}–"
                     f"{fmt(axis_r.get('max'))}" + (f"; 95 % interval {_interval(axis_r['ci95'])}"
                                                    if axis_r.get("ci95") else "")
                     + (f"; pooled {fmt(axis_r['pooled'])}" if axis_r.get("pooled") is not None else "") + "); ")
    measured += f"{fmt(clip_r.get('mean'))}; {fmt(fai.get('mean'))}"
    over = " and ".join(r.get("ci95_over") or [])
    what = (f"Valence AUC on unseen clips of unseen subjects, nested: {fmt(r.get('n_outer'))} outer folds over "
            f"FACED sub {r.get('subjects', '')}, readout chosen on each fold's other subjects only, "
            f"standardisation {NESTED_MODES.get(mode, mode)}: mean of the folds (SD, range"
            + (f"; interval over {over}" if over else "") + "); "
            + ("per-stimulus r vs the V-axis coordinate (the same, and pooled over the folds' subjects); "
               if axis_r else "")
            + "per-stimulus r vs rated valence; frontal alpha asymmetry AUC (untrained)")
    return what, measured, _link(records, "results.md", name)


def _selected_rows(records: dict[str, dict[str, Any]]) -> list[Row]:
    """Bundles whose stages and readout were chosen inside their training subjects, reported on others."""
    return [(*selected_row(r), _link(records, "results.md", name))
            for name, r in records.items() if _is_selected_inside(r)]


def _protocol_rows(records: dict[str, dict[str, Any]], nested: bool) -> list[Row]:
    """Seen-clips / unseen-clips evaluations: BACC and valence AUC of both protocols. Where a
    bundle chosen inside other subjects is reported on the same ones, the row points to it."""
    inside = {r.get("subjects"): chosen_inside(r) for r in records.values() if _is_selected_inside(r)}
    rows = []
    for name, r in records.items():
        protos = [r[p] for p in ("seen-clips", "unseen-clips") if isinstance(r.get(p), dict) and "bacc" in r[p]]
        if len(protos) != 2 or "headline" in r:
            continue
        seen, unseen = protos
        measured = (f"{fmt(seen['bacc'])} / {fmt(unseen['bacc'])}; "
                    f"{fmt(seen.get('valence_auc_subject_clip'))} / {fmt(unseen.get('valence_auc_subject_clip'))}")
        what = (f"FACED subjects {seen.get('subjects', '')}, seen clips / unseen clips: 9-class BACC; "
                "valence AUC, positive vs negative clips (per subject and clip)")
        if r.get("readout_chosen_on_evaluated_subjects"):
            what += (" (readout chosen on these same subjects: optimistic"
                     + ("; the nested row is the unseen-clips figure" if nested else "")
                     + (f"; the rows chosen inside sub {inside[seen.get('subjects')]} choose nothing on "
                        "these subjects" if seen.get("subjects") in inside else "") + ")")
        base = unseen.get("baseline_fai")
        if isinstance(base, dict) and "valence_auc_subject_clip" in base:
            what += "; the same AUC for frontal alpha asymmetry (untrained)"
            measured += f"; {fmt(base['valence_auc_subject_clip'])}"
        ci = (unseen.get("ci95") or {}).get("valence_auc_subject_clip")
        if ci:
            over = " and ".join(unseen.get("ci95_over") or ["subjects only"])
            measured += f" (unseen AUC 95 % interval {fmt(ci[0])}–{fmt(ci[1])}, over {over})"
        rows.append((what, measured, _link(records, "results.md", name)))
    return rows


def _benchmark_rows(records: dict[str, dict[str, Any]]) -> list[Row]:
    """Speed, latency, soak and timing robustness."""
    rows = []
    if "bench_features" in records:
        checks = _get(records["bench_features"], "targets", "checks") or {}
        tor, bf = checks.get("torcheeg") or {}, checks.get("brainflow") or {}
        rows.append((
            "Release-exact DE speed over TorchEEG / BrainFlow (one thread, paired rounds)",
            f"{_times(tor.get('measured'))} / {_times(bf.get('measured'))}",
            _link(records, "benchmarks.md", "bench_features"),
        ))  # fmt: skip
    if "bench_online" in records:
        r = records["bench_online"]
        cpu = next((c for c in r.get("compute") or [] if c.get("device") == "cpu"), {})
        rows.append((
            "Online step compute p99 / end-to-end p99 / 32-ch streams kept up with (CPU)",
            f"{fmt(cpu.get('p99_ms'))} ms / {fmt(_get(r, 'end_to_end', 'to_our_outlet_p99_ms'))} ms / "
            f"{fmt(_get(r, 'capacity', 'max_streams'))}",
            _link(records, "benchmarks.md", "bench_online"),
        ))  # fmt: skip
    if "bench_soak" in records:
        r = records["bench_soak"]
        rows.append((
            f"Soak, {fmt(r.get('minutes'))} min of one 32-channel LSL stream: samples lost / memory growth",
            f"{fmt(r.get('samples_lost'))} / {fmt(r.get('rss_growth_percent'))} %",
            _link(records, "benchmarks.md", "bench_soak"),
        ))  # fmt: skip
    scen = list((_get(records, "bench_timing", "scenarios") or {}).values())
    if scen:
        diffs = [r["max_valence_diff"] for r in scen if r.get("max_valence_diff") is not None]
        rows.append((
            f"Hostile timing, {len(scen)} scenarios over real LSL: worst steps ratio / false gaps / "
            "missed losses ≥100 ms / largest valence difference from exact stamps",
            f"{fmt(min(r.get('steps_ratio', 0) for r in scen))} / {fmt(sum(r.get('false_gaps', 0) for r in scen))} / "
            f"{fmt(sum(r.get('missed_gaps', 0) for r in scen))} / {fmt(max(diffs) if diffs else None)}",
            _link(records, "benchmarks.md", "bench_timing"),
        ))  # fmt: skip
    return rows


def _aggregation_and_own_rows(records: dict[str, dict[str, Any]]) -> list[Row]:
    """``evaluate --aggregation`` grids, then any record's own ``headline`` rows."""
    rows = []
    for name, r in records.items():
        cells = _aggregation_cells(r)
        if cells:
            one, most = min(cells), max(cells)
            rows.append((
                f"How much is enough, unseen clips: AUC for {one[1]} person × {one[0]} s and for "
                f"{most[1]} people × {most[0]} s (subjects {r.get('subjects')})",
                f"{fmt(cells[one]['valence_auc'])} / {fmt(cells[most]['valence_auc'])} "
                f"[{fmt(cells[most]['ci95'][0])}, {fmt(cells[most]['ci95'][1])}]",
                _link(records, "results.md", name),
            ))  # fmt: skip
    for name, r in records.items():
        head = r.get("headline")
        if isinstance(head, dict):
            page = "benchmarks.md" if name.startswith("bench_") else "results.md"
            rows += [(str(label), fmt(value), _link(records, page, name)) for label, value in head.items()]
    return rows


def headline_rows(records: dict[str, dict[str, Any]]) -> list[Row]:
    """Rows ``(what, measured, link)`` of the README's headline table, from the records present."""
    rows: list[Row] = []
    if "vaxis_validation" in records:
        r = records["vaxis_validation"]
        rows.append((
            "V-axis (shipped language model): FACED class r / VADER word AUC",
            f"{fmt(_get(r, 'faced', 'pearson_r'))} / {fmt(_get(r, 'vader', 'roc_auc'))}",
            _link(records, "results.md", "vaxis_validation"),
        ))  # fmt: skip
    nested = [name for name, r in records.items() if _is_nested(r)]
    rows += _evaluation_rows(records, bool(nested))
    rows += [_nested_row(records, name) for name in nested]
    rows += _selected_rows(records)
    rows += _protocol_rows(records, bool(nested))
    verdicts = _claim_verdicts(records)
    if verdicts:
        rows.append((
            "The paper's claims measured here: verdict (the p-value it rests on)",
            "; ".join(f"{name.replace('_', '-')}: {v} ({p})" for name, v, p in verdicts),
            "[paper-claims.md](docs/paper-claims.md)",
        ))  # fmt: skip
    return rows + _benchmark_rows(records) + _aggregation_and_own_rows(records)


def headline_table(records: dict[str, dict[str, Any]]) -> str:
    """The README's headline table as Markdown (with the generated-by note)."""
    rows = headline_rows(records)
    lines = [f"<!-- Generated by `{COMMAND}` from docs/data/*.json; do not edit between these markers. -->"]
    if not rows:
        return "\n".join(lines + ["No measurements are recorded yet."])
    lines += table(["what", "measured", "details"], rows, "lrl")
    dates = sorted(r["provenance"]["date"][:10] for r in records.values())
    machines = sorted({str(_get(r, "provenance", "machine", "cpu")) for r in records.values()})
    lines += ["", f"Measured {dates[0]}" + (f" to {dates[-1]}" if dates[-1] != dates[0] else "")
              + f" on {', '.join(machines)}; each linked section gives the command, date and machine."]  # fmt: skip
    return "\n".join(lines)


def update_readme(readme: str | Path, records: dict[str, dict[str, Any]]) -> bool:
    """Replace the README's text between the figures markers with the headline table.

    Returns
    -------
    bool
        True when the README has both markers and was written; False (and
        nothing written) when it has neither.

    Raises
    ------
    DocsError
        When only one marker is present, or the end comes before the start.
    """
    path = Path(readme)
    text = path.read_text(encoding="utf-8")
    i, j = text.find(FIGURES_START), text.find(FIGURES_END)
    if i < 0 and j < 0:
        return False
    if i < 0 or j < 0 or j < i:
        raise DocsError(
            f"{path}: expected '{FIGURES_START}' followed by '{FIGURES_END}', found "
            f"start at {i} and end at {j} (-1: absent)"
        )
    new = text[: i + len(FIGURES_START)] + "\n" + headline_table(records) + "\n" + text[j:]
    if new != text:
        path.write_text(new, encoding="utf-8")
    return True
