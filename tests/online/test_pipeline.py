"""The online pipeline: real LSL streams (no mocks) and array recordings.

The model here is a small deterministic linear bundle (``LinearBundle``) so the tests
check the pipeline's own behaviour; ``test_default_bundle`` runs the shipped bundle.
"""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from bci_valence.constants import EMOTION_CLASSES, FACED_CHANNELS
from bci_valence.io.recordings import Recording
from bci_valence.online.pipeline import Pipeline
from bci_valence.online.replay import run_offline
from bci_valence.online.settings import (
    CalibrationSettings,
    ComputeSettings,
    PipelineSettings,
    StreamSettings,
)
from bci_valence.online.steps import ValenceStep
from bci_valence.signal.buffer import RingBuffer
from bci_valence.signal.montage import ChannelMappingError
from bci_valence.signal.quality import QualityFlag
from bci_valence.signal.timing import StreamClock
from bci_valence.streams.array_source import ArraySource
from tests.helpers import REPO_ROOT, LinearBundle, assert_float32_close

PUSHER = REPO_ROOT / "benchmarks" / "lsl_push.py"
CLASSES = EMOTION_CLASSES


SETTINGS = PipelineSettings(compute=ComputeSettings(device="cpu"), calibration=CalibrationSettings(seconds=5.0))


def _recording(seconds: float, sfreq: float = 250.0, seed: int = 0, names=None, markers=()) -> Recording:
    rng = np.random.default_rng(seed)
    n = int(seconds * sfreq)
    names = list(names or FACED_CHANNELS)
    t = np.arange(n) / sfreq
    data = rng.standard_normal((len(names), n)) * 10e-6 + 20e-6 * np.sin(2 * np.pi * 10 * t)
    return Recording(
        data=data, sfreq=sfreq, ch_names=names, ch_types=["eeg"] * len(names), timestamps=t + 100.0,
        markers=list(markers), segments=[(0, n)], source=Path("synthetic.fif"), unit="V",
        stream_name=f"synthetic{seed}",
    )  # fmt: skip


def _pusher(sid: str, seconds: float, *extra: str) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, str(PUSHER), "--name", sid, "--source-id", sid, "--seconds", str(seconds), *extra],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=REPO_ROOT,
    )  # fmt: skip
    assert proc.stdout.readline().strip() == "pushing"
    return proc


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.kill()
    proc.wait(timeout=10)


# --------------------------------------------------------------------------- real LSL
@pytest.mark.timeout(60)
def test_counter_32ch_1000hz_no_sample_lost_or_reordered():
    """Sample counter on channel 0 through real LSL, the source, the stream clock and the RingBuffer."""
    from bci_valence.streams.lsl_source import LSLSource

    sid = f"test-counter-{uuid.uuid4().hex[:8]}"
    proc = _pusher(sid, 4.0)
    src = LSLSource(source_id=sid, timeout=10, markers=False)
    try:
        src.start()
        assert src.sfreq == 1000.0 and len(src.ch_names) == 33
        buf = RingBuffer(33, 10_000)
        clock = StreamClock(src.sfreq)
        counter = []
        t_end = time.monotonic() + 8
        while time.monotonic() < t_end:
            chunk = src.read()
            if chunk is None:
                if proc.poll() is not None:
                    break
                time.sleep(0.005)
                continue
            buf.push(chunk.data, chunk.timestamps)
            clock.push(chunk.timestamps)
            counter.append(chunk.data[0])
        while (chunk := src.read()) is not None:
            buf.push(chunk.data, chunk.timestamps)
            clock.push(chunk.timestamps)
            counter.append(chunk.data[0])
        clock.flush()
    finally:
        src.stop()
        _stop(proc)
    scale = 1e6 if src.unit == "V" else 1.0  # the pusher states microvolts
    idx = np.rint(np.concatenate(counter) * scale).astype(np.int64)
    assert idx.size > 2500
    assert np.all(np.diff(idx) == 1), "samples lost or reordered"
    assert buf.pushed == idx.size and clock.n_gaps == 0 and clock.held == 0
    held, ts = buf.latest(idx.size)
    assert np.array_equal(np.rint(held[0] * scale).astype(np.int64), idx[-held.shape[1] :])
    assert np.all(np.diff(ts) > 0)


