"""Shared fixtures: the real recordings in ``../shared/data`` (skipped when absent)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("BCI_VALENCE_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))


def _require(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"real data not available: {path} is absent (needs ../shared/data)")
    return path


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The ``../shared/data`` folder."""
    return _require(SHARED_DATA)


@pytest.fixture(scope="session")
def faced_root(shared_data: Path) -> Path:
    """FACED root in the release's layout (sub000-sub099)."""
    return _require(shared_data / "faced")


@pytest.fixture(scope="session")
def eeglab_set(shared_data: Path) -> Path:
    """EEGLAB's 32-channel sample recording (.set with .fdt)."""
    return _require(shared_data / "eeglab" / "eeglab_data.set")


@pytest.fixture(scope="session")
def xdf_file(shared_data: Path) -> Path:
    """A real 8-channel 1000 Hz OpenBCI XDF recording without channel labels."""
    return _require(shared_data / "xdf" / "openbci_8ch_1000hz.xdf")
