"""Sections of the pages: one renderer per kind of record (:mod:`offline.docs`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ._base import DocsError, _flatten, _get, fmt, table
from ._nested import _is_nested, section_nested
from ._selected import _is_selected_inside, section_selected, selected_title

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


def _section_for(name: str, rec: dict[str, Any]) -> Section:
    if _is_nested(rec):
        return section_nested
    if _is_selected_inside(rec):
        return section_selected
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
    if _is_selected_inside(rec):
        return selected_title(rec)
    if _is_evaluation(rec):
        return f"Evaluation on FACED subjects {rec.get('subjects', '')} ({name})".replace("  ", " ")
    return name.replace("_", " ").capitalize()
