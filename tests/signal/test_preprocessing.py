"""Streaming processors: chunked == one-shot, inputs untouched, known responses."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import signal

from bci_valence.signal.preprocessing import CausalFilter, FilterSettings, Resampler, ResamplerSettings, common_average_reference

pytestmark = pytest.mark.timeout(60)


def _chunked(proc, x: np.ndarray, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    out, i = [], 0
    while i < x.shape[1]:
        n = int(rng.integers(1, 57))
        out.append(proc.process(x[:, i : i + n]))
        i += n
    return np.concatenate(out, axis=1)


@pytest.mark.parametrize("sfreq_in", [1000.0, 128.0, 512.0, 500.0, 250.0])
def test_resampler_chunked_equals_one_shot(sfreq_in):
    x = np.random.default_rng(0).standard_normal((4, int(sfreq_in * 6)))
    before = x.copy()
    one = Resampler(ResamplerSettings(sfreq_in, 250.0), 4).process(x)
    chunked = _chunked(Resampler(ResamplerSettings(sfreq_in, 250.0), 4), x)
    assert np.array_equal(x, before)
    assert one.shape == chunked.shape
    assert one.shape[1] == pytest.approx(x.shape[1] * 250.0 / sfreq_in, abs=1)
    np.testing.assert_allclose(chunked, one, rtol=0, atol=1e-12)


@pytest.mark.parametrize("sfreq_in", [1000.0, 500.0])
def test_resampler_matches_resample_poly(sfreq_in):
    """Integer-delay cases equal scipy's zero-phase resample_poly shifted by the delay."""
    x = np.random.default_rng(2).standard_normal((2, int(sfreq_in * 4)))
    r = Resampler(ResamplerSettings(sfreq_in, 250.0), 2)
    y = r.process(x)
    ref = signal.resample_poly(x, r.up, r.down, axis=1, window=("kaiser", 5.0))
    d = int(round(r.delay_in * r.ratio))
    n = y.shape[1] - 100
    np.testing.assert_allclose(y[:, d + 50 : n], ref[:, 50 : n - d], atol=1e-10)


def test_resampler_keeps_a_sine():
    sf = 128.0
    t = np.arange(int(sf * 8)) / sf
    x = np.sin(2 * np.pi * 10 * t)[None]
    r = Resampler(ResamplerSettings(sf, 250.0), 1)
    y = r.process(x)[0, 500:-100]
    assert np.abs(y).max() == pytest.approx(1.0, abs=0.02)
    spec = np.abs(np.fft.rfft(y * np.hanning(y.size)))
    assert np.fft.rfftfreq(y.size, 1 / 250.0)[spec.argmax()] == pytest.approx(10.0, abs=0.3)


def test_filter_chunked_equals_one_shot_and_removes_mains_and_dc():
    sf = 250.0
    t = np.arange(int(sf * 20)) / sf
    alpha = np.sin(2 * np.pi * 10 * t)
    x = np.vstack([5000 + alpha + 50 * np.sin(2 * np.pi * 50 * t), alpha - 300])
    before = x.copy()
    f = FilterSettings(sfreq=sf, notch_hz=50.0)
    one = CausalFilter(f, 2).process(x)
    chunked = _chunked(CausalFilter(f, 2), x, seed=3)
    assert np.array_equal(x, before)
    np.testing.assert_allclose(chunked, one, atol=1e-9)
    tail = one[:, int(sf * 10) :]
    # DC gone, mains attenuated > 30 dB, alpha passes
    assert np.abs(tail.mean(axis=1)).max() < 0.05
    assert np.abs(tail[0] - tail[1]).max() < 0.05
    assert tail[1].std() == pytest.approx(alpha.std(), rel=0.05)


def test_filter_settings_validate():
    with pytest.raises(ValueError, match="Nyquist"):
        FilterSettings(sfreq=80.0, bandpass=(0.5, 47.0)).sos()
    sos60 = FilterSettings(notch_hz=60.0).sos()
    w, h = signal.sosfreqz(sos60, worN=[60.0], fs=250.0)
    assert np.abs(h[0]) < 1e-3


def test_common_average_reference():
    x = np.random.default_rng(0).standard_normal((2, 5, 7))
    before = x.copy()
    y = common_average_reference(x)
    assert np.array_equal(x, before)
    np.testing.assert_allclose(y.mean(axis=1), 0, atol=1e-12)
    np.testing.assert_allclose(y[:, 1] - y[:, 2], x[:, 1] - x[:, 2])
