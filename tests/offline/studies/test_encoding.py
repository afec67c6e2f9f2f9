"""The encoding-strength measure on representations with a known answer."""

from __future__ import annotations

import numpy as np
import pytest

from offline.studies.encoding import (
    EncodingSettings,
    encoding_strength,
    heldout_probe_r,
    random_axis_coordinates,
    subject_folds,
)

N_SUB, PER_SUB, DIM, SPACE = 12, 84, 32, 48
# 9 classes with FACED's clip counts, 3 windows per clip
LABELS = np.tile(np.repeat(np.arange(9), np.array([3, 3, 3, 3, 4, 3, 3, 3, 3]) * 3), N_SUB)
GROUPS = np.repeat(np.arange(N_SUB), PER_SUB)


@pytest.fixture(scope="module")
def space() -> dict[str, np.ndarray]:
    """A small 'language model space': 9 class centroids and a unit axis through them."""
    rng = np.random.default_rng(0)
    centroids = rng.standard_normal((9, SPACE))
    center = centroids.mean(axis=0)
    vector = rng.standard_normal(SPACE)
    vector /= np.linalg.norm(vector)
    return {"centroids": centroids, "center": center, "coords": (centroids - center) @ vector,
            "random": random_axis_coordinates(centroids, center, 1000, seed=1)}


def _planted(target: np.ndarray, seed: int, gain: float = 1.0) -> np.ndarray:
    """Noise with one direction carrying ``target[label]`` (standardized)."""
    rng = np.random.default_rng(seed)
    t = (target - target.mean()) / target.std()
    direction = rng.standard_normal(DIM)
    direction /= np.linalg.norm(direction)
    return rng.standard_normal((len(LABELS), DIM)) + gain * np.outer(t[LABELS], direction)


def _orthogonal_to(coords: np.ndarray, seed: int) -> np.ndarray:
    """Class values uncorrelated with ``coords`` over the samples (class-count weighted)."""
    w = np.bincount(LABELS) / len(LABELS)
    c = coords - np.sum(w * coords)
    o = np.random.default_rng(seed).standard_normal(9)
    o = o - np.sum(w * o)
    return o - np.sum(w * o * c) / np.sum(w * c * c) * c


def test_planted_direction_is_found(space) -> None:
    rep = _planted(space["coords"], seed=2)
    out = encoding_strength(rep, LABELS, space["coords"], GROUPS, space["random"])
    assert out["encoding"] > 0.5
    assert out["encoding_percentile"] > 99.0
    assert out["n_random"] == 1000


def test_a_direction_that_is_not_planted_is_not_found(space) -> None:
    # the representation carries another class ordering, uncorrelated with the V-axis's
    rep = _planted(_orthogonal_to(space["coords"], seed=3), seed=4)
    out = encoding_strength(rep, LABELS, space["coords"], GROUPS, space["random"])
    planted = encoding_strength(_planted(space["coords"], seed=4), LABELS, space["coords"], GROUPS,
                                space["random"])
    assert abs(out["encoding"]) < 0.2 < planted["encoding"] - 0.3
    assert out["encoding_percentile"] < 50.0
    # ...which the same measure does find when asked for it
    other = _orthogonal_to(space["coords"], seed=3)
    assert heldout_probe_r(rep, other[LABELS], GROUPS) > 0.5


def test_noise_and_class_identity_alone_score_no_encoding_percentile(space) -> None:
    rng = np.random.default_rng(5)
    noise = encoding_strength(rng.standard_normal((len(LABELS), DIM)), LABELS, space["coords"], GROUPS,
                              space["random"])
    assert abs(noise["encoding"]) < 0.1
    # every class separable, no ordering preferred: any class-level target is decodable,
    # so the r is high but the percentile against random directions is not
    identity = np.eye(9)[LABELS] @ rng.standard_normal((9, DIM)) + 2.0 * rng.standard_normal((len(LABELS), DIM))
    out = encoding_strength(identity, LABELS, space["coords"], GROUPS, space["random"])
    assert out["encoding"] > 0.4
    assert out["encoding_percentile"] < 95.0


def test_probe_is_held_out_by_subject() -> None:
    folds = subject_folds(GROUPS, 2)
    for s in range(N_SUB):
        assert len(set(folds[GROUPS == s])) == 1
    assert set(folds) == {0, 1}
    # a representation that memorizes each subject's targets (subject-specific
    # direction) does not transfer to held-out subjects
    rng = np.random.default_rng(6)
    target = rng.standard_normal(len(LABELS))
    rep = rng.standard_normal((len(LABELS), DIM))
    rep[:, 0] = np.where(GROUPS % 2 == 0, target, -target)
    assert heldout_probe_r(rep, target, GROUPS) < -0.5  # the sign flips across folds


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="1 subject"):
        subject_folds(np.zeros(10), 2)
    with pytest.raises(ValueError, match="random coordinates of shape"):
        encoding_strength(np.zeros((84, 3)), LABELS[:84], np.zeros(9), GROUPS[:84], np.zeros((8, 5)))
    with pytest.raises(ValueError, match="alpha"):
        EncodingSettings(alpha=0)
