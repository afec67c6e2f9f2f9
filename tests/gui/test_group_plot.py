"""The valence plot with several people: thin traces, the group's thick one, back to one person."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bci_valence.online.group import GroupRow

pytestmark = pytest.mark.timeout(60)

REPO = Path(__file__).resolve().parents[2]


def _legend(plot) -> list[str]:
    return [label.text for _, label in plot.legend.items]


def test_valence_plot_switches_between_one_person_and_a_group(qtbot) -> None:
    from gui.widgets.valence_plot import ValencePlot

    plot = ValencePlot(window_s=10.0, smoothing_s=1.0)
    qtbot.addWidget(plot)
    plot.set_people(["a", "b", "c"])
    assert plot.group_mode and _legend(plot) == [
        "each person (3), smoothed", "group mean, 95% interval shaded", "true valence (markers)"
    ]
    for i in range(40):
        t = i * 0.25
        for k, name in enumerate(("a", "b", "c")):
            plot.add_point(t, 0.1 * k, 0.7, stream=name)
    rows = [GroupRow(i * 0.25, 0.1, -0.1, 0.3, 3) for i in range(40)]
    rows[-1] = GroupRow(9.75, 0.1, 0.0, 0.2, 2, (("c", "late"),))
    plot.add_group_rows(rows)
    plot.refresh()
    assert plot.n_points == 40  # the first person's, with the true valence
    _, ya = plot.person_curves["a"].getData()
    _, yc = plot.person_curves["c"].getData()
    np.testing.assert_allclose(ya, 0.0)
    np.testing.assert_allclose(yc, 0.2)
    x, y = plot.group_curve.getData()
    assert len(x) == 40 and x[-1] == 0.0 and np.allclose(y, 0.1)
    _, upper = plot.group_upper.getData()
    assert upper[-1] == pytest.approx(0.2) and upper[0] == pytest.approx(0.3)
    assert plot.group_n == 2 and plot.group_text.toPlainText() == "group mean over n = 2 of 3 people: +0.10"
    plot.add_group_rows([GroupRow(10.0, math.nan, math.nan, math.nan, 0)])
    plot.refresh()
    assert plot.group_text.toPlainText() == "group mean: nobody counts now (n = 0 of 3)"

    plot.set_people(["a"])  # a session with one person: the single trace again
    assert not plot.group_mode and plot.n_group_rows == 0 and plot.n_points == 0
    assert _legend(plot) == ["valence", "smoothed", "true valence (markers)"]
    assert plot.raw_curve.isVisible() and not plot.group_curve.isVisible() and not plot.person_curves
    plot.add_point(0.0, 0.5, stream="a")
    assert plot.smoothed == pytest.approx(0.5)


def test_the_headless_demo_needs_no_qt() -> None:
    code = "import sys, gui.headless; print('PySide6' in sys.modules, 'pyqtgraph' in sys.modules)"
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=50)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["False", "False"]
