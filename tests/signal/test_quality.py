"""Quality flags of a window on synthetic arrays."""

from __future__ import annotations

import numpy as np
import pytest

from bci_valence.signal.quality import BAD_FLAGS, QualityFlag, QualityThresholds, assess_window, flag_names, parse_flags

pytestmark = pytest.mark.timeout(30)


@pytest.fixture
def eeg() -> np.ndarray:
    return np.random.default_rng(1).standard_normal((8, 250)) * 20 + 3000.0  # DC offset


def test_clean_window(eeg):
    before = eeg.copy()
    assert assess_window(eeg) == QualityFlag.NONE
    assert np.array_equal(eeg, before)


def test_nonfinite(eeg):
    eeg[3, 17] = np.nan
    eeg[1, 4] = np.inf
    assert QualityFlag.NONFINITE in assess_window(eeg)


def test_flat(eeg):
    eeg[2] = 42.0
    flags = assess_window(eeg)
    assert QualityFlag.FLAT in flags and QualityFlag.CLIPPED not in flags


def test_clipped(eeg):
    eeg[5] = np.clip(eeg[5], None, 3010.0)
    assert QualityFlag.CLIPPED in assess_window(eeg)


def test_artefact_amplitude(eeg):
    filtered = eeg - eeg.mean(axis=1, keepdims=True)
    assert assess_window(eeg, filtered) == QualityFlag.NONE
    filtered[0, 100] = 5000.0
    assert QualityFlag.ARTEFACT in assess_window(eeg, filtered, QualityThresholds(artefact_uv=500))
    assert QualityFlag.ARTEFACT not in assess_window(eeg, filtered, QualityThresholds(artefact_uv=1e4))


def test_flag_names_roundtrip():
    flags = QualityFlag.GAP | QualityFlag.CALIBRATING | QualityFlag.STALE
    assert flag_names(flags) == ["GAP", "CALIBRATING", "STALE"]
    assert parse_flags("|".join(flag_names(flags))) == flags
    assert parse_flags("") == QualityFlag.NONE
    assert not (QualityFlag.CALIBRATING & BAD_FLAGS)
    with pytest.raises(ValueError, match="unknown quality flag"):
        parse_flags("WOBBLY")
