"""BrainFlow boards: the package counter gives counted losses; the synthetic board's real
arrival-stamped timing goes through the stream clock without a false gap."""

from __future__ import annotations

import time

import numpy as np
import pytest

from bci_valence.signal.timing import StreamClock
from bci_valence.streams.brainflow_source import BrainFlowSource, lost_from_counter


def test_lost_from_counter_counts_skips_across_the_wrap():
    counter = np.array([253, 254, 255, 0, 3, 4, 10])
    assert lost_from_counter(counter, previous=252).tolist() == [0, 0, 0, 0, 2, 0, 5]
    assert lost_from_counter(np.array([5, 6]), previous=None).tolist() == [0, 0]
    assert lost_from_counter(np.array([1]), previous=250).tolist() == [6]


@pytest.mark.brainflow
@pytest.mark.timeout(60)
def test_synthetic_board_timing_has_no_false_gap():
    source = BrainFlowSource("synthetic")
    source.start()
    clock = StreamClock(source.sfreq)
    counted = 0
    try:
        deadline = time.monotonic() + 6.0
        while time.monotonic() < deadline:
            chunk = source.read()
            if chunk is not None:
                assert chunk.lost_before is not None and chunk.lost_before.shape == chunk.timestamps.shape
                counted += int(chunk.lost_before.sum())
                clock.push(chunk.timestamps, chunk.lost_before)
            time.sleep(0.03)
    finally:
        source.stop()
    clock.flush()
    assert clock.received > 4 * source.sfreq
    assert counted == 0 and clock.n_gaps == 0
    assert clock.effective_rate == pytest.approx(source.sfreq, rel=0.02)
