"""A device that restarts: with a new LSL source_id it stays recorded (raw EEG and
markers); at another sampling rate the run ends once, with the reason."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from pathlib import Path

import numpy as np
import pytest

from bci_valence.cli import main
from bci_valence.constants import FACED_CHANNELS
from bci_valence.io.recordings import Recording, read_recording
from bci_valence.streams.players import XDFPlayer


def _recording(seconds: float, sfreq: float) -> Recording:
    n = int(seconds * sfreq)
    rng = np.random.default_rng(1)
    t = np.arange(n) / sfreq
    data = rng.standard_normal((len(FACED_CHANNELS), n)) * 10e-6 + 20e-6 * np.sin(2 * np.pi * 10 * t)
    return Recording(
        data=data, sfreq=sfreq, ch_names=list(FACED_CHANNELS), ch_types=["eeg"] * len(FACED_CHANNELS),
        timestamps=t, markers=[(float(k), f"joy {k}") for k in range(0, int(seconds), 2)], segments=[(0, n)],
        source=Path("device.fif"), unit="V", stream_name="device",
    )  # fmt: skip


class _Device:
    """The first player streams, stops at ``stop_at`` s, a second (new source_id) starts at ``back_at``."""

    def __init__(self, name: str, first: Recording, second: Recording, stop_at: float, back_at: float) -> None:
        self.players = [
            XDFPlayer(first, name=name, source_id=f"{name}-a"),
            XDFPlayer(second, name=name, source_id=f"{name}-b"),
        ]
        self.stop_at, self.back_at = stop_at, back_at
        self.back_wall: float | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._halt = threading.Event()

    def _run(self) -> None:
        from mne_lsl.lsl import local_clock

        if self._halt.wait(self.stop_at):
            return
        self.players[0].stop()
        if self._halt.wait(self.back_at - self.stop_at):
            return
        self.back_wall = local_clock()
        self.players[1].start()

    def __enter__(self) -> _Device:
        self.players[0].start()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._halt.set()
        self._thread.join(timeout=5)
        for p in self.players:
            p.stop()


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_recording_follows_a_device_back_with_a_new_source_id(small_bundle, tmp_path):
    import pyxdf

    name = f"dev-{uuid.uuid4().hex[:8]}"
    xdf = tmp_path / "session.xdf"
    with _Device(name, _recording(60, 250.0), _recording(60, 250.0), stop_at=6.0, back_at=8.0) as dev:
        code = main(["run", "--source", f"lsl:name={name}", "--duration", "16", "--record", str(xdf),
                     "--bundle", str(small_bundle), "--device", "cpu", "--quiet", "--allow-bad",
                     "--no-outlet"])  # fmt: skip
        back = dev.back_wall
    assert code == 0 and back is not None
    streams, _ = pyxdf.load_xdf(str(xdf), dejitter_timestamps=False)
    by_type = {s["info"]["type"][0]: s for s in streams}
    raw_ts = np.asarray(by_type["EEG"]["time_stamps"])
    after = raw_ts[raw_ts > back]
    assert after.size > 250 * 4, "the raw EEG of the restarted device is missing"
    assert raw_ts[raw_ts < back].size > 250 * 4
    labels = [str(v[0]) for v in by_type["Markers"]["time_series"]]
    marker_ts = np.asarray(by_type["Markers"]["time_stamps"])
    assert {"joy 2", "joy 4"} <= set(labels)
    assert (marker_ts > back).any() and (marker_ts < back).any()  # both devices' markers
    # the replay of the recording carries the labels
    rec = read_recording(xdf)
    assert {lbl for _, lbl in rec.markers} >= {"joy 2", "joy 4"}


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_a_device_back_at_another_rate_ends_the_run_once_with_its_reason(small_bundle, tmp_path, caplog, capsys):
    name = f"dev-{uuid.uuid4().hex[:8]}"
    t0 = time.monotonic()
    with caplog.at_level(logging.ERROR), _Device(name, _recording(60, 250.0), _recording(60, 500.0),
                                                 stop_at=5.0, back_at=6.0):  # fmt: skip
        code = main(["run", "--source", f"lsl:name={name}", "--duration", "60", "--bundle", str(small_bundle),
                     "--device", "cpu", "--quiet", "--no-outlet", "--allow-bad"])  # fmt: skip
    assert code == 1 and time.monotonic() - t0 < 40
    err = capsys.readouterr().err
    assert "500 Hz" in err and "250 Hz" in err
    reports = [r for r in caplog.records if "came back with" in r.getMessage()]
    assert len(reports) == 1
