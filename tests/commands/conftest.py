"""Fixtures of the command tests: a small real model bundle saved to a temporary folder."""

from __future__ import annotations

from pathlib import Path

import pytest

NAMES = ("anger", "disgust", "fear", "sadness", "neutral", "amusement", "inspiration", "joy", "tenderness")


@pytest.fixture(scope="session")
def small_bundle(tmp_path_factory) -> Path:
    """A real :class:`~bci_valence.model.bundle.ModelBundle` (projection + a small untrained
    ensemble, fixed seed), so the whole inference path runs quickly."""
    torch = pytest.importorskip("torch")
    bundle_mod = pytest.importorskip("bci_valence.model.bundle")
    from bci_valence.model.networks import (
        ClassifierSettings,
        DEClassifier,
        LinearProjection,
    )

    torch.manual_seed(0)
    cs = ClassifierSettings(d_model=32, depth=1)
    cfg = bundle_mod.BundleConfig(
        class_coordinates={c: (i - 4) / 4 for i, c in enumerate(NAMES)},
        classifier=cs.to_dict(), n_members=3,
    )  # fmt: skip
    proj = LinearProjection(32, 5)
    with torch.no_grad():
        for p in proj.parameters():
            p.normal_(0.0, 0.1)
    bundle = bundle_mod.ModelBundle(cfg, proj, [DEClassifier(cs) for _ in range(3)])
    return bundle.save(tmp_path_factory.mktemp("bundle") / "b")
