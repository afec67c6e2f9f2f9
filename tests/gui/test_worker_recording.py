"""The app's worker records through the same session wiring as ``bci-valence run``:
the raw EEG and markers the pipeline read, the valence outlet and the app's marker
stream, each with its footer."""

from __future__ import annotations

import pytest


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_worker_records_raw_markers_and_valence_through_session_outputs(qtbot, bundle_path, tmp_path):
    import pyxdf

    from bci_valence.online.settings import (
        CalibrationSettings,
        ComputeSettings,
        PipelineSettings,
    )
    from gui.worker import MARKS_OUTLET_NAME, PipelineWorker, SessionRequest

    worker = PipelineWorker(poll_ms=20)
    messages, errors, steps = [], [], []
    worker.message.connect(messages.append)
    worker.error.connect(errors.append)
    worker.steps.connect(steps.extend)
    worker.start_session(SessionRequest("sim:", bundle_path or "", PipelineSettings(compute=ComputeSettings(device="cpu"), calibration=CalibrationSettings(seconds=2.0))))
    try:
        qtbot.waitUntil(lambda: len(steps) >= 2, timeout=30000)
        xdf = tmp_path / "gui.xdf"
        xdf.write_bytes(b"replaced: the save dialog asked")
        worker.start_recording(str(xdf))
        assert f"recording to {xdf}" in messages, errors
        n0 = len(steps)
        qtbot.waitUntil(lambda: len(steps) >= n0 + 24, timeout=30000)  # 6 s: the simulator repeats its marker every 5 s
        worker.stop_recording()
        assert f"recording saved: {xdf}" in messages, errors
    finally:
        worker.stop_session()
    assert not errors
    streams, _ = pyxdf.load_xdf(str(xdf))
    names = [s["info"]["name"][0] for s in streams]
    assert names.count(MARKS_OUTLET_NAME) == 1  # the app's own marks (none pressed here)
    by_type = {s["info"]["type"][0]: s for s in streams if s["info"]["name"][0] != MARKS_OUTLET_NAME}
    assert set(by_type) == {"EEG", "Markers", "Valence"}
    assert by_type["EEG"]["info"]["name"][0].startswith("bci_valence_raw-")
    assert len(by_type["EEG"]["time_stamps"]) > 250 and len(by_type["Markers"]["time_stamps"]) >= 1
    assert len(by_type["Valence"]["time_stamps"]) >= 8
    assert all(s.get("footer") is not None for s in streams)
