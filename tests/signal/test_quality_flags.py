"""Quality flags: non-finite channels without numpy warnings, and the rate check."""

from __future__ import annotations

import warnings

import numpy as np

from bci_valence.signal.quality import (
    BAD_FLAGS,
    QualityFlag,
    assess_window,
    undersampled,
)


def test_an_all_nan_channel_is_flagged_without_a_numpy_warning() -> None:
    raw = np.random.default_rng(0).normal(0, 20, (4, 250))
    raw[1] = np.nan
    filtered = raw.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        flags = assess_window(raw, filtered)
        everything = assess_window(np.full((4, 250), np.nan))
    assert QualityFlag.NONFINITE in flags and QualityFlag.FLAT in flags  # a channel without signal
    assert QualityFlag.NONFINITE in everything


def test_undersampled_is_nyquist_below_the_top_band() -> None:
    assert undersampled(64.0, 47.0) and undersampled(90.0, 47.0)
    assert not undersampled(94.0, 47.0) and not undersampled(128.0, 47.0)
    assert QualityFlag.UNDERSAMPLED & BAD_FLAGS
    assert QualityFlag.UNDERSAMPLED.value == 1 << 9  # the output format: never renumbered
