"""Segments: boundaries from markers and schedules, per-segment intervals that respect the
autocorrelation of overlapping windows, the baseline difference, live = offline, and the
segment with no usable window (reported as such, never as 0)."""

from __future__ import annotations

import csv
import json
import math

import numpy as np
import pytest

from bci_valence.online.segment_outputs import SEGMENT_COLUMNS, write_segments_csv
from bci_valence.online.segments import (
    ScheduleError,
    Segment,
    SegmentSettings,
    SegmentTracker,
    read_schedule,
    segments_from_markers,
    segments_from_schedule,
    summarize_group_segments,
    summarize_segments,
    usable_mask,
    window_arrays,
)
from bci_valence.online.steps import ValenceStep
from bci_valence.signal.quality import QualityFlag

HOP = 0.25


def _step(stream: str, t: float, v: float, flags: int = 0) -> ValenceStep:
    return ValenceStep(stream, t, v, None, np.zeros((32, 5), np.float32), int(flags), 1.0, 0.0)


def _spans(segments):
    return [(s.label, round(s.onset, 6), round(s.end, 6)) for s in segments]


# ---------------------------------------------------------------------- boundaries
def test_repeated_markers_do_not_split_a_segment():
    """The simulator re-sends the running class every few seconds: one segment per class run."""
    markers = [(100.0, "joy"), (105.0, "joy"), (108.0, "anger"), (113.0, "anger"), (116.0, "joy"), (121.0, "joy")]
    assert _spans(segments_from_markers(markers, end=124.0)) == [
        ("joy", 100.0, 108.0), ("anger", 108.0, 116.0), ("joy", 116.0, 124.0),
    ]  # fmt: skip


def test_onset_only_markers_end_at_the_next_one_or_the_session_end():
    markers = [(3.0, "neutral"), (1.0, "baseline"), (9.0, "end"), (12.0, "sadness")]  # unsorted on purpose
    assert _spans(segments_from_markers(markers, end=20.0)) == [
        ("baseline", 1.0, 3.0), ("neutral", 3.0, 9.0), ("sadness", 12.0, 20.0),
    ]  # fmt: skip
    # two labels at one instant: the first has no length and is left out; a marker after the end too
    assert _spans(segments_from_markers([(0.0, "a"), (0.0, "b"), (30.0, "c")], end=10.0)) == [("b", 0.0, 10.0)]
    assert segments_from_markers([], end=10.0) == []


def test_start_end_pairs_delimit_explicit_segments():
    markers = [
        (0.0, "joy"), (2.0, "START:rest"), (4.0, "joy"), (5.0, "end:rest"),
        (6.0, "start:probe"), (7.0, "end:unknown"), (8.0, "anger"),
    ]  # fmt: skip
    got = _spans(segments_from_markers(markers, end=10.0))
    # explicit pairs overlap the running class and do not end it; an unmatched start runs to the end;
    # an unmatched end is ignored
    assert got == [("joy", 0.0, 8.0), ("rest", 2.0, 5.0), ("probe", 6.0, 10.0), ("anger", 8.0, 10.0)]


