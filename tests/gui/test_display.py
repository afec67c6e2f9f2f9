"""``bci-valence gui`` without a usable display: a readable message and exit 2, never
Qt's xcb abort; ``--source sim`` (no colon) is the simulated headset."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _gui(args: list[str], env_changes: dict[str, str | None], timeout: float = 120.0) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    for key, value in env_changes.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return subprocess.run([sys.executable, "-m", "bci_valence.cli", "gui", *args], capture_output=True, check=False,
                          text=True, timeout=timeout, env=env, cwd=REPO)  # fmt: skip


@pytest.mark.timeout(120)
def test_a_display_that_cannot_be_opened_gives_a_message_not_an_abort(tmp_path) -> None:
    # a display number no X server listens on
    proc = _gui(["--source", "sim", "--settings", str(tmp_path / "s.ini")],
                {"DISPLAY": ":87", "WAYLAND_DISPLAY": None, "QT_QPA_PLATFORM": None})  # fmt: skip
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "bci-valence gui: Qt cannot open a window on display ':87'" in proc.stderr
    assert "bci-valence demo" in proc.stderr and "xvfb-run" in proc.stderr
    assert "core dumped" not in proc.stderr and "Aborted" not in proc.stderr


@pytest.mark.timeout(120)
def test_no_display_at_all_says_so(tmp_path) -> None:
    proc = _gui(["--source", "sim", "--settings", str(tmp_path / "s.ini")],
                {"DISPLAY": None, "WAYLAND_DISPLAY": None, "QT_QPA_PLATFORM": None})  # fmt: skip
    assert proc.returncode == 2
    assert "no display: DISPLAY and WAYLAND_DISPLAY are unset" in proc.stderr


@pytest.mark.timeout(180)
def test_source_sim_without_colon_starts_the_simulated_headset(tmp_path) -> None:
    shot = tmp_path / "window.png"
    proc = _gui(["--source", "sim", "--screenshot", str(shot), "--after", "6", "--settings", str(tmp_path / "s.ini")],
                {"DISPLAY": None, "WAYLAND_DISPLAY": None, "QT_QPA_PLATFORM": None})  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert shot.stat().st_size > 10_000
    assert "window shows an error" not in proc.stderr, proc.stderr[-2000:]
    assert "unknown source kind" not in proc.stderr + proc.stdout
