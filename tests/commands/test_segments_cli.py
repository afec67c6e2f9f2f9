"""``--segments-out``, ``--segments``, ``--baseline`` and ``--group-out`` on the command line,
for real: simulated headsets on LSL, a LabRecorder recording replayed, and an independent
pylsl client reading the ``bci_valence_group`` outlet."""

from __future__ import annotations

import csv
import json
import math
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest

from bci_valence.cli import main

REPO = Path(__file__).resolve().parents[2]
REQUIRED = ["label", "onset_s", "duration_s", "n_windows", "n_usable", "valence_mean", "valence_ci_low",
            "valence_ci_high"]  # fmt: skip
SCRIPT = (("joy", 7), ("anger", 7), ("sadness", 7))


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _common(bundle: Path) -> list[str]:
    return ["--bundle", str(bundle), "--device", "cpu", "--quiet", "--calibration-s", "3"]


@pytest.fixture(scope="module")
def recorded(small_bundle, tmp_path_factory) -> tuple[Path, Path]:
    """A 20-s simulated session with a script of three emotions, recorded to XDF (and
    its live segments CSV)."""
    tmp = tmp_path_factory.mktemp("segments")
    script = ",".join(f"{c}:{s}" for c, s in SCRIPT)
    spec = f"sim:script={script}&seed=1&name=seg-{uuid.uuid4().hex[:6]}"
    code = main(["run", "--source", spec, "--duration", "20", "--record", str(tmp / "x.xdf"),
                 "--segments-out", str(tmp / "live.csv"), *_common(small_bundle)])  # fmt: skip
    assert code == 0
    return tmp / "x.xdf", tmp / "live.csv"


