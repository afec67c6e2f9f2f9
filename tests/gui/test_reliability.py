"""The app says what the live valence is worth on new content: a reliability line, tooltips,
the noise band around the trace, and class probabilities labelled FACED-specific."""

from __future__ import annotations

import numpy as np
import pytest

from bci_valence.model.bundle import ModelBundle
from bci_valence.online.reliability import ValenceReliability


def test_reliability_from_the_shipped_bundle():
    bundle = ModelBundle.load(device="cpu")
    figures = bundle.config.metrics["protocols"]
    rel = ValenceReliability.from_bundle(bundle)
    assert rel.available
    unseen = figures["unseen-clips"]
    assert rel.auc_subject_clip == unseen["valence_auc_subject_clip"]
    assert rel.noise_sd == unseen["window_noise_sd"]
    assert rel.bacc_seen == figures["seen-clips"]["bacc"]
    line = rel.summary()
    assert f"AUC {unseen['valence_auc_subject_clip']:.2f} per 30 s" in line
    assert f"±{unseen['window_noise_sd']:.2f} are noise" in line
    assert "never saw" in rel.details() and f"{figures['seen-clips']['valence_auc_subject_clip']:.2f}" in rel.details()
    assert "specific to FACED" in rel.probabilities_note()
    assert f"{unseen['bacc']:.2f} on clips never seen" in rel.probabilities_note()


def test_reliability_without_figures_says_so():
    rel = ValenceReliability.from_metrics({"classifier": {"bacc": 0.4}})
    assert not rel.available
    assert "not measured" in rel.summary() and "--protocol unseen-clips" in rel.summary()
    assert rel.noise_sd is None
    # a malformed figure is treated as absent, not shown as a number
    rel = ValenceReliability.from_metrics({"protocols": {"unseen-clips": {"valence_auc_subject_clip": "n/a"}}})
    assert not rel.available


@pytest.mark.timeout(60)
def test_window_shows_the_reliability_line_and_band(qtbot, settings_file):
    from gui.app import make_window

    win = make_window(source="sim:", bundle=None, calibration_s=3.0, settings_file=settings_file)
    qtbot.addWidget(win)
    rel = ValenceReliability.from_bundle(ModelBundle.load(device="cpu"))
    win.show_reliability(rel)
    assert win.reliability_label.text() == rel.summary()
    assert win.valence_label.toolTip() == rel.details() == win.valence_plot.toolTip()
    assert "FACED" in win.probabilities.toolTip()
    plot = win.valence_plot
    for i, v in enumerate((0.1, 0.3, -0.2, 0.0)):
        plot.add_point(float(i), v)
    plot.refresh()
    _, smooth = plot.smooth_curve.getData()
    _, upper = plot.band_upper.getData()
    _, lower = plot.band_lower.getData()
    np.testing.assert_allclose(upper - smooth, rel.noise_sd)
    np.testing.assert_allclose(smooth - lower, rel.noise_sd)
    # a bundle without figures: the line says so and the band goes away
    win.show_reliability(None)
    assert "not measured" in win.reliability_label.text()
    plot.refresh()
    assert len(plot.band_upper.getData()[0] or []) == 0
    win.close()


@pytest.mark.timeout(120)
def test_session_labels_the_trace_from_its_bundle(qtbot, settings_file):
    from gui.app import make_window

    win = make_window(source="sim:", bundle=None, calibration_s=3.0, settings_file=settings_file)
    qtbot.addWidget(win)
    win.show()
    win.start_session()
    qtbot.waitUntil(lambda: win.info is not None, timeout=30000)
    expected = ValenceReliability.from_bundle(ModelBundle.load(device="cpu"))
    assert win.info.reliability == expected
    assert win.reliability_label.text() == expected.summary()
    assert win.valence_plot.noise_sd == pytest.approx(expected.noise_sd)
    win.close()


def test_demo_figure_carries_the_band_and_the_line(tmp_path):
    from types import SimpleNamespace

    import matplotlib.pyplot as plt

    from gui.headless import plot_valence, valence_figure

    rel = ValenceReliability.from_bundle(ModelBundle.load(device="cpu"))
    steps = [SimpleNamespace(timestamp=float(i), valence=0.1 * np.sin(i), true_label="joy" if i > 5 else None,
                             calibration_progress=min(1.0, i / 3)) for i in range(20)]
    fig = valence_figure(steps, {"joy": 0.7}, "demo", rel)
    texts = [t.get_text() for t in fig.texts]
    assert rel.summary() in texts
    labels = fig.axes[0].get_legend_handles_labels()[1]
    assert f"±{rel.noise_sd:.2f}: noise on new content" in labels
    plt.close(fig)
    bare = valence_figure(steps, {"joy": 0.7}, "demo")
    assert not bare.texts and not any("noise" in x for x in bare.axes[0].get_legend_handles_labels()[1])
    plt.close(bare)
    assert plot_valence(steps, tmp_path / "v.png", {"joy": 0.7}, "demo", rel).stat().st_size > 1000
