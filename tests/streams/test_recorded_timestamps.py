"""XDF replay with the timestamps as recorded (``dejitter=0``): the pipeline's clock sees
the device's jitter, finds no gap in it, and gives the same steps as the dejittered replay."""

from __future__ import annotations

import numpy as np
import pytest

from bci_valence.io.recordings import read_recording
from bci_valence.online.pipeline import Pipeline
from bci_valence.online.settings import CalibrationSettings, ComputeSettings, PipelineSettings, StreamSettings
from bci_valence.streams.factory import open_source
from tests.helpers import LinearBundle

OPENBCI_LABELS = "Fp1,Fp2,C3,C4,P7,P8,O1,O2"
pytestmark = pytest.mark.timeout(120)


def test_reader_keeps_recorded_timestamps_when_asked(xdf_file):
    smooth = read_recording(xdf_file)
    raw = read_recording(xdf_file, dejitter=False)
    assert np.array_equal(smooth.data, raw.data)
    assert np.all(np.diff(smooth.timestamps) > 0)
    assert (np.diff(raw.timestamps) < 0).sum() > 10  # the device app's back-steps are kept


def _steps(spec: str) -> tuple[list, object]:
    settings = PipelineSettings(
        calibration=CalibrationSettings(seconds=2.0), compute=ComputeSettings(device="cpu"),
        stream=StreamSettings(channels=OPENBCI_LABELS, stale_after_s=float("inf")),
    )  # fmt: skip
    source = open_source(spec)
    pipe = Pipeline([source], LinearBundle(), settings)
    steps = []
    with pipe:
        while not pipe.finished:
            steps.extend(pipe.poll())
        steps.extend(pipe.poll())
        clock = pipe.stream_clock(0)
    return steps, clock


def test_replay_with_recorded_timestamps_matches_the_dejittered_one(xdf_file):
    smooth, smooth_clock = _steps(f"xdf:{xdf_file}?speed=max")
    raw, raw_clock = _steps(f"xdf:{xdf_file}?speed=max&dejitter=0")
    assert len(raw) == len(smooth) > 10
    assert raw_clock.n_gaps == 0 and smooth_clock.n_gaps == 0
    assert raw_clock.jitter > 0.005 > smooth_clock.jitter  # the raw replay saw the device's jitter
    np.testing.assert_allclose([s.valence for s in raw], [s.valence for s in smooth], atol=1e-5, equal_nan=True)