def _scripted_segments(xdf: Path) -> list[tuple[str, float]]:
    """The script's segments as the recorded marker stream says, repeats collapsed (pyxdf)."""
    import pyxdf

    streams, _ = pyxdf.load_xdf(str(xdf))
    (markers,) = [s for s in streams if s["info"]["type"][0] == "Markers"]
    out: list[tuple[str, float]] = []
    for t, value in zip(markers["time_stamps"], markers["time_series"]):
        if not out or out[-1][0] != value[0]:
            out.append((value[0], float(t)))
    return out


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_recorded_session_replays_into_one_row_per_scripted_segment(recorded, small_bundle, tmp_path):
    xdf, live = recorded
    out = tmp_path / "s.csv"
    assert main(["replay", str(xdf), "--segments-out", str(out), "--baseline", "joy", *_common(small_bundle)]) == 0
    rows = _rows(out)
    assert set(REQUIRED) <= set(rows[0])
    expected = _scripted_segments(xdf)
    assert len(expected) >= 3  # the marker stream repeats each label every 5 s: 7-s segments hold a repeat
    assert [r["label"] for r in rows] == [label for label, _ in expected]
    assert [r["label"] for r in rows[:3]] == [c for c, _ in SCRIPT]
    for row, (_, onset) in zip(rows, expected):
        assert float(row["onset_time"]) == pytest.approx(onset, abs=0.01)
    for row in rows[:-1]:  # every segment but the last, which the end of the session cuts
        assert float(row["duration_s"]) == pytest.approx(7.0, abs=0.02)
    assert float(rows[0]["onset_s"]) == pytest.approx(0.0, abs=0.05)  # the script starts with the stream
    # a whole segment after the calibration: 28 windows, all usable (the next one loses its last
    # seconds to the end of the session: no window is centred there)
    assert 26 <= int(rows[1]["n_windows"]) <= 29 and rows[1]["n_usable"] == rows[1]["n_windows"]
    for row in rows[1:3]:
        assert int(row["n_usable"]) > 0
        assert math.isfinite(float(row["valence_mean"])) and math.isfinite(float(row["baseline_diff"]))
    assert rows[0]["note"].startswith("baseline")
    for row in rows:
        usable = int(row["n_usable"])
        assert usable <= int(row["n_windows"])
        assert (row["valence_mean"] == "") == (usable == 0)
        if row["valence_ci_low"]:
            assert float(row["valence_ci_low"]) <= float(row["valence_mean"]) <= float(row["valence_ci_high"])
    about = json.loads((tmp_path / "s.csv.json").read_text())
    assert about["columns"][: len(about["columns"])] == list(rows[0])
    assert "autocorrelation" in about["interval"] and about["segment_settings"]["baseline"] == "joy"
    # the live run wrote the same segments
    live_rows = _rows(live)
    assert [r["label"] for r in live_rows] == [r["label"] for r in rows]
    for a, b in zip(live_rows, rows):
        assert abs(int(a["n_windows"]) - int(b["n_windows"])) <= 1


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_schedule_segments_and_the_segment_with_no_usable_window(recorded, small_bundle, tmp_path):
    xdf, _ = recorded
    schedule = tmp_path / "schedule.csv"
    schedule.write_text("label,onset_s,duration_s\nstart,0,1.5\nfirst,4,5\nsecond,10,5\nafter the end,600,10\n")
    out = tmp_path / "s.csv"
    assert main(["replay", str(xdf), "--segments", str(schedule), "--segments-out", str(out),
                 "--baseline", "first", *_common(small_bundle)]) == 0  # fmt: skip
    rows = {r["label"]: r for r in _rows(out)}
    assert list(rows) == ["start", "first", "second", "after the end"]
    assert [float(rows[k]["onset_s"]) for k in rows] == [0.0, 4.0, 10.0, 600.0]
    assert float(rows["second"]["duration_s"]) == 5.0
    assert int(rows["second"]["n_windows"]) == 20 and rows["second"]["valence_mean"] != ""
    for label in ("start", "after the end"):  # before the first window / after the session: nothing usable
        assert rows[label]["n_usable"] == "0"
        assert rows[label]["valence_mean"] == "" and rows[label]["valence_ci_low"] == ""
        assert rows[label]["note"] == "no usable window"
    assert rows["first"]["note"].startswith("baseline") and rows["second"]["baseline_diff"] != ""


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_two_headsets_give_a_group_trace_and_outlet_an_independent_client_reads(small_bundle, tmp_path):
    pylsl = pytest.importorskip("pylsl")
    tag = uuid.uuid4().hex[:6]
    group, segments = tmp_path / "g.csv", tmp_path / "s.csv"
    command = [
        sys.executable, "-m", "bci_valence.cli", "run",
        "--source", f"sim:seed=1&script=joy:6,anger:6&name=grpA-{tag}",
        "--source", f"sim:seed=2&script=joy:6,anger:6&name=grpB-{tag}",
        "--duration", "20", "--group-out", str(group), "--segments-out", str(segments), *_common(small_bundle),
    ]  # fmt: skip
    proc = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    received: list[tuple[float, list[float]]] = []
    header: dict[str, object] = {}

    def read() -> None:
        found = []
        deadline = time.monotonic() + 90
        while not found and time.monotonic() < deadline and proc.poll() is None:
            found = pylsl.resolve_byprop("name", "bci_valence_group", minimum=1, timeout=1.0)
        if not found:
            return
        inlet = pylsl.StreamInlet(found[0])
        info = inlet.info(timeout=10)
        ch = info.desc().child("channels").child("channel")
        labels = []
        while not ch.empty():
            labels.append(ch.child_value("label"))
            ch = ch.next_sibling()
        header.update(type=info.type(), n=info.channel_count(), rate=info.nominal_srate(), labels=labels,
                      source_id=info.source_id())  # fmt: skip
        idle_since = None
        while True:
            samples, stamps = inlet.pull_chunk(timeout=0.5)
            received.extend(zip(stamps, samples))
            if proc.poll() is not None:
                idle_since = idle_since or time.monotonic()
                if not samples or time.monotonic() - idle_since > 5:
                    return

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        _, err = proc.communicate(timeout=240)
    finally:
        if proc.poll() is None:
            proc.kill()
    reader.join(timeout=30)
    assert proc.returncode == 0, err
    assert "group valence:" in err

    rows = _rows(group)
    assert list(rows[0]) == ["time", "valence_mean", "valence_ci_low", "valence_ci_high", "n_streams", "n_sources",
                             "left_out"]  # fmt: skip
    times = [float(r["time"]) for r in rows]
    assert all(b - a == pytest.approx(0.25, abs=1e-6) for a, b in zip(times, times[1:]))
    both = [r for r in rows if r["n_streams"] == "2"]
    assert len(both) >= 20, err  # after both calibrations, both people count
    for r in both:
        assert float(r["valence_ci_low"]) <= float(r["valence_mean"]) <= float(r["valence_ci_high"])
        assert r["left_out"] == ""
    assert all(r["n_sources"] == "2" for r in rows)
    assert all((r["valence_mean"] == "") == (r["n_streams"] == "0") for r in rows)

    assert header == {"type": "Valence", "n": 4, "rate": 0.0, "source_id": header["source_id"],
                      "labels": ["valence_mean", "valence_ci_low", "valence_ci_high", "n_streams"]}  # fmt: skip
    assert str(header["source_id"]).endswith("-group")
    assert len(received) >= 20
    by_time = {round(float(r["time"]), 3): r for r in rows}
    matched = 0
    for stamp, (mean, low, high, n) in received:
        row = by_time.get(round(stamp, 3))
        if row is None:
            continue
        matched += 1
        assert int(n) == int(row["n_streams"])
        if row["valence_mean"]:
            assert mean == pytest.approx(float(row["valence_mean"]), abs=1e-4)
        else:
            assert math.isnan(mean)
    assert matched >= len(received) - 2  # what the client read is what the CSV holds
    seg_rows = _rows(segments)
    group_rows = [r for r in seg_rows if r["stream"] == "group"]
    assert group_rows and all(r["n_people"] in ("0", "1", "2") for r in group_rows)
    assert any(r["n_people"] == "2" for r in group_rows)


