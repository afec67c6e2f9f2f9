"""The simulated FACED headset: statistics, synthesis, LSL streams, commands."""

from __future__ import annotations

import time

import numpy as np
import pytest

from bci_valence.constants import EMOTION_CLASSES
from bci_valence.constants import FACED_CHANNELS
from bci_valence.streams.simulator import DEFAULT_SCRIPT, HeadsetSynth, SimulatedHeadset, SimulationSettings, load_class_stats, parse_script
from bci_valence.streams.lsl_source import LSLSource
from bci_valence.streams.factory import open_source

pytestmark = pytest.mark.timeout(60)

ALPHA = (8.0, 14.0)


def _log_band_power(x: np.ndarray, sfreq: float, band: tuple[float, float]) -> float:
    """Mean over channels of log band power (FFT) of x (ch, n)."""
    f = np.fft.rfftfreq(x.shape[1], 1 / sfreq)
    p = np.abs(np.fft.rfft(x - x.mean(axis=1, keepdims=True), axis=1)) ** 2
    m = (f >= band[0]) & (f < band[1])
    return float(np.log(p[:, m].sum(axis=1)).mean())


def test_packaged_stats() -> None:
    st = load_class_stats()
    assert st["classes"] == list(EMOTION_CLASSES)
    assert tuple(st["channels"]) == FACED_CHANNELS
    assert list(st["bands"]) == ["delta", "theta", "alpha", "beta", "gamma"]
    assert st["global_mean_de"].shape == (32, 5) and st["within_clip_std_z"].shape == (32, 5)
    for c in EMOTION_CLASSES:
        assert st["class_mean_z"][c].shape == (32, 5)
        assert np.all(np.abs(st["class_mean_z"][c]) < 1.0)  # standardized units
        assert np.all((st["class_std_z"][c] > 0.5) & (st["class_std_z"][c] < 1.5))
    assert np.all((st["global_mean_de"] > 0) & (st["global_mean_de"] < 6))  # microvolts
    assert st["lag1_autocorrelation"].shape == (5,) and st["channel_correlation"].shape == (5,)


def test_stats_match_builder(faced_root) -> None:
    """The committed JSON is exactly what offline/simulator_stats.py computes from FACED."""
    from bci_valence.io.faced import load_faced
    from offline.simulator_stats import compute_stats

    st = load_class_stats()
    data = load_faced(faced_root, st["subjects"], progress=False)
    fresh = compute_stats(data.de, list(data.subjects))
    np.testing.assert_allclose(fresh["global_mean_de"], st["global_mean_de"], atol=1e-5)
    np.testing.assert_allclose(fresh["within_clip_std_z"], st["within_clip_std_z"], atol=1e-5)
    for c in EMOTION_CLASSES:
        np.testing.assert_allclose(fresh["class_mean_z"][c], st["class_mean_z"][c], atol=1e-5)


def test_parse_script() -> None:
    assert parse_script("joy:20, anger:5") == (("joy", 20.0), ("anger", 5.0))
    assert parse_script("sadness") == (("sadness", 20.0),)
    assert parse_script(None) == DEFAULT_SCRIPT
    assert {c for c, _ in DEFAULT_SCRIPT} == set(EMOTION_CLASSES)
    for bad, match in [("happy:3", "unknown class"), ("joy:x", "not a number"), ("joy:0", ">= 1"), (",", "empty")]:
        with pytest.raises(ValueError, match=match):
            parse_script(bad)


def test_synth_levels_continuity_and_direction() -> None:
    """DE level close to FACED's; continuous signal; class effect in the stats' direction."""
    from scipy.signal import butter, sosfiltfilt

    st = load_class_stats()
    settings = SimulationSettings(seed=3, script=(("disgust", 8), ("sadness", 8)), contrast=5.0)
    synth = HeadsetSynth(settings)
    x, labels = synth.generate(16)
    assert x.shape == (32, 16 * 250) and labels == ["disgust"] * 8 + ["sadness"] * 8
    assert np.all(np.isfinite(x))
    # no jumps at second boundaries: boundary steps like any other step
    steps = np.abs(np.diff(x, axis=1))
    assert steps[:, 249::250].max() < 5 * steps.std() * 3
    # band DE level (broad check: within 0.5 of FACED's mean level)
    sos = butter(4, [8 / 125, 14 / 125], "bandpass", output="sos")
    y = sosfiltfilt(sos, x)
    de = 0.5 * np.log(2 * np.pi * np.e * y.reshape(32, 16, 250).var(axis=2))
    assert abs(de.mean() - st["global_mean_de"][:, 2].mean()) < 0.5
    # alpha: the stats say sadness > disgust
    expected = np.sign((st["class_mean_z"]["sadness"][:, 2] - st["class_mean_z"]["disgust"][:, 2]).mean())
    observed = np.sign(_log_band_power(x[:, 2000:], 250, ALPHA) - _log_band_power(x[:, :2000], 250, ALPHA))
    assert expected == observed == 1


