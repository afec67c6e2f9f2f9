"""Segments in the app: the segment panel's bars and intervals, the Mark button on real
LSL, and the group trace of several simulated people."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bci_valence.online.segments import Segment, SegmentSettings, summarize_group_segments, summarize_segments


def _summaries(stream: str, offset: float, rng: np.random.Generator) -> list:
    """A person's summaries of three segments; the third has only flagged windows."""
    t = np.arange(0.0, 60.0, 0.25)
    v = np.where(t < 20, 0.5, -0.4) + offset + 0.1 * rng.standard_normal(t.size)
    usable = t < 40
    segments = [Segment("joy", 0.0, 20.0), Segment("anger", 20.0, 40.0), Segment("mark 1", 40.0, 60.0)]
    return summarize_segments(segments, t, v, usable, SegmentSettings(), stream=stream, origin=0.0)


@pytest.mark.timeout(60)
def test_panel_draws_a_bar_and_interval_per_segment_and_no_bar_without_a_usable_window(qtbot) -> None:
    from gui.widgets.segment_panel import NO_USABLE_WINDOW, SegmentPanel, segment_rows

    summaries = _summaries("p1", 0.0, np.random.default_rng(0))
    joy, anger, empty = summaries
    assert empty.n_usable == 0 and math.isnan(empty.mean)
    panel = SegmentPanel()
    qtbot.addWidget(panel)
    panel.resize(400, 300)
    panel.show()
    panel.set_summaries(summaries, ends={"p1": 60.0})
    panel.refresh()
    assert panel.labels() == ["joy", "anger", "mark 1"]
    # two bars with a mean; the empty segment is no bar of height 0 but a hatched column with its text
    np.testing.assert_allclose(panel.bars.opts["height"], [joy.mean, anger.mean])
    np.testing.assert_allclose(panel.bars.opts["x"], [0.0, 1.0])
    assert list(panel.empty_bars.opts["x"]) == [2.0]
    lo, hi = panel.item.viewRange()[1]
    assert panel.empty_bars.opts["height"][0] == pytest.approx(hi - lo)
    assert panel.empty_texts() == [NO_USABLE_WINDOW]
    # the error bars are the 95% intervals
    np.testing.assert_allclose(panel.errors.opts["y"] + panel.errors.opts["top"], [joy.ci_high, anger.ci_high])
    np.testing.assert_allclose(panel.errors.opts["y"] - panel.errors.opts["bottom"], [joy.ci_low, anger.ci_low])
    assert joy.ci_low < joy.mean < joy.ci_high
    tips = panel.toolTip().splitlines()
    assert tips[0].startswith("joy: 20 s, mean +0.5") and "95% [" in tips[0]
    assert tips[2] == f"mark 1 (running): 20 s, {NO_USABLE_WINDOW} (80 windows)"
    # the running segment is the one that ends at the newest sample
    assert [r.running for r in segment_rows(summaries, {"p1": 60.0})] == [False, False, True]

    # a group: the group's bars, each with every person's mean beside it
    rng = np.random.default_rng(1)
    people = {f"p{i}": _summaries(f"p{i}", 0.1 * i, rng) for i in range(3)}
    group = summarize_group_segments(people)
    panel.set_summaries([s for rows in people.values() for s in rows] + group)
    panel.refresh()
    assert panel.labels() == ["joy", "anger", "mark 1"]
    np.testing.assert_allclose(panel.bars.opts["height"], [group[0].mean, group[1].mean])
    xs, ys = panel.people.getData()
    assert len(xs) == 6  # three people in each of the two segments with a mean
    np.testing.assert_allclose(sorted(ys[:3]), sorted(people[f"p{i}"][0].mean for i in range(3)))
    assert panel.empty_texts() == [NO_USABLE_WINDOW]
    assert "3 people" in panel.toolTip().splitlines()[0]