@pytest.mark.timeout(60)
def test_existing_outputs_and_bad_schedules_are_refused_before_any_source_opens(tmp_path, capsys):
    no_stream = ["run", "--source", "lsl:name=no-such-stream-anywhere", "--timeout", "1", "--quiet"]
    existing = tmp_path / "s.csv"
    existing.write_text("kept")
    assert main([*no_stream, "--segments-out", str(existing)]) == 2
    err = capsys.readouterr().err
    assert "--segments-out" in err and "--overwrite" in err and "no-such-stream" not in err
    assert existing.read_text() == "kept"
    (tmp_path / "g.csv.json").write_text("{}")
    assert main([*no_stream, "--group-out", str(tmp_path / "g.csv")]) == 2
    assert "--group-out (its description)" in capsys.readouterr().err
    bad = tmp_path / "schedule.csv"
    bad.write_text("label,onset_s,duration_s\njoy,0,ten\n")
    assert main([*no_stream, "--segments", str(bad), "--segments-out", str(tmp_path / "new.csv")]) == 2
    assert f"{bad}:2: duration_s 'ten' is not a number" in capsys.readouterr().err
    assert main([*no_stream, "--baseline", "joy"]) == 2
    assert "--segments-out" in capsys.readouterr().err
    assert main([*no_stream, "--out", str(tmp_path / "a.csv"), "--segments-out", str(tmp_path / "a.csv")]) == 2
    assert "another output" in capsys.readouterr().err
    assert not (tmp_path / "new.csv").exists() and not (tmp_path / "a.csv").exists()


def test_options_are_documented_in_help(capsys):
    with pytest.raises(SystemExit):
        main(["replay", "--help"])
    text = capsys.readouterr().out
    for option in ("--segments", "--segments-out", "--baseline", "--group-out"):
        assert option in text


@pytest.mark.timeout(120)
def test_a_recording_of_a_group_keeps_the_group_trace(small_bundle, tmp_path):
    from bci_valence.cli import main
    from bci_valence.io.xdf_scan import scan_xdf

    xdf = tmp_path / "group.xdf"
    tag = uuid.uuid4().hex[:6]
    assert main(["run", "--source", f"sim:seed=1&name=recA-{tag}", "--source", f"sim:seed=2&name=recB-{tag}",
                 "--duration", "10", "--record", str(xdf), *_common(small_bundle)]) == 0  # fmt: skip
    names = {s.name: s for s in scan_xdf(xdf).values()}
    assert "bci_valence_group" in names and names["bci_valence_group"].samples_in_chunks > 0
