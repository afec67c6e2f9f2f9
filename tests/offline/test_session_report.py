"""``bci-valence session-report``: the page and figures of a real recorded session, from its XDF
(replayed) and from its step CSV (read as written), and the inputs it refuses."""

from __future__ import annotations

import argparse
import csv
import json
import math
import uuid
from pathlib import Path

import pytest

from bci_valence.cli import main
from offline.session_report import FIGURES, REPORT_NAME, SEGMENTS_CSV, add_parser, write_session_report

SCRIPT = (("joy", 8), ("anger", 8), ("neutral", 8))
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
CALIBRATION = ["--calibration-s", "3", "--device", "cpu", "--no-progress"]


def _command(argv: list[str]) -> int:
    """``bci-valence session-report ARGV`` through the subcommand's own parser."""
    parser = argparse.ArgumentParser(prog="bci-valence")
    add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["session-report", *argv])
    return args.func(args)


@pytest.fixture(scope="module")
def session(tmp_path_factory) -> tuple[Path, Path]:
    """A 26-s simulated session with a script of three emotions, recorded to XDF with its step CSV."""
    tmp = tmp_path_factory.mktemp("session")
    script = ",".join(f"{c}:{s}" for c, s in SCRIPT)
    spec = f"sim:script={script}&seed=1&name=report-{uuid.uuid4().hex[:6]}"
    code = main(["run", "--source", spec, "--duration", "26", "--calibration-s", "3", "--record", str(tmp / "x.xdf"),
                 "--out", str(tmp / "x.csv"), "--no-outlet", "--quiet", "--device", "cpu"])  # fmt: skip
    assert code == 0
    return tmp / "x.xdf", tmp / "x.csv"


def _segment_rows(page: str) -> list[list[str]]:
    """The cells of the page's segment table, one list per row."""
    lines = page.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| # | label |"))
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([c.strip() for c in line.strip().strip("|").split(" | ")])
    return rows


def _scripted_segments(xdf: Path) -> list[str]:
    """The labels of the script's segments as the recorded marker stream says (repeats
    collapsed), up to the last EEG sample, read with pyxdf."""
    import pyxdf

    streams, _ = pyxdf.load_xdf(str(xdf))
    (markers,) = [s for s in streams if s["info"]["type"][0] == "Markers"]
    (eeg,) = [s for s in streams if s["info"]["type"][0] == "EEG"]
    end = float(eeg["time_stamps"][-1])
    out: list[str] = []
    for t, value in zip(markers["time_stamps"], markers["time_series"]):
        if float(t) < end and (not out or out[-1] != value[0]):
            out.append(value[0])
    return out


def _label_runs(steps_csv: Path) -> list[str]:
    """The runs of the step CSV's true_label column (what a CSV's segments come from)."""
    with steps_csv.open(newline="", encoding="utf-8") as fh:
        labels = [row["true_label"] for row in csv.DictReader(fh)]
    return [label for i, label in enumerate(labels) if label and (i == 0 or labels[i - 1] != label)]