def test_schedule_is_relative_to_the_first_sample(tmp_path):
    path = tmp_path / "schedule.csv"
    path.write_text("# the study's script\nlabel,onset_s,duration_s,comment\nbaseline,0,30,eyes open\n\n"
                    "joy,30.5,20,clip 3\n")  # fmt: skip
    entries = read_schedule(path)
    assert [(e.label, e.onset_s, e.duration_s) for e in entries] == [("baseline", 0.0, 30.0), ("joy", 30.5, 20.0)]
    assert _spans(segments_from_schedule(entries, origin=1000.0)) == [
        ("baseline", 1000.0, 1030.0), ("joy", 1030.5, 1050.5),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("label,onset_s,duration_s\njoy,abc,10\n", r"schedule\.csv:2: onset_s 'abc' is not a number"),
        ("label,onset_s,duration_s\njoy,0,10\nanger,10,-1\n", r"schedule\.csv:3: duration_s -1 must be > 0"),
        ("label,onset_s,duration_s\njoy,-2,10\n", r"schedule\.csv:2: onset_s -2 is negative"),
        ("label,onset_s,duration_s\n,0,10\n", r"schedule\.csv:2: empty label"),
        ("label,onset_s,duration_s\njoy,0\n", r"schedule\.csv:2: expected label,onset_s,duration_s"),
        ("label,onset,duration\njoy,0,10\n", r"schedule\.csv:1: the header lacks onset_s, duration_s"),
        ("label,onset_s,duration_s\njoy,nan,10\n", r"schedule\.csv:2: onset_s 'nan' is not a finite number"),
        ("# nothing\n", r"schedule\.csv: the segment schedule is empty"),
        ("label,onset_s,duration_s\n", r"schedule\.csv: the segment schedule has a header but no segment"),
    ],
)
def test_malformed_schedules_are_named_by_file_and_line(tmp_path, text, match):
    path = tmp_path / "schedule.csv"
    path.write_text(text)
    with pytest.raises(ScheduleError, match=match) as info:
        read_schedule(path)
    assert "\n" not in str(info.value)


def test_missing_schedule_is_named(tmp_path):
    with pytest.raises(ScheduleError, match="nope.csv: cannot read"):
        read_schedule(tmp_path / "nope.csv")


def test_windows_belong_to_the_segment_holding_their_centre():
    t = np.arange(0.0, 20.0, HOP)
    v = np.where(t < 10.0, 1.0, -1.0)
    segments = [Segment("a", 0.0, 8.0), Segment("b", 8.0, 20.0)]
    by_timestamp = summarize_segments(segments, t, v, np.ones_like(t, bool), SegmentSettings())
    by_centre = summarize_segments(segments, t, v, np.ones_like(t, bool), SegmentSettings(lag_s=2.0))
    assert [s.n_windows for s in by_timestamp] == [32, 48]
    assert [s.n_windows for s in by_centre] == [32, 40]  # t - 2 s in [0, 8): t in [2, 10); then [10, 20)
    assert by_centre[0].mean == 1.0 and by_centre[1].mean == -1.0


# ---------------------------------------------------------------------- intervals
def _overlapping_ar1(rng: np.random.Generator, n: int, phi_per_s: float) -> np.ndarray:
    """Valence of 1-s windows every 0.25 s over a signal with a slow AR(1) drift: each
    window averages four 0.25-s pieces (white noise plus the drift), so neighbours share
    3/4 of their signal on top of the drift's own correlation."""
    pieces = round(1.0 / HOP)
    phi = phi_per_s**HOP
    m = n + pieces - 1 + 200
    drift = np.zeros(m)
    innovations = rng.standard_normal(m) * math.sqrt(1 - phi**2)
    for i in range(1, m):
        drift[i] = phi * drift[i - 1] + innovations[i]
    x = rng.standard_normal(m) + drift
    return np.convolve(x, np.ones(pieces) / pieces, mode="valid")[-n:]


@pytest.mark.timeout(120)
def test_interval_covers_the_true_mean_about_95_percent_of_the_time():
    rng = np.random.default_rng(20240607)
    n = 240  # a 60-s segment
    t = 1000.0 + np.arange(n) * HOP
    segment = [Segment("clip", t[0], t[-1] + HOP)]
    covered, naive, widths = [], [], []
    for _ in range(400):
        v = _overlapping_ar1(rng, n, phi_per_s=0.5)  # the true mean is 0
        (s,) = summarize_segments(segment, t, v, np.ones(n, bool), SegmentSettings())
        assert s.n_usable == n and math.isfinite(s.ci_low)
        covered.append(s.ci_low <= 0.0 <= s.ci_high)
        half = 1.96 * v.std(ddof=1) / math.sqrt(n)  # windows taken as independent
        naive.append(abs(v.mean()) <= half)
        widths.append(s.ci_high - s.ci_low)
    coverage, naive_coverage = float(np.mean(covered)), float(np.mean(naive))
    assert 0.90 <= coverage <= 0.99, coverage
    assert naive_coverage < 0.80, naive_coverage  # the iid interval is far too narrow on the same data
    assert np.all(np.isfinite(widths))


