"""Widgets fed with synthetic arrays (no pipeline): geometry, topomaps, traces, bars, settings."""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.timeout(60)


def test_projection_and_grid_are_linear_and_exact():
    from bci_valence.constants import FACED_CHANNELS
    from gui.topo_geometry import faced_positions_2d, interpolation_grid

    xy = faced_positions_2d()
    assert xy.shape == (32, 2)
    radius = np.hypot(xy[:, 0], xy[:, 1])
    cz = FACED_CHANNELS.index("Cz")
    assert radius[cz] < 0.15  # the vertex is near the centre
    fp1, o1 = FACED_CHANNELS.index("Fp1"), FACED_CHANNELS.index("O1")
    assert xy[fp1, 1] > 0.7 and xy[o1, 1] < -0.7  # nose up
    assert xy[FACED_CHANNELS.index("T8"), 0] > 0.8  # right is right
    grid = interpolation_grid(xy, size=48)
    inside = np.isfinite(grid.matrix[:, 0])
    # a constant map stays constant (rows sum to one) inside the head
    np.testing.assert_allclose(grid.matrix[inside].sum(axis=1), 1.0, atol=1e-4)
    # linear in the channel values
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=32), rng.normal(size=32)
    np.testing.assert_allclose(grid.image(a + 2 * b), grid.image(a) + 2 * grid.image(b), atol=1e-4, equal_nan=True)


def test_topomap_panel_draws_and_marks_channels(qtbot):
    from bci_valence.constants import FACED_CHANNELS
    from gui.topo_geometry import faced_positions_2d
    from gui.widgets.topomap import TopomapPanel

    panel = TopomapPanel(["delta", "theta", "alpha", "beta", "gamma"], faced_positions_2d(), FACED_CHANNELS)
    qtbot.addWidget(panel)
    de = np.random.default_rng(1).normal(size=(32, 5))
    panel.update_maps(de, np.ones((32, 5)))
    assert panel.updates == 1
    np.testing.assert_allclose(panel.contribution, de.sum(axis=1), rtol=1e-5)
    image = panel.maps[0].image.image
    assert image.shape == (panel.grid.size, panel.grid.size, 4)
    assert (image[..., 3] == 0).any() and (image[..., 3] == 255).any()  # transparent outside the head
    interp = np.zeros(32, bool)
    interp[3] = True
    flagged = np.zeros(32, bool)
    flagged[0] = True
    panel.set_channel_states(interp, flagged)
    assert panel.interpolated[3] and panel.flagged[0]
    assert panel.maps[0].dots.points()[3].brush().color().alpha() == 0  # hollow
    assert panel.maps[0].dots.points()[0].brush().color().red() > 200  # flagged: red


def test_raw_traces_decimate_and_colour(qtbot):
    from gui.widgets.raw_traces import RawTraces, decimate_minmax

    data = np.zeros((2, 10000))
    data[0, 5000] = 7.0
    dec, factor = decimate_minmax(data, 1000)
    assert factor > 1 and dec.shape[1] <= 1000 and dec[0].max() == 7.0  # peaks survive
    traces = RawTraces(seconds=4.0)
    qtbot.addWidget(traces)
    names = tuple(f"ch{i}" for i in range(64))
    t = np.arange(4000) / 1000.0
    traces.set_channel_states({"ch1": "flagged", "ch2": "interpolated"})
    traces.set_data(np.random.default_rng(0).normal(size=(64, 4000)), t, names)
    traces.refresh()
    assert traces.frames == 1
    xs, _ = traces.curves["flagged"].getData()
    assert xs is not None and len(xs) > 0
    assert len(traces.curves["good"].getData()[0]) > len(xs)


def test_valence_plot_and_bars(qtbot):
    from gui.widgets.probabilities import ProbabilityBars
    from gui.widgets.valence_plot import ValencePlot

    plot = ValencePlot(window_s=10.0, smoothing_s=1.0)
    qtbot.addWidget(plot)
    for i in range(100):
        plot.add_point(i * 0.25, 1.0, 0.5)
    assert plot.n_points <= 10 / 0.25 + 6  # older points dropped
    assert plot.smoothed == pytest.approx(1.0)
    plot.add_point(25.0, float("nan"))  # a lost-stream step breaks the curve
    assert plot.smoothed is None
    plot.refresh()
    x, y = plot.true_curve.getData()
    assert len(x) == plot.n_points
    bars = ProbabilityBars(["a", "b", "c"])
    qtbot.addWidget(bars)
    bars.set_probabilities(np.array([0.2, 0.7, 0.1]))
    bars.refresh()
    np.testing.assert_allclose(bars.bars.opts["width"], [0.2, 0.7, 0.1])


def test_settings_round_trip(tmp_path):
    from PySide6.QtCore import QSettings

    from gui.settings import GuiSettings, load_settings, save_settings

    path = str(tmp_path / "s.ini")
    assert load_settings(QSettings(path, QSettings.Format.IniFormat)) == GuiSettings()
    wanted = (GuiSettings(last_source="xdf:/data/a b.xdf?speed=2", raw_scale_uv=50.0)
              .with_stored("hop_s", 0.5).with_stored("notch", 60.0)
              .with_stored("calibration_s", 30.0).with_stored("device", "cpu"))
    assert wanted.pipeline.filter.notch_hz == 60.0 and wanted.pipeline.compute.device == "cpu"
    save_settings(wanted, QSettings(path, QSettings.Format.IniFormat))
    assert load_settings(QSettings(path, QSettings.Format.IniFormat)) == wanted
    # an invalid stored value falls back to its default, the rest is kept
    store = QSettings(path, QSettings.Format.IniFormat)
    store.setValue("settings/notch", "55")
    store.sync()
    got = load_settings(QSettings(path, QSettings.Format.IniFormat))
    assert got.pipeline.filter.notch_hz == 50.0 and got.pipeline.hop_s == 0.5


def test_source_panel_specs(qtbot):
    from gui.settings import GuiSettings
    from gui.widgets.source_panel import KIND_BRAINFLOW, KIND_CUSTOM, KIND_FILE, SourcePanel

    panel = SourcePanel(GuiSettings())
    qtbot.addWidget(panel)
    assert panel.spec() == "sim:"
    panel.set_spec("xdf:/tmp/rec.xdf?speed=2")
    assert panel.kind.currentIndex() == KIND_FILE
    assert panel.spec() == "xdf:/tmp/rec.xdf?speed=2"
    panel.file_path.setText("/tmp/rec.set")
    assert panel.spec().startswith("file:/tmp/rec.set?speed=2")
    panel.set_spec("brainflow:synthetic?serial_port=/dev/ttyUSB0")
    assert panel.kind.currentIndex() == KIND_BRAINFLOW
    assert panel.spec() == "brainflow:synthetic?serial_port=/dev/ttyUSB0"
    panel.set_spec("lsl:type=EEG")
    assert panel.kind.currentIndex() == KIND_CUSTOM and panel.spec() == "lsl:type=EEG"
    panel.set_spec("lsl:name=My EEG")
    assert panel.spec() == "lsl:name=My EEG"
