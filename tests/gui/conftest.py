"""Fixtures for the GUI tests: offscreen Qt, a temporary settings file, a model bundle."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def _build_small_bundle(folder: Path) -> Path:
    """A random but well-formed bundle (projection + one small classifier)."""
    import torch

    from bci_valence.model.bundle import BundleConfig, ModelBundle
    from bci_valence.constants import EMOTION_CLASSES
    from bci_valence.model.networks import ClassifierSettings, DEClassifier, LinearProjection

    torch.manual_seed(0)
    projection = LinearProjection()
    with torch.no_grad():
        projection.weight.normal_(0.0, 0.05)
    coords = dict(zip(EMOTION_CLASSES, [-0.8, -0.7, -0.6, -0.5, 0.0, 0.6, 0.5, 0.8, 0.7]))
    clf = ClassifierSettings(d_model=16, depth=1)
    config = BundleConfig(class_coordinates=coords, classifier=None)
    try:
        from dataclasses import asdict

        config = BundleConfig(class_coordinates=coords, classifier=asdict(clf))
        members = [DEClassifier(clf)]
    except Exception:  # noqa: BLE001 - projection-only bundle
        members = []
    return ModelBundle(config, projection, members).save(folder)


@pytest.fixture(scope="session")
def bundle_path(tmp_path_factory) -> str:
    """The shipped default bundle ("" = default) or, while none is shipped, a small one."""
    from bci_valence.model.bundle import ModelBundle

    try:
        ModelBundle.load(None)
        return ""
    except Exception:  # noqa: BLE001
        return str(_build_small_bundle(tmp_path_factory.mktemp("bundle") / "small_bundle"))


@pytest.fixture()
def settings_file(tmp_path) -> str:
    """An INI file standing in for the user's QSettings."""
    return str(tmp_path / "settings.ini")
