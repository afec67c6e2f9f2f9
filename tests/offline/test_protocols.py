"""Evaluation protocols: the clip folds, the figures on constructed data with known answers,
fold models in a bundle, and the protocol commands on real FACED subjects."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from bci_valence.constants import CLIP_LABELS, CLIP_VALENCE_GROUP, EMOTION_CLASSES
from bci_valence.model.bundle import (
    BundleConfig,
    BundleError,
    ModelBundle,
    default_bundle_path,
)
from bci_valence.model.fold_models import PROTOCOLS_FILE, FoldModel
from bci_valence.model.networks import (
    ClassifierSettings,
    DEClassifier,
    LinearProjection,
)
from offline import training as T

LABELS = np.asarray(CLIP_LABELS)
GROUP = np.asarray(CLIP_VALENCE_GROUP)
COORDS = np.linspace(-1.0, 1.0, 9)
KEYS = ("protocol", "bacc", "kappa", "valence_auc_window", "valence_auc_subject_clip", "clip_r_axis",
        "clip_r_ratings", "clip_r_ratings_p", "subject_r_ratings", "ci95", "n_folds", "subjects")


# ----------------------------------------------------------------------------- folds


def test_three_folds_hold_out_one_clip_of_every_class():
    fold = T.clip_folds(LABELS, 3)
    tests = T.protocol_test_clips("unseen-clips", LABELS, 3)
    assert len(tests) == 3
    # every clip is held out by exactly one fold
    assert sorted(np.concatenate(tests).tolist()) == list(range(28))
    for f, clips in enumerate(tests):
        assert set(fold[clips]) == {f}
        # each fold holds out every class; one clip of each, neutral's 4th joins fold 0
        counts = np.bincount(LABELS[clips], minlength=9)
        assert counts.min() == 1, (f, counts)
        assert counts.sum() == (10 if f == 0 else 9)
        # and trains on every class too
        train = np.setdiff1d(np.arange(28), clips)
        assert set(LABELS[train]) == set(range(9))
    assert [c.tolist() for c in T.protocol_test_clips("seen-clips", LABELS)] == [list(range(28))]


def test_two_folds_and_bad_fold_counts():
    tests = T.protocol_test_clips("unseen-clips", LABELS, 2)
    assert all(set(LABELS[c]) == set(range(9)) for c in tests)
    for bad in (1, 4):
        with pytest.raises(ValueError, match=f"n_folds={bad}: expected 2 to 3"):
            T.clip_folds(LABELS, bad)
    with pytest.raises(ValueError, match="unknown protocol 'new-clips'"):
        T.protocol_test_clips("new-clips", LABELS)


def _clip_signature_data(n_sub: int = 4, seed: int = 0) -> np.ndarray:
    """z whose feature (channel c, band 0) is 1 only while clip c plays (plus noise elsewhere)."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n_sub, 28, 30, 32, 5)).astype(np.float32) * 0.1
    z[..., 0] = 0.0
    for c in range(28):
        z[:, c, :, c, 0] = 1.0
    return z


def test_every_clip_is_predicted_by_a_fold_that_never_saw_it():
    z = _clip_signature_data()
    fits = T.fit_fold_projections(z, COORDS, LABELS, "unseen-clips", T.Readout("ridge", alpha=1e-3))
    for test, w, _ in fits:
        train = np.setdiff1d(np.arange(28), test)
        # the clip-identity features of held-out clips never varied in the fold's training
        # data: the fitted map has exactly zero weight on them, and nonzero on the seen ones
        assert np.all(w[test, 0] == 0.0)
        assert np.all(np.abs(w[train, 0]) > 0)
    settings = T.TrainSettings(progress=False, folds=T.FoldSettings(n_members=0))
    folds = T.train_fold_models(z, LABELS, COORDS, "unseen-clips", 1e-3, settings)
    valence, proba = T.predict_folds(folds, z, LABELS)
    assert proba is None and valence.shape == (4, 28, 3)
    # each clip's prediction is the output of the fold that held it out
    for fold in folds:
        clips = list(fold.test_clips)
        means = z[:, clips].reshape(4, len(clips), 3, 10, 32, 5).mean(axis=3)
        np.testing.assert_allclose(valence[:, clips], fold.project(means))


def test_prediction_refuses_folds_that_do_not_cover_every_clip_once():
    proj = LinearProjection()
    z = _clip_signature_data(n_sub=1)
    with pytest.raises(ValueError, match=r"clips \[27\] in no fold"):
        T.predict_folds([FoldModel(tuple(range(27)), proj)], z, LABELS)
    with pytest.raises(ValueError, match=r"clips \[0\] in several"):
        T.predict_folds([FoldModel(tuple(range(28)), proj), FoldModel((0,), proj)], z, LABELS)


