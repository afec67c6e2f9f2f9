"""Where windows end: the hop in samples, exact, with one rounding rule everywhere."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from bci_valence.signal.window_timing import WindowTiming


def test_a_fractional_hop_stays_exact_and_four_hops_make_a_second():
    timing = WindowTiming(sfreq=250.0, hop_s=0.25, window_samples=250, context_samples=824)
    assert timing.hop_samples == Fraction(125, 2)
    assert timing.period == (2, 125)
    assert timing.effective_hop_s == pytest.approx(0.25, abs=0)
    starts = timing.starts(9)
    assert starts.tolist() == [0, 63, 125, 188, 250, 313, 375, 438, 500]
    assert np.all(starts[4:] - starts[:-4] == 250)  # windows a second apart fall on samples
    assert timing.window_end(0) == timing.n_input == 1074


@pytest.mark.parametrize("hop_s", [0.02, 0.1, 0.25, 0.3, 0.123, 1.0, 2.5])
def test_window_count_agrees_with_window_ends(hop_s):
    timing = WindowTiming(250.0, hop_s, 250, 824)
    for n_times in range(0, 4000, 13):
        k = timing.n_windows(n_times)
        assert timing.window_end(k) > n_times
        if k:
            assert timing.window_end(k - 1) <= n_times


def test_the_rounding_repeats_with_the_period():
    """Half-up rounding: window k + q starts exactly p samples after window k."""
    timing = WindowTiming(200.0, 0.0125 * 3, 200, 100)  # 7.5 samples
    q, p = timing.period
    k = np.arange(50)
    assert np.all(timing.offset(k + q) - timing.offset(k) == p)


def test_invalid_timings_are_refused_with_the_argument_named():
    with pytest.raises(ValueError, match="hop_s"):
        WindowTiming(250.0, 0.0, 250, 0)
    with pytest.raises(ValueError, match="sfreq"):
        WindowTiming(float("nan"), 0.25, 250, 0)
    with pytest.raises(ValueError, match="less than one sample"):
        WindowTiming(10.0, 0.05, 10, 0)
    with pytest.raises(ValueError, match="window_samples"):
        WindowTiming(250.0, 0.25, 0, 0)


def test_to_dict_reports_the_effective_hop():
    d = WindowTiming(250.0, 0.25, 250, 824).to_dict()
    assert d["hop_samples"] == 62.5 and d["effective_hop_s"] == 0.25 and d["context_samples"] == 824
