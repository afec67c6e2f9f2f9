"""``bci-valence axis validate`` leaves the shipped axis folder alone, never swaps in
other ratings unasked, and ``--no-progress`` silences the model-loading bar too."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SHIPPED = REPO / "offline" / "data" / "axes" / "all-minilm-l6-v2"


def _axis(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    full = {**os.environ, "HF_HUB_OFFLINE": "1", **(env or {})}
    return subprocess.run([sys.executable, "-m", "bci_valence.cli", "axis", "validate", *args],
                          capture_output=True, text=True, cwd=REPO, env=full, timeout=600)  # fmt: skip


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else ""


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_validate_without_a_folder_writes_nothing_into_the_shipped_axis_and_hides_bars(tmp_path):
    if not (SHIPPED / "axis.json").exists() and not any(SHIPPED.glob("*")):
        pytest.skip("the shipped axis folder is absent")
    before = {p.name: _digest(p) for p in SHIPPED.iterdir()}
    lexicon = tmp_path / "lexicon.txt"
    lexicon.write_text("love\t3.2\t0.5\t[0]\nhate\t-2.7\t0.5\t[0]\njoy\t2.8\t0.5\t[0]\nsad\t-2.1\t0.5\t[0]\n")
    proc = _axis("--readme-ratings", "--no-progress", "--lexicon", str(lexicon))
    if proc.returncode != 0 and "offline" in proc.stderr.lower() and "model" in proc.stderr.lower():
        pytest.skip(f"the axis's text model is not in the local cache: {proc.stderr[-300:]}")
    assert proc.returncode == 0, proc.stderr
    assert {p.name: _digest(p) for p in SHIPPED.iterdir()} == before
    assert "--figure" in proc.stderr  # says how to get a figure
    assert "Loading weights" not in proc.stderr and "it/s" not in proc.stderr
    figure = tmp_path / "fig.png"
    assert _axis("--readme-ratings", "--no-progress", "--no-vader", "--figure", str(figure)).returncode == 0
    assert figure.stat().st_size > 1000


def test_validate_refuses_a_missing_faced_root_instead_of_other_ratings(tmp_path):
    proc = _axis("--no-vader", "--no-figure", "--faced-root", str(tmp_path / "nowhere"))
    assert proc.returncode == 2
    assert "nowhere" in proc.stderr and "--readme-ratings" in proc.stderr
    # the default root, when absent beside the repository, is refused the same way
    proc = _axis("--no-vader", "--no-figure", env={"BCI_VALENCE_FACED": str(tmp_path / "absent")})
    assert proc.returncode == 2 and "absent" in proc.stderr
