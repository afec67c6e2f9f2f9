"""RingBuffer: order, wrap-around, counters."""

from __future__ import annotations

import numpy as np
import pytest

from bci_valence.signal.buffer import RingBuffer

pytestmark = pytest.mark.timeout(30)


def _ramp(start: int, n: int, n_ch: int = 3) -> np.ndarray:
    idx = np.arange(start, start + n, dtype=float)
    return np.vstack([idx + 1000 * c for c in range(n_ch)])


def test_push_get_in_order_with_wraparound():
    buf = RingBuffer(3, 50)
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
