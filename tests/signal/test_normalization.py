"""Running standardizer: exact statistics, masks, saved calibrations."""

from __future__ import annotations

import numpy as np
import pytest

from bci_valence.signal.normalization import RunningStandardizer


def test_chunked_updates_equal_batch_statistics():
    rng = np.random.default_rng(1)
    x = rng.normal(3.0, 2.0, size=(200, 32, 5))
    s = RunningStandardizer()
    for chunk in np.array_split(x, 7):
        s.update(chunk)
    np.testing.assert_allclose(s.mean, x.mean(axis=0))
    np.testing.assert_allclose(s.std, x.std(axis=0), atol=1e-5)
    z = s.transform(x)
    np.testing.assert_allclose(z.mean(axis=0), 0.0, atol=1e-9)


def test_masked_and_nonfinite_rows_are_left_out():
    s = RunningStandardizer((2,))
    x = np.array([[1.0, 1.0], [3.0, 3.0], [1000.0, 1000.0], [np.nan, 0.0]])
    s.update(x, mask=[True, True, False, True])
    assert s.count == 2
    np.testing.assert_allclose(s.mean, [2.0, 2.0])


def test_save_and_load(tmp_path):
    s = RunningStandardizer((3,))
    s.update(np.arange(12.0).reshape(4, 3))
    s.save(tmp_path / "cal.json")
    loaded = RunningStandardizer.load(tmp_path / "cal.json")
    np.testing.assert_allclose(loaded.transform([1.0, 2.0, 3.0]), s.transform([1.0, 2.0, 3.0]))
    (tmp_path / "bad.json").write_text('{"shape": [3], "eps": 0, "count": 1, "mean": [0], "m2": [0]}')
    with pytest.raises(ValueError, match="bad.json"):
        RunningStandardizer.load(tmp_path / "bad.json")