@pytest.fixture()
def sim_window(qtbot, settings_file, bundle_path):
    from gui.app import make_window

    def make(source: str):
        win = make_window(source=source, bundle=bundle_path or None, calibration_s=3.0, settings_file=settings_file)
        qtbot.addWidget(win)
        win.show()
        made.append(win)
        return win

    made: list = []
    yield make
    for win in made:
        win.close()  # stops the session and the worker thread


@pytest.mark.timeout(120)
def test_mark_pushes_an_lsl_marker_and_starts_a_segment(sim_window, qtbot) -> None:
    from mne_lsl.lsl import StreamInlet, local_clock, resolve_streams
    from PySide6 import QtCore

    from gui.worker import MARKS_OUTLET_NAME

    window = sim_window("sim:script=neutral:60")
    assert not window.mark_button.isEnabled()
    window.start_session()
    qtbot.waitUntil(lambda: window.info is not None, timeout=30000)
    assert window.mark_button.isEnabled() and window.info.marks_source_id
    assert window.sim_badge.text() == "SIMULATED · contrast 1 (FACED's effect size)"
    # an independent reader of the app's marker stream
    found = resolve_streams(timeout=10, source_id=window.info.marks_source_id)
    assert [(s.name, s.stype, s.sfreq, s.dtype) for s in found] == [(MARKS_OUTLET_NAME, "Markers", 0.0, "string")]
    inlet = StreamInlet(found[0])
    inlet.open_stream(timeout=10)
    qtbot.waitUntil(lambda: window.step_count >= 4, timeout=30000)

    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5000)
    before = local_clock()
    qtbot.keyClick(window, QtCore.Qt.Key.Key_M, QtCore.Qt.KeyboardModifier.ControlModifier)  # the shortcut
    sample, stamp = inlet.pull_sample(timeout=10)
    assert list(sample) == ["mark 1"]
    assert before - 0.5 <= stamp <= local_clock()  # the press, on the LSL clock
    qtbot.waitUntil(lambda: "mark 1" in window.segment_panel.labels(), timeout=10000)
    mark = next(r for r in window.segment_panel.shown if r.summary.label == "mark 1")
    assert mark.kind == "mark" and mark.running and mark.summary.onset == pytest.approx(stamp)

    window.mark_label.setText("baseline")  # a label of one's own, with the button
    qtbot.mouseClick(window.mark_button, QtCore.Qt.MouseButton.LeftButton)
    sample, stamp2 = inlet.pull_sample(timeout=10)
    assert list(sample) == ["baseline"] and stamp2 > stamp
    assert window.mark_label.text() == ""
    qtbot.waitUntil(lambda: "baseline" in window.segment_panel.labels(), timeout=10000)
    labels = window.segment_panel.labels()
    assert labels.index("mark 1") < labels.index("baseline")  # by onset
    first = next(r for r in window.segment_panel.shown if r.summary.label == "mark 1")
    assert not first.running and first.summary.duration_s == pytest.approx(stamp2 - stamp)  # ended by the next
    # the windows of "mark 1" come in: it gets a mean, the panel redraws with it
    qtbot.waitUntil(lambda: any(r.summary.label == "mark 1" and not r.empty for r in window.segment_rows),
                    timeout=15000)  # fmt: skip
    assert window.last_error == ""
    inlet.close_stream()


