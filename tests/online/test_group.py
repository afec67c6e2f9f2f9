"""Group valence: the mean over the people whose windows are usable and recent, an interval
across people, a dropped stream that leaves the mean (flagged, never imputed), live = offline."""

from __future__ import annotations

import csv
import json
import math

import numpy as np
import pytest

from bci_valence.online.group import GroupRow, GroupSettings, GroupTracker, group_row, group_trace
from bci_valence.online.segment_outputs import GROUP_COLUMNS, GroupCsv
from bci_valence.online.steps import ValenceStep
from bci_valence.signal.quality import QualityFlag

HOP = 0.25


def _step(stream: str, t: float, v: float, flags: int = 0) -> ValenceStep:
    return ValenceStep(stream, t, v, None, np.zeros((32, 5), np.float32), int(flags), 1.0, 0.0)


def _steps(stream: str, start: float, stop: float, value, flags=lambda t: 0, phase: float = 0.0) -> list:
    t = np.arange(start + phase, stop, HOP)
    return [_step(stream, float(ti), float(value(ti)), flags(ti)) for ti in t]


def _same(a: GroupRow, b: GroupRow) -> bool:
    def eq(x, y):
        return (math.isnan(x) and math.isnan(y)) or x == y

    return (a.time == b.time and a.n_streams == b.n_streams and a.left_out == b.left_out
            and all(eq(x, y) for x, y in ((a.mean, b.mean), (a.ci_low, b.ci_low), (a.ci_high, b.ci_high))))  # fmt: skip


def test_row_is_the_mean_and_t_interval_across_people():
    from scipy import stats

    latest = {"a": (10.0, 0.1, True, False), "b": (9.9, 0.5, True, False), "c": (9.8, 0.9, True, False)}
    row = group_row(10.0, latest, GroupSettings())
    values = np.array([0.1, 0.5, 0.9])
    half = stats.t.ppf(0.975, 2) * values.std(ddof=1) / math.sqrt(3)
    assert (row.n_streams, row.left_out) == (3, ())
    assert row.mean == pytest.approx(0.5)
    assert (row.ci_low, row.ci_high) == pytest.approx((0.5 - half, 0.5 + half))
    one = group_row(10.0, {"a": latest["a"], "b": None}, GroupSettings())
    assert one.n_streams == 1 and one.mean == pytest.approx(0.1)
    assert math.isnan(one.ci_low) and math.isnan(one.ci_high)  # one person: no interval
    assert one.left_out == (("b", "waiting"),)
    nobody = group_row(10.0, {"a": (10.0, math.nan, False, False)}, GroupSettings())
    assert nobody.n_streams == 0 and math.isnan(nobody.mean) and nobody.left_out == (("a", "unusable"),)


def test_dropped_stream_leaves_the_mean_with_a_flag_and_is_not_imputed():
    settings = GroupSettings(tolerance_s=1.0)
    a = _steps("a", 100.0, 130.0, lambda t: 1.0)
    b = _steps("b", 100.0, 110.0, lambda t: 3.0, phase=0.1)  # b's steps stop at 109.85
    c = _steps("c", 100.0, 130.0, lambda t: 2.0, phase=0.05)
    c += [_step("c", 115.0, math.nan, QualityFlag.STALE | QualityFlag.GAP)]  # c is lost at 115 ...
    c = [s for s in c if not 115.0 < s.timestamp < 120.0]  # ... and back at 120
    c.sort(key=lambda s: s.timestamp)
    rows = {round(r.time, 2): r for r in group_trace({"a": a, "b": b, "c": c}, settings)}
    assert rows[105.0].n_streams == 3 and rows[105.0].mean == pytest.approx(2.0)
    # b's last step (109.85) is within the tolerance up to 110.85, then b is left out as late
    assert rows[110.75].n_streams == 3
    assert rows[111.0].n_streams == 2 and rows[111.0].left_out == (("b", "late"),)
    assert rows[111.0].mean == pytest.approx(1.5)  # the mean of a and c only: b is not carried forward
    # c's STALE step takes it out at once, until it is back
    assert rows[114.75].n_streams == 2
    assert rows[115.0].n_streams == 1 and rows[115.0].left_out == (("b", "late"), ("c", "stale"))
    assert rows[115.0].mean == pytest.approx(1.0) and math.isnan(rows[115.0].ci_low)
    assert rows[120.25].n_streams == 2 and rows[120.25].left_out == (("b", "late"),)
    assert all(r.n_streams <= 3 for r in rows.values())