def test_readouts_are_linear_maps():
    from sklearn.cross_decomposition import PLSRegression

    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 12))
    y = x @ rng.normal(size=12) + 0.5 + rng.normal(size=200)
    w, b = T.Readout("pls", n_components=2).fit(x, y)
    reference = PLSRegression(n_components=2, scale=False).fit(x, y).predict(x).ravel()
    np.testing.assert_allclose(x @ w + b, reference, atol=1e-10)
    w, b = T.Readout("ridge", alpha=0.0).fit(x, y)
    np.testing.assert_allclose(w, np.linalg.lstsq(np.c_[x, np.ones(200)], y, rcond=None)[0][:12], atol=1e-8)
    assert T.Readout.of(0.1) == T.Readout("ridge", alpha=0.1)
    assert T.Readout.of({"method": "pls", "n_components": 3}).label == "PLS 3 components"
    with pytest.raises(ValueError, match="'ridge' or 'pls', got 'lasso'"):
        T.Readout("lasso")
    with pytest.raises(ValueError, match="n_components >= 1, got 0"):
        T.Readout("pls", n_components=0)


# ----------------------------------------------------------------------------- metrics


def test_binary_auc_known_values():
    assert T.binary_auc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]) == pytest.approx(0.75)
    assert T.binary_auc([1, 2, 3, 4], [0, 0, 1, 1]) == 1.0
    assert T.binary_auc([4, 3, 2, 1], [0, 0, 1, 1]) == 0.0
    assert T.binary_auc([1, 1, 1, 1], [0, 1, 0, 1]) == 0.5  # ties count one half
    assert math.isnan(T.binary_auc([1, 2], [1, 1]))
    with pytest.raises(ValueError, match="score has 3 values, positive 2"):
        T.binary_auc([1, 2, 3], [0, 1])


def _perfect(n_sub: int = 5):
    """Valence equal to the class coordinate, ratings a rising map of it, probabilities one-hot."""
    valence = np.broadcast_to(COORDS[LABELS][None, :, None], (n_sub, 28, 3)).copy()
    ratings = np.broadcast_to(3.5 + 2 * COORDS[LABELS][None, :], (n_sub, 28)).copy()
    proba = np.zeros((n_sub, 28, 3, 9))
    proba[..., :] = np.eye(9)[LABELS][None, :, None, :]
    return valence, ratings, proba


def test_figures_of_perfect_predictions():
    valence, ratings, proba = _perfect()
    f = T.valence_figures(valence, ratings, LABELS, COORDS, GROUP, proba)
    for key in ("bacc", "kappa", "valence_auc_window", "valence_auc_subject_clip", "clip_r_axis",
                "clip_r_ratings", "subject_r_ratings"):
        assert f[key] == pytest.approx(1.0), key
    # a valence that runs against the ratings
    g = T.valence_figures(-valence, ratings, LABELS, COORDS, GROUP)
    assert g["valence_auc_window"] == 0.0 and g["clip_r_ratings"] == pytest.approx(-1.0)


def test_figures_with_known_intermediate_values():
    valence, ratings, proba = _perfect(n_sub=2)
    # subject 1 predicts every class as class 0: BACC = mean recall = (1 + 1/9) / 2 = 5/9
    proba[1] = 0.0
    proba[1, ..., 0] = 1.0
    # subject 1's valence is the reverse of the truth: its own r is -1, the mean over subjects 0
    valence[1] = -valence[1]
    f = T.valence_figures(valence, ratings, LABELS, COORDS, GROUP, proba)
    assert f["bacc"] == pytest.approx(5 / 9)
    assert f["subject_r_ratings"] == pytest.approx(0.0)
    # per subject x clip AUC: 24 positive/negative clips per subject, subject 0 ranks them
    # perfectly, subject 1 reversed; pooled, every positive of subject 0 beats every negative,
    # of subject 1 none: AUC = 0.5 (its windows too)
    assert f["valence_auc_subject_clip"] == pytest.approx(0.5)
    # a subject with constant ratings has no r and is left out of the mean
    ratings[1] = 4.0
    assert T.valence_figures(valence, ratings, LABELS, COORDS, GROUP)["subject_r_ratings"] == pytest.approx(1.0)


