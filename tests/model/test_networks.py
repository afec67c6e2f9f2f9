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
