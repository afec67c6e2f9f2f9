"""SessionSettings: output files checked without being touched; bad values named."""

from __future__ import annotations

import pytest

from bci_valence.online.session import SessionError, SessionSettings


def test_settings_name_the_bad_value(tmp_path):
    with pytest.raises(ValueError, match="steps.csv"):
        SessionSettings(record=tmp_path / "steps.csv")
    with pytest.raises(ValueError, match="--record"):
        SessionSettings(out=tmp_path / "a.xdf")
    with pytest.raises(ValueError, match="-2"):
        SessionSettings(lost_timeout=-2)
    a, b = SessionSettings(), SessionSettings()
    assert a.source_id_prefix != b.source_id_prefix  # sessions on one network stay apart


def test_check_outputs_touches_nothing(tmp_path):
    csv = tmp_path / "old.csv"
    csv.write_text("kept")
    with pytest.raises(FileExistsError, match="--overwrite"):
        SessionSettings(out=csv).check_outputs()
    SessionSettings(out=csv, overwrite=True).check_outputs()
    assert csv.read_text() == "kept"
    with pytest.raises(SessionError, match="folder"):
        SessionSettings(out=tmp_path).check_outputs()
    (tmp_path / "file").write_text("")
    with pytest.raises(SessionError, match="cannot be created"):
        SessionSettings(record=tmp_path / "file" / "sub" / "x.xdf").check_outputs()
    SessionSettings(out=tmp_path / "new" / "deeper" / "x.csv").check_outputs()
    assert not (tmp_path / "new").exists()
