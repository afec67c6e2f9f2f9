"""The nested outer cross-validation of the unseen-clips readout: fold membership, selection,
standardisation disjoint from the predicted clip, and the command on real FACED subjects."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from bci_valence.constants import CLIP_LABELS, CLIP_VALENCE_GROUP
from offline.studies.nested_unseen import (
    KINDS,
    fai_centred,
    fold_features,
    main,
    run_nested,
    standardize_from,
)
from offline.studies.readout_ensembles import (
    ENSEMBLES,
    choose_ensemble,
    ensemble_label,
    ensemble_valence,
    rank_candidates,
    to_windows,
)
from offline.studies.unseen_variants import VARIANTS, VariantData, predict_held_out
from offline.training import protocol_test_clips, standardize_subjects

COORDS = np.array([-0.82, -1.11, -0.57, -0.32, -0.06, 0.38, 0.73, 0.70, 1.06])
LABELS = np.asarray(CLIP_LABELS)
GROUP = np.asarray(CLIP_VALENCE_GROUP)
TESTS = protocol_test_clips("unseen-clips", LABELS)


def _index(name: str) -> int:
    return [v[0] for v in VARIANTS].index(name)


LOW_BANDS = _index("ridge, alpha 0.1, features: delta+theta+alpha")
GAMMA = _index("ridge, alpha 0.1, features: gamma")


def _planted(n_sub: int = 12, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """DE whose gamma band (only) carries each clip's valence group; ratings that follow it."""
    rng = np.random.default_rng(seed)
    de = rng.normal(size=(n_sub, 28, 32, 30, 5))
    de += rng.normal(size=(n_sub, 1, 32, 1, 5)) * 3  # subject offsets (what standardisation removes)
    de[:, :, :8, :, 4] += 0.8 * GROUP[None, :, None, None]
    ratings = 3.5 + 1.5 * GROUP[None, :] + rng.normal(scale=0.5, size=(n_sub, 28))
    return de, ratings


@pytest.mark.slow
@pytest.mark.timeout(60)
def test_selection_is_nested_and_finds_the_planted_readout() -> None:
    de, ratings = _planted()
    subjects = list(range(100, 112))
    # the worse variant first: a selection that kept the first candidate would fail
    res = run_nested(de, ratings, subjects, COORDS, variants=[LOW_BANDS, GAMMA], shipped=None,
                     n_outer=3, n_inner=2, n_permutations=50, n_bootstrap=30, progress=False)
    folds = res["outer_folds"]
    assert len(folds) == 3
    tested = [s for f in folds for s in f["test_subjects"]]
    assert sorted(tested) == subjects  # every subject reported exactly once
    for f in folds:
        test, sel = set(f["test_subjects"]), set(f["selection_subjects"])
        assert not test & sel and test | sel == set(subjects)
        inner = [s for fold in f["inner_folds"] for s in fold]
        assert sorted(inner) == sorted(sel) and not test & set(inner)
    gamma, low = VARIANTS[GAMMA][0], VARIANTS[LOW_BANDS][0]
    for mode in ("all", "disjoint"):
        r = res["results"][mode]
        assert [f["fold"] for f in r["folds"]] == [1, 2, 3]
        for f in r["folds"]:
            scores = f["inner_scores"]
            assert f["chosen"] == max(scores, key=scores.get) == gamma
            assert scores[gamma] > 0.9 and 0.3 < scores[low] < 0.7
            assert f["nested"]["valence_auc_subject_clip"] == pytest.approx(f["outer_auc"][gamma])
            assert f["nested"]["valence_auc_subject_clip"] > 0.9
            assert f["nested"]["ci95_over"] == ["subjects", "clips"]
            assert "shipped" not in f
        assert r["chosen_counts"] == {gamma: 3}
        s = r["summary"]["nested"]["valence_auc_subject_clip"]
        assert s["mean"] == pytest.approx(np.mean(s["folds"])) and s["min"] <= s["mean"] <= s["max"]
        assert s["ci95"][0] <= s["mean"] <= s["ci95"][1]
        # frontal alpha asymmetry carries nothing here (alpha is noise)
        assert abs(r["summary"]["fai"]["valence_auc_subject_clip"]["mean"] - 0.5) < 0.15
    assert set(res["difference"]) == {"nested", "ensemble", "fai"}
    # the readout ensemble is chosen on the inner folds: every setting scored, the best kept
    labels = [ensemble_label(k, a) for k, a in ENSEMBLES if k <= 2]
    assert res["ensembles"] == [ensemble_label(k, a) for k, a in ENSEMBLES]
    for mode in ("all", "disjoint"):
        r = res["results"][mode]
        for f in r["folds"]:
            choice = f["ensemble_choice"]
            assert list(choice["inner_scores"]) == labels  # only as many members as candidates
            assert choice["inner_score"] == max(choice["inner_scores"].values())
            assert choice["setting"] == ensemble_label(choice["size"], choice["aggregation"])
            assert choice["members"][0] == f["chosen"] and len(choice["members"]) == choice["size"]
            assert 0 <= f["ensemble"]["valence_auc_subject_clip"] <= 1
        assert sum(r["ensemble_counts"].values()) == 3
        # pooled: the figure over every outer subject's predictions at once
        s = r["summary"]["nested"]["clip_r_axis"]
        assert -1 <= s["pooled"] <= 1 and s["pooled"] > 0.5


