"""Replaying recordings onto LSL: XDF and EEGLAB end to end, speed, loop, markers."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from bci_valence.streams.players import MNEPlayer, XDFPlayer, playback_offsets
from bci_valence.io.recordings import read_recording
from bci_valence.streams.array_source import ArraySource
from bci_valence.streams.lsl_source import LSLSource
from bci_valence.streams.factory import open_source
from tests.helpers import crafted_xdf

pytestmark = pytest.mark.timeout(60)


def _drain(src, until_finished: bool, seconds: float):
    datas, stamps, markers = [], [], []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        chunk = src.read()
        markers += src.read_markers()
        if chunk is not None:
            datas.append(chunk.data)
            stamps.append(chunk.timestamps)
        elif until_finished and src.finished:
            break
        time.sleep(0.05)
    data = np.concatenate(datas, axis=1) if datas else np.zeros((0, 0))
    ts = np.concatenate(stamps) if stamps else np.zeros(0)
    return data, ts, markers


def test_xdf_replay_end_to_end_speed4(xdf_file: Path) -> None:
    """The real XDF at 4x: every sample once, identical values, spacing 1 ms / 4."""
    rec = read_recording(xdf_file)
    src = open_source(f"xdf:{xdf_file}?speed=4")
    assert isinstance(src, LSLSource)
    t0 = time.monotonic()
    with src:
        assert src.sfreq == 1000.0 and len(src.ch_names) == 8 and src.unit == "unknown"
        assert not src.simulated
        data, ts, _ = _drain(src, until_finished=True, seconds=20)
        elapsed = time.monotonic() - t0
        assert src.finished
    assert data.shape == (8, 9520)
    np.testing.assert_array_equal(data, rec.data)  # same as --speed max (ArraySource)
    spacing = np.diff(ts)
    assert np.median(spacing) == pytest.approx(np.median(np.diff(rec.timestamps)) / 4, rel=1e-3)
    assert np.all(spacing > 0)
    assert ts[-1] - ts[0] == pytest.approx((rec.timestamps[-1] - rec.timestamps[0]) / 4, rel=1e-3)
    assert elapsed > 9.52 / 4 - 0.1


def test_replay_matches_speed_max(xdf_file: Path) -> None:
    """LSL replay and --speed max deliver the same samples."""
    fast = open_source(f"xdf:{xdf_file}?speed=max")
    assert isinstance(fast, ArraySource)
    with fast:
        chunks = []
        while (c := fast.read()) is not None:
            chunks.append(c.data)
    with open_source(f"xdf:{xdf_file}?speed=8") as live:
        data, _, _ = _drain(live, until_finished=True, seconds=15)
    np.testing.assert_array_equal(np.concatenate(chunks, axis=1), data)


def test_eeglab_replay_via_file_spec(eeglab_set: Path) -> None:
    """EEGLAB's recording replayed through file: at 16x: labels, volts, samples, events."""
    rec = read_recording(eeglab_set)
    with open_source(f"file:{eeglab_set}?speed=16") as src:
        assert src.ch_names == rec.ch_names and src.sfreq == 128.0 and src.unit == "V"
        data, ts, markers = _drain(src, until_finished=False, seconds=2.5)
    n = data.shape[1]
    assert n > 16 * 128 * 1.5
    np.testing.assert_array_equal(data, rec.data[:, :n])
    assert np.median(np.diff(ts)) == pytest.approx(1 / 128 / 16, rel=1e-3)
    expected = [label for t, label in rec.markers if t < (n - 1) / 128]
    labels = [label for _, label in markers]
    assert len(labels) >= len(expected) - 2 and labels == expected[: len(labels)]
    assert set(labels) <= {"square", "rt"}


def test_markers_keep_their_place_across_a_gap(tmp_path: Path) -> None:
    """Crafted XDF with two segments (2 s gap) and three markers, replayed at 4x."""
    path, data = crafted_xdf(tmp_path)
    rec = read_recording(path)
    offsets = playback_offsets(rec)
    assert offsets[150] - offsets[149] == pytest.approx(2.01)  # the gap is kept
    with open_source(f"xdf:{path}?speed=4") as src:
        assert src.ch_names == ["Fp1", "Fz", "Cz", "Oz"] and src.unit == "V"
        out, ts, markers = _drain(src, until_finished=True, seconds=15)
    np.testing.assert_allclose(out, rec.data)
    assert np.diff(ts)[149] == pytest.approx(2.01 / 4, abs=0.01)
    assert [m[1] for m in markers] == ["start", "after-gap", "end"]
    # each marker lands next to the sample it was recorded with
    for (t_mark, _), (t_file, _) in zip(markers, rec.markers):
        k = int(np.argmin(np.abs(rec.timestamps - t_file)))
        assert abs(t_mark - ts[k]) < 0.02


def test_loop_and_stop(tmp_path: Path) -> None:
    path, _ = crafted_xdf(tmp_path, gap=False)
    rec = read_recording(path)  # 3 s
    player = XDFPlayer(rec, speed=4, loop=True, wait_for_consumer=5)
    assert player.source_id.startswith("bci-valence-replay-")
    assert XDFPlayer(rec).source_id != player.source_id  # unique per player
    with LSLSource(source_id=player.source_id, players=[player], timeout=5) as src:
        data, ts, markers = _drain(src, until_finished=False, seconds=2.2)
        assert not src.finished and player.running
    assert not player.running
    assert data.shape[1] > 300  # more than one pass of 300 samples
    np.testing.assert_allclose(data[:, :300], data[:, 300:600])
    assert np.all(np.diff(ts) > 0)
    assert [m[1] for m in markers][:4] == ["start", "after-gap", "end", "start"]


def test_mne_player_backends(tmp_path: Path, eeglab_set: Path) -> None:
    rec = read_recording(eeglab_set)
    assert MNEPlayer(rec, speed=2).backend == "bci-valence"
    assert MNEPlayer(rec, speed=2, use_mne_lsl=True).backend == "bci-valence"  # no speed there
    player = MNEPlayer(rec, use_mne_lsl=True)
    assert player.backend == "mne-lsl"
    with LSLSource(source_id=player.source_id, players=[player], timeout=5) as src:
        assert src.ch_names == rec.ch_names and src.unit == "V"
        data, _, _ = _drain(src, until_finished=False, seconds=1.0)
    assert data.shape[0] == 32 and data.shape[1] > 40
    assert np.isin(data[0, -10:], rec.data[0]).all()  # PlayerLSL sends the file's samples


def test_player_rejects_bad_speed(tmp_path: Path) -> None:
    path, _ = crafted_xdf(tmp_path)
    with pytest.raises(ValueError, match="speed"):
        XDFPlayer(path, speed=0)
