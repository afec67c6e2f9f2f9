"""The app's plots are readable: every raw EEG row labelled and tall enough, electrode
names on hover in the scalp maps, a unit on the contribution scale, values on the
probability bars."""

from __future__ import annotations

import numpy as np
import pytest

from bci_valence.constants import FACED_CHANNELS


def test_every_raw_row_has_its_label_and_room(qtbot) -> None:
    from gui.widgets.raw_traces import ROW_PX, RawTraces, row_heights, scrollable

    traces = RawTraces(seconds=4.0)
    area = scrollable(traces)
    qtbot.addWidget(area)
    area.resize(900, 330)  # the window's share for the raw traces
    area.show()
    t = np.arange(1000) / 250.0
    traces.set_data(np.random.default_rng(0).normal(size=(32, 1000)), t, FACED_CHANNELS)
    traces.refresh()
    qtbot.waitUntil(lambda: traces.height() >= 32 * ROW_PX, timeout=5000)
    ticks = traces.getPlotItem().getAxis("left")._tickLevels[0]
    assert [name for _, name in ticks] == list(FACED_CHANNELS)  # all 32, not every second
    assert row_heights(traces) >= ROW_PX - 2  # about 18 px a row (was ~7 px)
    assert area.verticalScrollBar().maximum() > 0  # the rest is a scroll away


def test_scalp_map_electrodes_name_themselves_on_hover(qtbot) -> None:
    from gui.topo_geometry import faced_positions_2d
    from gui.widgets.topomap import CONTRIBUTION_UNIT, TopomapPanel

    panel = TopomapPanel(["delta", "theta", "alpha", "beta", "gamma"], faced_positions_2d(), FACED_CHANNELS)
    qtbot.addWidget(panel)
    de = np.random.default_rng(1).normal(size=(32, 5))
    weights = np.ones((32, 5))
    panel.update_maps(de, weights)
    interp = np.zeros(32, bool)
    interp[FACED_CHANNELS.index("Oz")] = True
    panel.set_channel_states(interp, None)
    alpha = panel.maps[2]
    fz = FACED_CHANNELS.index("Fz")
    assert alpha.dots.opts["hoverable"]
    # pyqtgraph calls the tip with each hovered spot's position and data (its index)
    spot = alpha.dots.points()[fz]
    text = alpha.dots.opts["tip"](x=spot.pos().x(), y=spot.pos().y(), data=spot.data())
    assert text.splitlines()[0] == "Fz" and f"alpha: {de[fz, 2]:+.2f} z" in text
    oz = panel.maps[0].tooltip(FACED_CHANNELS.index("Oz"))
    assert oz.startswith("Oz") and "interpolated" in oz
    contribution = panel.contribution_map.tooltip(fz)
    assert f"{de[fz].sum():+.2f} {CONTRIBUTION_UNIT}" in contribution
    assert CONTRIBUTION_UNIT in panel.contrib_bar.getAxis("left").labelText  # the bar's label side


def test_probability_bars_show_their_values(qtbot) -> None:
    from gui.widgets.probabilities import ProbabilityBars

    bars = ProbabilityBars(["a", "b", "c"])
    qtbot.addWidget(bars)
    assert bars.value_texts() == ["", "", ""]
    bars.set_probabilities(np.array([0.2, 0.7, 0.1]))
    bars.refresh()
    assert bars.value_texts() == ["20 %", "70 %", "10 %"]
    bars.set_probabilities(np.array([0.05, 0.9, 0.05]))
    bars.refresh()
    assert bars.value_texts()[1] == "90 %"
    bars.set_probabilities(None)
    bars.refresh()
    assert bars.value_texts() == ["", "", ""]


@pytest.mark.timeout(120)
def test_the_window_scrolls_the_raw_rows(qtbot, tmp_path) -> None:
    from PySide6.QtCore import QSettings

    from gui.main_window import MainWindow
    from gui.widgets.raw_traces import ROW_PX

    window = MainWindow(qsettings=QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(window)
    window.show()
    assert window.raw_scroll.widget() is window.raw_traces
    t = np.arange(1000) / 250.0
    window.raw_traces.set_data(np.zeros((32, 1000)), t, FACED_CHANNELS)
    qtbot.waitUntil(lambda: window.raw_traces.height() >= 32 * ROW_PX, timeout=5000)
    window.shutdown()