def test_disjoint_standardisation_excludes_the_predicted_clip() -> None:
    rng = np.random.default_rng(1)
    de = rng.normal(size=(3, 28, 32, 30, 5)) + 2.0
    assert np.allclose(standardize_from(de, np.arange(28)), standardize_subjects(de), atol=1e-5)
    k = int(TESTS[1][2])  # a clip predicted by clip fold 1
    shifted = de.copy()
    shifted[:, k] += 40.0  # a large change of the predicted clip's seconds only
    others = np.setdiff1d(np.arange(28), [k])
    before, after = fold_features(de, TESTS, "disjoint"), fold_features(shifted, TESTS, "disjoint")
    # the fold predicting clip k standardizes without it: every other clip is untouched and
    # clip k moves by 40 / (its fold's SD), the statistics unchanged
    assert np.array_equal(before[1][:, others], after[1][:, others])
    train = np.setdiff1d(np.arange(28), TESTS[1])
    x = de.transpose(0, 1, 3, 2, 4)[:, train]
    sd = x.std(axis=(1, 2)) + 1e-6  # (n_sub, 32, 5)
    step = after[1][:, k] - before[1][:, k]
    assert np.allclose(step, (40.0 / sd)[:, None], atol=1e-3)
    # the other folds train on clip k, so their statistics include it
    assert not np.allclose(before[0][:, others], after[0][:, others])
    # standardizing over all seconds lets the predicted clip into every clip's statistics
    assert not np.allclose(fold_features(de, TESTS, "all")[1][:, others],
                           fold_features(shifted, TESTS, "all")[1][:, others])
    # frontal alpha asymmetry's centring likewise
    assert np.allclose(fai_centred(de, train)[:, others], fai_centred(shifted, train)[:, others])


def test_disjoint_predictions_do_not_see_the_predicted_clip() -> None:
    de, ratings = _planted(n_sub=8, seed=2)
    d = VariantData(ratings, LABELS, COORDS, GROUP)
    train, val = np.arange(6), np.arange(6, 8)
    _, _, _, fitter, seconds = VARIANTS[GAMMA]
    k = int(TESTS[2][0])
    same_fold = np.setdiff1d(TESTS[2], [k])
    shifted = de.copy()
    shifted[7, k] += 25.0  # the predicted subject's clip k only
    for mode, unchanged in (("disjoint", True), ("all", False)):
        p0 = predict_held_out(fitter, d, fold_features(de, TESTS, mode), train, val, TESTS, seconds)
        p1 = predict_held_out(fitter, d, fold_features(shifted, TESTS, mode), train, val, TESTS, seconds)
        # the other clips predicted by the same fold: unaffected only when their standardisation
        # left the predicted clip out
        assert np.allclose(p0[1, same_fold], p1[1, same_fold]) is unchanged
        assert np.array_equal(p0[0], p1[0])  # another subject: never affected


