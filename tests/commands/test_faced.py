"""``bci-valence faced ROOT``: a summary a reader can decode without the source."""

from __future__ import annotations

from pathlib import Path

from bci_valence import cli


def test_summary_lines_say_what_they_count(faced_root: Path, capsys) -> None:
    assert cli.main(["faced", str(faced_root), "--subjects", "0-2,70", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "subjects: 4 (sub000-sub002, sub070)" in out
    assert "(4, 28, 32, 30, 5)" in out
    assert "cohort 1: 3 subjects, cohort 2: 1 subject" in out
    assert "in volts (4 subjects)" in out
    assert "microvolts" in out  # the DE's unit
    assert "README (123)" not in out and "cohorts: 1:" not in out
    assert "negative" in out and "positive" in out
    assert "all 123 subjects" in out and "5.23" in out  # the release mean of clip 20
