"""Torch DE against an independent MNE reference, the FFT variant, devices."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from bci_valence.constants import FACED_BANDS
from bci_valence.signal.de import BandFilterBank, de_sequence, variance_to_de
from bci_valence.signal.filter_design import FeatureSettings
from bci_valence.signal.streaming_de import StreamingBandVariance


def _reference_de(data: np.ndarray, sfreq: float, starts: np.ndarray, window: int) -> np.ndarray:
    """Filter the whole recording with MNE, then 0.5·ln(2πe·var) per window."""
    import mne

    out = []
    for low, high in FACED_BANDS.values():
        filtered = mne.filter.filter_data(
            data, sfreq, low, high, method="fir", phase="zero", fir_design="firwin", verbose="error"
        )
        var = np.stack([filtered[:, s : s + window].var(axis=-1) for s in starts])
        out.append(0.5 * np.log(2 * np.pi * np.e * var))
    return np.stack(out, axis=-1)


@pytest.fixture(scope="module")
def eeglab_data(eeglab_set):
    import mne

    raw = mne.io.read_raw_eeglab(eeglab_set, preload=True, verbose="error")
    return raw.get_data(), raw.info["sfreq"]


def test_de_matches_mne_reference_on_eeglab(eeglab_data):
    data, sfreq = eeglab_data
    settings = FeatureSettings(sfreq=sfreq, device="cpu")
    de, starts = de_sequence(data.astype(np.float32), settings, hop_s=1.0)
    assert de.dtype == np.float32 and de.shape[1:] == (32, 5)
    reference = _reference_de(data, sfreq, starts, settings.window_samples)
    relative = np.abs(de - reference) / np.abs(reference)
    assert relative.max() < 1e-3, relative.max()


def test_fft_variant_agrees_with_fir(eeglab_data):
    data, sfreq = eeglab_data
    fir, starts = de_sequence(data, FeatureSettings(sfreq=sfreq, device="cpu"))
    fft_bank = BandFilterBank(FeatureSettings(sfreq=sfreq, method="fft", device="cpu"))
    windows = np.stack([data[:, s : s + fft_bank.window_samples] for s in starts])
    fft = fft_bank.differential_entropy(windows).numpy()
    # Same quantity, different estimator (1-Hz bins in a 1-s window): measured here
    # r = 0.90 0.82 0.99 0.93 0.92 for delta..gamma; alpha, where the bins are many,
    # agrees best.
    r = [np.corrcoef(fir[..., b].ravel(), fft[..., b].ravel())[0, 1] for b in range(5)]
    assert min(r) > 0.75, r
    assert r[2] > 0.95, r


def test_sine_lands_in_its_band():
    sfreq = 250.0
    bank = BandFilterBank(FeatureSettings(sfreq=sfreq, device="cpu"))
    t = np.arange(bank.n_input) / sfreq
    x = np.sin(2 * np.pi * 10.0 * t)[None, None, :]  # 10 Hz: alpha
    variance = bank.band_variance(x)[0, 0].numpy()
    assert np.argmax(variance) == list(FACED_BANDS).index("alpha")
    assert variance[2] == pytest.approx(0.5, rel=0.02)  # a unit sine has variance 1/2


def test_input_is_not_mutated_and_length_is_checked():
    bank = BandFilterBank(FeatureSettings(device="cpu"))
    x = torch.randn(3, 32, bank.n_input)
    before = x.clone()
    bank.differential_entropy(x)
    assert torch.equal(x, before)
    with pytest.raises(ValueError, match=f"must have {bank.n_input} samples"):
        bank(torch.randn(1, 32, bank.n_input - 1))


def test_settings_are_validated():
    with pytest.raises(ValueError, match="Nyquist"):
        FeatureSettings(sfreq=80.0)
    with pytest.raises(ValueError, match="method"):
        FeatureSettings(method="wavelet")


def test_variance_to_de():
    var = torch.tensor([1.0 / (2 * np.pi * np.e)])
    assert variance_to_de(var).item() == pytest.approx(0.0, abs=1e-6)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")
def test_cpu_cuda_parity():
    x = torch.randn(8, 32, BandFilterBank(FeatureSettings(device="cpu")).n_input)
    cpu = BandFilterBank(FeatureSettings(device="cpu")).differential_entropy(x)
    cuda = BandFilterBank(FeatureSettings(device="cuda")).differential_entropy(x.cuda())
    torch.testing.assert_close(cuda.cpu(), cpu, rtol=1e-4, atol=1e-4)


def test_windows_per_block_fit_the_block():
    bank = BandFilterBank(FeatureSettings(device="cpu"))
    # 250-sample hops in a 4096-point block: the first window needs 1074 points, then
    # each further one 250 more.
    assert bank.windows_per_block(250, n_fft=4096) == 13 == bank.windows_per_block(250)
    assert bank.windows_per_block(250, n_fft=2048) == 4
    assert bank.windows_per_block(250, n_fft=1074) == 1
    assert bank.windows_per_block(63) == (4096 - 1074) // 63 + 1


@pytest.mark.parametrize("hop", [250, 63])
def test_blocked_continuous_de_equals_independent_windows(hop):
    """Overlap-save blocks give every window the value its own filtered context gives."""
    bank = BandFilterBank(FeatureSettings(device="cpu"))
    n_windows = 2 * bank.windows_per_block(hop) + 3  # three blocks, the last one short
    rng = np.random.default_rng(1)
    data = rng.standard_normal((4, (n_windows - 1) * hop + bank.n_input)).astype(np.float32)
    with torch.inference_mode():
        blocked = bank.continuous_de(data, hop, n_windows=n_windows)
        single = bank.differential_entropy(bank.sliding_windows(data, hop))
    assert blocked.shape == (n_windows, 4, 5)
    torch.testing.assert_close(blocked, single, rtol=1e-5, atol=1e-5)


def test_de_sequence_threads_do_not_change_values():
    rng = np.random.default_rng(2)
    data = rng.standard_normal((8, 250 * 120)).astype(np.float32)
    settings = FeatureSettings(device="cpu")
    one, starts = de_sequence(data, settings, hop_s=0.5)
    two, starts_two = de_sequence(data, settings, hop_s=0.5, workers=2, batch_size=7)
    np.testing.assert_array_equal(starts, starts_two)
    np.testing.assert_allclose(two, one, rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="workers"):
        de_sequence(data, settings, workers=0)


def test_flat_channel_has_zero_variance_not_nan():
    bank = BandFilterBank(FeatureSettings(device="cpu"))
    x = torch.zeros(1, 2, bank.n_input)
    x[0, 1] = torch.randn(bank.n_input)
    variance = bank.band_variance(x)
    assert torch.all(variance[0, 0] == 0.0)
    assert torch.all(variance[0, 1] > 0.0)


def _windows_of(data: np.ndarray, ends, n_input: int):
    return [data[:, e - n_input : e] for e in ends]


def test_streaming_variance_equals_whole_windows_on_eeglab(eeglab_data):
    """Filtering only the new samples of each hop gives each window's own FIR variance."""
    data, sfreq = eeglab_data
    settings = FeatureSettings(sfreq=sfreq, device="cpu")
    bank = BandFilterBank(settings)
    streaming = StreamingBandVariance(settings, n_channels=data.shape[0])
    signal = (data * 1e6).astype(np.float32)
    hop = sfreq / 4  # 32 samples at 128 Hz; 62/63 alternate at 250 Hz
    ends = [bank.n_input + int(round(k * hop)) for k in range(60)]
    got = np.stack(
        [streaming.update([("s", w, e, 0)])[0] for w, e in zip(_windows_of(signal, ends, bank.n_input), ends)]
    )
    with torch.inference_mode():
        expected = bank.band_variance(np.stack(_windows_of(signal, ends, bank.n_input))).double().numpy()
    np.testing.assert_allclose(got, expected, rtol=2e-5)


