"""The Makefile installs torch's CPU build from PyTorch's CPU index (overridable)."""

from __future__ import annotations

import shutil
import subprocess
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
