"""Write the measured-figure documentation from the JSON that the commands print.

Every figure in ``docs/results.md``, ``docs/benchmarks.md``, ``docs/paper-claims.md``
and the README's headline table comes from a JSON file in ``docs/data/``; nothing is
typed by hand. Each file holds one command's printed JSON object plus a top-level
``"provenance"`` object (:func:`bci_valence.provenance.provenance`: the command line,
the UTC date, the machine and the package versions), which the pages show beside
every table.

Usage::

    python -m offline.docs                        # regenerate every page
    python -m offline.docs record NAME -- CMD...  # run CMD, keep its JSON as docs/data/NAME.json

File names choose the page: ``bench_*`` go to ``docs/benchmarks.md``, everything else
(``vaxis_validation``, ``eval_*``, ``unseen_*``, ``study_*`` ...) to
``docs/results.md``. Known outputs (``bench_features``, ``bench_online``,
``bench_soak``, ``vaxis_validation``, ``bci-valence evaluate``'s JSON) get tables of
their own; any other file is shown as a table of its scalar values. A file may steer
its own section with optional top-level keys: ``"title"`` (the heading),
``"description"`` (a paragraph under it), ``"tables"`` (a list of ``{"title",
"columns", "rows"}`` shown instead of the scalar table) and ``"headline"`` (``{label:
value}`` rows added to the README's headline table).
"""

from __future__ import annotations

import argparse
import json
import math
import re
import shlex
import subprocess
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from bci_valence.provenance import portable_paths, provenance

REPO = Path(__file__).resolve().parents[1]
DATA_DIR = REPO / "docs" / "data"
DOCS_DIR = REPO / "docs"
README = REPO / "README.md"
COMMAND = "python -m offline.docs"
FIGURES_START = "<!-- figures:start -->"
FIGURES_END = "<!-- figures:end -->"
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")

__all__ = [
    "DocsError",
    "build",
    "headline_rows",
    "load_records",
    "main",
    "record",
    "render_benchmarks",
    "render_results",
    "update_readme",
]


class DocsError(ValueError):
    """A docs/data file or a record request that cannot be used."""


# ----------------------------------------------------------------------------- loading


def load_records(data_dir: str | Path) -> dict[str, dict[str, Any]]:
    """Read every ``*.json`` in ``data_dir``.

    Parameters
    ----------
    data_dir : str | Path
        The folder of measured-figure JSON files.

    Returns
    -------
    dict
        ``{file stem: object}``, sorted by name.

    Raises
    ------
    DocsError
        When the folder is missing, or a file is not a JSON object or lacks a
        ``provenance`` object with ``command``, ``date`` and ``machine``; every
        offending file is named.
    """
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise DocsError(f"data folder {data_dir} does not exist (expected a folder of *.json files)")
    records: dict[str, dict[str, Any]] = {}
    problems: list[str] = []
    for path in sorted(data_dir.glob("*.json")):
        try:
            obj = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as err:
            problems.append(f"{path.name}: not readable JSON ({err})")
            continue
        if not isinstance(obj, dict):
            problems.append(f"{path.name}: a JSON {type(obj).__name__}, expected an object")
            continue
        prov = obj.get("provenance")
        missing = (
            ["provenance"]
            if not isinstance(prov, dict)
            else [k for k in ("command", "date", "machine") if k not in prov]
        )
        if missing:
            problems.append(
                f"{path.name}: no {' / '.join(missing)} in its 'provenance' object (expected "
                "bci_valence.provenance.provenance()'s output under the key 'provenance')"
            )
            continue
        records[path.stem] = obj
    if problems:
        raise DocsError("cannot use these files in " + str(data_dir) + ":\n  " + "\n  ".join(problems))
    return records


# ----------------------------------------------------------------------------- formatting


def fmt(value: Any) -> str:
    """Format one value for a Markdown table (numbers rounded for reading, never altered)."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "∞" if value > 0 else "−∞"
        a = abs(value)
        if value.is_integer() and a < 1e15:
            return f"{int(value):,}"
        if a >= 1000:
            return f"{value:,.0f}"
        if a >= 100:
            return f"{value:.1f}"
        if a == 0:
            return "0"
        if a < 1e-3:
            return f"{value:.2e}"
        return f"{value:.3g}"
    if isinstance(value, (list, tuple)):
        if len(value) == 2 and all(isinstance(v, (int, float)) for v in value):
            return f"{fmt(value[0])}–{fmt(value[1])}"
        return ", ".join(fmt(v) for v in value)
    return str(value).replace("|", "\\|").replace("\n", " ")


def _get(obj: Any, *keys: str, default: Any = None) -> Any:
    """``obj[k1][k2]...`` or ``default`` where any level is missing."""
    for key in keys:
        if not isinstance(obj, dict) or key not in obj:
            return default
        obj = obj[key]
    return obj


def table(columns: Sequence[str], rows: Iterable[Sequence[Any]], align: str | None = None) -> list[str]:
    """A Markdown table; ``align`` is one letter per column (``l`` or ``r``)."""
    align = align or "l" + "r" * (len(columns) - 1)
    sep = ["---:" if a == "r" else "---" for a in align]
    lines = ["| " + " | ".join(columns) + " |", "| " + " | ".join(sep) + " |"]
    for row in rows:
        lines.append("| " + " | ".join(_escape_bars(c) if isinstance(c, str) else fmt(c) for c in row) + " |")
    return lines


def _escape_bars(text: str) -> str:
    """A cell's text with every ``|`` not yet escaped escaped (an unescaped one ends the cell)."""
    return re.sub(r"(?<!\\)\|", r"\\|", text).replace("\n", " ")