@pytest.mark.timeout(90)
def test_live_pipeline_and_stream_killed_then_restarted():
    """A live LSL stream gives steps; killed, it is reported stale; restarted, it recovers."""
    from bci_valence.streams.lsl_source import LSLSource

    sid = f"test-restart-{uuid.uuid4().hex[:8]}"
    proc = _pusher(sid, 60.0, "--sfreq", "250", "--chunk", "5")
    src = LSLSource(source_id=sid, timeout=10, markers=False, stale_s=0.5)
    pipe = Pipeline([src], LinearBundle(), SETTINGS)
    steps: list[ValenceStep] = []

    def run_for(seconds: float, until=None) -> None:
        t_end = time.monotonic() + seconds
        while time.monotonic() < t_end:
            steps.extend(pipe.poll())
            if until is not None and until():
                return
            time.sleep(0.01)

    try:
        pipe.start()
        run_for(15, until=lambda: len(steps) >= 6)
        live = [s for s in steps if not s.flags & QualityFlag.STALE]
        assert len(live) >= 6, "no steps from the live stream"
        st = pipe.status()[0]
        assert st.connected and st.sfreq == 250.0 and st.n_real == 32 and st.lost_samples == 0
        assert all(s.flags & QualityFlag.CALIBRATING for s in live)
        assert all(np.isfinite(s.valence) for s in live)
        dt = np.diff([s.timestamp for s in live])
        assert np.allclose(dt, 0.25, atol=0.01)
        assert max(s.latency_ms for s in live[-3:]) < 500
        _stop(proc)  # the stream disappears
        run_for(10, until=lambda: any(s.flags & QualityFlag.STALE for s in steps))
        stale = [s for s in steps if s.flags & QualityFlag.STALE]
        assert len(stale) == 1 and np.isnan(stale[0].valence)
        assert not pipe.status()[0].connected
        n_before = len(steps)
        run_for(1.0)
        assert len(steps) == n_before, "stale output presented as live"
        proc = _pusher(sid, 60.0, "--sfreq", "250", "--chunk", "5", "--start-index", "100000")
        run_for(30, until=lambda: len(steps) > n_before + 2)
        after = steps[n_before:]
        assert len(after) >= 2, "no steps after the stream came back"
        assert after[0].flags & QualityFlag.GAP
        st = pipe.status()[0]
        assert st.connected and st.reconnects == 1 and st.gaps >= 1
    finally:
        pipe.stop()
        _stop(proc)


# --------------------------------------------------------------------------- arrays
@pytest.mark.timeout(120)
def test_offline_is_chunk_invariant_and_batched_streams_match():
    rec = _recording(16.0, sfreq=500.0)
    a = run_offline(rec, SETTINGS, LinearBundle(), chunk_s=0.1)
    b = run_offline(rec, SETTINGS, LinearBundle(), chunk_s=0.037)
    assert len(a) == len(b) > 40
    assert_float32_close([s.valence for s in a], [s.valence for s in b])
    assert_float32_close(np.stack([s.de_z for s in a]), np.stack([s.de_z for s in b]))
    # the tolerance is tight enough to see a broken chunking: one sample of offset is caught
    shifted = run_offline(replace(rec, data=np.roll(rec.data, 1, axis=1)), SETTINGS, LinearBundle(), chunk_s=0.1)
    with pytest.raises(AssertionError):
        assert_float32_close([s.valence for s in shifted], [s.valence for s in a])
    assert [s.flags for s in a] == [s.flags for s in b]
    # probabilities start once 10 s of DE exist (first window ends at ~4.3 s)
    with_p = [s for s in a if s.probabilities is not None]
    assert with_p and with_p[0].timestamp - a[0].timestamp == pytest.approx(9.0, abs=0.01)
    assert np.allclose([p.probabilities.sum() for p in with_p], 1.0)
    # two streams in one pipeline (one batched device call per poll) == each alone
    from bci_valence.streams.array_source import ArraySource

    other = _recording(16.0, sfreq=250.0, seed=3)
    alone = run_offline(other, SETTINGS, LinearBundle())
    pipe = Pipeline([ArraySource(rec, chunk_size=50), ArraySource(other, chunk_size=25)], LinearBundle(), SETTINGS)
    pipe.start()
    got: list[ValenceStep] = []
    while not pipe.finished:
        got.extend(pipe.poll())
    got.extend(pipe.poll())
    pipe.stop()
    for ref, name in ((a, rec.stream_name), (alone, other.stream_name)):
        mine = [s for s in got if s.stream == name]
        assert len(mine) == len(ref)
        assert_float32_close([s.valence for s in mine], [s.valence for s in ref])