def test_interval_on_independent_windows_is_close_to_the_t_interval():
    """Without drift or overlap (window_s = hop_s) the interval is the ordinary one."""
    from scipy import stats

    rng = np.random.default_rng(3)
    n = 400
    t = np.arange(n) * HOP
    v = rng.standard_normal(n)
    (s,) = summarize_segments([Segment("x", 0.0, n * HOP)], t, v, np.ones(n, bool),
                              SegmentSettings(window_s=HOP))  # fmt: skip
    half = stats.t.ppf(0.975, n - 1) * v.std(ddof=1) / math.sqrt(n)
    assert s.mean == pytest.approx(v.mean())
    assert s.ci_high - s.mean == pytest.approx(half, rel=0.15)


def test_too_few_independent_windows_give_no_interval():
    t = np.arange(6) * HOP
    (s,) = summarize_segments([Segment("x", 0.0, 10.0)], t, np.linspace(0, 1, 6), np.ones(6, bool))
    assert s.n_usable == 6 and math.isfinite(s.mean)
    assert math.isnan(s.ci_low) and math.isnan(s.ci_high)
    assert s.note.startswith("no interval")


def test_minimum_autocorrelation_time_follows_the_windowing():
    assert SegmentSettings().min_tau == pytest.approx(4.0)
    assert SegmentSettings(window_s=HOP).min_tau == pytest.approx(1.0)
    assert SegmentSettings(average=10).min_tau > 10.0  # 10 averaged 1-s windows span 3.25 s


# ---------------------------------------------------------------------- usable windows
def test_segment_without_a_usable_window_is_reported_as_such_never_as_zero(tmp_path):
    t = np.arange(0.0, 30.0, HOP)
    v = np.sin(t)
    flags = np.where(t >= 20.0, int(QualityFlag.ARTEFACT), 0)
    flags[t < 5.0] = int(QualityFlag.CALIBRATING)
    usable = usable_mask(flags, v)
    segments = [Segment("calibrating", 0.0, 5.0), Segment("good", 5.0, 20.0), Segment("artefact", 20.0, 30.0),
                Segment("after the end", 40.0, 50.0)]  # fmt: skip
    out = summarize_segments(segments, t, v, usable, SegmentSettings(baseline="good"))
    by = {s.label: s for s in out}
    for label, n_windows in (("calibrating", 20), ("artefact", 40), ("after the end", 0)):
        s = by[label]
        assert (s.n_windows, s.n_usable, s.n_people) == (n_windows, 0, 0)
        assert math.isnan(s.mean) and math.isnan(s.ci_low) and math.isnan(s.diff)
        assert s.note == "no usable window"
    assert by["good"].n_usable == 60 and by["good"].note == "baseline"
    path = write_segments_csv(tmp_path / "segments.csv", out)
    with path.open(newline="") as fh:
        rows = {r["label"]: r for r in csv.DictReader(fh)}
    assert list(rows["artefact"]) == list(SEGMENT_COLUMNS)
    assert rows["artefact"]["valence_mean"] == "" and rows["artefact"]["valence_ci_low"] == ""
    assert rows["artefact"]["n_usable"] == "0" and rows["artefact"]["note"] == "no usable window"
    assert float(rows["good"]["valence_mean"]) == pytest.approx(v[(t >= 5) & (t < 20)].mean(), abs=1e-5)


def test_window_arrays_leave_stale_steps_out():
    steps = [_step("a", 1.0, 0.5), _step("a", 1.25, 0.7, QualityFlag.ARTEFACT),
             _step("a", 1.25, math.nan, QualityFlag.STALE | QualityFlag.GAP), _step("a", 1.5, math.nan)]  # fmt: skip
    t, v, ok = window_arrays(steps)
    assert t.tolist() == [1.0, 1.25, 1.5]
    assert ok.tolist() == [True, False, False]