def anchor(heading: str) -> str:
    """The anchor GitHub gives a Markdown heading."""
    text = heading.strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def provenance_lines(prov: dict[str, Any], source: str) -> list[str]:
    """The lines that say where a section's figures come from."""
    machine = prov.get("machine") or {}
    parts = [str(machine.get("cpu") or "unknown CPU")]
    if machine.get("cores") is not None:
        parts.append(f"{machine['cores']} cores")
    parts.append(f"GPU {machine['gpu']}" if machine.get("gpu") else "no GPU")
    if machine.get("platform"):
        parts.append(str(machine["platform"]))
    if machine.get("python"):
        parts.append(f"Python {machine['python']}")
    versions = prov.get("versions") or {}
    lines = [
        f"- Command: `{prov.get('command')}`",
        f"- Date (UTC): {prov.get('date')}",
        f"- Machine: {', '.join(parts)}",
    ]
    if versions:
        lines.append("- Versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()))
    lines.append(f"- Data: [{source}]({source})")
    return lines


def _flatten(obj: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """Scalar leaves (and short scalar lists) of a JSON object, as dotted paths."""
    rows: list[tuple[str, Any]] = []
    if isinstance(obj, dict):
        for key, value in obj.items():
            if key in ("provenance", "title", "description", "tables", "headline") and not prefix:
                continue
            rows.extend(_flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    elif isinstance(obj, list):
        if obj and len(obj) <= 12 and all(isinstance(v, (int, float, str, bool)) or v is None for v in obj):
            rows.append((prefix, obj))
    elif isinstance(obj, str) and len(obj) > 200:
        rows.append((prefix, obj[:197] + "..."))
    else:
        rows.append((prefix, obj))
    return rows


# ----------------------------------------------------------------------------- sections

Section = Callable[[str, dict[str, Any]], list[str]]
MAX_GENERIC_ROWS = 80


def section_generic(name: str, rec: dict[str, Any]) -> list[str]:
    """Any JSON: its own tables when it gives them, else its scalar values."""
    lines: list[str] = []
    tables = rec.get("tables")
    if isinstance(tables, list) and tables:
        for tab in tables:
            if not isinstance(tab, dict) or "columns" not in tab or "rows" not in tab:
                raise DocsError(
                    f"{name}.json: each entry of 'tables' needs 'columns' and 'rows', got {tab!r:.80}"
                )
            if tab.get("title"):
                lines += ["", f"**{tab['title']}**"]
            lines += [""] + table([str(c) for c in tab["columns"]], tab["rows"])
        return lines
    rows = _flatten(rec)
    extra = len(rows) - MAX_GENERIC_ROWS
    rows = rows[:MAX_GENERIC_ROWS]
    lines += [""] + table(["figure", "value"], ((f"`{k}`", v) for k, v in rows))
    if extra > 0:
        lines += ["", f"{extra} more values in the JSON file."]
    return lines


def _call(res: dict[str, Any]) -> str:
    """A timing's call in code style, with its latency when it has one."""
    parts = [f"`{res['call']}`"] if res.get("call") else []
    if res.get("latency_ms_median") is not None:
        parts.append(f"latency median / p90 {fmt(res['latency_ms_median'])} / {fmt(res.get('latency_ms_p90'))} ms")
    return "; ".join(parts)


def section_features(name: str, rec: dict[str, Any]) -> list[str]:
    """``benchmarks/features.py``: DE throughput, peers, paired-round verdicts, FFT floor."""
    inp = rec.get("input") or {}
    host = rec.get("host") or {}
    lines = [
        "",
        f"Input: {fmt(inp.get('n_windows'))} windows of {fmt(inp.get('n_channels'))} channels at "
        f"{fmt(inp.get('sfreq'))} Hz ({fmt(inp.get('source'))}"
        + (f", resampled with `{inp['resampled_with']}`" if inp.get("resampled_with") else "")
        + f"); torch threads {fmt(host.get('torch_threads'))}; load average at start / end "
        f"{fmt(_get(host, 'load_average_start'))} / {fmt(_get(host, 'load_average_end'))}"
        + ("; **quick run** (a smoke test, too few windows for a verdict)" if rec.get("quick") else "")
        + ".",
        "",
    ]
    rows = []
    for device, paths in (rec.get("ours") or {}).items():
        for path, res in paths.items():
            rows.append((f"ours ({device}): `{path}`", res.get("windows_per_s"), res.get("us_per_window"),
                         res.get("cpu_windows_per_s"), _call(res)))  # fmt: skip
    for peer, res in (rec.get("peers") or {}).items():
        if "skipped" in res:
            rows.append((f"peer: `{peer}`", None, None, None, f"skipped: {res['skipped']}"))
        else:
            rows.append((f"peer: `{peer}`", res.get("windows_per_s"), res.get("us_per_window"),
                         res.get("cpu_windows_per_s"), _call(res)))  # fmt: skip
    lines += table(["path", "windows/s", "µs/window", "windows/s on CPU time", "call"], rows, "lrrrl")
    checks = _get(rec, "targets", "checks") or {}
    if checks:
        lines += ["", "**Targets** (ours, release-exact, one thread, over each per-window peer; "
                  "the median of paired rounds timed in alternation):", ""]  # fmt: skip
        rows = [
            (key, f"`{c.get('peer')}`", c.get("at_least"), c.get("measured"), c.get("measured_paired_range"),
             c.get("measured_separately"), c.get("measured_all_cores"), c.get("ceiling_fft_floor"),
             c.get("met"), c.get("note") or "")
            for key, c in checks.items()
        ]  # fmt: skip
        lines += table(
            ["target", "peer", "at least (×)", "measured (×)", "round range", "timed separately",
             "both cores", "ceiling over the FFT floor", "met", "note"],
            rows, "llrrrrrrll",
        )  # fmt: skip
    floor = _get(rec, "fft_floor", "libraries") or {}
    sizes = sorted({int(n) for lib in floor.values() if isinstance(lib, dict) for n in lib if n.isdigit()})
    if sizes:
        lines += ["", "**FFT floor**: the transforms the release-exact filtering needs, alone, "
                  "µs per window (ns per transformed sample), per library and block length:", ""]  # fmt: skip
        rows = []
        for lib, res in floor.items():
            if "skipped" in res:
                rows.append([f"`{lib}`"] + ["–"] * (len(sizes) - 1) + [f"skipped: {res['skipped']}"])
                continue
            cells = []
            for n in sizes:
                r = res.get(str(n))
                cells.append(
                    f"{fmt(r['us_per_window'])} ({fmt(r.get('ns_per_transformed_sample'))})" if r else "–"
                )
            rows.append([f"`{lib}`"] + cells)
        lines += table(["library"] + [str(n) for n in sizes], rows)
    agree = rec.get("agreement_fft_vs_fir") or {}
    for device, a in agree.items():
        lines += ["", f"FFT variant against the exact DE ({device}): Pearson r "
                  f"{fmt(a.get('pearson_r_fft_vs_fir'))}, mean difference {fmt(a.get('fft_minus_fir_de_mean'))}."]  # fmt: skip
    return lines


def section_online(name: str, rec: dict[str, Any]) -> list[str]:
    """``benchmarks/online.py``: step compute time, end-to-end latency, capacity."""
    lines = [""]
    compute = rec.get("compute") or []
    if compute:
        lines += ["**Compute per step** (preprocessing, DE, standardization, projection, probabilities), one stream:", ""]
        lines += table(
            ["device", "bundle", "steps", "p50 (ms)", "p99 (ms)", "mean (ms)"],
            ((c.get("device"), c.get("bundle"), c.get("steps"), c.get("p50_ms"), c.get("p99_ms"), c.get("mean_ms"))
             for c in compute),
            "llrrrr",
        )  # fmt: skip
    e2e = rec.get("end_to_end")
    if e2e:
        lines += ["", f"**End to end**: {fmt(e2e.get('stream'))}; {fmt(e2e.get('steps'))} steps; "
                  f"{fmt(e2e.get('note'))}.", ""]  # fmt: skip
        lines += table(
            ["latency", "p50 (ms)", "p99 (ms)", "max (ms)"],
            [
                ("sample pushed → its valence on our outlet", e2e.get("to_our_outlet_p50_ms"),
                 e2e.get("to_our_outlet_p99_ms"), e2e.get("to_our_outlet_max_ms")),
                ("same, read back by an LSL inlet", e2e.get("read_back_by_lsl_inlet_p50_ms"),
                 e2e.get("read_back_by_lsl_inlet_p99_ms"), None),
                ("processing after the newest sample arrived", e2e.get("processing_after_arrival_p50_ms"),
                 e2e.get("processing_after_arrival_p99_ms"), None),
            ],
        )  # fmt: skip
    for key in ("capacity", "capacity_cuda"):
        cap = rec.get(key)
        if not cap:
            continue
        lines += ["", f"**Capacity ({fmt(cap.get('device'))})**: 32-channel 250 Hz streams in one process, "
                  f"in-memory feeds; a count keeps up when every {fmt(cap.get('tick_s'))}-s tick of all "
                  f"streams finishes within the tick at p99. Most streams kept up with: "
                  f"**{fmt(cap.get('max_streams'))}**.", ""]  # fmt: skip
        lines += table(
            ["streams", "tick p50 (ms)", "tick p99 (ms)", "keeps up"],
            ((r.get("streams"), r.get("tick_p50_ms"), r.get("tick_p99_ms"), r.get("real_time"))
             for r in cap.get("by_streams") or []),
        )  # fmt: skip
        chk = cap.get("lsl_check")
        if chk:
            if "error" in chk:
                lines += ["", f"Real-LSL check with {fmt(chk.get('streams'))} streams failed: {fmt(chk['error'])}."]
            else:
                lines += ["", "Real-LSL check (streams pushed by another process):", ""]
                lines += table(["figure", "value"], [
                    ("streams", chk.get("streams")), ("seconds", chk.get("seconds")),
                    ("keeps up", chk.get("keeps_up")), ("connect all (s)", chk.get("connect_all_s")),
                    ("drain the backlog (s)", chk.get("drain_backlog_s")),
                    ("steps per stream (fewest / expected)",
                     f"{fmt(chk.get('steps_per_stream_min'))} / {fmt(chk.get('steps_per_stream_expected'))}"),
                    ("lag p50 / p99 (ms)", f"{fmt(chk.get('lag_p50_ms'))} / {fmt(chk.get('lag_p99_ms'))}"),
                    ("samples lost", chk.get("lost_samples")),
                ])  # fmt: skip
    machine = rec.get("machine") or {}
    if machine:
        lines += ["", f"Load average (1 min) at start / end: {fmt(machine.get('load_average_1min_at_start'))} / "
                  f"{fmt(machine.get('load_average_1min_at_end'))}."]  # fmt: skip
    return lines


def section_soak(name: str, rec: dict[str, Any]) -> list[str]:
    """``benchmarks/soak.py``: samples lost and memory over a long run."""
    lines = ["", f"{fmt(rec.get('minutes'))} minutes, {fmt(rec.get('stream'))}, bundle {fmt(rec.get('bundle'))}.", ""]
    lines += table(["figure", "value"], [
        ("samples received", rec.get("samples_received")),
        ("samples lost / reordered", f"{fmt(rec.get('samples_lost'))} / {fmt(rec.get('samples_reordered'))}"),
        ("buffer gaps / pipeline lost samples / reconnects",
         f"{fmt(rec.get('buffer_gaps'))} / {fmt(rec.get('pipeline_lost_samples'))} / {fmt(rec.get('reconnects'))}"),
        ("steps (expected)", f"{fmt(rec.get('steps'))} ({fmt(rec.get('steps_expected'))})"),
        ("stale steps", rec.get("stale_steps")),
        ("step latency p50 / p99 (ms)", f"{fmt(rec.get('latency_p50_ms'))} / {fmt(rec.get('latency_p99_ms'))}"),
        ("resident memory after warm-up / at the end / most after warm-up (MB)",
         f"{fmt(rec.get('rss_after_warmup_mb'))} / {fmt(rec.get('rss_end_mb'))} / {fmt(rec.get('rss_max_after_warmup_mb'))}"),
        ("memory growth (%)", rec.get("rss_growth_percent")),
        ("memory flat within 5%", rec.get("rss_flat_within_5_percent")),
        ("no sample lost or reordered", rec.get("zero_lost")),
        ("load average (1 min) at the end", rec.get("load_average_1min_at_end")),
    ])  # fmt: skip
    return lines


def section_timing(name: str, rec: dict[str, Any]) -> list[str]:
    """``benchmarks/timing_corpus.py``: live runs over hostile timing against exact stamps."""
    lines = ["", f"Each scenario is {fmt(rec.get('seconds'))} s of one stream pushed over real LSL in real time "
             f"(all at once, one pipeline), against the same samples with exact timestamps run offline; "
             f"calibration {fmt(rec.get('calibration_s'))} s, seed {fmt(rec.get('seed'))}. A 6-sample loss must "
             "be found only where the stream's jitter is smaller than it (column *6-sample required*).", ""]
    rows = []
    for scenario, r in (rec.get("scenarios") or {}).items():
        timing = r.get("timing") or {}
        rows.append((
            f"`{scenario}`", r.get("description"), f"{fmt(r.get('steps'))} / {fmt(r.get('expected_steps'))}",
            r.get("false_gaps"), r.get("false_gap_flags"),
            f"{fmt(r.get('true_gaps'))} ({fmt(r.get('missed_gaps'))} / {fmt(r.get('missed_small_gaps'))})",
            "yes" if r.get("small_gaps_required") else "no", r.get("max_valence_diff"),
            timing.get("effective_rate"), timing.get("jitter_ms"),
        ))  # fmt: skip
    lines += table(["scenario", "timing", "steps / exact", "false gaps", "false GAP flags",
                    "true losses (missed ≥100 ms / missed 6-sample)", "6-sample required",
                    "max valence diff", "effective Hz", "jitter ms"], rows)  # fmt: skip
    return lines


def section_vaxis(name: str, rec: dict[str, Any]) -> list[str]:
    """``bci-valence axis validate``: FACED and VADER agreement of the V-axis."""
    axis = rec.get("axis") or {}
    faced = rec.get("faced") or {}
    vader = rec.get("vader") or {}
    lines = [
        "",
        f"Axis: `{fmt(axis.get('model'))}`, layer {fmt(axis.get('layer'))}, {fmt(axis.get('pooling'))} "
        f"pooling, {fmt(axis.get('method'))} method.",
        "",
    ]
    rows = [
        (f"FACED: Pearson r, class coordinate vs mean rated valence ({fmt(faced.get('source'))}, "
         f"{fmt(faced.get('n_subjects'))} subjects, {fmt(faced.get('n_classes'))} classes)",
         faced.get("pearson_r"), faced.get("pearson_p")),
        ("FACED: Spearman r", faced.get("spearman_r"), faced.get("spearman_p")),
    ]  # fmt: skip
    if vader:
        rows += [
            (f"VADER words, zero-shot: Spearman r ({fmt(vader.get('n_words'))} words)",
             vader.get("spearman_r"), vader.get("spearman_p")),
            (f"VADER words: ROC AUC, positive ({fmt(vader.get('n_positive'))}) vs negative "
             f"({fmt(vader.get('n_negative'))})", vader.get("roc_auc"), None),
        ]  # fmt: skip
    lines += table(["check", "value", "p"], rows)
    coords = rec.get("class_coordinates") or {}
    means = faced.get("class_mean_valence") or {}
    if coords:
        names = list(coords)
        lines += ["", "Class coordinates on the axis against FACED's mean rated valence (0–7):", ""]
        lines += table(["class"] + names,
                       [["coordinate"] + [coords[n] for n in names],
                        ["FACED valence"] + [means.get(n) for n in names]])  # fmt: skip
    if rec.get("pc1_explained_variance") is not None:
        lines += ["", f"PC1 explained variance of the class centroids: {fmt(rec['pc1_explained_variance'])}."]
    return lines


EVAL_LABELS = {
    "bacc": "balanced accuracy (9 classes, chance 0.111)",
    "kappa": "Cohen's kappa",
    "weighted_f1": "weighted F1",
    "accuracy": "accuracy",
    "n_samples": "10-s windows",
    "clip_r_axis": "per-stimulus r, linear projection vs V-axis coordinate",
    "clip_r_ratings": "per-stimulus r, projection vs the subjects' mean rated valence",
    "clip_r_release_valence": "per-stimulus r, projection vs FACED's release mean valence",
    "sample_r": "sample r (10-s window), projection",
    "second_r": "1-s vector r, projection",
    "ensemble_clip_r_axis": "per-stimulus r, ensemble valence vs V-axis coordinate",
    "ensemble_clip_r_ratings": "per-stimulus r, ensemble valence vs mean rated valence",
    "ensemble_sample_r": "sample r (10-s window), ensemble valence",
    "subjects": "subjects",
    "in_sample_subjects": "subjects in the bundle's training data (in-sample)",
    "bundle": "bundle",
}


def _is_evaluation(rec: dict[str, Any]) -> bool:
    return "bacc" in rec and "kappa" in rec


def section_evaluation(name: str, rec: dict[str, Any]) -> list[str]:
    """``bci-valence evaluate``: classification and projection figures on FACED subjects."""
    lines = [""] + aggregation_lines(rec) if rec.get("aggregation") else [""]
    rows = [(EVAL_LABELS[k], rec[k]) for k in EVAL_LABELS if k in rec]
    rows += [(f"`{k}`", v) for k, v in _flatten({k: v for k, v in rec.items()
                                                 if k not in EVAL_LABELS and k != "aggregation"})]
    return lines + table(["figure", "value"], rows)


def _aggregation_cells(rec: dict[str, Any]) -> dict[tuple[int, int], dict[str, Any]]:
    return {(int(a["seconds"]), int(a["group_size"])): a for a in rec.get("aggregation") or []}


def aggregation_lines(rec: dict[str, Any]) -> list[str]:
    """``evaluate --aggregation``: the AUC grid (seconds per stimulus × people) as guidance."""
    cells = _aggregation_cells(rec)
    seconds = sorted({s for s, _ in cells})
    sizes = sorted({g for _, g in cells})
    over = " and ".join(next(iter(cells.values())).get("ci95_over", [])) if cells else ""
    lines = [
        f"**How much is enough.** Positive-vs-negative AUC of a stimulus's mean valence on clips the "
        f"model never saw (subjects {fmt(rec.get('subjects'))}), by seconds per stimulus and people per "
        f"group (groups drawn from these subjects, 95% intervals over {over}); the same segment and group "
        "code as a live session. Frontal alpha asymmetry, untrained, gives "
        f"{fmt(_get(rec, 'baseline_fai', 'valence_auc_subject_clip'))} per person × clip.", "",
    ]
    rows = [
        (f"{s} s", *[f"{fmt(cells[(s, g)]['valence_auc'])} [{fmt(cells[(s, g)]['ci95'][0])}, "
                     f"{fmt(cells[(s, g)]['ci95'][1])}]" if (s, g) in cells else "" for g in sizes])
        for s in seconds
    ]
    lines += table(["seconds per stimulus", *[f"{g} {'person' if g == 1 else 'people'}" for g in sizes]], rows)
    return lines + [""]


NESTED_KINDS = {
    "nested": "readout chosen on the fold's other subjects",
    "shipped": "shipped readout ({shipped}), fitted per fold, no selection",
    "fai": "frontal alpha asymmetry (untrained)",
}
NESTED_MODES = {
    "disjoint": "from the other clips",
    "all": "over all seconds",
}


def _is_nested(rec: dict[str, Any]) -> bool:
    """A record of ``offline.studies.nested_unseen`` (the nested outer cross-validation)."""
    return rec.get("kind") == "nested_unseen" and isinstance(rec.get("results"), dict)


def _nested_modes(rec: dict[str, Any]) -> list[str]:
    """The record's standardisations, the headline one first."""
    modes = [m for m in (rec.get("standardisations") or []) if m in rec["results"]]
    head = rec.get("headline_standardisation")
    return sorted(modes, key=lambda m: m != head)


def _mean_sd(s: dict[str, Any] | None) -> str:
    if not s:
        return "–"
    return f"{fmt(s.get('mean'))} ({fmt(s.get('sd'))})"


def _interval(ci: Any) -> str:
    """An interval as ``low to high`` (readable where the ends are negative)."""
    if not isinstance(ci, (list, tuple)) or len(ci) != 2:
        return "–"
    return f"{fmt(ci[0])} to {fmt(ci[1])}"


def _with_ci(value: Any, ci: Any) -> str:
    return f"{fmt(value)} ({_interval(ci)})" if ci else fmt(value)


def section_nested(name: str, rec: dict[str, Any]) -> list[str]:
    """``offline.studies.nested_unseen``: the summary across outer folds, the per-fold figures, the
    two standardisations side by side."""
    modes = _nested_modes(rec)
    shipped = rec.get("shipped") or "none"
    n = rec.get("n_outer")
    lines = ["", f"**Across the {fmt(n)} outer folds**: mean of the folds (SD), range, and the 95 % "
             "interval of the mean resampling subjects and clips together.", ""]
    rows = []
    for mode in modes:
        summ = rec["results"][mode].get("summary") or {}
        for kind, label in NESTED_KINDS.items():
            if kind not in summ:
                continue
            f = summ[kind]
            auc, clip_r, subj_r = (f.get(k) or {} for k in ("valence_auc_subject_clip", "clip_r_ratings",
                                                            "subject_r_ratings"))
            rows.append((label.format(shipped=shipped), NESTED_MODES.get(mode, mode), _mean_sd(auc),
                         _interval([auc.get("min"), auc.get("max")]), _interval(auc.get("ci95")),
                         _mean_sd(clip_r), _interval(clip_r.get("ci95")), _mean_sd(subj_r),
                         _interval(subj_r.get("ci95"))))  # fmt: skip
    lines += table(["readout", "standardisation", "AUC subject × clip: mean (SD)", "range", "95 % CI",
                    "per-stimulus r vs rated valence: mean (SD)", "95 % CI", "per-subject r: mean (SD)",
                    "95 % CI"], rows, "llrrrrrrr")  # fmt: skip
    for mode in modes:
        res = rec["results"][mode]
        counts = res.get("chosen_counts") or {}
        lines += ["", f"**Per outer fold, standardisation {NESTED_MODES.get(mode, mode)}** "
                  f"({fmt(res.get('standardisation'))}). Chosen: "
                  + "; ".join(f"{k} ({v} of {fmt(n)})" for k, v in counts.items()) + ".", ""]  # fmt: skip
        rows = []
        for f in res.get("folds") or []:
            nested, fai = f.get("nested") or {}, f.get("fai") or {}
            ci, fci = nested.get("ci95") or {}, fai.get("ci95") or {}
            rows.append((
                f.get("fold"), f.get("test_subjects"), f.get("chosen"), f.get("chosen_inner_score"),
                _with_ci(nested.get("valence_auc_subject_clip"), ci.get("valence_auc_subject_clip")),
                _with_ci(nested.get("clip_r_ratings"), ci.get("clip_r_ratings")),
                nested.get("subject_r_ratings"),
                _get(f, "shipped", "valence_auc_subject_clip"), f.get("shipped_inner_rank"),
                _with_ci(fai.get("valence_auc_subject_clip"), fci.get("valence_auc_subject_clip")),
                fai.get("clip_r_ratings"),
            ))  # fmt: skip
        lines += table(["fold", "test subjects", "readout chosen on the other subjects", "its inner AUC",
                        "AUC subject × clip (95 % CI)", "per-stimulus r vs rated valence (95 % CI)",
                        "per-subject r", "shipped readout AUC", "shipped readout's inner rank",
                        "asymmetry AUC (95 % CI)", "asymmetry per-stimulus r"], rows, "rllrrrrrrrr")  # fmt: skip
    diff = rec.get("difference") or {}
    if diff and {"all", "disjoint"} <= set(modes):
        lines += ["", "**Standardisation from the other clips minus over all seconds** (means of the folds; "
                  "the interval resamples subjects and clips, the same resamples for both):", ""]  # fmt: skip
        rows = []
        for kind, label in NESTED_KINDS.items():
            if kind not in diff:
                continue
            row: list[Any] = [label.format(shipped=shipped)]
            for fig in ("valence_auc_subject_clip", "clip_r_ratings"):
                row += [_get(rec, "results", "disjoint", "summary", kind, fig, "mean"),
                        _get(rec, "results", "all", "summary", kind, fig, "mean"),
                        _with_ci(_get(diff, kind, fig, "mean"), _get(diff, kind, fig, "ci95"))]
            rows.append(row)
        lines += table(["readout", "AUC: other clips", "AUC: all seconds", "difference (95 % CI)",
                        "per-stimulus r: other clips", "per-stimulus r: all seconds", "difference (95 % CI)"],
                       rows, "lrrrrrr")  # fmt: skip
    return lines


def _section_for(name: str, rec: dict[str, Any]) -> Section:
    if _is_nested(rec):
        return section_nested
    if "tables" in rec:
        return section_generic
    if name == "bench_features" or rec.get("benchmark") == "features":
        return section_features
    if name == "bench_online":
        return section_online
    if name == "bench_soak":
        return section_soak
    if name == "bench_timing" or rec.get("benchmark") == "timing_corpus":
        return section_timing
    if name == "vaxis_validation" or ("axis" in rec and "faced" in rec and "class_coordinates" in rec):
        return section_vaxis
    if _is_evaluation(rec):
        return section_evaluation
    return section_generic


TITLES = {
    "bench_features": "Band DE throughput against TorchEEG, MNE and BrainFlow",
    "bench_online": "Online pipeline: step time, latency and capacity",
    "bench_soak": "Soak: one stream for a long run",
    "bench_timing": "Hostile stream timing: jitter, lag, drift, bursts and losses over real LSL",
    "unseen_aggregation": "How much is enough: seconds per stimulus and people per group, on unseen clips",
    "vaxis_validation": "V-axis validation",
}


def title_of(name: str, rec: dict[str, Any]) -> str:
    """A section's heading: the file's own ``title``, a known name's, or one built from the name."""
    if isinstance(rec.get("title"), str) and rec["title"].strip():
        return rec["title"].strip()
    if name in TITLES:
        return TITLES[name]
    if _is_evaluation(rec):
        return f"Evaluation on FACED subjects {rec.get('subjects', '')} ({name})".replace("  ", " ")
    return name.replace("_", " ").capitalize()


def _page(title: str, intro: str, records: dict[str, dict[str, Any]]) -> str:
    lines = [
        f"<!-- Generated by `{COMMAND}` from docs/data/*.json. Do not edit: re-run the commands named below, then `{COMMAND}`. -->",
        f"# {title}",
        "",
        f"*This page is generated by `{COMMAND}` from the JSON files in [data/](data/). Every figure "
        "comes from the command named under its table, run on the date and machine given there.*",
        "",
        intro,
    ]
    if not records:
        lines += ["", "No measurements are recorded yet."]
    for name, rec in records.items():
        lines += ["", f"## {title_of(name, rec)}", ""]
        if isinstance(rec.get("description"), str):
            lines += [rec["description"], ""]
        lines += provenance_lines(rec["provenance"], f"data/{name}.json")
        if rec.get("exit_code"):
            lines += [f"- The command exited with status {rec['exit_code']}."]
        lines += _section_for(name, rec)(name, rec)
    return "\n".join(lines).rstrip() + "\n"


def _split(records: dict[str, dict[str, Any]]) -> tuple[dict[str, dict], dict[str, dict]]:
    bench = {k: v for k, v in records.items() if k.startswith("bench_")}
    other = {k: v for k, v in records.items() if not k.startswith("bench_")}

    def order(name: str) -> tuple[int, str]:
        for i, prefix in enumerate(("vaxis", "eval_", "unseen_", "study_")):
            if name.startswith(prefix):
                return i, name
        return 9, name

    return bench, dict(sorted(other.items(), key=lambda kv: order(kv[0])))


def render_results(records: dict[str, dict[str, Any]]) -> str:
    """The Markdown of ``docs/results.md`` (every record not named ``bench_*``)."""
    _, results = _split(records)
    return _page(
        "Results",
        "What the models and the V-axis achieve: validation of the language-model axis, evaluations "
        "of model bundles on FACED subjects, and the studies. Speed and robustness are in "
        "[benchmarks.md](benchmarks.md).",
        results,
    )


def render_benchmarks(records: dict[str, dict[str, Any]]) -> str:
    """The Markdown of ``docs/benchmarks.md`` (the ``bench_*`` records)."""
    bench, _ = _split(records)
    return _page(
        "Benchmarks",
        "Speed, latency and long-run behaviour, as the scripts in `benchmarks/` print them. Timings "
        "depend on the machine and on what else runs on it; each section names both.",
        bench,
    )


# ----------------------------------------------------------------------------- headline table


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


def headline_rows(records: dict[str, dict[str, Any]]) -> list[tuple[str, str, str]]:
    """Rows ``(what, measured, link)`` of the README's headline table, from the records present."""
    rows: list[tuple[str, str, str]] = []

    def link(page: str, name: str) -> str:
        return f"[{page}](docs/{page}#{anchor(title_of(name, records[name]))})"

    if "vaxis_validation" in records:
        r = records["vaxis_validation"]
        rows.append((
            "V-axis (shipped language model): FACED class r / VADER word AUC",
            f"{fmt(_get(r, 'faced', 'pearson_r'))} / {fmt(_get(r, 'vader', 'roc_auc'))}",
            link("results.md", "vaxis_validation"),
        ))  # fmt: skip
    for name, r in records.items():
        if not name.startswith("bench_") and _is_evaluation(r):
            proj = r.get("clip_r_axis")
            ens = r.get("ensemble_clip_r_axis")
            what = f"{title_of(name, r)}: BACC / kappa / per-stimulus r (projection, ensemble)"
            if r.get("in_sample_subjects"):
                what += " (in-sample)"
            rows.append((what, f"{fmt(r['bacc'])} / {fmt(r['kappa'])} / {fmt(proj)}, {fmt(ens)}",
                         link("results.md", name)))  # fmt: skip
    nested = [name for name, r in records.items() if _is_nested(r)]
    for name in nested:
        r = records[name]
        mode = _nested_modes(r)[0]
        summ = r["results"][mode].get("summary") or {}
        auc = _get(summ, "nested", "valence_auc_subject_clip") or {}
        clip_r = _get(summ, "nested", "clip_r_ratings") or {}
        fai = _get(summ, "fai", "valence_auc_subject_clip") or {}
        ci = auc.get("ci95")
        measured = (f"{fmt(auc.get('mean'))} (SD {fmt(auc.get('sd'))}, folds {fmt(auc.get('min'))}–"
                    f"{fmt(auc.get('max'))}" + (f"; 95 % interval {_interval(ci)}" if ci else "")
                    + f"); {fmt(clip_r.get('mean'))}; {fmt(fai.get('mean'))}")
        over = " and ".join(r.get("ci95_over") or [])
        what = (f"Valence AUC on unseen clips of unseen subjects, nested: {fmt(r.get('n_outer'))} outer folds over "
                f"FACED sub {r.get('subjects', '')}, readout chosen on each fold's other subjects only, "
                f"standardisation {NESTED_MODES.get(mode, mode)}: mean of the folds (SD, range"
                + (f"; interval over {over}" if over else "") + "); per-stimulus r vs rated valence; "
                "frontal alpha asymmetry AUC (untrained)")
        rows.append((what, measured, link("results.md", name)))
    for name, r in records.items():
        protos = [r[p] for p in ("seen-clips", "unseen-clips") if isinstance(r.get(p), dict) and "bacc" in r[p]]
        if len(protos) == 2 and "headline" not in r:
            seen, unseen = protos
            measured = (f"{fmt(seen['bacc'])} / {fmt(unseen['bacc'])}; "
                        f"{fmt(seen.get('valence_auc_subject_clip'))} / {fmt(unseen.get('valence_auc_subject_clip'))}")
            what = (f"FACED subjects {seen.get('subjects', '')}, seen clips / unseen clips: 9-class BACC; "
                    "valence AUC, positive vs negative clips (per subject and clip)")
            if r.get("readout_chosen_on_evaluated_subjects"):
                what += (" (readout chosen on these same subjects: optimistic"
                         + ("; the nested row is the unseen-clips figure)" if nested else ")"))
            base = unseen.get("baseline_fai")
            if isinstance(base, dict) and "valence_auc_subject_clip" in base:
                what += "; the same AUC for frontal alpha asymmetry (untrained)"
                measured += f"; {fmt(base['valence_auc_subject_clip'])}"
            ci = (unseen.get("ci95") or {}).get("valence_auc_subject_clip")
            if ci:
                over = " and ".join(unseen.get("ci95_over") or ["subjects only"])
                measured += f" (unseen AUC 95 % interval {fmt(ci[0])}–{fmt(ci[1])}, over {over})"
            rows.append((what, measured, link("results.md", name)))
    verdicts = _claim_verdicts(records)
    if verdicts:
        rows.append((
            "The paper's claims measured here: verdict (the p-value it rests on)",
            "; ".join(f"{name.replace('_', '-')}: {v} ({p})" for name, v, p in verdicts),
            "[paper-claims.md](docs/paper-claims.md)",
        ))  # fmt: skip
    if "bench_features" in records:
        checks = _get(records["bench_features"], "targets", "checks") or {}
        tor, bf = checks.get("torcheeg") or {}, checks.get("brainflow") or {}
        rows.append((
            "Release-exact DE speed over TorchEEG / BrainFlow (one thread, paired rounds)",
            f"{_times(tor.get('measured'))} / {_times(bf.get('measured'))}",
            link("benchmarks.md", "bench_features"),
        ))  # fmt: skip
    if "bench_online" in records:
        r = records["bench_online"]
        cpu = next((c for c in r.get("compute") or [] if c.get("device") == "cpu"), {})
        rows.append((
            "Online step compute p99 / end-to-end p99 / 32-ch streams kept up with (CPU)",
            f"{fmt(cpu.get('p99_ms'))} ms / {fmt(_get(r, 'end_to_end', 'to_our_outlet_p99_ms'))} ms / "
            f"{fmt(_get(r, 'capacity', 'max_streams'))}",
            link("benchmarks.md", "bench_online"),
        ))  # fmt: skip
    if "bench_soak" in records:
        r = records["bench_soak"]
        rows.append((
            f"Soak, {fmt(r.get('minutes'))} min of one 32-channel LSL stream: samples lost / memory growth",
            f"{fmt(r.get('samples_lost'))} / {fmt(r.get('rss_growth_percent'))} %",
            link("benchmarks.md", "bench_soak"),
        ))  # fmt: skip
    if "bench_timing" in records:
        scen = list((records["bench_timing"].get("scenarios") or {}).values())
        if scen:
            diffs = [r["max_valence_diff"] for r in scen if r.get("max_valence_diff") is not None]
            rows.append((
                f"Hostile timing, {len(scen)} scenarios over real LSL: worst steps ratio / false gaps / "
                "missed losses ≥100 ms / largest valence difference from exact stamps",
                f"{fmt(min(r.get('steps_ratio', 0) for r in scen))} / {fmt(sum(r.get('false_gaps', 0) for r in scen))} / "
                f"{fmt(sum(r.get('missed_gaps', 0) for r in scen))} / {fmt(max(diffs) if diffs else None)}",
                link("benchmarks.md", "bench_timing"),
            ))  # fmt: skip
    for name, r in records.items():
        cells = _aggregation_cells(r)
        if cells:
            one, most = min(cells), max(cells)
            rows.append((
                f"How much is enough, unseen clips: AUC for {one[1]} person × {one[0]} s and for "
                f"{most[1]} people × {most[0]} s (subjects {r.get('subjects')})",
                f"{fmt(cells[one]['valence_auc'])} / {fmt(cells[most]['valence_auc'])} "
                f"[{fmt(cells[most]['ci95'][0])}, {fmt(cells[most]['ci95'][1])}]",
                link("results.md", name),
            ))  # fmt: skip
    for name, r in records.items():
        head = r.get("headline")
        if isinstance(head, dict):
            page = "benchmarks.md" if name.startswith("bench_") else "results.md"
            for label, value in head.items():
                rows.append((str(label), fmt(value), link(page, name)))
    return rows


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


# ----------------------------------------------------------------------------- build / record


def _study_tables(records: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Studies' title, description and tables computed from their records now
    (``offline.studies.claims.docs_record``), so that every derived figure (corrections,
    verdicts) follows the current rules; other records, and every record when that
    module is absent, are left as they are."""
    try:
        from offline.studies.claims import STUDIES, docs_record  # type: ignore[import-not-found]
    except ModuleNotFoundError as err:
        if err.name and (err.name == "offline.studies" or err.name.startswith("offline.studies.claims")):
            return records
        raise
    return {k: (docs_record(v) if v.get("study") in STUDIES else v) for k, v in records.items()}


def _write_paper_claims(data_dir: Path, out_path: Path) -> bool:
    """Call ``offline.studies.claims.write_paper_claims`` when that module exists."""
    try:
        from offline.studies.claims import write_paper_claims  # type: ignore[import-not-found]
    except ModuleNotFoundError as err:
        if err.name and (err.name == "offline.studies" or err.name.startswith("offline.studies.claims")):
            return False
        raise
    write_paper_claims(data_dir, out_path)
    return True


def build(
    data_dir: str | Path = DATA_DIR,
    out_dir: str | Path = DOCS_DIR,
    readme: str | Path | None = README,
    claims: bool = True,
) -> list[Path]:
    """Regenerate the pages from the JSON files.

    Parameters
    ----------
    data_dir : str | Path
        The folder of measured-figure JSON files.
    out_dir : str | Path
        Where ``results.md``, ``benchmarks.md`` and ``paper-claims.md`` go.
    readme : str | Path | None
        A README whose text between the figures markers gets the headline table;
        None leaves it alone.
    claims : bool
        Also write ``paper-claims.md`` through ``offline.studies.claims`` when that
        module exists.

    Returns
    -------
    list of Path
        The files written.
    """
    data_dir, out_dir = Path(data_dir), Path(out_dir)
    # The pages name no folder of the machine that measured: paths inside the
    # repository are shown relative to it.
    records = _study_tables({k: portable_paths(v, REPO) for k, v in load_records(data_dir).items()})
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for fname, text in (("results.md", render_results(records)), ("benchmarks.md", render_benchmarks(records))):
        path = out_dir / fname
        path.write_text(text, encoding="utf-8")
        written.append(path)
    if claims and _write_paper_claims(data_dir, out_dir / "paper-claims.md"):
        written.append(out_dir / "paper-claims.md")
    if readme is not None and Path(readme).exists() and update_readme(readme, records):
        written.append(Path(readme))
    return written


def parse_json_output(text: str) -> dict[str, Any]:
    """The JSON object a command printed: the whole output, or the last object in it."""
    text = text.strip()
    try:
        obj = json.loads(text)
    except json.JSONDecodeError:
        obj = None
        decoder = json.JSONDecoder()
        starts = [m.start() for m in re.finditer(r"(?m)^\{", text)]
        for start in reversed(starts):
            try:
                obj, end = decoder.raw_decode(text, start)
            except json.JSONDecodeError:
                continue
            if not text[end:].strip():
                break
            obj = None
    if not isinstance(obj, dict):
        raise DocsError("the command printed no JSON object on stdout" + (f" (it printed: {text[-300:]!r})" if text else ""))
    return obj


def _typed_command(cmd: Sequence[str], cwd: Path) -> str:
    """A command as a user would type it: ``python`` for an interpreter, relative paths."""
    out = []
    for i, arg in enumerate(cmd):
        path = Path(arg)
        if i == 0 and path.name.startswith("python"):
            out.append("python")
        elif i == 0 and path.parent.name == "bin":
            out.append(path.name)
        elif path.is_absolute():
            try:
                out.append(str(path.relative_to(cwd)))
            except ValueError:
                out.append(arg)
        else:
            out.append(arg)
    return shlex.join(out)


def record(
    name: str,
    cmd: Sequence[str],
    data_dir: str | Path = DATA_DIR,
    overwrite: bool = False,
    cwd: str | Path = REPO,
) -> Path:
    """Run a command that prints one JSON object and keep it as ``data_dir/NAME.json``.

    Parameters
    ----------
    name : str
        The file stem (letters, digits, ``_``, ``-``, ``.``).
    cmd : sequence of str
        The command and its arguments.
    data_dir : str | Path
        Where the JSON goes.
    overwrite : bool
        Replace an existing ``NAME.json``; without it an existing file is refused.
    cwd : str | Path
        The folder the command runs in (the repository by default); absolute
        paths under it, and under its parent, are written relative in the record.

    Returns
    -------
    Path
        The file written. The object is the command's, with ``"provenance"``
        added when the command gave none, and ``"exit_code"`` when it exited
        non-zero (its JSON is kept: a failed check is a result too).

    Raises
    ------
    DocsError
        When the name is malformed, the file exists without ``overwrite``, the
        command cannot be started, or it printed no JSON object.
    """
    if not NAME_RE.match(name):
        raise DocsError(f"record name {name!r} is not a plain file stem (letters, digits, '_', '-', '.')")
    if not cmd:
        raise DocsError("no command given: use `record NAME -- CMD ...`")
    data_dir, cwd = Path(data_dir), Path(cwd).resolve()
    out = data_dir / f"{name}.json"
    if out.exists() and not overwrite:
        raise DocsError(f"{out} exists; pass --overwrite to replace it")
    typed = _typed_command(cmd, cwd)
    print(f"recording {out.name}: {typed}", file=sys.stderr)
    try:
        proc = subprocess.run(list(cmd), cwd=cwd, stdout=subprocess.PIPE, text=True, check=False)
    except OSError as err:
        raise DocsError(f"cannot run {cmd[0]!r}: {err}") from err
    obj = parse_json_output(proc.stdout)
    if "provenance" not in obj:
        obj["provenance"] = provenance(typed)
    if proc.returncode:
        obj["exit_code"] = proc.returncode
    obj = portable_paths(obj, cwd)
    data_dir.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(obj, indent=2) + "\n", encoding="utf-8")
    tmp.replace(out)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry: ``python -m offline.docs [build|record ...]``."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(
        prog=COMMAND,
        description="Regenerate docs/results.md, docs/benchmarks.md, docs/paper-claims.md and the "
        "README's headline table from docs/data/*.json (default), or record a command's JSON output.",
    )
    sub = parser.add_subparsers(dest="action")
    b = sub.add_parser("build", help="regenerate the pages (the default)")
    r = sub.add_parser(
        "record", help="run a command, add provenance, write docs/data/NAME.json",
        usage=f"{COMMAND} record [--data-dir DIR] [--overwrite] NAME -- CMD ...",
    )  # fmt: skip
    for p in (parser, b):
        p.add_argument("--data-dir", default=str(DATA_DIR), help="folder of JSON files (default docs/data)")
        p.add_argument("--out-dir", default=str(DOCS_DIR), help="where the pages go (default docs)")
        p.add_argument("--readme", default=str(README), help="README with figures markers (default README.md)")
        p.add_argument("--no-readme", action="store_true", help="leave the README alone")
    r.add_argument("--data-dir", default=str(DATA_DIR), help="folder of JSON files (default docs/data)")
    r.add_argument("--overwrite", action="store_true", help="replace an existing NAME.json")
    r.add_argument("name", help="file stem in the data folder, e.g. bench_online")
    r.add_argument("cmd", nargs=argparse.REMAINDER, help="the command, after --")
    args = parser.parse_args(argv)
    try:
        if args.action == "record":
            cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
            path = record(args.name, cmd, args.data_dir, overwrite=args.overwrite)
            code = json.loads(path.read_text(encoding="utf-8")).get("exit_code", 0)
            print(f"wrote {path}" + (f" (the command exited with status {code})" if code else ""),
                  file=sys.stderr)  # fmt: skip
            return 0
        written = build(args.data_dir, args.out_dir, None if args.no_readme else args.readme)
    except DocsError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    for path in written:
        print(f"wrote {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