def test_flagged_and_calibrating_windows_do_not_count():
    a = _steps("a", 0.0, 10.0, lambda t: 1.0, flags=lambda t: int(QualityFlag.CALIBRATING) if t < 5 else 0)
    b = _steps("b", 0.0, 10.0, lambda t: 2.0, flags=lambda t: int(QualityFlag.ARTEFACT) if 6 <= t < 7 else 0)
    rows = {r.time: r for r in group_trace({"a": a, "b": b})}
    assert rows[2.0].n_streams == 1 and rows[2.0].left_out == (("a", "unusable"),) and rows[2.0].mean == 2.0
    assert rows[6.5].n_streams == 1 and rows[6.5].left_out == (("b", "unusable"),) and rows[6.5].mean == 1.0
    assert rows[8.0].n_streams == 2 and rows[8.0].mean == pytest.approx(1.5)


def test_ticks_are_on_the_shared_clock():
    rows = group_trace({"a": _steps("a", 10.1, 12.0, lambda t: 0.0)})
    assert [r.time for r in rows] == [10.25, 10.5, 10.75, 11.0, 11.25, 11.5, 11.75]


def test_tracker_gives_the_offline_rows_when_fed_in_time_order():
    rng = np.random.default_rng(0)
    a = _steps("a", 50.0, 80.0, lambda t: np.sin(t), flags=lambda t: int(QualityFlag.ARTEFACT) if 60 < t < 61 else 0)
    b = _steps("b", 50.0, 70.0, lambda t: np.cos(t), phase=0.13)  # b drops at 70
    b.append(_step("b", 70.5, math.nan, QualityFlag.STALE | QualityFlag.GAP))
    steps = sorted(a + b, key=lambda s: s.timestamp)
    offline = group_trace({"a": a, "b": b})
    tracker = GroupTracker(["a", "b"])
    live: list[GroupRow] = []
    cuts = np.sort(rng.choice(len(steps), 25, replace=False))
    for batch in np.split(np.array(steps, dtype=object), cuts):
        live += tracker.push(list(batch))
    before_flush = len(live)
    live += tracker.flush()
    assert before_flush >= len(offline) - 2  # rows come as the session goes, not at the end
    assert len(live) == len(offline)
    assert all(_same(x, y) for x, y in zip(live, offline))


def test_tracker_does_not_wait_for_a_silent_stream():
    tracker = GroupTracker(["a", "b"], GroupSettings(tolerance_s=1.0))
    rows = tracker.push(_steps("a", 0.0, 0.9, lambda t: 1.0))
    assert rows == []  # b may still send steps for these ticks
    rows = tracker.push(_steps("a", 1.0, 3.0, lambda t: 1.0))
    assert [r.time for r in rows] == [0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75]  # a is 1 s past them
    assert all(r.n_streams == 1 and r.left_out == (("b", "waiting"),) for r in rows)
    rows = tracker.push([_step("b", 2.1, 5.0)])
    assert [r.time for r in rows] == [2.0]  # settled: both have passed 2.0
    assert tracker.flush()[-1].n_streams == 2


def test_inputs_are_not_mutated():
    a = _steps("a", 0.0, 3.0, lambda t: t)
    before = [(s.timestamp, s.valence, s.flags) for s in a]
    group_trace({"a": a})
    GroupTracker(["a"]).push(a)
    assert [(s.timestamp, s.valence, s.flags) for s in a] == before


def test_group_csv_is_flushed_per_row_and_refuses_existing_files(tmp_path):
    path = tmp_path / "g.csv"
    with GroupCsv(path, 2, about={"group": {"hop_s": 0.25}}) as out:
        out.write([GroupRow(10.0, 0.5, 0.1, 0.9, 2), GroupRow(10.25, 0.3, math.nan, math.nan, 1, (("b", "stale"),))])
        with path.open(newline="") as fh:  # readable while the file is open
            rows = list(csv.DictReader(fh))
    assert list(rows[0]) == list(GROUP_COLUMNS)
    assert rows[0]["n_streams"] == "2" and rows[0]["n_sources"] == "2" and rows[0]["left_out"] == ""
    assert rows[1]["valence_ci_low"] == "" and rows[1]["left_out"] == "b:stale"
    about = json.loads((tmp_path / "g.csv.json").read_text())
    assert about["columns"] == list(GROUP_COLUMNS) and about["group"] == {"hop_s": 0.25}
    with pytest.raises(FileExistsError, match="already exists"):
        GroupCsv(path, 2)
    GroupCsv(path, 2, overwrite=True).close()


def test_settings_name_the_bad_value():
    with pytest.raises(ValueError, match="hop_s"):
        GroupSettings(hop_s=0)
    with pytest.raises(ValueError, match="tolerance_s"):
        GroupSettings(tolerance_s=-1)