def test_permutation_p_and_bootstrap_interval():
    valence, ratings, proba = _perfect()
    out = T.protocol_metrics(valence, ratings, LABELS, COORDS, GROUP, proba, n_permutations=999, n_bootstrap=50)
    # no permutation of 28 clips reaches r = 1: p = 1 / (1 + 999)
    assert out["clip_r_ratings_p"] == pytest.approx(1 / 1000)
    # identical subjects: every resample gives the same figures
    assert set(out["ci95"]) == set(T.PROTOCOL_FIGURES)
    for key, (low, high) in out["ci95"].items():
        assert low == pytest.approx(out[key]) and high == pytest.approx(out[key]), key
    # unrelated valence: p is far from significance, and intervals contain the estimate
    rng = np.random.default_rng(3)
    noise = rng.normal(size=valence.shape)
    out = T.protocol_metrics(noise, ratings + rng.normal(size=ratings.shape), LABELS, COORDS, GROUP,
                             n_permutations=999, n_bootstrap=200, seed=1)
    assert out["clip_r_ratings_p"] > 0.01
    for key in ("valence_auc_window", "subject_r_ratings"):
        low, high = out["ci95"][key]
        assert low <= out[key] <= high and high > low


def test_valence_scale_known_values():
    # each clip's three windows: its group's value -1, 0 or +1 (times 2), then -0.3, 0, +0.3 around it
    per_clip = 2.0 * GROUP.astype(float)
    valence = np.broadcast_to(per_clip[None, :, None] + np.array([-0.3, 0.0, 0.3])[None, None, :], (4, 28, 3))
    scale = T.valence_scale(valence, GROUP)
    assert scale["window_noise_sd"] == pytest.approx(0.3)
    assert scale["positive_minus_negative"] == pytest.approx(4.0)


# ----------------------------------------------------------------------------- bundle


def _fold_bundle(n_members: int = 1) -> ModelBundle:
    torch.manual_seed(0)
    arch = ClassifierSettings(d_model=8, depth=1)

    def fold(clips):
        proj = LinearProjection()
        with torch.no_grad():
            proj.weight.normal_()
            proj.bias.fill_(0.5)
        return FoldModel(tuple(int(c) for c in clips), proj, [DEClassifier(arch).eval() for _ in range(n_members)])

    folds = {"unseen-clips": [fold(c) for c in T.protocol_test_clips("unseen-clips", LABELS)],
             "seen-clips": [fold(range(28))]}
    protocols = {p: {"folds": [list(f.test_clips) for f in fs], "train_subjects": "0-3", "n_members": n_members,
                     "classifier": arch.to_dict()} for p, fs in folds.items()}
    config = BundleConfig(class_coordinates=dict(zip(EMOTION_CLASSES, COORDS.tolist())), protocols=protocols)
    return ModelBundle(config, LinearProjection(), [], fold_models=folds)


def test_fold_models_round_trip(tmp_path: Path):
    bundle = _fold_bundle()
    path = bundle.save(tmp_path / "b")
    assert (path / PROTOCOLS_FILE).is_file()
    loaded = ModelBundle.load(path, device="cpu")
    assert loaded.config.protocols == bundle.config.protocols
    z = _clip_signature_data(n_sub=2)
    for protocol in ("seen-clips", "unseen-clips"):
        v0, p0 = T.predict_folds(bundle.fold_models(protocol), z, LABELS)
        v1, p1 = T.predict_folds(loaded.fold_models(protocol), z, LABELS)
        np.testing.assert_array_equal(v0, v1)
        np.testing.assert_array_equal(p0, p1)
    # saving a loaded bundle elsewhere keeps its fold models
    again = ModelBundle.load(loaded.save(tmp_path / "c"), device="cpu")
    assert [f.test_clips for f in again.fold_models("unseen-clips")] == [
        f.test_clips for f in bundle.fold_models("unseen-clips")]


def test_fold_model_errors_name_the_problem(tmp_path: Path):
    plain = ModelBundle(BundleConfig(class_coordinates=dict.fromkeys(EMOTION_CLASSES, 0.0)), LinearProjection())
    path = plain.save(tmp_path / "plain")
    assert not (path / PROTOCOLS_FILE).exists()
    with pytest.raises(BundleError, match="has no unseen-clips models"):
        ModelBundle.load(path).fold_models("unseen-clips")
    path = _fold_bundle().save(tmp_path / "b")
    (path / PROTOCOLS_FILE).unlink()
    with pytest.raises(BundleError, match="protocols.safetensors"):
        ModelBundle.load(path).fold_models("unseen-clips")
    data = json.loads((path / "bundle.json").read_text())
    data["protocols"]["new-clips"] = data["protocols"]["seen-clips"]
    (path / "bundle.json").write_text(json.dumps(data))
    with pytest.raises(BundleError, match=r"unknown protocol\(s\) \['new-clips'\]"):
        ModelBundle.load(path)


