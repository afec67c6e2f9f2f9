"""The demo figure says why its trace lags the true valence, with this pipeline's delays."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from gui.headless import SMOOTHING, lag_caption, valence_figure


def test_lag_caption_adds_up_the_pipelines_delays() -> None:
    text = lag_caption(10, 0.25, 1.0, 3.3, 10)
    tau = 0.25 * (1 - SMOOTHING) / SMOOTHING
    span = 1.0 + 9 * 0.25
    assert f"about {3.3 / 2 + span / 2 + tau:.0f} s" in text  # 5 s
    assert f"({3.3 / 2 + span + 3 * tau:.0f} s to settle)" in text  # 9 s
    assert "averages 10 DE windows of 1 s (3.2 s of signal)" in text and "1.6 s before" in text
    assert "look back 10 s" in text
    assert "look back" not in lag_caption(1, 0.25, 1.0, 3.3)


@pytest.mark.timeout(60)
def test_demo_figure_carries_the_caption() -> None:
    import matplotlib.pyplot as plt

    steps = [SimpleNamespace(timestamp=float(i), valence=0.1 * np.sin(i), true_label=None,
                             calibration_progress=1.0) for i in range(20)]  # fmt: skip
    caption = lag_caption(10, 0.25, 1.0, 3.3, 10)
    fig = valence_figure(steps, {}, "demo", caption=caption)
    text = " ".join(t.get_text().replace("\n", " ") for t in fig.texts)
    assert "The trace lags the true valence by about 5 s" in text
    plt.close(fig)