@pytest.mark.timeout(60)
def test_short_recording_yields_calibrating_valence():
    steps = run_offline(_recording(7.0), PipelineSettings(compute=ComputeSettings(device="cpu")), LinearBundle())
    assert len(steps) >= 10
    assert all(s.flags & QualityFlag.CALIBRATING for s in steps)
    assert all(s.probabilities is None for s in steps)
    assert all(np.isfinite(s.valence) for s in steps)
    assert steps[-1].calibration_progress < 1
    assert [s.calibration_progress for s in steps] == sorted(s.calibration_progress for s in steps)


@pytest.mark.timeout(60)
def test_bad_windows_flagged_and_kept_out_of_statistics():
    rec = _recording(14.0)
    sf = rec.sfreq
    rec.data[3, int(6 * sf) : int(6 * sf) + 5] = np.nan
    rec.data[5, int(10 * sf) : int(10.2 * sf)] += 0.05  # 50 mV on one channel: absurd
    pipe = Pipeline([ArraySource(rec)], LinearBundle(),
                    PipelineSettings(compute=ComputeSettings(device="cpu"), calibration=CalibrationSettings(seconds=100.0)))  # fmt: skip
    pipe.start()
    steps: list[ValenceStep] = []
    while not pipe.finished:
        steps.extend(pipe.poll())
    pipe.stop()
    flags = [QualityFlag(s.flags) for s in steps]
    assert any(QualityFlag.NONFINITE in f for f in flags)
    assert any(QualityFlag.ARTEFACT in f for f in flags)
    good = sum(not (f & (QualityFlag.NONFINITE | QualityFlag.ARTEFACT | QualityFlag.GAP)) for f in flags)
    assert pipe.standardized_windows(0) == good < len(steps)
    assert all(np.isfinite(s.valence) and np.isfinite(s.de_z).all() for s in steps)


@pytest.mark.timeout(60)
def test_gap_in_timestamps_is_flagged_and_counted():
    rec = _recording(12.0)
    rec.timestamps[int(7 * 250) :] += 0.2  # 50 samples missing at 7 s
    steps = run_offline(rec, SETTINGS, LinearBundle())
    gap_steps = [s for s in steps if s.flags & QualityFlag.GAP]
    assert gap_steps and all(s.timestamp > 107.0 for s in gap_steps)
    assert not any(s.flags & QualityFlag.GAP for s in steps if s.timestamp < 107.0)


def test_channel_refusal_and_relabel():
    names = [f"A{i}" for i in range(1, 33)]  # BioSemi grid labels
    rec = _recording(6.0, names=names)
    with pytest.raises(ChannelMappingError, match="A3"):
        run_offline(rec, SETTINGS, LinearBundle())
    steps = run_offline(rec, PipelineSettings(compute=ComputeSettings(device="cpu"), stream=StreamSettings(channels="biosemi32")), LinearBundle())
    assert steps
    few = _recording(6.0, names=["Fp1", "Fp2", "Cz", "Pz", "Oz", "Foo1", "Bar2", "Baz3"])
    with pytest.raises(ChannelMappingError, match="Foo1"):
        run_offline(few, SETTINGS, LinearBundle())
    steps = run_offline(few, PipelineSettings(compute=ComputeSettings(device="cpu"), stream=StreamSettings(min_channels=4)), LinearBundle())
    assert all(s.flags & QualityFlag.INTERPOLATED for s in steps)


