"""The demo on a simulated group: source lists, the effect size said, the group figure."""

from __future__ import annotations

import csv
import math
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from gui.headless import effect_size_text, group_spec, simulated_contrasts, split_specs

REPO = Path(__file__).resolve().parents[2]


def test_source_lists_and_the_simulated_group() -> None:
    from bci_valence.streams.spec import parse_source_spec

    assert split_specs(" sim:seed=1 ;sim:seed=2\nlsl:name=X; ") == ("sim:seed=1", "sim:seed=2", "lsl:name=X")
    assert split_specs("xdf:rec.xdf?speed=2") == ("xdf:rec.xdf?speed=2",)
    specs = split_specs(group_spec(3, script="joy:10,anger:10", contrast=2.0, first_seed=5))
    parsed = [parse_source_spec(s) for s in specs]
    assert [(p.kind, p.get("seed"), p.get("name"), p.get("script")) for p in parsed] == [
        ("sim", str(5 + k), f"person{k + 1}", "joy:10,anger:10") for k in range(3)
    ]
    assert simulated_contrasts(specs) == (2.0, 2.0, 2.0)
    assert simulated_contrasts(("sim:", "lsl:name=X")) == (1.0,)  # the default: FACED's effect size
    assert effect_size_text((1.0,)) == "contrast 1 (FACED's effect size)"
    both = "contrast 1 (FACED's effect size), contrast 3 (3 × FACED's effect size)"
    assert effect_size_text((3.0, 1.0, 3.0)) == both
    assert effect_size_text(()) == ""
    from gui.main_window import short_spec, simulation_text

    text, tip = simulation_text((3.0,), 1)
    assert text == "SIMULATED · contrast 3 (3 × FACED's effect size)" and "contrast= option" in tip
    assert simulation_text((1.0, 1.0), 3)[1].endswith("2 of 3 sources simulated.")
    assert simulation_text((), 1)[0] == "SIMULATED"
    assert short_spec(group_spec(10)).startswith("10 sources, one person each (sim:seed=1&name=person1&")
    with pytest.raises(ValueError):
        group_spec(0)


def test_the_source_panel_takes_a_list_of_sources(qtbot) -> None:
    from gui.settings import GuiSettings
    from gui.widgets.source_panel import KIND_CUSTOM, SourcePanel

    panel = SourcePanel(GuiSettings())
    qtbot.addWidget(panel)
    panel.set_spec("lsl:name=A; lsl:name=B")  # each piece alone would pass for one LSL name
    assert panel.kind.currentIndex() == KIND_CUSTOM and panel.spec() == "lsl:name=A; lsl:name=B"
    assert panel.spec_problem() == ""
    panel.set_spec("sim:seed=1; sim:bogus=1")
    assert "bogus" in panel.spec_problem()


def test_the_demo_figure_of_a_group_shows_people_group_and_segments() -> None:
    import matplotlib.pyplot as plt

    from bci_valence.online.group import group_trace
    from bci_valence.online.segments import SegmentTracker
    from bci_valence.signal.quality import QualityFlag
    from gui.headless import valence_figure
    from gui.widgets.segment_rows import NO_USABLE_WINDOW, segment_rows

    rng = np.random.default_rng(0)
    t = np.arange(0.0, 60.0, 0.25)
    truth = {"joy": 0.7, "sadness": -0.3}
    steps, tracker = [], SegmentTracker()
    for k in range(3):
        name = f"person{k + 1}"
        label = np.where(t < 30, "joy", "sadness")
        valence = np.array([truth[x] for x in label]) + 0.2 * rng.standard_normal(t.size)
        # everyone's windows after 58 s are artefacts: the "blink" segment has no usable window
        flags = np.where(t >= 58, int(QualityFlag.ARTEFACT), 0)
        steps += [SimpleNamespace(stream=name, timestamp=float(ts), valence=float(v), flags=int(f),
                                  true_label=str(lb), calibration_progress=1.0)
                  for ts, v, f, lb in zip(t, valence, flags, label)]  # fmt: skip
        tracker.add_samples(name, t)
        tracker.add_markers(name, [(0.0, "joy"), (30.0, "sadness"), (58.0, "start:blink")])
    tracker.add_steps(steps)
    rows = segment_rows(tracker.summaries(), {f"person{k + 1}": float(t[-1]) for k in range(3)})
    assert [r.summary.label for r in rows] == ["joy", "sadness", "blink"]
    assert [len(r.people) for r in rows] == [3, 3, 3] and rows[2].empty
    by_stream = {f"person{k + 1}": [s for s in steps if s.stream == f"person{k + 1}"] for k in range(3)}
    group = group_trace(by_stream)
    assert max(r.n_streams for r in group) == 3

    fig = valence_figure(steps, truth, "demo", group=group, segments=rows)
    top, seg = fig.axes
    labels = top.get_legend_handles_labels()[1]
    assert "each person (3), smoothed" in labels and "group mean (n up to 3)" in labels
    assert "95% interval across people" in labels and "true valence (markers)" in labels
    assert [x.get_text() for x in seg.get_xticklabels()] == ["joy", "sadness (running)", "blink (running)"]
    assert NO_USABLE_WINDOW in [x.get_text() for x in seg.texts]
    bars = [p for p in seg.patches if p.get_hatch() is None]
    np.testing.assert_allclose([b.get_height() for b in bars], [rows[0].summary.mean, rows[1].summary.mean])
    assert rows[0].summary.mean > 0.4 > -0.1 > rows[1].summary.mean  # the script, through the group
    assert math.isfinite(rows[0].summary.ci_low) and rows[0].summary.ci_low < rows[0].summary.mean
    plt.close(fig)


@pytest.mark.timeout(150)
def test_headless_demo_runs_a_group_and_says_the_effect_size(tmp_path, bundle_path) -> None:
    out = tmp_path / "demo"
    source = group_spec(2, script="joy:6,sadness:6")
    cmd = [sys.executable, "-m", "bci_valence.cli", "demo", "--headless", "--duration", "12", "--calibration", "3",
           "--out-dir", str(out), "--source", source]  # fmt: skip
    if bundle_path:
        cmd += ["--bundle", bundle_path]
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=140)
    assert proc.returncode == 0, proc.stderr[-2000:]
    with open(out / "valence.csv", newline="") as fh:
        streams = {row["stream"] for row in csv.DictReader(fh)}
    assert streams == {"person1", "person2"}
    assert (out / "valence.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.timeout(120)
def test_demo_group_option_runs_a_simulated_group(tmp_path, capsys):
    from bci_valence.cli import main

    assert main(["demo", "--headless", "--group", "0"]) == 2
    assert "--group" in capsys.readouterr().err
    out = tmp_path / "demo"
    assert main(["demo", "--headless", "--group", "2", "--duration", "10", "--calibration", "2",
                 "--out-dir", str(out)]) == 0  # fmt: skip
    rows = (out / "valence.csv").read_text().splitlines()
    streams = {r.split(",")[0] for r in rows[1:]}
    assert streams == {"person1", "person2"}
