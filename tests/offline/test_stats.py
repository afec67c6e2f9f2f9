"""offline.stats on synthetic data: each procedure must tell a planted effect from a null."""

from __future__ import annotations

import numpy as np
import pytest

from offline.stats import (
    correlation_test,
    fdr,
    holm,
    mean_ci,
    paired_test,
    permutation_max_test,
    rank_p,
    two_way_bootstrap,
)

N_CLASSES, N_FEATURES = 9, 40
LABELS = np.repeat(np.arange(N_CLASSES), 3)  # 27 stimuli, 3 per class


def _abs_r(features: np.ndarray):
    """Vectorized |r| of every feature column with the class coordinates of each copy."""
    f = features - features.mean(axis=0)
    f /= np.linalg.norm(f, axis=0)

    def stat(coords: np.ndarray) -> np.ndarray:
        c = coords[:, LABELS]
        c = c - c.mean(axis=1, keepdims=True)
        c /= np.linalg.norm(c, axis=1, keepdims=True)
        return np.abs(c @ f)

    return stat


def _features(seed: int, planted: float) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    coords = rng.standard_normal(N_CLASSES)
    x = rng.standard_normal((len(LABELS), N_FEATURES))
    x[:, 0] += planted * coords[LABELS]
    return coords, x


def test_rank_p_counts_the_null_at_or_above():
    null = np.arange(99, dtype=float)
    assert rank_p(98.0, null) == pytest.approx(2 / 100)
    assert rank_p(200.0, null) == pytest.approx(1 / 100)
    assert rank_p(-1.0, null) == pytest.approx(1.0)
    assert rank_p(0.0, null, "less") == pytest.approx(2 / 100)
    assert np.isnan(rank_p(float("nan"), null))


def test_max_test_finds_a_planted_feature_and_not_a_null_one():
    coords, x = _features(1, planted=3.0)
    res = permutation_max_test(coords, _abs_r(x), n_permutations=999, seed=0)
    assert res.n_permutations == 999 and res.null.shape == (999, N_FEATURES)
    assert res.pvalue_max[0] < 0.01
    # family-wise p is never below the feature's own p
    assert np.all(res.pvalue_max >= res.pvalue - 1e-12)
    coords, x = _features(1, planted=0.0)
    res = permutation_max_test(coords, _abs_r(x), n_permutations=999, seed=0)
    assert res.pvalue_max[0] > 0.05


def test_max_statistic_controls_the_family_wise_error_where_raw_p_does_not():
    any_raw, any_max = 0, 0
    n_sets = 150
    for s in range(n_sets):
        coords, x = _features(100 + s, planted=0.0)
        res = permutation_max_test(coords, _abs_r(x), n_permutations=199, seed=s)
        any_raw += res.pvalue.min() < 0.05
        any_max += res.pvalue_max.min() < 0.05
    # 40 null features: some raw p < 0.05 in most sets; the max-statistic keeps it near 5 %
    assert any_raw / n_sets > 0.5
    assert any_max / n_sets < 0.11


def test_correlation_test_planted_and_null():
    rng = np.random.default_rng(3)
    x = rng.standard_normal(28)
    r, p = correlation_test(x, x + 0.7 * rng.standard_normal(28), n_permutations=1999)
    assert r > 0.6 and p < 0.01
    r, p = correlation_test(x, rng.standard_normal(28), n_permutations=1999)
    assert abs(r) < 0.4 and p > 0.05
    assert np.isnan(correlation_test(x, np.ones(28))[1])


def test_holm_known_values_and_family_wise_error():
    adj = holm([0.01, 0.04, 0.03, 0.5])
    assert adj == pytest.approx([0.04, 0.09, 0.09, 0.5])
    assert holm({"a": 0.001, "b": 0.2}) == pytest.approx({"a": 0.002, "b": 0.2})
    assert np.isnan(holm([0.01, float("nan")])[1]) and holm([0.01, float("nan")])[0] == pytest.approx(0.01)
    rng = np.random.default_rng(0)
    null = rng.uniform(size=(4000, 14))
    assert np.mean(null.min(axis=1) < 0.05) > 0.45  # uncorrected: about half the families
    assert np.mean(np.array([holm(p).min() for p in null]) < 0.05) < 0.06
    # a planted effect survives the correction
    planted = np.concatenate([[1e-5], rng.uniform(size=13)])
    assert holm(planted)[0] < 0.05
    assert fdr([1e-5, 0.5, 0.6])[0] < 0.05 and fdr([0.2, 0.5, 0.6]).min() > 0.05