@pytest.mark.timeout(60)
def test_calibration_saved_then_reused(tmp_path):
    path = tmp_path / "cal.json"
    settings = PipelineSettings(compute=ComputeSettings(device="cpu"), calibration=CalibrationSettings(seconds=2.0, path=str(path)))
    first = run_offline(_recording(9.0), settings, LinearBundle())
    assert first[0].flags & QualityFlag.CALIBRATING and not first[-1].flags & QualityFlag.CALIBRATING
    assert path.exists()
    second = run_offline(_recording(6.0, seed=5), settings, LinearBundle())
    assert not any(s.flags & QualityFlag.CALIBRATING for s in second)
    assert all(s.calibration_progress == 1.0 for s in second)


@pytest.mark.timeout(60)
def test_markers_give_true_label():
    rec = _recording(8.0, markers=[(104.0, "joy"), (106.0, "clip 1")])
    steps = run_offline(rec, SETTINGS, LinearBundle())
    labels = {s.true_label for s in steps}
    assert labels <= {None, "joy", "anger"} and {"joy", "anger"} <= labels


@pytest.mark.timeout(120)
def test_default_bundle():
    bundle_mod = pytest.importorskip("bci_valence.model.bundle")
    try:
        bundle = bundle_mod.ModelBundle.load()
    except Exception as err:  # the shipped bundle not built yet
        pytest.skip(f"default bundle not available: {err}")
    steps = run_offline(_recording(15.0), PipelineSettings(compute=ComputeSettings(device="cpu")), bundle)
    probs = [s.probabilities for s in steps if s.probabilities is not None]
    assert probs and all(p.shape == (9,) and abs(p.sum() - 1) < 1e-4 for p in probs)
    assert all(np.isfinite(s.valence) for s in steps)


def test_tune_process_runs_numpy_blas_on_one_thread_like_torch():
    """The CPU ensemble's products go through numpy's BLAS; its threads follow torch_threads."""
    import torch
    from threadpoolctl import threadpool_info

    from bci_valence.online.tuning import tune_process

    tune_process(PipelineSettings(compute=ComputeSettings(device="cpu", torch_threads=1)))
    blas = [p for p in threadpool_info() if p["user_api"] == "blas"]
    assert blas and all(p["num_threads"] == 1 for p in blas)
    assert torch.get_num_threads() == 1


def test_building_a_pipeline_leaves_process_threads_alone():
    """Process-wide tuning is the entry point's business, not the constructor's."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        Pipeline([ArraySource(_recording(0.04))], LinearBundle(), PipelineSettings(compute=ComputeSettings(device="cpu", torch_threads=1)))
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


@pytest.mark.timeout(60)
def test_pipeline_de_equals_feature_bank():
    """The pipeline's CPU DE path (sub-batches, two-pass variance) == BandFilterBank's."""
    import torch

    feed = ArraySource(_recording(0.04))
    pipe = Pipeline([feed], LinearBundle(), PipelineSettings(compute=ComputeSettings(device="cpu", cpu_sub_batch=3)))
    x = np.random.default_rng(0).standard_normal((7, 32, pipe.bank.n_input)).astype(np.float32) * 20
    ours = pipe._features.whole_windows(x)
    ref = pipe.bank.differential_entropy(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(ours, ref, atol=2e-5, rtol=0)


@pytest.mark.timeout(120)
def test_incremental_de_equals_whole_windows_through_the_pipeline():
    """Keeping each stream's filtered samples changes nothing in the steps."""
    rec = _recording(40.0)
    rec.timestamps[int(20 * 250) :] += 3.0  # a long gap: the signal state restarts
    rec.data[:, int(30 * 250) : int(30 * 250) + 40] = np.nan  # a non-finite stretch
    kept = run_offline(rec, SETTINGS, LinearBundle(), chunk_s=0.07)
    whole = run_offline(rec, replace(SETTINGS, compute=replace(SETTINGS.compute, incremental_de=False)), LinearBundle(), chunk_s=0.07)
    assert len(kept) == len(whole) > 100
    np.testing.assert_allclose([s.de_z for s in kept], [s.de_z for s in whole], atol=2e-4)
    np.testing.assert_allclose([s.valence for s in kept], [s.valence for s in whole], atol=2e-4)
    assert [s.flags for s in kept] == [s.flags for s in whole]
    assert any(s.flags & QualityFlag.GAP for s in kept) and any(s.flags & QualityFlag.NONFINITE for s in kept)


