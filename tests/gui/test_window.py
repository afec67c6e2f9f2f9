"""The main window with the real pipeline on the simulated headset (offscreen)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture()
def window(qtbot, settings_file, bundle_path):
    from gui.app import make_window

    win = make_window(source="sim:", bundle=bundle_path or None, calibration_s=3.0, settings_file=settings_file)
    qtbot.addWidget(win)
    win.show()
    yield win
    win.close()  # stops the session and the worker thread


@pytest.mark.timeout(60)
def test_window_starts(window):
    assert window.windowTitle() == "bci-valence"
    assert window.thread.isRunning()
    assert not window.running
    assert len(window.topomaps.maps) == 5
    assert window.panel.spec() == "sim:"
    assert window.status_labels["state"].text() == "idle"


@pytest.mark.timeout(120)
def test_simulated_session_feeds_the_plots_and_stops_and_restarts(window, qtbot):
    window.start_session()
    assert window.running
    qtbot.waitUntil(lambda: window.info is not None, timeout=30000)
    assert window.info.simulated and window.sim_badge.isVisible()
    qtbot.waitUntil(lambda: window.valence_plot.n_points >= 4 and window.topomaps.updates >= 2
                    and window.raw_traces.frames >= 2, timeout=30000)
    assert window.last_error == ""
    window.refresh()
    x, y = window.valence_plot.smooth_curve.getData()
    assert x is not None and len(x) == window.valence_plot.n_points
    assert window.topomaps.band_values.shape == (32, 5)
    assert window.topomaps.contribution is not None
    rate = window.status_labels["rate"].text()  # the effective rate, measured, and the declared one
    assert rate.endswith(" Hz (250 declared)") and abs(float(rate.split()[0]) - 250) < 2.5, rate
    assert window.status_labels["jitter"].text().startswith("jitter ")
    qtbot.waitUntil(lambda: any(s.true_label for s in window.session_steps), timeout=15000)
    assert len(window.session_steps) == window.step_count

    window.stop_session()
    qtbot.waitUntil(lambda: not window.running, timeout=15000)
    assert window.panel.start_button.isEnabled() and not window.panel.stop_button.isEnabled()
    n_before = window.step_count

    window.start_session()  # a new session starts from an empty trace
    assert window.valence_plot.n_points == 0
    qtbot.waitUntil(lambda: window.valence_plot.n_points >= 2 and window.step_count >= 2, timeout=30000)
    assert window.step_count < n_before + 1000
    assert window.last_error == ""


@pytest.mark.timeout(60)
def test_unreadable_file_shows_an_error_in_the_window(window, qtbot, tmp_path):
    bad = tmp_path / "garbage.xdf"
    bad.write_bytes(b"this is not an XDF file\x00\x01\x02" * 20)
    window.panel.set_spec(f"xdf:{bad}?speed=1")
    window.start_session()
    qtbot.waitUntil(lambda: window.banner.text() != "", timeout=30000)
    qtbot.waitUntil(lambda: not window.running, timeout=10000)
    assert "garbage.xdf" in window.banner.text()
    assert window.banner.level == "error"
    assert "ERROR" in window.panel.messages.toPlainText()
    assert window.panel.start_button.isEnabled()


@pytest.mark.timeout(60)
def test_lost_stream_is_shown_and_cleared(window):
    from types import SimpleNamespace

    def status(connected: bool, message: str = ""):
        return SimpleNamespace(name="sim", connected=connected, sfreq=250.0, lost_samples=0, gaps=1,
                               n_real=32, device="cpu", interpolated=(), steps=10, message=message,
                               timing=None)

    window._on_status([status(False, "stream lost; waiting for it to come back")])
    assert "lost" in window.banner.text() and window.banner.level == "warning"
    assert window.status_labels["state"].text() == "stream lost"
    window._on_status([status(True, "stream back")])
    assert "back" in window.banner.text()


@pytest.mark.timeout(60)
def test_settings_persist_between_windows(qtbot, settings_file):
    from gui.app import make_window

    first = make_window(settings_file=settings_file)
    qtbot.addWidget(first)
    first.panel.hop.setValue(0.5)
    first.panel.notch.setCurrentIndex(1)  # 60 Hz
    first.panel.calibration.setValue(42)
    first.panel.device.setCurrentText("cpu")
    first.panel.set_spec("lsl:name=MyAmp")
    first.close()
    second = make_window(settings_file=settings_file)
    qtbot.addWidget(second)
    p = second.pipeline_settings()
    assert p is second.settings.pipeline  # the window edits the pipeline's own settings
    assert (p.hop_s, p.filter.notch_hz, p.calibration.seconds, p.compute.device) == (0.5, 60.0, 42.0, "cpu")
    assert second.panel.spec() == "lsl:name=MyAmp"
    second.close()


@pytest.mark.timeout(60)
@pytest.mark.parametrize("device", ["cpu", "auto"])
def test_device_label_follows_the_device_rule(qtbot, settings_file, device):
    """The status bar names the device bci_valence.device resolves the setting to."""
    from types import SimpleNamespace

    from bci_valence.device import resolve_device
    from gui.app import make_window

    first = make_window(settings_file=settings_file)
    qtbot.addWidget(first)
    first.panel.device.setCurrentText(device)
    first.close()
    win = make_window(settings_file=settings_file)
    qtbot.addWidget(win)
    assert win.settings.pipeline.compute.device == device
    expected = resolve_device(device).type.upper()
    assert win.status_labels["device"].text() == f"device {expected}"
    status = SimpleNamespace(name="sim", connected=True, sfreq=250.0, lost_samples=0, gaps=0, n_real=32,
                             device=resolve_device(device), interpolated=(), steps=1, message="", timing=None)
    win._on_status([status])  # a running pipeline's device, as the worker reports it
    assert win.status_labels["device"].text() == f"device {str(resolve_device(device)).upper()}"
    win.close()


@pytest.mark.timeout(120)
def test_screenshot_cli_writes_a_png(tmp_path, bundle_path):
    png = tmp_path / "shot.png"
    cmd = [sys.executable, "-m", "bci_valence.cli", "gui", "--source", "sim:", "--calibration", "3",
           "--screenshot", str(png), "--after", "8", "--settings", str(tmp_path / "s.ini")]
    if bundle_path:
        cmd += ["--bundle", bundle_path]
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", HF_HUB_OFFLINE="1")
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=100)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "window shows an error" not in proc.stderr


@pytest.mark.timeout(120)
def test_headless_demo_writes_csv_and_png(tmp_path, bundle_path):
    out = tmp_path / "demo"
    cmd = [sys.executable, "-m", "bci_valence.cli", "demo", "--headless", "--duration", "8",
           "--calibration", "3", "--out-dir", str(out)]
    if bundle_path:
        cmd += ["--bundle", bundle_path]
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=100)
    assert proc.returncode == 0, proc.stderr[-2000:]
    csv_text = (out / "valence.csv").read_text()
    assert csv_text.count("\n") > 5
    assert (out / "valence.png").read_bytes()[:4] == b"\x89PNG"
    assert str(out / "valence.csv") in proc.stdout


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_record_xdf_and_export_csv(window, qtbot, tmp_path):
    import pyxdf

    window.start_session()
    qtbot.waitUntil(lambda: window.step_count >= 2, timeout=30000)
    xdf = tmp_path / "session.xdf"
    window.requestRecord.emit(str(xdf))
    qtbot.waitUntil(lambda: "recording to" in window.panel.messages.toPlainText(), timeout=30000)
    n0 = window.step_count
    qtbot.waitUntil(lambda: window.step_count >= n0 + 12, timeout=30000)
    window.requestStopRecord.emit()
    qtbot.waitUntil(lambda: "recording saved" in window.panel.messages.toPlainText(), timeout=30000)
    assert window.last_error == ""
    streams, _ = pyxdf.load_xdf(str(xdf))
    types = {s["info"]["type"][0]: len(s["time_stamps"]) for s in streams}
    assert types.get("EEG", 0) > 100 and types.get("Valence", 0) > 0

    csv_path = window.export_csv(tmp_path / "session.csv")
    lines = csv_path.read_text().splitlines()
    assert lines[0].startswith("stream,timestamp") and len(lines) == window.step_count + 1


@pytest.mark.timeout(90)
def test_replay_shorter_than_the_calibration_says_why(window, qtbot, xdf_file):
    """A recording shorter than the calibration ends with a warning saying why its steps
    carry CALIBRATING (not an error: it gave steps)."""
    window.panel.calibration.setValue(60)
    window.panel.set_spec(f"xdf:{xdf_file}?speed=max&channels=Fp1,Fp2,C3,C4,P7,P8,O1,O2")
    window.start_session()
    qtbot.waitUntil(lambda: not window.running and window.banner.text() != "", timeout=60000)
    assert "calibration never completed" in window.banner.text() and window.banner.level == "warning"
    assert window.last_error == ""
    assert "calibration never completed" in window.panel.messages.toPlainText()


@pytest.mark.timeout(60)
def test_the_channel_box_reaches_the_pipeline_as_an_object_named_in_errors(window, qtbot):
    """The app hands the pipeline the parsed relabelling: a count that does not fit the
    stream is refused naming the app's channel box, not a spec option."""
    from bci_valence.constants import FACED_CHANNELS

    window.panel.channels.setText(",".join(FACED_CHANNELS[:31]))  # the simulator has 32
    specs = window.panel.source_specs()
    assert specs[0].channels is not None and "channel box" in specs[0].channels.origin
    window.start_session()
    qtbot.waitUntil(lambda: window.last_error != "", timeout=30000)
    assert "the app's channel box gives 31 labels" in window.last_error
    qtbot.waitUntil(lambda: not window.running, timeout=15000)