def _assert_png(path: Path) -> None:
    assert path.is_file(), f"{path.name} was not written"
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC and len(data) > 5_000, f"{path.name}: {len(data)} bytes, not a drawn PNG"


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_report_from_the_recording(session, tmp_path, capsys):
    xdf, _ = session
    out = tmp_path / "xdf"
    assert _command([str(xdf), "--out", str(out), "--baseline", "joy", *CALIBRATION]) == 0
    assert capsys.readouterr().out.strip() == str(out / REPORT_NAME)
    page = (out / REPORT_NAME).read_text(encoding="utf-8")
    assert page.startswith(f"# Session report: `{xdf.name}`")
    assert "made with `" in page and "(UTC)" in page  # its provenance
    rows = _segment_rows(page)
    expected = _scripted_segments(xdf)
    assert len(expected) >= 3
    assert [r[1] for r in rows] == expected  # one row per scripted segment, in order
    assert expected[:3] == [c for c, _ in SCRIPT]
    for name in FIGURES.values():
        _assert_png(out / name)
        assert f"]({name})" in page
    assert "no scalp maps" not in page
    # the page's numbers are the unrounded ones beside it, and those `replay --segments-out` writes
    written = _rows(out / SEGMENTS_CSV)
    replayed = tmp_path / "replayed.csv"
    assert main(["replay", str(xdf), "--segments-out", str(replayed), "--baseline", "joy", "--calibration-s", "3",
                 "--device", "cpu", "--no-outlet", "--quiet"]) == 0  # fmt: skip
    for row, mine, theirs in zip(rows, written, _rows(replayed), strict=True):
        assert (row[4], row[5]) == (mine["n_windows"], mine["n_usable"]) == (theirs["n_windows"], theirs["n_usable"])
        if mine["valence_mean"]:
            assert row[6] == f"{float(mine['valence_mean']):+.4f}"
            assert float(mine["valence_mean"]) == pytest.approx(float(theirs["valence_mean"]), abs=1e-4)
        else:
            assert row[6] == "—" and theirs["valence_mean"] == ""
    assert rows[0][9].startswith("baseline") and rows[0][8] == "—"
    assert all(r[8] != "—" for r, w in zip(rows[1:], written[1:]) if w["valence_mean"])  # a difference each
    assert int(rows[1][5]) > 0 and math.isfinite(float(rows[1][6]))
    # the maps are against the baseline and name every other segment with a usable window
    maps = page[page.index("## Scalp maps") : page.index("## What the valence means")]
    assert "against the baseline segment `joy`" in maps
    assert sum(line.startswith(("| anger", "| neutral")) for line in maps.splitlines()) == 2
    assert "AUC" in page and "Simulated" in page


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_report_from_the_step_csv(session, tmp_path):
    _, steps = session
    out = tmp_path / "csv"
    report = write_session_report(steps, out, baseline="joy")
    assert report == out / REPORT_NAME
    page = report.read_text(encoding="utf-8")
    rows = _segment_rows(page)
    runs = _label_runs(steps)
    assert [r[1] for r in rows] == runs and runs[:3] == [c for c, _ in SCRIPT]
    for key in ("trace", "segments", "quality"):
        _assert_png(out / FIGURES[key])
    assert not (out / FIGURES["scalp"]).exists()
    assert "this page has no scalp maps" in page and "](scalp_maps.png)" not in page
    recorded = json.loads(steps.with_name(steps.name + ".json").read_text(encoding="utf-8"))["provenance"]
    assert f"- the session: `{recorded['command']}` on {recorded['date']}" in page  # from the CSV's description
    # its numbers are the unrounded ones beside it
    for row, mine in zip(rows, _rows(out / SEGMENTS_CSV), strict=True):
        assert (row[1], row[4], row[5]) == (mine["label"], mine["n_windows"], mine["n_usable"])
    assert int(rows[1][5]) > 0


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_a_schedule_gives_the_segments(session, tmp_path):
    _, steps = session
    schedule = tmp_path / "schedule.csv"
    schedule.write_text("label,onset_s,duration_s\nfirst,8,6\nsecond,16,6\n", encoding="utf-8")
    report = write_session_report(steps, tmp_path / "s", schedule=schedule, baseline="first")
    rows = _segment_rows(report.read_text(encoding="utf-8"))
    assert [(r[1], r[2], r[3]) for r in rows] == [("first", "8.00", "6.00"), ("second", "16.00", "6.00")]
    assert rows[1][8] != "—" and rows[0][9].startswith("baseline")


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_an_existing_report_is_refused_without_overwrite(session, tmp_path, capsys):
    _, steps = session
    out = tmp_path / "again"
    out.mkdir()
    (out / REPORT_NAME).write_text("an earlier report\n", encoding="utf-8")
    (out / FIGURES["scalp"]).write_bytes(PNG_MAGIC)  # an earlier recording's maps
    assert _command([str(steps), "--out", str(out), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "already exists" in err and "--overwrite" in err and "\n" not in err
    assert (out / REPORT_NAME).read_text(encoding="utf-8") == "an earlier report\n"
    with pytest.raises(FileExistsError):
        write_session_report(steps, out)
    assert _command([str(steps), "--out", str(out), "--no-progress", "--overwrite"]) == 0
    assert (out / REPORT_NAME).read_text(encoding="utf-8").startswith("# Session report")
    assert not (out / FIGURES["scalp"]).exists()  # the page says it has no maps: none is left beside it


def test_refused_inputs_end_in_one_line(tmp_path, capsys):
    def run(*argv: str) -> tuple[int, str]:
        code = _command([*argv, "--out", str(tmp_path / "r"), "--no-progress"])
        return code, capsys.readouterr().err.strip()

    code, err = run(str(tmp_path / "missing.xdf"))
    assert code == 2 and "does not exist" in err and "\n" not in err
    header = tmp_path / "header.csv"
    header.write_text("stream,timestamp,wall_time,valence,flags,flags_int,calibration_progress,latency_ms,true_label\n")
    code, err = run(str(header))
    assert code == 3 and "holds no step" in err and "\n" not in err
    other = tmp_path / "other.csv"
    other.write_text("a,b\n1,2\n")
    code, err = run(str(other))
    assert code == 2 and "not a step CSV" in err and "timestamp" in err
    assert not (tmp_path / "r" / REPORT_NAME).exists()


@pytest.mark.timeout(120)
def test_a_recording_without_channel_labels_is_refused(xdf_file, tmp_path, capsys):
    assert _command([str(xdf_file), "--out", str(tmp_path / "r"), "--device", "cpu", "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: cannot replay") and "--channels" in err and "\n" not in err
    assert not (tmp_path / "r" / REPORT_NAME).exists()
