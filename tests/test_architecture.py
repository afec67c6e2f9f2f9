"""The import contract (``[tool.importlinter]`` in pyproject.toml) holds, and catches breaches."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
LINT = Path(sys.executable).with_name("lint-imports")
PACKAGES = ("bci_valence", "offline", "gui")

pytestmark = pytest.mark.skipif(not LINT.exists(), reason="import-linter is not installed (pip install -e '.[test]')")


def _lint(root: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run(
        [str(LINT), "--config", str(root / "pyproject.toml"), "--no-cache"],
        cwd=root, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def _copy_tree(tmp_path: Path) -> Path:
    root = tmp_path / "tree"
    root.mkdir()
    shutil.copy(REPO / "pyproject.toml", root)
    for name in PACKAGES:
        shutil.copytree(REPO / name, root / name, ignore=shutil.ignore_patterns("data", "__pycache__"))
    return root


def test_contract_holds():
    proc = _lint(REPO)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 broken" in proc.stdout


@pytest.mark.parametrize(
    ("module", "planted", "broken"),
    [
        ("bci_valence/signal/montage.py", "from bci_valence.online import pipeline", "layers"),
        ("bci_valence/model/bundle.py", "import gui", "never imports them"),
        ("bci_valence/constants.py", "from bci_valence.signal import montage", "layers"),
        ("gui/qt_compat.py", "import gui.app", "cycles"),  # gui.app imports gui.qt_compat
        ("offline/vaxis/storage.py", "import offline.report", "offline's layers"),
        ("offline/vaxis/storage.py", "import offline.training", "offline's layers"),  # siblings kept independent
    ],
)
def test_planted_import_breaks_the_contract(tmp_path, module, planted, broken):
    root = _copy_tree(tmp_path)
    path = root / module
    path.write_text(path.read_text() + f"\n{planted}  # planted by the test\n")
    proc = _lint(root)
    assert proc.returncode != 0, proc.stdout
    assert "BROKEN" in proc.stdout
    assert any(broken in line for line in proc.stdout.splitlines() if "BROKEN" in line), proc.stdout
