"""Tests for offline.docs: pages generated from docs/data JSON, and recording a command's JSON."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from bci_valence.provenance import provenance
from offline.docs import (
    FIGURES_END,
    FIGURES_START,
    REPO,
    DocsError,
    anchor,
    build,
    load_records,
    main,
    record,
)


def _prov(command: str) -> dict:
    p = provenance(command)
    p["date"] = "2026-01-02T03:04:05+00:00"  # fixed, so the pages can be compared
    return p


def _write(folder: Path, name: str, obj: dict) -> None:
    (folder / f"{name}.json").write_text(json.dumps(obj), encoding="utf-8")


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    d = tmp_path / "docs" / "data"
    d.mkdir(parents=True)
    _write(d, "vaxis_validation", {
        "axis": {"model": "sentence-transformers/all-MiniLM-L6-v2", "layer": -2, "pooling": "mean",
                 "method": "contrast"},
        "class_coordinates": {"anger": -0.8161, "joy": 0.6959},
        "faced": {"pearson_r": 0.94257, "pearson_p": 0.000141, "spearman_r": 0.8833, "n_classes": 9,
                  "source": "ratings", "n_subjects": 100, "class_mean_valence": {"anger": 1.5289, "joy": 4.5278}},
        "vader": {"n_words": 7520, "n_positive": 3347, "n_negative": 4173, "spearman_r": 0.5985,
                  "roc_auc": 0.83768},
        "provenance": _prov("bci-valence axis validate --figure v.png"),
    })  # fmt: skip
    _write(d, "eval_validation", {
        "bacc": 0.40912, "kappa": 0.33421, "weighted_f1": 0.4078, "accuracy": 0.41, "n_samples": 1680,
        "clip_r_axis": 0.6661, "ensemble_clip_r_axis": 0.9093, "subjects": "80-99", "in_sample_subjects": "",
        "bundle": str(REPO / "runs" / "val"), "extra": {"note": "kept"},
        "provenance": _prov("bci-valence evaluate --subjects 80-99 --bundle runs/val"),
    })  # fmt: skip
    _write(d, "study_saturation", {
        "title": "Saturation across layers",
        "description": "Per-layer agreement.",
        "tables": [{"title": "by layer", "columns": ["layer", "r"], "rows": [[1, 0.5], [2, 0.75]]}],
        "headline": {"saturation layer": 2},
        "provenance": _prov("bci-valence study saturation"),
    })  # fmt: skip
    _write(d, "unseen_clips", {
        "r": 0.123456, "n": 12, "nested": {"ok": True, "values": [1, 2, 3]},
        "seen-clips": {"bacc": 0.3912, "valence_auc_subject_clip": 0.6693, "subjects": "80-99"},
        "unseen-clips": {"bacc": 0.1523, "valence_auc_subject_clip": 0.6215, "subjects": "80-99"},
        "provenance": _prov("bci-valence evaluate --protocol both"),
    })  # fmt: skip
    _write(d, "bench_online", {
        "machine": {"cpu_count": 2, "load_average_1min_at_start": 0.7, "load_average_1min_at_end": 1.1},
        "compute": [{"device": "cpu", "bundle": "shipped", "steps": 300, "p50_ms": 2.99, "p99_ms": 4.131,
                     "mean_ms": 3.2}],
        "end_to_end": {"stream": "32 ch x 250 Hz", "steps": 100, "to_our_outlet_p50_ms": 10.1,
                       "to_our_outlet_p99_ms": 14.42, "to_our_outlet_max_ms": 14.9, "note": "warm-up excluded"},
        "capacity": {"device": "cpu", "tick_s": 0.25, "max_streams": 96,
                     "by_streams": [{"streams": 8, "tick_p50_ms": 6.0, "tick_p99_ms": 16.0, "real_time": True},
                                    {"streams": 128, "tick_p50_ms": 106.0, "tick_p99_ms": 263.0,
                                     "real_time": False}],
                     "lsl_check": {"streams": 64, "seconds": 20, "keeps_up": True, "lost_samples": 0}},
        "provenance": _prov("python benchmarks/online.py"),
    })  # fmt: skip
    _write(d, "bench_soak", {
        "minutes": 10.0, "stream": "32 EEG ch + counter x 1000 Hz", "bundle": "shipped",
        "samples_received": 600123, "samples_lost": 0, "samples_reordered": 0, "steps": 2383,
        "steps_expected": 2382, "rss_growth_percent": 0.14, "rss_flat_within_5_percent": True, "zero_lost": True,
        "provenance": _prov("python benchmarks/soak.py --minutes 10"),
    })  # fmt: skip
    _write(d, "bench_features", {
        "benchmark": "features", "quick": False,
        "input": {"n_windows": 235, "n_channels": 32, "sfreq": 250.0, "source": "eeglab"},
        "host": {"torch_threads": 1},
        "ours": {"cpu": {"release_exact_continuous_fir": {"windows_per_s": 7766.2, "us_per_window": 128.76,
                                                          "cpu_windows_per_s": 7800.0, "call": "de_sequence(...)"}}},
        "peers": {"torcheeg_band_differential_entropy": {"skipped": "not importable"},
                  "brainflow_get_avg_band_powers": {"windows_per_s": 322.0, "us_per_window": 3107.0}},
        "targets": {"checks": {"torcheeg": {"peer": "torcheeg_band_differential_entropy", "at_least": 500.0,
                                            "measured": None},
                               "brainflow": {"peer": "brainflow_get_avg_band_powers", "at_least": 50.0,
                                             "measured": 21.57, "met": False}}},
        "fft_floor": {"libraries": {"torch": {"4096": {"us_per_window": 90.2, "ns_per_transformed_sample": 1.48}},
                                    "ducc0": {"skipped": "not importable"}}},
        "provenance": _prov("python benchmarks/features.py"),
    })  # fmt: skip
    return d


README_TEXT = f"""# Tool

