"""The docs generator with the studies: table cells, refreshed study tables, the claims row."""

from __future__ import annotations

import json
from pathlib import Path

from offline.docs import FIGURES_END, FIGURES_START, build, table

PROV = {"command": "bci-valence study residual --seeds 5", "date": "2026-01-01T00:00:00+00:00",
        "machine": {"cpu": "x", "cores": 2, "gpu": None}}


def test_a_bar_inside_a_cell_is_escaped_once():
    lines = table(["figure", "value"], [["mean Δ|r| class mean", "a \\|b\\|"]])
    assert lines[2] == "| mean Δ\\|r\\| class mean | a \\|b\\| |"


def _residual_record(gain: float) -> dict:
    rows = []
    for s in range(5):
        base = 0.30 + 0.01 * s
        rows += [{"kind": "task", "seed": s, "r_class_mean": 0.85, "r_residual_rating": 0.05 + 0.01 * s,
                  "delta_bacc_remove": 0.001 * (s - 2)},
                 {"kind": "kd", "seed": s, "r_class_mean": 0.86 + 0.002 * s, "r_residual_rating": 0.05 + 0.01 * s,
                  "delta_bacc_remove": -0.01 - 0.001 * s},
                 {"kind": "seed_ensemble", "seed": s, "bacc": base},
                 {"kind": "diverse_ensemble", "seed": s, "bacc": base + gain + 0.001 * (s % 2)}]
    return {"study": "residual", "trials": rows, "mean_delta_abs_r_residual": 0.0,
            "delta_bacc_remove_task": 0.0,
            "ensemble": {"seed_bacc": 0.32, "diverse_bacc": 0.32 + gain, "seed_residual_correlation": 0.8,
                         "diverse_residual_correlation": -0.1},
            # a stale table from an older record: the pages show tables computed now
            "tables": [{"title": "stale", "columns": ["a"], "rows": [["old"]]}],
            "settings": {"seeds": 5}, "provenance": PROV}


def test_study_sections_and_the_readme_claims_row_follow_the_record(tmp_path: Path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "study_residual.json").write_text(json.dumps(_residual_record(0.03)))
    readme = tmp_path / "README.md"
    readme.write_text(f"# T\n\n{FIGURES_START}\n{FIGURES_END}\n")
    build(data, tmp_path / "docs", readme)
    results = (tmp_path / "docs" / "results.md").read_text()
    assert "**stale**" not in results and "verdict (ensemble) | reproduced" in results
    text = readme.read_text()
    row = next(line for line in text.splitlines() if line.startswith("| The paper's claims"))
    assert "residual: reproduced (class-mean p = " in row and "ensemble: reproduced (p = " in row
    claims = (tmp_path / "docs" / "paper-claims.md").read_text()
    assert "**reproduced** (p = " in claims
    (data / "study_residual.json").write_text(json.dumps(_residual_record(0.0)))
    build(data, tmp_path / "docs", readme)
    assert "ensemble: not reproduced (p = " in readme.read_text()