def test_streaming_variance_restarts_on_segment_and_skipped_windows():
    settings = FeatureSettings(device="cpu")
    bank = BandFilterBank(settings)
    streaming = StreamingBandVariance(settings, n_channels=3)
    rng = np.random.default_rng(4)
    first = rng.standard_normal((3, 4000)).astype(np.float32)
    second = 10 * rng.standard_normal((3, 4000)).astype(np.float32)
    n = bank.n_input

    def expected(x, e):
        with torch.inference_mode():
            return bank.band_variance(x[None, :, e - n : e])[0].double().numpy()

    for e in (n, n + 63, n + 125):
        got = streaming.update([("s", first[:, e - n : e], e, 0)])[0]
        np.testing.assert_allclose(got, expected(first, e), rtol=2e-5)
    # same indices, new segment (a restart): nothing of the first signal may remain
    e = n + 188
    got = streaming.update([("s", second[:, e - n : e], e, 1)])[0]
    np.testing.assert_allclose(got, expected(second, e), rtol=2e-5)
    # a jump of more than one window (windows skipped): filtered anew
    e = n + 1000
    got = streaming.update([("s", second[:, e - n : e], e, 1)])[0]
    np.testing.assert_allclose(got, expected(second, e), rtol=2e-5)


def test_streaming_variance_batches_streams_independently():
    settings = FeatureSettings(device="cpu")
    bank = BandFilterBank(settings)
    streaming = StreamingBandVariance(settings, n_channels=2)
    rng = np.random.default_rng(5)
    signals = {name: rng.standard_normal((2, 3000)).astype(np.float32) * (i + 1) for i, name in enumerate("abc")}
    n = bank.n_input
    for k in range(6):
        # streams at different hops in one call: one matrix product per band and hop
        batch = [(name, x[:, e - n : e], e, 0) for name, x in signals.items() for e in [n + k * (62 + 10 * ord(name) % 3)]]
        got = streaming.update(batch)
        for row, (name, window, e, _) in enumerate(batch):
            with torch.inference_mode():
                want = bank.band_variance(window[None])[0].double().numpy()
            np.testing.assert_allclose(got[row], want, rtol=2e-5)
    window = signals["a"][:, :n]
    with pytest.raises(ValueError, match="appears twice"):
        streaming.update([("a", window, n, 0), ("a", window, n, 0)])
    with pytest.raises(ValueError, match="windows must be"):
        streaming.update([("a", np.zeros((2, 10), np.float32), 10, 0)])
    with pytest.raises(ValueError, match="FIR"):
        StreamingBandVariance(FeatureSettings(method="fft"))


@pytest.mark.parametrize("hop_s", [0.25, 0.3, 1.0])
def test_de_sequence_cuts_the_windows_its_timing_names(hop_s):
    """The offline kernel receives the window timing: a hop that is not whole samples
    (0.25 s at 250 Hz) gives the very windows the online processor cuts."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((3, 2600)).astype(np.float32)
    bank = BandFilterBank(FeatureSettings())
    timing = bank.window_timing(hop_s)
    de, start = de_sequence(x, timing=timing, batch_size=2, workers=2)
    assert len(de) == timing.n_windows(x.shape[1]) > 2
    assert np.array_equal(start, timing.starts(len(de)) + bank.context_samples // 2)
    ref = np.stack([
        bank.differential_entropy(torch.from_numpy(x[None, :, s : s + timing.n_input])).numpy()[0]
        for s in timing.starts(len(de))
    ])
    np.testing.assert_allclose(de, ref, atol=4 * np.finfo(np.float32).eps * np.abs(ref).max())