@pytest.mark.timeout(60)
def test_resampled_stream_and_latest_raw():
    """A 1000 Hz stream is resampled to 250 Hz; latest_raw gives the mapped signal."""
    from bci_valence.streams.array_source import ArraySource

    rec = _recording(6.0, sfreq=1000.0)
    pipe = Pipeline([ArraySource(rec, chunk_size=137)], LinearBundle(), SETTINGS)
    pipe.start()
    steps = []
    while not pipe.finished:
        steps.extend(pipe.poll())
    data, times, names = pipe.latest_raw(2.0)
    st = pipe.status()[0]
    pipe.stop()
    assert names == FACED_CHANNELS and data.shape == (32, 500)
    assert np.allclose(np.diff(times), 1e-3 * 4, atol=1e-9)
    assert np.abs(data.mean(axis=0)).max() < 1e-3  # common average reference
    assert 1 < np.std(data) < 100  # microvolts (noise band-limited to 47 Hz; the common sine is referenced out)
    assert st.sfreq == 1000.0 and st.samples == 6000 and st.gaps == 0 and not st.connected
    assert len(steps) == 7


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_online_benchmark_quick_smoke():
    """``benchmarks/online.py --quick --skip-lsl`` prints one JSON object with the figures."""
    import json

    proc = subprocess.run(
        [sys.executable, str(REPO_ROOT / "benchmarks" / "online.py"), "--quick", "--skip-lsl", "--streams", "2,4"],
        capture_output=True, text=True, timeout=170, cwd=REPO_ROOT,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout)
    cpu = out["compute"][0]
    assert cpu["device"] == "cpu" and cpu["p99_ms"] >= cpu["p50_ms"] > 0
    assert cpu["steps_with_probabilities"] == cpu["steps"]
    assert out["capacity"]["max_streams"] in (0, 2, 4)


@pytest.mark.timeout(60)
def test_one_huge_chunk_equals_small_chunks():
    """A backlog read in one chunk (longer than the buffers) loses no window."""
    rec = _recording(30.0, sfreq=500.0)
    big = run_offline(rec, SETTINGS, LinearBundle(), chunk_s=30.0)
    small = run_offline(rec, SETTINGS, LinearBundle(), chunk_s=0.1)
    assert len(big) == len(small) > 100
    assert_float32_close([s.valence for s in big], [s.valence for s in small])


def test_a_unit_the_stream_states_wins_over_the_units_setting(caplog):
    """``units`` speaks only for a stream that states nothing: a stream in volts stays volts."""
    from bci_valence.constants import FACED_CHANNELS
    from bci_valence.online.processor import StreamProcessor
    from bci_valence.signal.window_timing import WindowTiming

    settings = PipelineSettings(stream=StreamSettings(units="uV"))
    timing = WindowTiming(250.0, settings.hop_s, 250, 824)
    stated = StreamProcessor("s", 250.0, FACED_CHANNELS, settings, FACED_CHANNELS, timing, unit="V")
    silent = StreamProcessor("s", 250.0, FACED_CHANNELS, settings, FACED_CHANNELS, timing, unit="unknown")
    assert stated.scale == 1e6 and silent.scale == 1.0
    assert "states its unit" in caplog.text