Intro stays.

{FIGURES_START}
old hand-typed table
{FIGURES_END}

Outro stays.
"""


def test_build_writes_pages_with_figures_and_provenance(data_dir, tmp_path):
    out = tmp_path / "docs"
    readme = tmp_path / "README.md"
    readme.write_text(README_TEXT, encoding="utf-8")
    written = build(data_dir, out, readme, claims=False)
    assert {p.name for p in written} == {"results.md", "benchmarks.md", "README.md"}
    results = (out / "results.md").read_text()
    bench = (out / "benchmarks.md").read_text()
    for page in (results, bench):
        assert page.startswith("<!-- Generated by `python -m offline.docs`")
        assert "2026-01-02T03:04:05+00:00" in page
        assert "cores" in page
    # V-axis: the figures of the JSON, each section with its command.
    assert "- Command: `bci-valence axis validate --figure v.png`" in results
    assert "| FACED: Pearson r, class coordinate vs mean rated valence (ratings, 100 subjects, 9 classes) | 0.943 |" in results
    assert "| VADER words: ROC AUC, positive (3,347) vs negative (4,173) | 0.838 | – |" in results
    assert "| coordinate | -0.816 | 0.696 |" in results
    # Evaluation: known labels, and unknown keys kept.
    assert "| balanced accuracy (9 classes, chance 0.111) | 0.409 |" in results
    assert "| `extra.note` | kept |" in results
    assert "| bundle | runs/val |" in results and str(REPO) not in results  # no machine's folders
    # A file's own tables, title and description; a plain file's scalars.
    assert "## Saturation across layers\n\nPer-layer agreement." in results
    assert "| 2 | 0.75 |" in results
    assert "| `r` | 0.123 |" in results and "| `nested.values` | 1, 2, 3 |" in results
    # Order: V-axis, evaluations, unseen, studies.
    assert results.index("V-axis validation") < results.index("Evaluation") < results.index("Unseen") \
        < results.index("Saturation")
    assert "bench" not in results.split("benchmarks.md")[-1].lower()
    # Benchmarks.
    assert "| cpu | shipped | 300 | 2.99 | 4.13 | 3.2 |" in bench
    assert "| sample pushed → its valence on our outlet | 10.1 | 14.4 | 14.9 |" in bench
    assert "| 128 | 106 | 263 | no |" in bench
    assert "Most streams kept up with: **96**" in bench
    assert "| samples lost / reordered | 0 / 0 |" in bench
    assert "| brainflow | `brainflow_get_avg_band_powers` | 50 | 21.6 |" in bench
    assert "| `torch` | 90.2 (1.48) |" in bench
    assert "skipped: not importable" in bench
    # README: only the text between the markers changes.
    text = readme.read_text()
    assert text.startswith("# Tool\n\nIntro stays.\n\n" + FIGURES_START)
    assert text.endswith(FIGURES_END + "\n\nOutro stays.\n")
    assert "old hand-typed table" not in text
    assert f"| V-axis (shipped language model): FACED class r / VADER word AUC | 0.943 / 0.838 | [results.md](docs/results.md#{anchor('V-axis validation')}) |" in text
    assert "| 0.409 / 0.334 / 0.666, 0.909 |" in text
    assert "| 4.13 ms / 14.4 ms / 96 |" in text
    assert "| – / 21.6× |" in text
    assert "| saturation layer | 2 |" in text
    assert ("| FACED subjects 80-99, seen clips / unseen clips: 9-class BACC; valence AUC, positive vs "
            "negative clips (per subject and clip) | 0.391 / 0.152; 0.669 / 0.622 |") in text
    # Regenerating gives the same pages.
    before = [(out / n).read_text() for n in ("results.md", "benchmarks.md")] + [readme.read_text()]
    build(data_dir, out, readme, claims=False)
    assert before == [(out / n).read_text() for n in ("results.md", "benchmarks.md")] + [readme.read_text()]


def test_headings_link_to_their_anchor(data_dir, tmp_path):
    build(data_dir, tmp_path / "docs", None, claims=False)
    results = (tmp_path / "docs" / "results.md").read_text()
    assert "## V-axis validation" in results
    assert anchor("V-axis validation") == "v-axis-validation"
    assert anchor("Soak: one stream for a long run") == "soak-one-stream-for-a-long-run"


def test_a_file_without_provenance_is_named(data_dir):
    _write(data_dir, "eval_bad", {"bacc": 0.5})
    (data_dir / "broken.json").write_text("{not json")
    with pytest.raises(DocsError) as info:
        load_records(data_dir)
    assert "eval_bad.json: no provenance" in str(info.value)
    assert "broken.json: not readable JSON" in str(info.value)


def test_readme_with_one_marker_is_refused(data_dir, tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(f"# x\n{FIGURES_START}\nno end\n")
    with pytest.raises(DocsError, match="expected '<!-- figures:start -->' followed by"):
        build(data_dir, tmp_path / "docs", readme, claims=False)
    assert readme.read_text() == f"# x\n{FIGURES_START}\nno end\n"


def test_readme_without_markers_is_left_alone(data_dir, tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("# untouched\n")
    written = build(data_dir, tmp_path / "docs", readme, claims=False)
    assert readme.read_text() == "# untouched\n"
    assert readme not in written


def test_record_runs_a_command_and_adds_provenance(tmp_path):
    png = str(tmp_path / "x.png")
    code = f"import json; print('progress line'); print(json.dumps({{'r': 0.5, 'path': {png!r}}}))"
    path = record("eval_tiny", [sys.executable, "-c", code], tmp_path / "data", cwd=tmp_path)
    obj = json.loads(path.read_text())
    assert obj["r"] == 0.5
    assert obj["path"] == "x.png"  # the machine's folder is not kept
    assert obj["provenance"]["command"].startswith("python -c ")
    assert "exit_code" not in obj
    with pytest.raises(DocsError, match="exists; pass --overwrite"):
        record("eval_tiny", [sys.executable, "-c", code], tmp_path / "data", cwd=tmp_path)
    # A command's own provenance is kept; a non-zero exit is recorded with the JSON.
    own = "import json, sys; print(json.dumps({'provenance': {'command': 'mine', 'date': 'd', 'machine': {}}})); sys.exit(1)"
    path = record("eval_tiny", [sys.executable, "-c", own], tmp_path / "data", overwrite=True, cwd=tmp_path)
    obj = json.loads(path.read_text())
    assert obj["provenance"]["command"] == "mine" and obj["exit_code"] == 1


def test_record_refuses_output_without_json_and_bad_names(tmp_path):
    with pytest.raises(DocsError, match="printed no JSON object"):
        record("x", [sys.executable, "-c", "print('hello')"], tmp_path, cwd=tmp_path)
    assert not (tmp_path / "x.json").exists()
    with pytest.raises(DocsError, match="not a plain file stem"):
        record("../x", [sys.executable, "-c", "print('{}')"], tmp_path, cwd=tmp_path)


def test_main_reports_errors_with_status_2(tmp_path, capsys):
    assert main(["--data-dir", str(tmp_path / "absent"), "--out-dir", str(tmp_path), "--no-readme"]) == 2
    assert "does not exist" in capsys.readouterr().err


def _nested_record() -> dict:
    def summ(values, ci):
        return {"folds": values, "mean": sum(values) / len(values), "sd": 0.05, "min": min(values),
                "max": max(values), "ci95": ci}

    def fold(i, chosen, auc, fai):
        return {"fold": i, "test_subjects": f"{10 * i - 10}-{10 * i - 1}", "chosen": chosen,
                "chosen_inner_score": 0.61, "nested": {"valence_auc_subject_clip": auc, "clip_r_ratings": 0.3,
                                                       "subject_r_ratings": 0.1, "clip_r_axis": 0.45,
                                                       "clip_r_axis_p": 0.01,
                                                       "ci95": {"valence_auc_subject_clip": [0.5, 0.7]}},
                "ensemble_choice": {"setting": "top 2 readouts, mean of their z-scored valence"},
                "ensemble": {"valence_auc_subject_clip": 0.64, "clip_r_axis": 0.5},
                "shipped": {"valence_auc_subject_clip": 0.6}, "shipped_inner_rank": 4,
                "fai": {"valence_auc_subject_clip": fai, "clip_r_ratings": -0.1}}

    results = {}
    for mode, (a, b) in {"disjoint": (0.6125, 0.6375), "all": (0.65, 0.67)}.items():
        results[mode] = {
            "standardisation": f"{mode} seconds",
            "folds": [fold(1, "PLS, 3 components", a, 0.51), fold(2, "ridge, alpha 0.1", b, 0.49)],
            "chosen_counts": {"PLS, 3 components": 1, "ridge, alpha 0.1": 1},
            "ensemble_counts": {"top 2 readouts, mean of their z-scored valence": 2},
            "summary": {k: {"valence_auc_subject_clip": summ([a, b], [0.55, 0.69]),
                            "clip_r_axis": {**summ([0.4, 0.5], [0.1, 0.7]), "pooled": 0.47},
                            "clip_r_ratings": summ([0.3, 0.3], [0.1, 0.5]),
                            "subject_r_ratings": summ([0.1, 0.1], [0.0, 0.2])} for k in ("nested", "shipped", "fai")},
        }
    diff = {k: {"valence_auc_subject_clip": {"mean": -0.035, "ci95": [-0.06, -0.01]},
                "clip_r_ratings": {"mean": 0.0, "ci95": [-0.1, 0.1]}} for k in ("nested", "shipped", "fai")}
    return {"title": "Nested unseen", "kind": "nested_unseen", "description": "Outer folds.",
            "subjects": "0-19", "n_outer": 2, "shipped": "PLS, 3 components", "standardisations": ["all", "disjoint"],
            "headline_standardisation": "disjoint", "results": results, "difference": diff,
            "ci95_over": ["subjects", "clips"], "provenance": _prov("python -m offline.studies.nested_unseen")}


def test_nested_record_gives_the_unseen_clips_headline(data_dir, tmp_path):
    _write(data_dir, "unseen_nested", _nested_record())
    rec = json.loads((data_dir / "unseen_clips.json").read_text())
    rec["readout_chosen_on_evaluated_subjects"] = True
    _write(data_dir, "unseen_clips", rec)
    _write(data_dir, "eval_unseen", {"bacc": 0.152, "kappa": 0.0468, "clip_r_axis": 0.481, "subjects": "80-99",
                                      "protocol": "unseen-clips",
                                      "provenance": _prov("bci-valence evaluate --protocol unseen-clips")})
    readme = tmp_path / "README.md"
    readme.write_text(README_TEXT, encoding="utf-8")
    build(data_dir, tmp_path / "docs", readme, claims=False)
    results = (tmp_path / "docs" / "results.md").read_text()
    assert "## Nested unseen\n\nOuter folds." in results
    # summary: the headline standardisation first, then the other
    assert ("| readout chosen on the fold's other subjects | from the other clips | 0.625 (0.05) | 0.613 to 0.637 "
            "| 0.55 to 0.69 |") in results
    assert results.index("from the other clips | 0.625") < results.index("over all seconds | 0.66")
    assert ("| 2 | 10-19 | ridge, alpha 0.1 | 0.61 | 0.637 (0.5 to 0.7) | 0.45 | 0.01 | 0.3 | 0.1 | top 2 readouts, "
            "mean of their z-scored valence | 0.64 | 0.5 | 0.6 | 4 | 0.49 | -0.1 |") in results
    assert "Chosen: PLS, 3 components (1 of 2); ridge, alpha 0.1 (1 of 2)." in results
    assert "Readout ensemble chosen: top 2 readouts, mean of their z-scored valence (2 of 2)." in results
    # the per-stimulus r against the V-axis coordinate: mean (SD), range, interval, pooled
    assert "| 0.45 (0.05) | 0.4 to 0.5 | 0.1 to 0.7 | 0.47 |" in results
    assert "| frontal alpha asymmetry (untrained) | 0.625 | 0.66 | -0.035 (-0.06 to -0.01) |" in results
    text = readme.read_text()
    nested_row = next(line for line in text.splitlines() if "nested: 2 outer folds" in line)
    assert "standardisation from the other clips" in nested_row
    assert ("| 0.625 (SD 0.05, folds 0.613–0.637; 95 % interval 0.55 to 0.69); 0.45 (SD 0.05, folds 0.4–0.5; "
            "95 % interval 0.1 to 0.7; pooled 0.47); 0.3; 0.625 |") in nested_row
    assert "per-stimulus r vs the V-axis coordinate (the same, and pooled over the folds' subjects)" in nested_row
    # an unseen-clips evaluation on one split leaves its per-stimulus r to the nested row; a seen one keeps it
    unseen_eval = next(line for line in text.splitlines() if "| 0.152 / 0.0468" in line)
    assert "per-stimulus r on unseen clips: the nested row" in unseen_eval and "0.481" not in unseen_eval
    assert "| 0.409 / 0.334 / 0.666, 0.909 |" in text
    protocol_row = next(line for line in text.splitlines() if "seen clips / unseen clips" in line)
    assert "readout chosen on these same subjects: optimistic; the nested row is the unseen-clips figure" in protocol_row
    assert text.index(nested_row) < text.index(protocol_row)


def _selected_record() -> dict:
    """``bci-valence evaluate --protocol seen-clips`` of a bundle trained with ``--stages auto``."""
    candidates = [{"stages": ["baseline"], "bacc": 0.39, "kappa": 0.31, "weighted_f1": 0.39},
                  {"stages": ["baseline", "augment"], "bacc": 0.41, "kappa": 0.33, "weighted_f1": 0.4}]
    return {
        "protocol": "seen-clips", "bacc": 0.412, "kappa": 0.338, "valence_auc_subject_clip": 0.655,
        "clip_r_axis": 0.5, "ci95": {"bacc": [0.35, 0.46], "kappa": [0.27, 0.39],
                                     "valence_auc_subject_clip": [0.52, 0.77]},
        "ci95_over": ["subjects", "clips"], "baseline_fai": {"valence_auc_subject_clip": 0.551,
                                                             "ci95": {"valence_auc_subject_clip": [0.45, 0.64]}},
        "subjects": "80-99", "models": "main models, trained on sub 0-79", "in_sample_subjects": None,
        "selection": {"selection_train_subjects": "0-59", "validation_subjects": "60-79", "train_subjects": "0-79",
                      "stages": ["baseline", "augment"], "readout": {"method": "pls", "n_components": 5},
                      "readout_chosen_by": "validation valence_auc_subject_clip under unseen-clips (3 clip folds)",
                      "stage_selection": {"chosen": ["baseline", "augment"], "candidates": candidates,
                                          "chosen_by": "highest validation BACC on sub 60-79 among the cumulative "
                                                       "stage sets (ties: the shorter), models trained on sub 0-59"}},
        "provenance": _prov("bci-valence evaluate --bundle runs/nested-recipe --protocol seen-clips"),
    }  # fmt: skip


def test_stages_chosen_inside_the_training_subjects_get_a_section_and_a_headline_row(data_dir, tmp_path):
    _write(data_dir, "eval_nested_recipe", _selected_record())
    rec = json.loads((data_dir / "unseen_clips.json").read_text())
    rec["readout_chosen_on_evaluated_subjects"] = True
    _write(data_dir, "unseen_clips", rec)
    readme = tmp_path / "README.md"
    readme.write_text(README_TEXT, encoding="utf-8")
    build(data_dir, tmp_path / "docs", readme, claims=False)
    results = (tmp_path / "docs" / "results.md").read_text()
    title = "Classifier and readout chosen inside sub 0-79, reported on sub 80-99"
    assert f"## {title}\n" in results
    assert "Nothing in this run was chosen or trained on sub 80-99." in results
    assert "| baseline, augment | 0.41 | 0.33 | 0.4 | chosen |" in results
    assert "| 9-class balanced accuracy (chance 0.111) | 0.412 | 0.35 to 0.46 |" in results
    assert ("| valence AUC, positive vs negative clips, per subject × clip | 0.655 | 0.52 to 0.77 | 0.551 "
            "| 0.45 to 0.64 |") in results
    text = readme.read_text()
    row = next(line for line in text.splitlines() if line.startswith(f"| {title}"))
    assert "stages chosen: baseline, augment" in row
    assert "| 0.412 (0.35 to 0.46) / 0.338 (0.27 to 0.39); 0.655 (0.52 to 0.77) |" in row
    assert f"(docs/results.md#{anchor(title)})" in row
    protocol_row = next(line for line in text.splitlines() if "seen clips / unseen clips" in line)
    assert "the rows chosen inside sub 0-79 choose nothing on these subjects" in protocol_row
    # not also listed as a plain evaluation
    assert "Evaluation on FACED subjects 80-99 (eval_nested_recipe)" not in text
    # the unseen-clips protocol of the same choices: its own section, its fold models named
    unseen = {**_selected_record(), "protocol": "unseen-clips",
              "models": "unseen-clips fold models (3), trained on sub 0-59"}
    unseen["selection"] = {**unseen["selection"], "protocol_models": {
        "unseen-clips": {"train_subjects": "0-59", "stages": ["baseline", "augment", "distill"]}}}
    _write(data_dir, "eval_nested_recipe_unseen", unseen)
    build(data_dir, tmp_path / "docs", readme, claims=False)
    results = (tmp_path / "docs" / "results.md").read_text()
    assert f"## {title}, on clips the models never saw\n" in results
    assert "The fold models' classifiers have the fold settings' stages (baseline, augment, distill)" in results
    row = next(line for line in readme.read_text().splitlines() if line.startswith(f"| {title}, on clips"))
    assert "unseen-clips fold models (3), trained on sub 0-59, each clip predicted by a model that never saw it" in row


def test_aggregation_renders_as_a_grid_and_a_headline_row():
    from offline.docs import aggregation_lines, headline_rows

    rec = {"subjects": "80-99", "baseline_fai": {"valence_auc_subject_clip": 0.55}, "aggregation": [
        {"seconds": s, "group_size": g, "valence_auc": 0.6 + 0.01 * g + 0.001 * s, "ci95": [0.4, 0.9],
         "ci95_over": ["people", "clips"]} for s in (10, 30) for g in (1, 5)]}  # fmt: skip
    text = "\n".join(aggregation_lines(rec))
    assert "| 10 s | 0.62 [0.4, 0.9] | 0.66 [0.4, 0.9] |" in text.replace("0.620", "0.62").replace("0.660", "0.66")
    assert "over people and clips" in text and "0.55" in text
    (row,) = [r for r in headline_rows({"unseen_aggregation": rec}) if "How much is enough" in r[0]]
    assert "1 person × 10 s" in row[0] and "5 people × 30 s" in row[0] and row[1].startswith("0.62 / 0.68")
