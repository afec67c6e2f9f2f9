"""RingBuffer: order, wrap-around, counters, gap detection from timestamp deltas."""

from __future__ import annotations

import numpy as np
import pytest

from bci_valence.signal.buffer import RingBuffer

pytestmark = pytest.mark.timeout(30)


def _ramp(start: int, n: int, n_ch: int = 3) -> np.ndarray:
    idx = np.arange(start, start + n, dtype=float)
    return np.vstack([idx + 1000 * c for c in range(n_ch)])


def test_push_get_in_order_with_wraparound():
    buf = RingBuffer(3, 50, sfreq=100.0)
    rng = np.random.default_rng(0)
    pos = 0
    while pos < 400:
        n = int(rng.integers(1, 23))
        buf.push(_ramp(pos, n), np.arange(pos, pos + n) / 100.0)
        pos += n
        data, ts = buf.latest(50)
        assert np.array_equal(data[0], np.arange(pos - data.shape[1], pos))
        assert np.allclose(ts * 100, data[0])
    assert buf.pushed == pos
    assert buf.overwritten == pos - 50
    assert buf.first_index == pos - 50
    data, _ = buf.get(pos - 10, pos - 5)
    assert np.array_equal(data[2], np.arange(pos - 10, pos - 5) + 2000)
    assert buf.n_gaps == 0


def test_chunk_larger_than_capacity_keeps_newest():
    buf = RingBuffer(3, 16)
    buf.push(_ramp(0, 5), np.arange(5.0))
    buf.push(_ramp(5, 40), np.arange(5.0, 45.0))
    data, ts = buf.latest(100)
    assert np.array_equal(data[0], np.arange(29, 45))
    assert np.array_equal(ts, np.arange(29.0, 45.0))


def test_get_out_of_range_raises():
    buf = RingBuffer(2, 10)
    buf.push(np.zeros((2, 15)), np.arange(15.0))
    with pytest.raises(IndexError, match="not held"):
        buf.get(0, 5)
    with pytest.raises(IndexError):
        buf.get(10, 16)
    with pytest.raises(ValueError, match="shape"):
        buf.push(np.zeros((3, 2)), np.arange(2.0))


def test_gaps_from_timestamp_deltas():
    buf = RingBuffer(1, 1000, sfreq=100.0)
    t = np.arange(50) / 100.0
    assert buf.push(np.zeros((1, 50)), t) == []
    # 5 samples lost between chunks
    t2 = (np.arange(50) + 55) / 100.0
    gaps = buf.push(np.zeros((1, 50)), t2)
    assert len(gaps) == 1 and gaps[0].missing == 5 and gaps[0].index == 50
    # a gap inside one chunk
    t3 = np.r_[np.arange(105, 110), np.arange(112, 120)] / 100.0
    gaps = buf.push(np.zeros((1, t3.size)), t3)
    assert [(g.index, g.missing) for g in gaps] == [(105, 2)]
    # timestamps going backwards (a restarted clock) are reported, never reordered
    gaps = buf.push(np.ones((1, 3)), np.array([0.0, 0.01, 0.02]))
    assert gaps[0].backwards
    assert buf.n_gaps == 3 and buf.missing_samples == 7
    data, _ = buf.latest(3)
    assert np.all(data == 1)


def test_jitter_margin():
    buf = RingBuffer(1, 100, sfreq=1000.0, gap_min_s=0.005)
    t = np.r_[np.arange(10) / 1000.0, 0.009 + 0.004 + np.arange(10) / 1000.0]
    assert buf.push(np.zeros((1, 20)), t) == []  # 4 ms late: jitter, not a gap
    assert len(buf.push(np.zeros((1, 1)), [1.0])) == 1
