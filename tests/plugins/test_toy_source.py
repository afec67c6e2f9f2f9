"""A third-party source kind, installed as a package, runs through ``bci-valence run``.

The toy plugin (``tests/plugins/toy_source``) is built and installed into a temporary
folder with this environment's pip (offline, no dependencies), then the real command
runs in a subprocess with that folder on ``PYTHONPATH``: nothing in bci-valence names
the ``toy`` kind, only the package's entry point does.
"""

from __future__ import annotations

import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bci_valence.streams.outlets import read_csv_log
from bci_valence.streams.spec import SourceSpecError, parse_source_spec

pytestmark = pytest.mark.timeout(240)

PLUGIN = Path(__file__).resolve().parent / "toy_source"
EXE = Path(sys.executable).with_name("bci-valence")


@pytest.fixture(scope="module")
def plugin_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder the toy plugin is installed into (skips when pip cannot build it offline)."""
    root = tmp_path_factory.mktemp("toy")
    source = shutil.copytree(PLUGIN, root / "src")  # the build writes beside the sources
    target = root / "site"
    cmd = [sys.executable, "-m", "pip", "install", "--no-deps", "--no-build-isolation", "--no-index",
           "--target", str(target), "--quiet", str(source)]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=180, check=False)
    if proc.returncode != 0:
        pytest.skip(f"pip cannot build the toy plugin offline here: {proc.stderr.strip()[-300:]}")
    assert (target / "toy_source.py").exists()
    return target


def _run(plugin_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(plugin_path)}
    return subprocess.run([str(EXE), *args], capture_output=True, text=True, timeout=180, env=env, check=False)


def test_the_toy_kind_is_unknown_until_its_package_is_installed() -> None:
    with pytest.raises(SourceSpecError, match=r"unknown source kind 'toy'.*expected one of .*lsl"):
        parse_source_spec("toy:rate=250")


def test_an_installed_plugin_kind_runs_the_pipeline(plugin_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "toy.csv"
    proc = _run(plugin_path, "run", "--source", "toy:rate=250&seed=1", "--duration", "9", "--calibration-s", "2",
                "--out", str(out), "--no-outlet", "--quiet", "--device", "cpu")  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = read_csv_log(out)
    assert len(rows) >= 8
    assert {r["stream"] for r in rows} == {"toy"}
    assert all(math.isfinite(float(r["valence"])) for r in rows)
    calibrated = [r for r in rows if "CALIBRATING" not in r["flags"]]
    assert calibrated and float(calibrated[-1]["calibration_progress"]) == 1.0
    stamps = [float(r["timestamp"]) for r in rows]
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)


def test_a_plugin_kind_gets_the_common_syntax_and_its_own_check(plugin_path: Path) -> None:
    proc = _run(plugin_path, "run", "--source", "tocsin:x", "--duration", "1", "--no-outlet")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "unknown source kind 'tocsin'" in proc.stderr and "toy" in proc.stderr  # listed with the others
    proc = _run(plugin_path, "run", "--source", "toy:rate=50", "--duration", "1", "--no-outlet")
    assert proc.returncode == 2 and "source 'toy:rate=50': rate must be >= 100 Hz" in proc.stderr
    proc = _run(plugin_path, "run", "--source", "toy:?channels=Fp1,Fp1", "--duration", "1", "--no-outlet")
    assert proc.returncode == 2 and "the source spec's channels= option of toy: 'Fp1,Fp1'" in proc.stderr