def test_seed_reproducible() -> None:
    a = HeadsetSynth(SimulationSettings(seed=7)).generate(2)[0]
    b = HeadsetSynth(SimulationSettings(seed=7)).generate(2)[0]
    c = HeadsetSynth(SimulationSettings(seed=8)).generate(2)[0]
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_settings_validation() -> None:
    with pytest.raises(ValueError, match="sfreq"):
        SimulationSettings(sfreq=50)
    with pytest.raises(ValueError, match="contrast"):
        SimulationSettings(contrast=-1)


def test_simulated_headset_on_lsl() -> None:
    """32 FACED channels, simulated=true, markers with the true label, band power follows
    the script in the direction the statistics say."""
    spec = "sim:script=disgust:3,sadness:3&seed=11&contrast=5&noise=0.5"
    src = open_source(spec)
    assert isinstance(src, LSLSource)
    datas, stamps, markers = [], [], []
    with src:
        assert tuple(src.ch_names) == FACED_CHANNELS
        assert src.sfreq == 250.0 and src.simulated and src.unit == "V"
        assert "SIMULATED" in src.status
        end = time.monotonic() + 9.0
        while time.monotonic() < end and sum(d.shape[1] for d in datas) < 6 * 250:
            chunk = src.read()
            markers += src.read_markers()
            if chunk is not None:
                datas.append(chunk.data)
                stamps.append(chunk.timestamps)
            time.sleep(0.1)
    data = np.concatenate(datas, axis=1)
    ts = np.concatenate(stamps)
    assert data.shape[1] >= 6 * 250
    assert np.allclose(np.diff(ts), 1 / 250, atol=1e-4)
    assert 1e-7 < data.std() < 1e-3  # volts (the stream declares microvolts)
    labels = [label for _, label in markers]
    assert labels[0] == "disgust" and "sadness" in labels
    t_switch = next(t for t, label in markers if label == "sadness")
    assert t_switch == pytest.approx(ts[0] + 3.0, abs=0.05)
    first = data[:, (ts >= ts[0] + 0.2) & (ts < t_switch)]
    second = data[:, (ts >= t_switch + 0.2) & (ts < t_switch + 3.0)]
    assert _log_band_power(second, 250, ALPHA) > _log_band_power(first, 250, ALPHA)


def test_markers_repeat_for_late_joiners() -> None:
    settings = SimulationSettings(script=(("joy", 30),), marker_repeat_s=1.0, seed=0)
    with SimulatedHeadset(settings) as headset:
        time.sleep(1.2)  # join late
        with LSLSource(source_id=headset.source_id, timeout=5) as src:
            got = []
            end = time.monotonic() + 3.0
            while time.monotonic() < end and not got:
                src.read()
                got += src.read_markers()
                time.sleep(0.1)
    assert got and got[0][1] == "joy"


def test_simulate_and_streams_commands(capsys) -> None:
    from bci_valence.cli import main

    assert main(["simulate", "--duration", "1", "--script", "joy:1", "--seed", "1"]) == 0
    out = capsys.readouterr().out
    assert "SIMULATED" in out and "joy" in out and "done: 250 samples" in out
    assert main(["simulate", "--script", "happy:2"]) == 2
    with SimulatedHeadset(SimulationSettings(name="bci-valence-sim-listed", seed=0)):
        assert main(["streams", "--timeout", "1"]) == 0
    out = capsys.readouterr().out
    assert "bci-valence-sim-listed" in out and "SIMULATED" in out
