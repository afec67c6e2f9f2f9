"""Tests for bci_valence.provenance: the command, date and machine of a measurement."""

from __future__ import annotations

import datetime as dt
import json
import os
import shlex
import subprocess
import sys

import numpy as np
import pytest

import bci_valence
from bci_valence.provenance import command_line, cpu_model, package_versions, provenance


def test_provenance_records_given_command_date_machine_and_versions():
    before = dt.datetime.now(dt.UTC).replace(microsecond=0)
    record = provenance("bci-valence replay x.xdf --out y.csv")
    after = dt.datetime.now(dt.UTC)
    assert record["command"] == "bci-valence replay x.xdf --out y.csv"
    date = dt.datetime.fromisoformat(record["date"])
    assert date.tzinfo is not None and date.utcoffset() == dt.timedelta(0)
    assert before <= date <= after
    machine = record["machine"]
    assert set(machine) == {"cpu", "cores", "gpu", "platform", "python"}
    assert machine["cores"] == os.cpu_count()
    assert isinstance(machine["cpu"], str) and machine["cpu"]
    assert machine["python"] == ".".join(map(str, sys.version_info[:3]))
    versions = record["versions"]
    assert versions["bci_valence"] == bci_valence.__version__
    assert versions["numpy"] == np.__version__
    # The record is plain JSON: it survives a round trip unchanged.
    assert json.loads(json.dumps(record)) == record


def test_provenance_defaults_to_this_process_command_line():
    code = (
        "import json; from bci_valence.provenance import provenance; "
        "print(json.dumps(provenance()))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, "--flag", "two words"],
        capture_output=True, text=True, check=True,
    ).stdout
    record = json.loads(out)
    assert record["command"] == f"python -c {shlex.quote(code)} --flag 'two words'"


def test_command_line_names_console_scripts_and_relativizes_paths(tmp_path):
    bin_dir = tmp_path / "venv" / "bin"
    argv = [str(bin_dir / "python"), str(bin_dir / "bci-valence"), "replay", str(tmp_path / "rec.xdf")]
    assert command_line(argv, cwd=tmp_path) == "bci-valence replay rec.xdf"
    argv = [str(bin_dir / "python"), str(tmp_path / "benchmarks" / "soak.py"), "--minutes", "10"]
    assert command_line(argv, cwd=tmp_path) == "python benchmarks/soak.py --minutes 10"
    argv = [str(bin_dir / "python"), "-m", "offline.docs", "/elsewhere/x.json"]
    assert command_line(argv, cwd=tmp_path) == "python -m offline.docs /elsewhere/x.json"


def test_provenance_rejects_a_non_string_command():
    with pytest.raises(TypeError, match="command must be a str or None, got list"):
        provenance(["bci-valence", "replay"])  # type: ignore[arg-type]


def test_cpu_model_reads_the_model_name_line(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(
        "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 7B13 64-Core Processor\n"
        "processor\t: 1\nmodel name\t: AMD EPYC 7B13 64-Core Processor\n"
    )
    assert cpu_model(cpuinfo) == "AMD EPYC 7B13 64-Core Processor"


def test_cpu_model_falls_back_to_platform_without_cpuinfo(tmp_path):
    name = cpu_model(tmp_path / "absent")
    assert isinstance(name, str) and name


def test_package_versions_leaves_out_missing_packages():
    versions = package_versions(("numpy", "no_such_package_xyz"))
    assert versions == {"numpy": np.__version__}


def test_portable_paths_name_no_folder_of_this_machine(tmp_path):
    from bci_valence.provenance import portable_paths

    root = tmp_path / "project"
    record = {
        "bundle": str(root / "bci_valence" / "data" / "default_bundle"),
        "settings": {"faced_root": str(tmp_path / "shared" / "data" / "faced"), "epochs": 3},
        "files": [str(root), "relative/kept", str(tmp_path.parent / "elsewhere")],
    }
    got = portable_paths(record, root)
    assert got["bundle"] == "bci_valence/data/default_bundle"
    assert got["settings"] == {"faced_root": "../shared/data/faced", "epochs": 3}
    assert got["files"][:2] == [".", "relative/kept"]
    assert got["files"][2] == str(tmp_path.parent / "elsewhere")  # outside root and its parent: kept
    assert record["bundle"].startswith(str(root))  # the input is not changed
