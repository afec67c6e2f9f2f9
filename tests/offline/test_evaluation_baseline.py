"""Evaluation figures beside frontal alpha asymmetry, and intervals over subjects and clips."""

from __future__ import annotations

import json

import numpy as np
import pytest

from bci_valence.constants import BAND_NAMES, CLIP_LABELS, CLIP_VALENCE_GROUP, FACED_CHANNELS
from offline.training.metrics import CI95_OVER, frontal_alpha_asymmetry, protocol_metrics
from offline.training.protocols import fai_figures

LABELS = np.asarray(CLIP_LABELS)
GROUP = np.asarray(CLIP_VALENCE_GROUP)
COORDS = np.linspace(-1.0, 1.0, 9)
F3, F4 = FACED_CHANNELS.index("F3"), FACED_CHANNELS.index("F4")
ALPHA = BAND_NAMES.index("alpha")


def _de(seed: int, planted: float, n_sub: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """DE (n_sub, 28, 32, 30, 5) whose F4 − F3 alpha difference carries ``planted`` × valence group."""
    rng = np.random.default_rng(seed)
    de = rng.normal(0.0, 0.5, (n_sub, 28, 32, 30, 5)) + rng.normal(0, 2.0, (n_sub, 1, 1, 1, 1))
    de[:, :, F4, :, ALPHA] += planted * GROUP[None, :, None] / 2
    ratings = np.broadcast_to(3.5 + 1.5 * GROUP[None, :], (n_sub, 28)) + rng.normal(0, 0.3, (n_sub, 28))
    return de, ratings


def test_fai_is_twice_the_alpha_de_difference_centred_per_subject():
    de, _ = _de(0, planted=0.0, n_sub=3)
    fai = frontal_alpha_asymmetry(de, center=False)
    assert fai.shape == (3, 28, 30)
    assert fai == pytest.approx(2 * (de[:, :, F4, :, ALPHA] - de[:, :, F3, :, ALPHA]))
    # DE = 0.5 ln(2 pi e var): twice the DE difference is the log power ratio
    var3, var4 = 2.0, 5.0
    de[0, 0, F3, 0, ALPHA] = 0.5 * np.log(2 * np.pi * np.e * var3)
    de[0, 0, F4, 0, ALPHA] = 0.5 * np.log(2 * np.pi * np.e * var4)
    assert frontal_alpha_asymmetry(de, center=False)[0, 0, 0] == pytest.approx(np.log(var4) - np.log(var3))
    centred = frontal_alpha_asymmetry(de)
    assert np.abs(centred.mean(axis=(1, 2))).max() < 1e-12
    assert np.allclose(centred - frontal_alpha_asymmetry(de, center=False),
                       -frontal_alpha_asymmetry(de, center=False).mean(axis=(1, 2), keepdims=True))
    with pytest.raises(ValueError, match="F3"):
        frontal_alpha_asymmetry(de, channels=["X"] * 32)


def test_fai_figures_planted_asymmetry_and_null():
    de, ratings = _de(1, planted=1.0)
    f = fai_figures(de, ratings, LABELS, COORDS, GROUP, n_permutations=499, n_bootstrap=100)
    assert f["valence_auc_subject_clip"] > 0.9 and f["clip_r_ratings"] > 0.8 and f["clip_r_ratings_p"] < 0.01
    assert f["ci95_over"] == list(CI95_OVER) and f["ci95"]["valence_auc_subject_clip"][0] > 0.7
    assert "bacc" not in f and "window_noise_sd" in f
    de, ratings = _de(1, planted=0.0)
    f = fai_figures(de, ratings, LABELS, COORDS, GROUP, n_permutations=499, n_bootstrap=100)
    assert 0.35 < f["valence_auc_subject_clip"] < 0.65 and f["clip_r_ratings_p"] > 0.05
    low, high = f["ci95"]["valence_auc_subject_clip"]
    assert low < 0.5 < high


def test_intervals_resample_clips_too():
    """Identical subjects with clip-to-clip variation: an interval over subjects alone has no
    width; resampling clips gives it one, and it still contains the estimate."""
    rng = np.random.default_rng(4)
    per_clip = COORDS[LABELS] + rng.normal(0, 0.8, 28)
    valence = np.broadcast_to(per_clip[None, :, None], (6, 28, 3)).copy()
    ratings = np.broadcast_to(3.5 + 2 * COORDS[LABELS][None, :], (6, 28)).copy()
    out = protocol_metrics(valence, ratings, LABELS, COORDS, GROUP, n_permutations=99, n_bootstrap=300)
    assert out["ci95_over"] == ["subjects", "clips"]
    for key in ("clip_r_axis", "clip_r_ratings", "valence_auc_window"):
        low, high = out["ci95"][key]
        assert high - low > 0.05, key
        assert low <= out[key] <= high, key


def test_evaluate_prints_ci95_over_and_the_fai_baseline(faced_root, capsys):
    from bci_valence.cli import main

    code = main(["evaluate", "--faced-root", str(faced_root), "--subjects", "80-82", "--protocol",
                 "unseen-clips", "--permutations", "99", "--bootstrap", "30", "--no-progress"])
    assert code == 0
    rec = json.loads(capsys.readouterr().out)
    assert rec["ci95_over"] == ["subjects", "clips"]
    base = rec["baseline_fai"]
    valence_keys = {"valence_auc_window", "valence_auc_subject_clip", "clip_r_axis", "clip_r_ratings",
                    "clip_r_ratings_p", "clip_r_axis_p", "subject_r_ratings", "ci95", "ci95_over", "window_noise_sd",
                    "positive_minus_negative"}
    assert valence_keys <= set(rec) and set(base) == valence_keys
    assert set(base["ci95"]) == set(rec["ci95"]) - {"bacc", "kappa"}
    for key, (low, high) in base["ci95"].items():
        assert low <= base[key] <= high, key


def test_evaluate_without_protocol_has_the_fai_baseline(faced_root, capsys):
    from bci_valence.cli import main

    assert main(["evaluate", "--faced-root", str(faced_root), "--subjects", "80-81", "--no-progress"]) == 0
    rec = json.loads(capsys.readouterr().out)
    keys = {"clip_r_axis", "clip_r_ratings", "clip_r_release_valence", "sample_r", "second_r"}
    assert set(rec["baseline_fai"]) == keys and keys <= set(rec)
    assert all(-1 <= rec["baseline_fai"][k] <= 1 for k in keys)
    # not the model's figures: the baseline is computed from F3/F4 alone
    assert rec["baseline_fai"]["clip_r_axis"] != pytest.approx(rec["clip_r_axis"])
