"""The Makefile installs torch's CPU build from PyTorch's CPU index (overridable), and an
unreachable index costs one line, not a page of retries."""

from __future__ import annotations

import functools
import http.server
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _dry_run(*args: str) -> str:
    # -B: print every recipe line even when the stamp is up to date; -n: run nothing
    return subprocess.run(["make", "-n", "-B", "venv", *args], cwd=REPO, capture_output=True, text=True,
                          check=True).stdout  # fmt: skip


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_torch_comes_from_the_cpu_index_unless_told_otherwise():
    line = next(ln for ln in _dry_run().splitlines() if "torch==" in ln)
    assert "--index-url https://download.pytorch.org/whl/cpu" in line and "torch==2.13.0" in line
    gpu = next(ln for ln in _dry_run("TORCH_INDEX=https://download.pytorch.org/whl/cu128").splitlines()
               if "torch==" in ln)  # fmt: skip
    assert "--index-url https://download.pytorch.org/whl/cu128" in gpu
    assert "python3.10 -m venv" in _dry_run("PYTHON=python3.10")  # make PYTHON=... where python3.11 is named otherwise


# ---------------------------------------------------------------------------
# The torch step itself, run for real by make with a stand-in for .venv's python whose
# `-m pip` only records its arguments (no download), against indexes on this machine.
# ---------------------------------------------------------------------------


def _stub_python(tmp_path: Path, pip_status: int = 0) -> tuple[Path, Path]:
    """A ``python`` that runs ``-c`` code with the real interpreter and records ``-m pip``."""
    calls = tmp_path / "pip-calls.txt"
    stub = tmp_path / "python"
    stub.write_text(f"""#!/bin/sh
if [ "$1" = "-m" ] && [ "$2" = "pip" ]; then echo "$*" >> "{calls}"; exit {pip_status}; fi
exec "{sys.executable}" "$@"
""")
    stub.chmod(0o755)
    return stub, calls


def _install_torch(stub: Path, index: str, venv: Path) -> tuple[subprocess.CompletedProcess, float]:
    start = time.monotonic()
    proc = subprocess.run(["make", "--no-print-directory", "--eval", "torch-only: ; @$(INSTALL_TORCH)", "torch-only",
                           f"PY={stub}", f"TORCH_INDEX={index}", f"VENV={venv}"],
                          cwd=REPO, capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
    return proc, time.monotonic() - start


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_an_unreachable_torch_index_costs_one_line_and_falls_back(tmp_path):
    stub, calls = _stub_python(tmp_path)
    index = f"http://127.0.0.1:{_closed_port()}/whl/cpu"
    proc, seconds = _install_torch(stub, index, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [
        f"PyTorch's index {index} cannot be reached: torch comes from the default package index instead"]
    assert proc.stderr == "" and seconds < 30
    pip = calls.read_text().splitlines()
    assert pip == ["-m pip install -q --retries 1 --timeout 30 torch==2.13.0"]  # the default index, same version


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_when_no_torch_comes_from_the_default_index_either_a_second_line_says_what_follows(tmp_path):
    stub, _ = _stub_python(tmp_path, pip_status=1)
    proc, _ = _install_torch(stub, f"http://127.0.0.1:{_closed_port()}/whl/cpu", tmp_path)
    assert proc.returncode == 0, proc.stderr  # the project install then picks a torch 2.x
    lines = proc.stdout.splitlines()
    assert len(lines) == 2 and "cannot be reached" in lines[0]
    assert lines[1].startswith("no torch 2.13.0 there either") and str(tmp_path / "torch-install.log") in lines[1]


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_a_reachable_index_serves_torch_silently(tmp_path):
    (tmp_path / "www" / "whl" / "cpu" / "torch").mkdir(parents=True)
    (tmp_path / "www" / "whl" / "cpu" / "torch" / "index.html").write_text("<html></html>")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path / "www"))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        stub, calls = _stub_python(tmp_path)
        index = f"http://127.0.0.1:{server.server_address[1]}/whl/cpu/"
        proc, _ = _install_torch(stub, index, tmp_path)
    finally:
        server.shutdown()
        server.server_close()
    assert proc.returncode == 0 and proc.stdout == "", proc.stdout + proc.stderr
    assert calls.read_text().splitlines() == [f"-m pip install -q --index-url {index} torch==2.13.0"]