def test_inputs_are_not_mutated():
    t = np.arange(0.0, 20.0, HOP)[::-1].copy()  # unsorted input is fine
    v = np.cos(t)
    ok = np.ones_like(t, bool)
    copies = (t.copy(), v.copy(), ok.copy())
    summarize_segments([Segment("a", 0.0, 20.0)], t, v, ok, SegmentSettings(lag_s=1.0))
    for a, b in zip((t, v, ok), copies):
        np.testing.assert_array_equal(a, b)


# ---------------------------------------------------------------------- baseline and group
def test_difference_from_the_baseline_segment():
    rng = np.random.default_rng(1)
    t = np.arange(0.0, 180.0, HOP)
    level = np.select([t < 60, t < 120], [0.0, 1.0], 0.5)
    v = level + 0.1 * rng.standard_normal(t.size)
    segments = [Segment("rest", 0, 60), Segment("joy", 60, 120), Segment("rest", 120, 180)]
    out = summarize_segments(segments, t, v, np.ones(t.size, bool), SegmentSettings(baseline="rest"))
    assert out[0].note == "baseline" and math.isnan(out[0].diff)
    assert out[1].diff == pytest.approx(1.0, abs=0.05)
    assert out[1].diff_low < 1.0 < out[1].diff_high
    assert out[2].diff == pytest.approx(0.5, abs=0.05)  # a later segment with the baseline's label is compared
    none = summarize_segments(segments, t, v, np.ones(t.size, bool), SegmentSettings(baseline="missing"))
    assert all(math.isnan(s.diff) for s in none)


def test_group_summary_is_across_people():
    t = np.arange(0.0, 40.0, HOP)
    segments = [Segment("rest", 0, 20), Segment("joy", 20, 40)]
    settings = SegmentSettings(baseline="rest")
    rng = np.random.default_rng(2)
    per_stream = {}
    for i, offset in enumerate((0.0, 0.2, 0.4)):
        v = np.where(t < 20, 0.0, 1.0) + offset + 0.01 * rng.standard_normal(t.size)
        ok = np.ones(t.size, bool)
        if i == 2:
            ok[t >= 20] = False  # the third person has nothing usable in 'joy'
        shifted = [Segment(s.label, s.onset + 0.1 * i, s.end + 0.1 * i) for s in segments]
        per_stream[f"p{i}"] = summarize_segments(shifted, t, v, ok, settings, stream=f"p{i}", origin=0.0)
    rest, joy = summarize_group_segments(per_stream, settings)
    assert (rest.stream, rest.label, rest.n_people, joy.n_people) == ("group", "rest", 3, 2)
    assert rest.mean == pytest.approx(0.2, abs=0.01) and rest.ci_low < 0.2 < rest.ci_high
    assert joy.mean == pytest.approx(1.1, abs=0.01)  # the mean over the two people who have windows
    assert joy.diff == pytest.approx(1.0, abs=0.01)
    assert joy.onset == pytest.approx(20.0) and joy.duration_s == pytest.approx(20.2)
    assert joy.n_windows == sum(rows[1].n_windows for rows in per_stream.values()) == 80 + 79 + 79
    assert joy.n_usable == 80 + 79
    single = summarize_group_segments({"p0": per_stream["p0"]}, settings)
    assert math.isfinite(single[0].mean) and math.isnan(single[0].ci_low)  # one person: no interval


