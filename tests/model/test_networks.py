"""The fused ensemble equals its members run one by one."""

from __future__ import annotations

import pytest
import torch

from bci_valence.model.networks import ClassifierSettings, DEClassifier, StackedEnsemble


@pytest.mark.parametrize(
    ("pooling", "depth", "kernel_size"),
    [("flatten", 2, 3), ("mean", 2, 3), ("flatten", 1, 5), ("mean", 0, 3)],
)
@pytest.mark.parametrize("use_numpy", [True, False])
def test_stacked_ensemble_matches_members(pooling, depth, kernel_size, use_numpy):
    """The folded norms, the edge-aware conv bias and the numpy CPU path change nothing
    but rounding."""
    torch.manual_seed(0)
    settings = ClassifierSettings(depth=depth, kernel_size=kernel_size, pooling=pooling)
    members = [DEClassifier(settings).eval() for _ in range(3)]
    for member in members:  # non-trivial norms and positions
        for p in member.parameters():
            p.data.add_(0.1 * torch.randn_like(p))
    x = torch.randn(5, settings.seq_len, settings.n_channels, settings.n_bands)
    with torch.inference_mode():
        expected = torch.stack([m(x) for m in members])
        stacked = StackedEnsemble(members).eval()
        stacked.use_numpy = use_numpy
        fused = stacked(x)
    assert fused.dtype == torch.float32
    torch.testing.assert_close(fused, expected, rtol=1e-5, atol=1e-5)


def test_stacked_ensemble_refuses_mixed_settings():
    members = [DEClassifier(ClassifierSettings(depth=1)), DEClassifier(ClassifierSettings(depth=2))]
    with pytest.raises(ValueError, match="share their settings"):
        StackedEnsemble(members)


def test_default_shapes_are_faced_facts_from_the_constants():
    from bci_valence.constants import EMOTION_CLASSES, FACED_BANDS, FACED_CHANNELS
    from bci_valence.model.networks import LinearProjection

    settings = ClassifierSettings()
    assert (settings.n_channels, settings.n_bands, settings.n_classes) == (
        len(FACED_CHANNELS), len(FACED_BANDS), len(EMOTION_CLASSES)
    )
    assert tuple(LinearProjection().weight.shape) == (len(FACED_CHANNELS), len(FACED_BANDS))
    member = DEClassifier(ClassifierSettings(d_model=8, depth=1)).eval()
    with torch.inference_mode():
        logits = member(torch.zeros(2, settings.seq_len, len(FACED_CHANNELS), len(FACED_BANDS)))
    assert tuple(logits.shape) == (2, len(EMOTION_CLASSES))


@pytest.mark.parametrize(("change", "message"), [
    ({"pooling": "max"}, r"pooling must be one of 'flatten', 'mean'; got 'max'"),
    ({"kernel_size": 4}, r"kernel_size must be odd, got 4"),
    ({"n_channels": 0}, r"n_channels must be >= 1, got 0"),
    ({"depth": 1.5}, r"depth must be a whole number, got 1\.5"),
    ({"dropout": 1.0}, r"dropout must be in \[0, 1\), got 1\.0"),
])  # fmt: skip
def test_classifier_settings_refuse_bad_values_naming_them(change, message):
    with pytest.raises(ValueError, match=message):
        ClassifierSettings(**change)
