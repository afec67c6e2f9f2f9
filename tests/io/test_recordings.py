"""read_recording on the real files in ../shared/data and on crafted/damaged files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bci_valence.io.recordings import (
    Recording,
    RecordingError,
    read_recording,
    unit_scale,
)
from tests.helpers import crafted_xdf, write_xdf

pytestmark = pytest.mark.timeout(60)


# --------------------------------------------------------------------------- real data
def test_real_xdf(xdf_file: Path) -> None:
    rec = read_recording(xdf_file)
    assert isinstance(rec, Recording)
    assert rec.data.shape == (8, 9520) and rec.data.dtype == np.float64
    assert rec.sfreq == 1000.0
    assert rec.ch_names == [""] * 8 and not rec.labeled
    assert rec.unit == "unknown"  # no <unit> in the file: values as recorded
    assert rec.timestamps.shape == (9520,)
    assert np.all(np.diff(rec.timestamps) > 0)
    assert rec.segments == [(0, 9520)]
    assert rec.markers == []
    assert abs(rec.duration - 9.52) < 1e-9


def test_real_eeglab(eeglab_set: Path) -> None:
    rec = read_recording(eeglab_set)
    assert rec.data.shape == (32, 30504)
    assert rec.sfreq == 128.0
    assert rec.unit == "V"
    assert "FPz" in rec.ch_names and "EOG1" in rec.ch_names
    assert len(rec.markers) == 154
    assert all(0 <= t <= rec.duration for t, _ in rec.markers)
    assert 1e-6 < float(np.std(rec.data)) < 1e-3  # volts, not microvolts
    assert rec.timestamps[0] == 0.0 and rec.segments == [(0, 30504)]


# --------------------------------------------------------------------------- crafted XDF
def test_crafted_xdf_labels_units_segments_markers(tmp_path: Path) -> None:
    path, data = crafted_xdf(tmp_path)
    rec = read_recording(path)
    assert rec.ch_names == ["Fp1", "Fz", "Cz", "Oz"]
    assert rec.unit == "V"
    np.testing.assert_allclose(rec.data, data.T.astype(np.float64) * 1e-6)
    assert rec.segments == [(0, 150), (150, 300)]
    assert [m[1] for m in rec.markers] == ["start", "after-gap", "end"]
    assert rec.markers[0][0] == pytest.approx(1000.5)


def test_unit_scale() -> None:
    assert unit_scale(["microvolts", "uV", "µV"]) == 1e-6
    assert unit_scale(["volts"]) == 1.0
    assert unit_scale(["-6"]) == 1e-6
    assert unit_scale(["microvolts", "volts"]) is None
    assert unit_scale(["bananas"]) is None
    assert unit_scale([None]) is None and unit_scale([]) is None


# --------------------------------------------------------------------------- failures
def test_truncated_xdf(tmp_path: Path, xdf_file: Path) -> None:
    cut = tmp_path / "cut.xdf"
    cut.write_bytes(xdf_file.read_bytes()[:30000])
    with pytest.raises(RecordingError, match="cut.xdf.*truncated"):
        read_recording(cut)
    rec = read_recording(cut, allow_truncated=True)
    assert 0 < rec.n_times < 9520


def test_xdf_without_footer(tmp_path: Path) -> None:
    ts = np.arange(50) / 100.0
    path = write_xdf(tmp_path / "nofooter.xdf", np.zeros((50, 2)), ts, sfreq=100, footer=False)
    with pytest.raises(RecordingError, match="nofooter.xdf.*footer"):
        read_recording(path)


def test_truncated_eeglab(tmp_path: Path, eeglab_set: Path) -> None:
    (tmp_path / "rec.set").write_bytes(eeglab_set.read_bytes())
    (tmp_path / "rec.fdt").write_bytes(eeglab_set.with_suffix(".fdt").read_bytes()[:100000])
    with pytest.raises(RecordingError, match="rec.set"):
        read_recording(tmp_path / "rec.set")
    (tmp_path / "half.set").write_bytes(eeglab_set.read_bytes()[:5000])
    with pytest.raises(RecordingError, match="half.set"):
        read_recording(tmp_path / "half.set")


@pytest.mark.parametrize(
    ("name", "content", "match"),
    [
        ("garbage.edf", b"\x00\x17 not an edf" * 20, "garbage.edf"),
        ("garbage.xdf", b"definitely not xdf" * 10, "garbage.xdf"),
        ("empty.bdf", b"", "empty.bdf.*empty"),
        ("notes.foo", b"hello", "unsupported.*notes.foo"),
    ],
)
def test_bad_files(tmp_path: Path, name: str, content: bytes, match: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(RecordingError, match=match):
        read_recording(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(RecordingError, match="nothere.set.*does not exist"):
        read_recording(tmp_path / "nothere.set")
    assert issubclass(RecordingError, ValueError)


def test_xdf_trigger_channel_types_become_stim(tmp_path: Path) -> None:
    n = 200
    ts = 10.0 + np.arange(n) / 100.0
    data = np.random.default_rng(0).normal(size=(n, 3)).astype(np.float32)
    path = write_xdf(tmp_path / "trig.xdf", data, ts, sfreq=100.0, labels=["Fz", "Cz", "Trig"],
                     types=["EEG", "EEG", "Trigger"], unit="microvolts")  # fmt: skip
    rec = read_recording(path)
    assert rec.ch_types == ["eeg", "eeg", "stim"]
