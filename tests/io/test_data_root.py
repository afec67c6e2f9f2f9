"""Where commands look for FACED when given no root: the environment, then the working
folder, never the folder the package is installed in."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import bci_valence
from bci_valence.io.faced import default_faced_root
from tests.helpers import REPO_ROOT


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.delenv("BCI_VALENCE_FACED", raising=False)
    monkeypatch.delenv("BCI_VALENCE_SHARED_DATA", raising=False)
    return monkeypatch


def test_bci_valence_faced_wins(clean_env, tmp_path):
    clean_env.setenv("BCI_VALENCE_FACED", str(tmp_path / "mine"))
    clean_env.setenv("BCI_VALENCE_SHARED_DATA", str(tmp_path / "shared"))
    assert default_faced_root() == tmp_path / "mine"


def test_shared_data_folder_next(clean_env, tmp_path):
    clean_env.setenv("BCI_VALENCE_SHARED_DATA", str(tmp_path / "shared"))
    assert default_faced_root() == tmp_path / "shared" / "faced"


def test_empty_variables_count_as_unset(clean_env, tmp_path):
    clean_env.setenv("BCI_VALENCE_FACED", "")
    clean_env.setenv("BCI_VALENCE_SHARED_DATA", "")
    clean_env.chdir(tmp_path)
    assert default_faced_root() == tmp_path / "faced"


def test_a_checkout_beside_the_shared_data(clean_env, tmp_path):
    beside = tmp_path / "shared" / "data" / "faced"
    beside.mkdir(parents=True)
    (tmp_path / "project").mkdir()
    clean_env.chdir(tmp_path / "project")
    assert default_faced_root() == beside


def test_otherwise_faced_in_the_working_folder(clean_env, tmp_path):
    (tmp_path / "project").mkdir()
    (tmp_path / "shared" / "data").mkdir(parents=True)  # no faced/ in it
    clean_env.chdir(tmp_path / "project")
    assert default_faced_root() == tmp_path / "project" / "faced"


_PRINT_DEFAULTS = """
import argparse
from bci_valence.io.faced import default_faced_root
from offline import cli_train
from offline.vaxis import validate

parser = argparse.ArgumentParser()
sub = parser.add_subparsers(dest="command")
cli_train.add_train_parser(sub)
cli_train.add_evaluate_parser(sub)
print(default_faced_root())
print(cli_train._faced_root(parser.parse_args(["train", "--out", "x"])))
print(cli_train._faced_root(parser.parse_args(["evaluate"])))
print(validate.default_faced_root())
print(cli_train.__file__)
"""


def test_an_installed_copy_never_looks_inside_its_install_folder(tmp_path):
    """The packages copied into a virtualenv's site-packages, as ``pip install .`` lays
    them out, and run from an unrelated working folder: every default is in that
    folder, none under site-packages."""
    site = tmp_path / "venv" / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}" / "site-packages"
    for package in ("bci_valence", "offline"):
        shutil.copytree(REPO_ROOT / package, site / package, ignore=shutil.ignore_patterns("__pycache__", "data"))
    work = tmp_path / "work"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("BCI_VALENCE_FACED", "BCI_VALENCE_SHARED_DATA")}
    env["PYTHONPATH"] = str(site)
    proc = subprocess.run([sys.executable, "-c", _PRINT_DEFAULTS], cwd=work, env=env, capture_output=True,
                          text=True, timeout=120, check=False)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    *roots, module = [Path(line) for line in proc.stdout.splitlines()]
    assert module.is_relative_to(site)  # the installed copy ran, not the checkout
    assert len(roots) == 4
    assert all(root == work / "faced" for root in roots), roots
    assert not any(root.is_relative_to(site.parents[2]) for root in roots)


def test_the_checkout_s_package_is_not_consulted(clean_env, tmp_path):
    """Run from anywhere, the default depends on the working folder alone."""
    clean_env.chdir(tmp_path)
    root = default_faced_root()
    assert not root.is_relative_to(Path(bci_valence.__file__).resolve().parent)
    assert root == tmp_path / "faced"