def test_shipped_bundle_carries_both_protocols():
    bundle = ModelBundle.load(default_bundle_path(), device="cpu")
    assert set(bundle.config.protocols) == {"seen-clips", "unseen-clips"}
    folds = bundle.fold_models("unseen-clips")
    assert len(folds) == 3 and all(f.members for f in folds)
    figures = bundle.config.metrics["protocols"]
    for protocol in ("seen-clips", "unseen-clips"):
        assert set(KEYS[1:9]) <= set(figures[protocol])
    assert figures["validation_subjects"] == "80-99"
    # the shipped fold models are small
    assert (default_bundle_path() / PROTOCOLS_FILE).stat().st_size < 3_000_000


# ----------------------------------------------------------------------------- real data


def test_evaluate_protocol_cli_on_the_default_bundle(faced_root, capsys):
    from bci_valence.cli import main

    code = main(["evaluate", "--faced-root", str(faced_root), "--subjects", "80-83", "--protocol", "both",
                 "--permutations", "99", "--bootstrap", "20", "--no-progress"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    assert out["protocols"] == ["seen-clips", "unseen-clips"]
    for protocol in out["protocols"]:
        rec = out[protocol]
        assert set(KEYS) <= set(rec), set(KEYS) - set(rec)
        assert rec["protocol"] == protocol and rec["subjects"] == "80-83"
        assert rec["in_sample_subjects"] is None
        assert set(rec["ci95"]) == set(T.PROTOCOL_FIGURES)
        assert 0 < rec["clip_r_ratings_p"] <= 1
        assert rec["window_noise_sd"] > 0
    assert out["unseen-clips"]["n_folds"] == 3 and out["seen-clips"]["n_folds"] == 1
    # how the bundle's main models were chosen travels with the figures
    selection = out["unseen-clips"]["selection"]
    assert selection["validation_subjects"] == "80-99" and selection["readout"]["method"] == "pls"
    assert "stage_selection" not in selection  # the shipped stages were fixed, not chosen
    assert selection["protocol_models"]["unseen-clips"]["stages"] == ["baseline", "augment", "distill"]


@pytest.mark.slow
def test_train_protocol_reproduces_its_figures(faced_root, tmp_path, capsys):
    settings = T.TrainSettings(
        progress=False, classifier=ClassifierSettings(d_model=8, depth=1), ridge_alphas=(1e-2, 1.0),
        pls_components=(2,),
        folds=T.FoldSettings(epochs=1, n_permutations=99, n_bootstrap=20),
    )
    lines: list[str] = []
    summary = T.run_protocol_training(faced_root, range(6), range(80, 83), tmp_path / "b", settings,
                                      console=lines.append)
    bundle = ModelBundle.load(summary["bundle"], device="cpu")
    assert summary["readout"] in ({"method": "ridge", "alpha": 1e-2}, {"method": "ridge", "alpha": 1.0},
                                  {"method": "pls", "n_components": 2})
    assert bundle.config.projection["method"] == summary["readout"]["method"]
    assert bundle.config.protocols["unseen-clips"]["projection"] == summary["readout"]
    assert "unseen-clips" in bundle.config.projection["chosen_by"]
    # the main classifier is the base bundle's
    assert bundle.config.n_members == ModelBundle.load(default_bundle_path()).config.n_members
    for protocol in ("seen-clips", "unseen-clips"):
        recorded = bundle.config.metrics["protocols"][protocol]
        measured = T.evaluate_protocol(bundle, faced_root, range(80, 83), protocol, n_permutations=99,
                                       n_bootstrap=20, progress=False)
        for key in ("bacc", "kappa", "valence_auc_window", "valence_auc_subject_clip", "clip_r_axis",
                    "clip_r_ratings", "clip_r_ratings_p", "subject_r_ratings"):
            assert measured[key] == pytest.approx(recorded[key], abs=1e-9), (protocol, key)
        for key, interval in recorded["ci95"].items():
            assert measured["ci95"][key] == pytest.approx(interval), (protocol, key)
    assert any("unseen-clips" in line for line in lines)
    with pytest.raises(ValueError, match="overlap"):
        T.run_protocol_training(faced_root, range(3), range(2, 4), tmp_path / "x", settings)
    settings_no_val = replace(settings, ridge_alpha=None)
    with pytest.raises(ValueError, match="alpha must be fixed"):
        T.run_protocol_training(faced_root, range(3), [], tmp_path / "y", settings_no_val)