@pytest.mark.timeout(150)
def test_two_simulated_people_show_a_group_trace_over_two(sim_window, qtbot) -> None:
    window = sim_window("sim:seed=1&name=p1&script=joy:8,sadness:8; sim:seed=2&name=p2&script=joy:8,sadness:8")
    assert window.panel.spec().count("sim:") == 2
    window.start_session()
    qtbot.waitUntil(lambda: window.info is not None, timeout=30000)
    assert window.info.stream_names == ("p1", "p2")
    assert window.sim_badge.text() == "SIMULATED · 2 people · contrast 1 (FACED's effect size)"
    plot = window.valence_plot
    assert plot.group_mode and set(plot.person_curves) == {"p1", "p2"}
    assert not plot.raw_curve.isVisible() and plot.group_curve.isVisible()
    qtbot.waitUntil(lambda: plot.group_n == 2 and plot.n_group_rows >= 8, timeout=60000)
    window.refresh()
    x, y = plot.group_curve.getData()
    assert x is not None and len(x) == plot.n_group_rows and np.isfinite(y).any()
    for curve in plot.person_curves.values():  # one thin trace per person
        px, _ = curve.getData()
        assert px is not None and len(px) > 0 and curve.opts["pen"].widthF() < plot.group_curve.opts["pen"].widthF()
    _, upper = plot.group_upper.getData()
    _, lower = plot.group_lower.getData()
    finite = np.isfinite(upper) & np.isfinite(lower)
    assert finite.any() and (upper[finite] >= lower[finite]).all()  # the interval across the two
    assert "n = 2 of 2" in plot.group_text.toPlainText()
    assert "n = 2 of 2" in window.valence_label.text()
    row = window.group_rows[-1]
    assert row.n_streams == 2 and row.ci_low <= row.mean <= row.ci_high
    # the segment panel shows the group's segments, each with the two people's means
    qtbot.waitUntil(lambda: any(not r.empty and len(r.people) == 2 for r in window.segment_rows), timeout=30000)
    bar = next(r for r in window.segment_rows if not r.empty)
    assert bar.summary.stream == "group" and bar.summary.label == "joy"
    assert bar.summary.mean == pytest.approx(np.mean([v for v in bar.people if math.isfinite(v)]))
    assert window.last_error == ""


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_a_recording_keeps_the_marks(qtbot, bundle_path, tmp_path) -> None:
    import pyxdf

    from bci_valence.online.settings import CalibrationSettings, ComputeSettings, PipelineSettings
    from gui.worker import MARKS_OUTLET_NAME, PipelineWorker, SessionRequest

    worker = PipelineWorker(poll_ms=20)
    messages, errors, steps, marked, rows = [], [], [], [], []
    worker.message.connect(messages.append)
    worker.error.connect(errors.append)
    worker.steps.connect(steps.extend)
    worker.marked.connect(marked.append)
    worker.segments.connect(rows.append)
    settings = PipelineSettings(compute=ComputeSettings(device="cpu"), calibration=CalibrationSettings(seconds=2.0))
    worker.start_session(SessionRequest("sim:script=neutral:60", bundle_path or "", settings))
    xdf = tmp_path / "marks.xdf"
    try:
        qtbot.waitUntil(lambda: len(steps) >= 2, timeout=30000)
        worker.start_recording(str(xdf))
        assert f"recording to {xdf}" in messages, errors
        assert f"marks as {MARKS_OUTLET_NAME!r}" in messages
        qtbot.wait(1000)
        worker.mark("", math.nan)
        qtbot.wait(2000)
        worker.mark("eyes closed", math.nan)
        n0 = len(steps)
        qtbot.waitUntil(lambda: len(steps) >= n0 + 8, timeout=30000)
        worker.stop_recording()
        assert f"recording saved: {xdf}" in messages, errors
    finally:
        worker.stop_session()
    assert not errors
    assert [label for _, label in marked] == ["mark 1", "eyes closed"]
    assert {r.summary.label for r in rows[-1] if r.kind == "mark"} == {"mark 1", "eyes closed"}
    streams, _ = pyxdf.load_xdf(str(xdf))
    marks = [s for s in streams if s["info"]["name"][0] == MARKS_OUTLET_NAME]
    assert len(marks) == 1 and marks[0]["info"]["type"][0] == "Markers"
    assert [x[0] for x in marks[0]["time_series"]] == ["mark 1", "eyes closed"]
    np.testing.assert_allclose(marks[0]["time_stamps"], [t for t, _ in marked], atol=1e-3)
