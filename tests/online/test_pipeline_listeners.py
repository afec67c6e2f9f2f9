"""The pipeline hands every raw chunk and every marker to its listeners (what the recorder mirrors)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bci_valence.constants import FACED_CHANNELS
from bci_valence.io.recordings import Recording
from bci_valence.online.pipeline import Pipeline
from bci_valence.online.settings import (
    ComputeSettings,
    PipelineSettings,
)
from bci_valence.streams.array_source import ArraySource
from tests.helpers import LinearBundle


def _recording(seconds: float, markers=()) -> Recording:
    sfreq = 250.0
    n = int(seconds * sfreq)
    rng = np.random.default_rng(0)
    data = rng.standard_normal((len(FACED_CHANNELS), n)) * 10e-6
    return Recording(
        data=data, sfreq=sfreq, ch_names=list(FACED_CHANNELS), ch_types=["eeg"] * len(FACED_CHANNELS),
        timestamps=np.arange(n) / sfreq + 100.0, markers=list(markers), segments=[(0, n)],
        source=Path("synthetic.fif"), unit="V", stream_name="synthetic",
    )  # fmt: skip


def test_chunk_and_marker_listeners_see_everything_read():
    rec = _recording(6.0, markers=[(101.0, "joy"), (104.5, "clip 3")])
    pipe = Pipeline([ArraySource(rec, chunk_size=100)], LinearBundle(), PipelineSettings(compute=ComputeSettings(device="cpu")))
    chunks, markers = [], []
    pipe.add_chunk_listener(lambda name, data, ts: chunks.append((name, data.copy(), ts.copy())))
    pipe.add_marker_listener(lambda name, new: markers.extend((name, *m) for m in new))
    pipe.start()
    try:
        for _ in range(1000):
            pipe.poll()
            if pipe.finished:
                break
    finally:
        pipe.stop()
    assert {c[0] for c in chunks} == {"synthetic"}
    np.testing.assert_array_equal(np.concatenate([c[2] for c in chunks]), rec.timestamps)
    np.testing.assert_allclose(np.concatenate([c[1] for c in chunks], axis=1), rec.data)
    assert markers == [("synthetic", 101.0, "joy"), ("synthetic", 104.5, "clip 3")]
