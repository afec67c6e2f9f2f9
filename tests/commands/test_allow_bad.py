"""``run``/``replay`` on input that never yields a usable window: an error and a
non-zero exit, or with ``--allow-bad`` exit 0 and the rows flagged."""

from __future__ import annotations

import csv

import pytest

from bci_valence.cli import main
from bci_valence.io.recordings import read_recording
from tests.helpers import write_edf

pytestmark = pytest.mark.timeout(180)

XDF_LABELS = "Fp1,Fp2,C3,C4,P7,P8,O1,O2"
COMMON = ["--no-outlet", "--quiet", "--device", "cpu"]


def test_short_recording_exits_3_and_says_why(xdf_file, capsys) -> None:
    code = main(["replay", str(xdf_file), "--channels", XDF_LABELS, *COMMON])
    err = capsys.readouterr().err
    assert code == 3
    assert "calibration never completed" in err and "only 9.5 s long" in err and "--allow-bad" in err


def test_allow_bad_writes_the_rows_flagged_and_exits_0(xdf_file, tmp_path, capsys) -> None:
    out = tmp_path / "steps.csv"
    code = main(["replay", str(xdf_file), "--channels", XDF_LABELS, "--allow-bad", "--out", str(out), *COMMON])
    assert code == 0
    rows = list(csv.DictReader(out.open()))
    assert rows and all("CALIBRATING" in r["flags"] for r in rows)
    assert "warning" in capsys.readouterr().err


def test_a_rate_too_low_for_gamma_is_refused_at_start(eeglab_set, tmp_path, capsys) -> None:
    rec = read_recording(eeglab_set)
    path = write_edf(tmp_path / "slow.edf", rec.data[:, : 128 * 40 : 2], 64.0, rec.ch_names)
    code = main(["replay", str(path), *COMMON])
    err = capsys.readouterr().err
    assert code == 2 and "64 Hz" in err and "--allow-bad" in err
    out = tmp_path / "slow.csv"
    code = main(["replay", str(path), "--allow-bad", "--calibration-s", "5", "--out", str(out), *COMMON])
    assert code == 0
    rows = list(csv.DictReader(out.open()))
    assert rows and all("UNDERSAMPLED" in r["flags"] for r in rows)