@pytest.mark.slow
@pytest.mark.timeout(60)
def test_command_on_real_subjects(faced_root: Path, tmp_path: Path) -> None:
    from offline.docs import build

    data = tmp_path / "data"
    data.mkdir()
    out = data / "unseen_nested.json"
    assert main(["--faced-root", str(faced_root), "--subjects", "0-11", "--outer-folds", "3",
                 "--inner-folds", "2", "--variants", f"{LOW_BANDS},{GAMMA}", "--bootstrap", "30",
                 "--permutations", "50", "--out", str(out), "--no-progress"]) == 0
    rec = json.loads(out.read_text())
    assert rec["kind"] == "nested_unseen" and rec["subjects"] == "0-11" and "provenance" in rec
    assert "a subset, 2 of the 36" in rec["description"]
    assert rec["shipped"] == "PLS, 3 components"
    for f in rec["outer_folds"]:
        assert not set(f["test_subjects"]) & set(f["selection_subjects"])
    for mode in ("all", "disjoint"):
        for f in rec["results"][mode]["folds"]:
            assert f["chosen"] in rec["variants"]
            assert f["ensemble_choice"]["setting"] in rec["ensembles"]
            for kind in KINDS:
                assert 0 <= f[kind]["valence_auc_subject_clip"] <= 1
                assert -1 <= f[kind]["clip_r_ratings"] <= 1
    # the docs render it: the summary, the per-fold tables, the headline row
    readme = tmp_path / "README.md"
    readme.write_text("<!-- figures:start -->\n<!-- figures:end -->\n")
    build(data, tmp_path / "docs", readme, claims=False)
    page = (tmp_path / "docs" / "results.md").read_text()
    assert "**Across the 3 outer folds**" in page
    assert "**Per outer fold, standardisation from the other clips**" in page
    assert "| 3 | 8-11 |" in page
    fold = rec["results"]["disjoint"]["folds"][2]
    assert f"| 3 | 8-11 | {fold['chosen']} |" in page
    head = readme.read_text()
    auc = rec["results"]["disjoint"]["summary"]["nested"]["valence_auc_subject_clip"]
    assert "Valence AUC on unseen clips of unseen subjects, nested" in head
    from offline.docs import fmt

    assert f"| {fmt(auc['mean'])} (SD {fmt(auc['sd'])}" in head


# ----------------------------------------------------------------------------- readout ensembles


def test_to_windows_brings_any_readout_length_to_three() -> None:
    one_s = np.arange(2 * 28 * 30, dtype=float).reshape(2, 28, 30)
    assert np.allclose(to_windows(one_s), one_s.reshape(2, 28, 3, 10).mean(axis=3))
    whole = np.arange(2 * 28, dtype=float).reshape(2, 28, 1)
    assert np.array_equal(to_windows(whole), np.repeat(whole, 3, axis=2))
    ten_s = np.ones((2, 28, 3))
    assert np.array_equal(to_windows(ten_s), ten_s)
    with pytest.raises(ValueError, match="4 windows"):
        to_windows(np.ones((2, 28, 4)))


def test_ensemble_valence_is_blind_to_each_members_scale() -> None:
    rng = np.random.default_rng(0)
    a, b, c = (rng.normal(size=(4, 28, 3)) for _ in range(3))
    z = [(m - m.mean()) / m.std() for m in (a, b, c)]
    for agg, combine in (("mean", np.mean), ("median", np.median)):
        out = ensemble_valence([a, 10 * b + 3, -5 + 0.1 * c], agg)
        assert np.allclose(out, combine(np.stack(z), axis=0))
    assert np.allclose(ensemble_valence([a], "median"), z[0])
    with pytest.raises(ValueError, match="aggregation"):
        ensemble_valence([a], "max")


def test_rank_candidates_best_first_ties_in_list_order() -> None:
    scores = np.array([0.6, np.nan, 0.7, 0.6, 0.9])
    assert rank_candidates(scores, [0, 1, 2, 3]) == [2, 0, 3, 1]
    assert rank_candidates(scores, [3, 0, 4]) == [4, 3, 0]


def test_choose_ensemble_keeps_the_best_inner_setting() -> None:
    rng = np.random.default_rng(1)
    truth = np.broadcast_to(GROUP[None, :, None].astype(float), (6, 28, 3))
    # three readouts, each right with its own independent noise: their mean beats any one
    preds = {(v, i): truth + rng.normal(scale=2.0, size=truth.shape) for v in range(3) for i in range(2)}

    def score(valence: np.ndarray, i: int) -> float:
        return float(np.corrcoef(valence.ravel(), truth.ravel())[0, 1])

    (size, agg), scores = choose_ensemble([0, 1, 2], preds, 2, score)
    assert list(scores) == [ensemble_label(k, a) for k, a in ENSEMBLES if k <= 3]
    assert scores[ensemble_label(size, agg)] == max(scores.values())
    assert size == 3 and scores[ensemble_label(3, "mean")] > scores[ensemble_label(1, "mean")]
    # one good readout among pure noise: the best-ranked alone
    noise = {(v, i): (truth if v == 0 else rng.normal(size=truth.shape)) for v in range(3) for i in range(2)}
    assert choose_ensemble([0, 1, 2], noise, 2, score)[0] == (1, "mean")
