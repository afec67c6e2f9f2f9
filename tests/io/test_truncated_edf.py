"""EDF/BDF files cut short are refused (or, when allowed, read to their last whole record)."""

from __future__ import annotations

import numpy as np
import pytest

from bci_valence.io.recordings import RecordingError, edf_truncation, read_recording
from bci_valence.streams.factory import open_source
from tests.helpers import write_edf

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module")
def real(eeglab_set):
    return read_recording(eeglab_set)


@pytest.mark.parametrize("bdf", [False, True])
def test_a_file_cut_to_60_percent_is_refused(tmp_path, real, bdf: bool) -> None:
    suffix = ".bdf" if bdf else ".edf"
    full = write_edf(tmp_path / f"full{suffix}", real.data[:16, : 128 * 60], 128.0, real.ch_names[:16], bdf=bdf)
    assert edf_truncation(full) is None
    assert read_recording(full).n_times == 128 * 60
    cut = tmp_path / f"cut{suffix}"
    raw = full.read_bytes()
    cut.write_bytes(raw[: int(len(raw) * 0.6)])
    assert "promises 60 data records" in edf_truncation(cut)
    with pytest.raises(RecordingError, match="is truncated: its header promises 60 data records"):
        read_recording(cut)
    with pytest.raises(RecordingError, match="truncated"):
        open_source(f"file:{cut}?speed=max")
    rec = read_recording(cut, allow_truncated=True)
    whole = rec.n_times // 128
    assert 30 <= whole < 60 and rec.n_times == whole * 128
    # what was kept is the file's real signal, sample for sample
    np.testing.assert_allclose(rec.data, read_recording(full).data[:, : rec.n_times], rtol=0, atol=1e-9)
    with open_source(f"file:{cut}?speed=max&allow_truncated=1") as src:
        assert src.recording.n_times == rec.n_times
