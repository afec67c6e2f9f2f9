"""A recording survives Ctrl-C in a real terminal, SIGINT to the process group and
SIGTERM: LabRecorder runs outside the terminal's process group and the app stops it
itself, so every stream gets its footer and ``replay`` reads the file."""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from bci_valence.cli import main
from bci_valence.streams.outlets import read_csv_log

REPO = Path(__file__).resolve().parents[2]


def _command(bundle: Path, tmp: Path) -> list[str]:
    return [
        sys.executable, "-m", "bci_valence.cli", "run", "--source", f"sim:?name=sig-{uuid.uuid4().hex[:6]}",
        "--bundle", str(bundle), "--device", "cpu", "--quiet", "--calibration-s", "2",
        "--out", str(tmp / "steps.csv"), "--record", str(tmp / "session.xdf"),
    ]  # fmt: skip


def _wait_for_rows(csv: Path, n: int, proc: subprocess.Popen | None = None, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"the run ended early with {proc.returncode}: {proc.stderr.read() if proc.stderr else ''}")
        if csv.exists() and len(read_csv_log(csv)) >= n:
            return
        time.sleep(0.2)
    raise AssertionError(f"{csv} did not reach {n} rows in {timeout} s")


def _assert_complete_recording(xdf: Path, bundle: Path, tmp: Path) -> None:
    import pyxdf

    streams, _ = pyxdf.load_xdf(str(xdf))
    kinds = {s["info"]["type"][0]: s for s in streams}
    assert set(kinds) == {"EEG", "Markers", "Valence"}
    assert all(s.get("footer") is not None for s in streams), "a stream has no footer"
    assert len(kinds["EEG"]["time_stamps"]) > 250 and len(kinds["Valence"]["time_stamps"]) >= 4
    # our own replay reads it without --allow-bad's truncated-file escape hatch
    out = tmp / "replayed.csv"
    assert main(["replay", str(xdf), "--bundle", str(bundle), "--device", "cpu", "--quiet", "--no-outlet",
                 "--calibration-s", "1", "--out", str(out)]) == 0  # fmt: skip
    assert len(read_csv_log(out)) >= 4


@pytest.mark.slow
@pytest.mark.timeout(180)
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_signal_to_the_process_group_keeps_the_recording_whole(signum, small_bundle, tmp_path):
    proc = subprocess.Popen(
        _command(small_bundle, tmp_path), cwd=REPO, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        _wait_for_rows(tmp_path / "steps.csv", 8, proc)
        os.killpg(proc.pid, signum)  # the whole group, as a terminal or a service manager does
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 128 + signum, err
    assert "recorded" in err and "not closed cleanly" not in err
    _assert_complete_recording(tmp_path / "session.xdf", small_bundle, tmp_path)


@pytest.mark.slow
@pytest.mark.timeout(180)
@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
def test_ctrl_c_in_a_real_terminal_keeps_the_recording_whole(small_bundle, tmp_path):
    session = f"bcivalence-{uuid.uuid4().hex[:8]}"
    done = tmp_path / "exit_code"
    script = f"cd {shlex.quote(str(REPO))} && {shlex.join(_command(small_bundle, tmp_path))} 2>{tmp_path / 'err.txt'}; echo $? > {done}"
    subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", "200", "-y", "50", script], check=True)
    try:
        _wait_for_rows(tmp_path / "steps.csv", 8)
        subprocess.run(["tmux", "send-keys", "-t", session, "C-c"], check=True)
        deadline = time.monotonic() + 60
        while not (done.exists() and done.read_text().strip()) and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], stderr=subprocess.DEVNULL, check=False)
    err = (tmp_path / "err.txt").read_text()
    assert done.read_text().strip() == "130", err
    assert "recorded" in err
    _assert_complete_recording(tmp_path / "session.xdf", small_bundle, tmp_path)
