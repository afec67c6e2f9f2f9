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


def test_short_recording_exits_0_and_says_its_rows_are_calibrating(xdf_file, tmp_path, capsys) -> None:
    """Steps came, so the run succeeded; the warning says why every row carries CALIBRATING."""
    out = tmp_path / "short.csv"
    code = main(["replay", str(xdf_file), "--channels", XDF_LABELS, "--out", str(out), *COMMON])
    err = capsys.readouterr().err
    assert code == 0
    assert "warning" in err and "calibration never completed" in err and "only 9.5 s long" in err
    rows = list(csv.DictReader(out.open()))
    assert rows and all("CALIBRATING" in r["flags"] for r in rows)


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


def test_record_wise_constant_edf_exits_3_naming_the_flags(eeglab_set, tmp_path, capsys) -> None:
    rec = read_recording(eeglab_set)
    per = 128
    data = rec.data[:16, : 60 * per].reshape(16, 60, per).mean(axis=2).repeat(per, axis=1)
    path = write_edf(tmp_path / "records.edf", data, 128.0, rec.ch_names[:16])
    code = main(["replay", str(path), "--min-channels", "4", *COMMON])
    err = capsys.readouterr().err
    assert code == 3
    assert "all" in err and ("FLAT" in err or "CLIPPED" in err) and "calibration reached 0%" in err


def test_truncated_edf_is_refused_unless_allowed(eeglab_set, tmp_path, capsys) -> None:
    rec = read_recording(eeglab_set)
    full = write_edf(tmp_path / "full.edf", rec.data[:, : 128 * 90], 128.0, rec.ch_names)
    cut = tmp_path / "cut.edf"
    raw = full.read_bytes()
    cut.write_bytes(raw[: int(len(raw) * 0.6)])
    code = main(["replay", str(cut), *COMMON])
    assert code == 2 and "is truncated" in capsys.readouterr().err
    out = tmp_path / "cut.csv"
    code = main(["replay", str(cut), "--allow-bad", "--calibration-s", "10", "--out", str(out), *COMMON])
    assert code == 0
    rows = list(csv.DictReader(out.open()))
    last = float(rows[-1]["timestamp"])
    assert 50 < last < 55  # its whole records (about 54 s of the 90 s)
