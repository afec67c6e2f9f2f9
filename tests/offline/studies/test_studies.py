"""The studies on a few real FACED subjects, through the command line, and the claims page."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from bci_valence.cli import main
from offline.docs import load_records
from offline.studies.claims import docs_record, verdict, write_paper_claims
from offline.studies.residual import ResidualSettings, run_residual
from offline.studies.runner import RayOptions
from offline.studies.saturation import SaturationSettings, run_saturation

pytest.importorskip("ray")

TINY = ["--train", "0-3", "--val", "80-83", "--num-cpus", "2", "--no-progress"]


def _printed(capsys) -> dict:
    return json.loads(capsys.readouterr().out)


def test_topography_command(faced_root: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "topo"
    assert main(["study", "topography", "--faced-root", str(faced_root), "--subjects", "80-85",
                 "--out", str(out), "--no-progress"]) == 0
    printed = _printed(capsys)
    res = json.loads((out / "results.json").read_text())
    assert printed["regions"] == res["regions"]
    r = np.array(res["r"])
    assert r.shape == (32, 5) and np.all(np.abs(r) <= 1)
    assert set(res["regions"]) == {"frontal", "central", "temporal", "parietal", "occipital", "mastoid"}
    top = res["top"]
    c, b = res["channels"].index(top["channel"]), res["bands"].index(top["band"])
    assert top["r"] == r[c, b] and abs(top["r"]) == np.abs(r).max()
    assert set(res["arousal_split"]) == {"high", "rest"} and len(res["high_arousal_clips"]) == 9
    # region means are the mean |r| of their channels
    occipital = [res["channels"].index(ch) for ch in ("PO3", "PO4", "Oz", "O1", "O2")]
    assert res["regions"]["occipital"] == pytest.approx(np.abs(r[occipital]).mean())
    assert (out / "topomaps.png").stat().st_size > 10_000
    assert "provenance" in res and (out / "summary.md").is_file()
    # permutation p-values and a verdict that follows from them
    from offline.studies.topography import topography_verdict

    assert res["n_permutations"] == 5000 and set(res["region_p"]) == set(res["regions"])
    assert all(1 / 5001 <= p <= 1 for p in [*res["region_p"].values(), res["top_p"], res["ordering"]["p"]])
    assert all(res["region_p_holm"][k] >= res["region_p"][k] for k in res["region_p"])
    assert res["verdict"] == topography_verdict(res)["verdict"]
    assert res["verdict"] in ("reproduced", "partly", "not reproduced")


def test_probe_command_runs_on_ray_and_resumes(faced_root: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "probe"
    argv = ["study", "probe", "--faced-root", str(faced_root), "--out", str(out), "--n", "9",
            "--epochs", "1", "--n-random", "200", *TINY]
    assert main(argv) == 0
    printed = _printed(capsys)
    res = json.loads((out / "results.json").read_text())
    # 3 configurations x 3 seeds; the correlation is over the configurations' means
    assert len(res["trials"]) == 9 and printed["n_trials"] == 9 and res["n_configurations"] == 3
    for t in res["trials"]:
        assert 0 <= t["bacc"] <= 1 and -1 <= t["encoding"] <= 1 and 0 <= t["encoding_percentile"] <= 100
    assert [c["n_seeds"] for c in res["configurations"]] == [3, 3, 3]
    bacc = [c["bacc"] for c in res["configurations"]]
    enc = [c["encoding"] for c in res["configurations"]]
    assert res["r_encoding_bacc"] == pytest.approx(np.corrcoef(enc, bacc)[0, 1])
    trial_bacc = [t["bacc"] for t in res["trials"]]
    trial_enc = [t["encoding"] for t in res["trials"]]
    assert res["per_trial"]["r_encoding_bacc"] == pytest.approx(np.corrcoef(trial_enc, trial_bacc)[0, 1])
    assert 0 <= res["p_value"] <= 1
    assert (out / "scatter.png").is_file()
    stamps = {p.name: p.stat().st_mtime_ns for p in (out / "trials").glob("*.json")}
    # the same command again: every trial is already there, none runs again
    assert main(argv) == 0
    assert {p.name: p.stat().st_mtime_ns for p in (out / "trials").glob("*.json")} == stamps
    assert _printed(capsys)["r_encoding_bacc"] == pytest.approx(res["r_encoding_bacc"])
    # other settings into the same folder are refused
    other = [*argv]
    other[other.index("--epochs") + 1] = "2"
    with pytest.raises(FileExistsError, match="epochs"):
        main(other)


def test_saturation_and_residual_at_a_small_size(faced_root: Path, tmp_path: Path) -> None:
    sat = run_saturation(
        SaturationSettings(str(faced_root), train="0-3", val="80-83", seeds=2, epochs=1,
                           strategies=("kd_distill", "ensemble2_kd", "kd_mse_random"), baselines=("weak",)),
        tmp_path / "sat", RayOptions(num_cpus=2), progress=False)
    assert sat["n_trials"] == 8
    assert {e["strategy"] for e in sat["effects"]} == {"kd_distill", "ensemble2_kd", "kd_mse_random"}
    ens = [t for t in sat["trials"] if t["strategy"] == "ensemble2_kd"]
    assert all("reference_bacc" in t for t in ens)
    base = {t["seed"]: t["bacc"] for t in sat["trials"] if t["strategy"] == "baseline"}
    kd = {t["seed"]: t["bacc"] for t in sat["trials"] if t["strategy"] == "kd_distill"}
    effect = next(e for e in sat["effects"] if e["strategy"] == "kd_distill")
    assert effect["delta"] == pytest.approx(np.mean([kd[s] - base[s] for s in base]))
    assert sat["n_strategies"] == 2 and (tmp_path / "sat" / "forest.png").is_file()

    res = run_residual(ResidualSettings(str(faced_root), train="0-3", val="80-83", seeds=1, epochs=1,
                                        members=2),
                       tmp_path / "res", RayOptions(num_cpus=2), progress=False)
    assert res["n_trials"] == 6
    unseen = [t for t in res["trials"] if t["kind"].endswith("_unseen")]
    assert len(unseen) == 2 and all(0 <= t["bacc"] <= 1 for t in unseen)
    assert res["ensemble"]["unseen_clips_delta_bacc"] == pytest.approx(unseen[1]["bacc"] - unseen[0]["bacc"])
    kd = next(t for t in res["trials"] if t["kind"] == "kd")
    # the residual has zero mean within every class, so no class-level correlation
    assert abs(kd["r_residual"]) < 1e-6
    assert 0 < kd["class_mean_share"] < 1
    assert "delta_bacc_remove_head" in kd
    assert set(res["ensemble"]) >= {"seed_bacc", "diverse_bacc", "delta_bacc"}

    # both results become docs/data records that the docs generator accepts
    data = tmp_path / "data"
    data.mkdir()
    for r in (sat, res):
        (data / f"study_{r['study']}.json").write_text(json.dumps(docs_record(r)))
    assert set(load_records(data)) == {"study_saturation", "study_residual"}
    page = write_paper_claims(data, tmp_path / "paper-claims.md").read_text()
    assert "not run (no `study_probe.json`)" in page
    assert res["provenance"]["command"] in page


def _probe_record(r: float, p: float, pct: float) -> dict:
    return {"study": "probe", "r_encoding_bacc": r, "p_value": p, "mean_encoding_percentile": pct,
            "n_trials": 36, "settings": {"n": 36}, "trials": [],
            "specificity": {"r_vaxis": r, "r_random_median": 0.1, "r_random_p95": 0.3, "p_rank": 0.001,
                            "n_random": 1000, "percentile_mean": pct, "percentile_ci95": [pct - 3, pct + 3]},
            "provenance": {"command": "bci-valence study probe --paper", "date": "2026-01-01T00:00:00+00:00",
                           "machine": {"cpu": "x", "cores": 2, "gpu": None}}}


def test_claims_page_layout(tmp_path: Path) -> None:
    assert verdict("probe", _probe_record(0.9, 1e-10, 94.0)) == "reproduced"
    (tmp_path / "study_probe.json").write_text(json.dumps(_probe_record(0.9, 1e-10, 94.0)))
    page = write_paper_claims(tmp_path, tmp_path / "out" / "paper-claims.md").read_text()
    assert "r = +0.900" in page and "**reproduced** (rank p = 0.001)" in page
    assert "bci-valence study probe --paper" in page
    assert page.count("| not run |") == 5  # topography, saturation, residual, ensemble, per-stimulus
    assert "Where our setting differs" in page
    # every claim row has its four cells: a '|' inside a cell (as in "|r|") is escaped
    rows = [line for line in page.splitlines() if line.startswith("| ") and "claim |" not in line]
    assert len(rows) == 6
    assert all(len(re.findall(r"(?<!\\)\|", row)) == 5 for row in rows)