# ---------------------------------------------------------------------- live = offline
def test_tracker_gives_the_offline_numbers_on_the_same_steps():
    rng = np.random.default_rng(7)
    settings = SegmentSettings(lag_s=1.5, baseline="joy")
    streams = {"a": 1000.0, "b": 1000.6}
    steps, markers, chunks = [], {}, []
    for name, start in streams.items():
        t = start + 4.0 + np.arange(200) * HOP
        v = _overlapping_ar1(rng, t.size, 0.3) + np.where(t < start + 30, 0.5, -0.5)
        flags = np.where(rng.random(t.size) < 0.1, int(QualityFlag.ARTEFACT), 0)
        steps += [_step(name, ti, vi, fi) for ti, vi, fi in zip(t, v, flags)]
        steps.append(_step(name, t[100] + 0.1, math.nan, QualityFlag.STALE | QualityFlag.GAP))
        markers[name] = [(start + s, label) for s, label in ((0, "joy"), (5, "joy"), (30, "anger"), (35, "anger"))]
        chunks += [(name, start + np.arange(k, k + 10) / 250.0) for k in range(0, 250 * 54, 10)]
    steps.sort(key=lambda s: s.timestamp)
    tracker = SegmentTracker(settings)
    order = rng.permutation(len(chunks))
    for i in order:  # chunks of different streams interleave in any order
        tracker.add_samples(*chunks[i])
    for name, ms in markers.items():
        tracker.add_markers(name, ms[:2])
        tracker.add_markers(name, ms[2:])
    cuts = np.sort(rng.choice(len(steps), 20, replace=False))
    for batch in np.split(np.array(steps, dtype=object), cuts):
        tracker.add_steps(list(batch))
    live = tracker.summaries()

    origin = min(streams.values())
    offline = []
    per_stream = {}
    for name, start in streams.items():
        end = start + (250 * 54 - 1) / 250.0
        segs = segments_from_markers(markers[name], end)
        t, v, ok = window_arrays([s for s in steps if s.stream == name])
        per_stream[name] = summarize_segments(segs, t, v, ok, settings, stream=name, origin=origin)
        offline += per_stream[name]
    offline += summarize_group_segments(per_stream, settings)

    assert len(live) == len(offline) == 2 * 2 + 2
    for a, b in zip(live, offline):
        assert (a.stream, a.label, a.n_windows, a.n_usable, a.n_people, a.note) == (
            b.stream, b.label, b.n_windows, b.n_usable, b.n_people, b.note)  # fmt: skip
        for field in ("onset", "onset_s", "duration_s", "mean", "ci_low", "ci_high", "diff", "diff_low", "diff_high"):
            x, y = getattr(a, field), getattr(b, field)
            assert (math.isnan(x) and math.isnan(y)) or x == y, (a.stream, a.label, field, x, y)
    assert live[1].label == "anger" and math.isfinite(live[1].diff)


def test_tracker_with_a_schedule_uses_the_first_sample_as_origin():
    from bci_valence.online.segments import ScheduleEntry

    tracker = SegmentTracker(SegmentSettings(), schedule=[ScheduleEntry("x", 2.0, 3.0)])
    assert tracker.summaries() == []
    tracker.add_samples("a", np.array([50.0, 50.004]))
    tracker.add_steps([_step("a", 52.0 + i * HOP, 1.0) for i in range(20)])
    (s,) = tracker.summaries()
    assert (s.label, s.onset, s.onset_s, s.duration_s, s.n_windows) == ("x", 52.0, 2.0, 3.0, 12)


def test_segments_csv_refuses_an_existing_file_and_describes_itself(tmp_path):
    path = tmp_path / "s.csv"
    path.write_text("kept")
    with pytest.raises(FileExistsError, match="already exists"):
        write_segments_csv(path, [])
    assert path.read_text() == "kept"
    write_segments_csv(path, [], overwrite=True, about={"interval": "how"})
    about = json.loads((tmp_path / "s.csv.json").read_text())
    assert about["columns"] == list(SEGMENT_COLUMNS) and about["interval"] == "how"
    assert set(about["meaning"]) == set(SEGMENT_COLUMNS)
    (tmp_path / "t.csv.json").write_text("{}")
    with pytest.raises(FileExistsError, match="description"):
        write_segments_csv(tmp_path / "t.csv", [])
    assert not (tmp_path / "t.csv").exists()


def test_the_statistics_are_reexported_from_segments():
    """``bci_valence.online.segments`` stays the import path of the summaries and their settings."""
    from bci_valence.online import segment_stats, segments

    for name in segment_stats.__all__:
        assert name in segments.__all__ and getattr(segments, name) is getattr(segment_stats, name)
