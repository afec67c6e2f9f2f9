"""The training report's topomaps draw every electrode inside the head outline."""

from __future__ import annotations

import numpy as np
import pytest

from bci_valence.constants import BAND_NAMES, FACED_CHANNELS


def _sensors_and_head(ax):
    """Sensor positions and the head circle (centre, radius) as drawn on ``ax``."""
    sensors = np.concatenate([c.get_offsets() for c in ax.collections if len(c.get_offsets()) == 32])
    # the head outline is the longest closed line MNE draws
    head = max(ax.lines, key=lambda line: len(line.get_xdata()))
    xy = np.c_[head.get_xdata(), head.get_ydata()]
    centre = xy.mean(axis=0)
    return sensors, centre, float(np.linalg.norm(xy - centre, axis=1).max())


@pytest.mark.timeout(120)
def test_every_electrode_is_inside_the_head(tmp_path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import mne

    from bci_valence.signal.montage import faced_info
    from offline.report import _topomap_figure

    weights = np.random.default_rng(0).normal(size=(32, len(BAND_NAMES)))
    fig = _topomap_figure(weights, FACED_CHANNELS, BAND_NAMES, None)
    for ax in fig.axes[: len(BAND_NAMES)]:
        sensors, centre, radius = _sensors_and_head(ax)
        dist = np.linalg.norm(sensors - centre, axis=1)
        assert dist.max() < radius, f"{(dist > radius).sum()} electrodes outside the head"
    plt.close(fig)
    # negative control: MNE's default sphere leaves the occipital and mastoid electrodes out
    fig, ax = plt.subplots()
    mne.viz.plot_topomap(weights[:, 0], faced_info(), axes=ax, show=False, sensors=True)
    sensors, centre, radius = _sensors_and_head(ax)
    assert (np.linalg.norm(sensors - centre, axis=1) > radius).sum() >= 5
    plt.close(fig)
    path = tmp_path / "topomaps.png"
    assert _topomap_figure(weights, FACED_CHANNELS, BAND_NAMES, path) is None and path.stat().st_size > 10_000
