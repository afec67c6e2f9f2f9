"""The one ``bci-valence`` command and the package boundaries of the design card."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from bci_valence import cli
from tests.helpers import REPO_ROOT

EXPECTED_COMMANDS = {
    "faced", "features", "streams", "simulate", "run", "replay",
    "axis", "train", "evaluate", "report", "gui", "demo",
}  # fmt: skip


def _subcommands() -> dict:
    parser = cli.build_parser()
    action = next(a for a in parser._actions if a.dest == "command")
    return action.choices


def test_help_lists_every_subcommand():
    assert EXPECTED_COMMANDS <= set(_subcommands())


@pytest.mark.parametrize("name", sorted(EXPECTED_COMMANDS))
def test_every_subcommand_has_help(name, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main([name, "--help"])
    assert exit_info.value.code == 0
    assert "usage: bci-valence" in capsys.readouterr().out


def test_console_script_runs():
    exe = Path(sys.executable).with_name("bci-valence")
    result = subprocess.run([str(exe), "--help"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0
    assert "features" in result.stdout


def test_core_package_never_imports_the_applications():
    """No module of bci_valence imports offline or gui, statically or at import time."""
    for path in (REPO_ROOT / "bci_valence").rglob("*.py"):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                assert name.split(".")[0] not in {"offline", "gui"}, f"{path} imports {name}"
    code = (
        "import importlib, pkgutil, sys, bci_valence\n"
        "for m in pkgutil.walk_packages(bci_valence.__path__, 'bci_valence.'):\n"
        "    importlib.import_module(m.name)\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('offline', 'gui')]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=300)
