"""The probe study's population (configurations x seeds) and its per-configuration aggregation."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from offline.studies.claims import docs_record, verdict
from offline.studies.common import Arch
from offline.studies.probe import (
    CONFIGURATIONS,
    MIN_SEEDS,
    ProbeSettings,
    across,
    configuration_indices,
    configuration_means,
    population,
)


def test_every_configuration_gets_at_least_three_seeds() -> None:
    trials = population(9, 10)
    assert len(trials) == 27 and len({t["id"] for t in trials}) == 27
    by_config: dict[str, list[dict]] = {}
    for t in trials:
        by_config.setdefault(t["config"], []).append(t)
    assert len(by_config) == 9
    for config, members in by_config.items():
        assert [m["seed"] for m in members] == [0, 1, 2]
        # the seeds of a configuration differ in nothing else
        assert len({(str(m["arch"]), m["epochs"]) for m in members}) == 1
        assert config == f"{Arch(**members[0]['arch']).label()}-e{members[0]['epochs']}"
    assert len(population(4, 10, seeds=5)) == 20


def test_the_population_spans_least_to_most_capacity_and_training() -> None:
    for n in (3, 9, len(CONFIGURATIONS)):
        idx = configuration_indices(n)
        assert idx[0] == 0 and idx[-1] == len(CONFIGURATIONS) - 1
        assert idx == sorted(set(idx)) and len(idx) == n
    trials = population(9, 10)
    first, last = trials[0], trials[-1]
    assert (first["arch"]["kind"], first["epochs"]) == ("linear", 2)  # the least
    assert last["epochs"] == 10 and last["arch"]["depth"] >= 2  # the most
    assert {t["epochs"] for t in trials} == {2, 4, 10}
    with pytest.raises(ValueError, match="configurations"):
        configuration_indices(len(CONFIGURATIONS) + 1)


def test_settings_refuse_fewer_than_three_seeds_or_a_ragged_population() -> None:
    assert ProbeSettings("x").n_configurations == 9
    assert ProbeSettings.paper("x").n_configurations == 12
    with pytest.raises(ValueError, match=f">= {MIN_SEEDS}"):
        ProbeSettings("x", n=18, seeds=2)
    with pytest.raises(ValueError, match="multiple of 3"):
        ProbeSettings("x", n=28)
    with pytest.raises(ValueError, match="3 to"):
        ProbeSettings("x", n=6)


def _rows(seed: int = 0, n_random: int = 50) -> list[dict]:
    rng = np.random.default_rng(seed)
    rows = []
    for c, level in enumerate(np.linspace(0.15, 0.35, 5)):
        for s in range(3):
            bacc = level + rng.normal(0, 0.01)
            rows.append({"config": f"c{c}", "arch": f"a{c}", "epochs": 10, "seed": s, "bacc": bacc,
                         "encoding": 0.2 + bacc + rng.normal(0, 0.02),
                         "encoding_percentile": float(rng.uniform(50, 100)),
                         "random_encoding": list(0.1 + bacc + rng.normal(0, 0.02, n_random))})
    return rows


def test_configuration_means_average_each_configurations_seeds() -> None:
    rows = _rows()
    configs = configuration_means(rows)
    assert [c["config"] for c in configs] == [f"c{i}" for i in range(5)]
    for c in configs:
        own = [r for r in rows if r["config"] == c["config"]]
        assert c["n_seeds"] == 3 and c["seeds"] == [0, 1, 2]
        assert c["bacc"] == pytest.approx(np.mean([r["bacc"] for r in own]))
        assert c["bacc_sd"] == pytest.approx(np.std([r["bacc"] for r in own], ddof=1))
        assert c["encoding"] == pytest.approx(np.mean([r["encoding"] for r in own]))
        assert np.allclose(c["random_encoding"], np.mean([r["random_encoding"] for r in own], axis=0))


def test_the_correlation_is_over_configurations_and_also_per_trial() -> None:
    rows = _rows(seed=3)
    configs = configuration_means(rows)
    over, per_trial = across(configs), across(rows)
    assert over["n"] == 5 and per_trial["n"] == 15
    pr = stats.pearsonr([c["encoding"] for c in configs], [c["bacc"] for c in configs])
    assert over["r_encoding_bacc"] == pytest.approx(pr.statistic)
    assert over["p_value"] == pytest.approx(pr.pvalue)
    assert over["specificity"]["r_vaxis"] == pytest.approx(over["r_encoding_bacc"])
    assert over["specificity"]["n_random"] == 50
    # the interval of the mean percentile is over configurations, not over seeds
    assert over["specificity"]["percentile_mean"] == pytest.approx(np.mean([c["encoding_percentile"] for c in configs]))
    pr_t = stats.pearsonr([r["encoding"] for r in rows], [r["bacc"] for r in rows])
    assert per_trial["r_encoding_bacc"] == pytest.approx(pr_t.statistic)
    assert across(rows[:2])["specificity"] is None and np.isnan(across(rows[:2])["r_encoding_bacc"])


def test_the_record_and_the_claims_row_read_the_configurations() -> None:
    rows = _rows(seed=4)
    configs = configuration_means(rows)
    over = across(configs)
    results = {"study": "probe", "trials": rows, "configurations": configs,
               **{k: v for k, v in over.items() if k != "n"}, "per_trial": across(rows), "n_trials": 15,
               "n_configurations": 5, "seeds_per_configuration": 3, "settings": {},
               "provenance": {"command": "bci-valence study probe", "date": "2026-01-01T00:00:00+00:00",
                              "machine": {}}}
    rec = docs_record(results)
    assert all("random_encoding" not in r for r in rec["trials"] + rec["configurations"])
    titles = [t["title"] for t in rec["tables"]]
    assert titles[0] == "configurations (mean over seeds)" and len(rec["tables"][0]["rows"]) == 5
    assert "across classifiers (every seed its own point)" in titles
    from offline.studies.claims import CLAIMS

    ours, v, _ = CLAIMS["probe"](results)
    assert "across 5 configurations" in ours and "each the mean over 3 seeds (15 classifiers)" in ours
    assert "over the 15 classifiers r = " in ours and v == verdict("probe", results)