def test_paired_test_planted_shift_and_null():
    rng = np.random.default_rng(5)
    base = rng.normal(0.3, 0.02, 8)
    res = paired_test(base + 0.02 + rng.normal(0, 0.005, 8), base)
    assert res.n == 8 and res.mean > 0 and res.p < 0.01 and res.p_sign_flip < 0.05
    assert res.ci_low > 0
    res = paired_test(base + rng.normal(0, 0.005, 8), base)
    assert res.p > 0.05 and res.ci_low < 0 < res.ci_high
    # the t-test's error rate under the null
    rates = np.mean([paired_test(rng.standard_normal(6)).p < 0.05 for _ in range(400)])
    assert rates < 0.1
    assert paired_test([0.0, 0.0, 0.0]).p == 1.0
    with pytest.raises(ValueError, match="paired"):
        paired_test([1.0, 2.0], [1.0])


def test_mean_ci_planted_and_null():
    rng = np.random.default_rng(2)
    low, high = mean_ci(rng.normal(70, 10, 18), n_resamples=2000)
    assert 50 < low < 70 < high
    low, high = mean_ci(rng.normal(50, 10, 18), n_resamples=2000)
    assert low < 50 < high


def _subjects_by_stimuli(seed: int, mean: float, stim_sd: float, n_sub: int = 20, n_stim: int = 24) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (mean + rng.normal(0, 0.5, (n_sub, 1)) + rng.normal(0, stim_sd, (1, n_stim))
            + rng.normal(0, 0.5, (n_sub, n_stim)))


def test_two_way_bootstrap_planted_and_null():
    data = _subjects_by_stimuli(0, mean=1.0, stim_sd=0.5)
    res = two_way_bootstrap(lambda s, c: float(data[np.ix_(s, c)].mean()), *data.shape, n_resamples=500)
    assert res["over"] == ["subjects", "stimuli"] and res["ci"][0] > 0
    data = _subjects_by_stimuli(0, mean=0.0, stim_sd=0.5)
    res = two_way_bootstrap(lambda s, c: float(data[np.ix_(s, c)].mean()), *data.shape, n_resamples=500)
    assert res["ci"][0] < 0 < res["ci"][1]


def test_two_way_bootstrap_covers_where_subjects_alone_do_not():
    """With stimulus-to-stimulus variation, only the two-way interval covers the population mean."""
    cover = {"subjects": 0, "both": 0}
    n_sets = 120
    for k in range(n_sets):
        data = _subjects_by_stimuli(1000 + k, mean=0.0, stim_sd=1.2)

        def stat(s, c):
            return float(data[np.ix_(s, c)].mean())

        for name, over in (("subjects", ("subjects",)), ("both", ("subjects", "stimuli"))):
            low, high = two_way_bootstrap(stat, *data.shape, n_resamples=200, seed=k, over=over)["ci"]
            cover[name] += low <= 0.0 <= high
    assert cover["both"] / n_sets > 0.85
    assert cover["subjects"] / n_sets < 0.75


def test_two_way_bootstrap_strata_and_mapping_statistics():
    data = _subjects_by_stimuli(4, mean=0.0, stim_sd=0.3, n_stim=6)
    strata = np.array([-1, -1, -1, 1, 1, 1])
    data[:, strata > 0] += 2.0  # planted group difference

    def stat(s, c):
        d = data[np.ix_(s, c)]
        g = strata[c]
        return {"diff": float(d[:, g > 0].mean() - d[:, g < 0].mean()),
                "n_positive": float((g > 0).sum())}

    res = two_way_bootstrap(stat, *data.shape, n_resamples=300, stimulus_strata=strata)
    # every resample keeps three stimuli of each stratum
    assert np.all(res["samples"]["n_positive"] == 3)
    assert res["ci"]["diff"][0] > 1.0
    with pytest.raises(ValueError, match="stratum"):
        two_way_bootstrap(stat, *data.shape, stimulus_strata=strata[:4])
    with pytest.raises(ValueError, match="over"):
        two_way_bootstrap(stat, *data.shape, over=("clips",))
