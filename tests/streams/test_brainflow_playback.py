"""BrainFlow's playback-file board replays a file recorded from another board."""

from __future__ import annotations

import time
import warnings

import numpy as np
import pytest

from bci_valence.streams.factory import open_source
from bci_valence.streams.spec import SourceSpecError

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module")
def synthetic_recording(tmp_path_factory):
    """2 s of BrainFlow's synthetic board written with BrainFlow's own file writer."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from brainflow.board_shim import BoardIds, BoardShim, BrainFlowInputParams
        from brainflow.data_filter import DataFilter

    BoardShim.disable_board_logger()
    board = BoardShim(BoardIds.SYNTHETIC_BOARD.value, BrainFlowInputParams())
    board.prepare_session()
    board.start_stream()
    time.sleep(2.0)
    data = board.get_board_data()
    board.stop_stream()
    board.release_session()
    path = tmp_path_factory.mktemp("brainflow") / "synthetic.csv"
    DataFilter.write_file(data, str(path), "w")
    return path, data


def test_playback_file_board_uses_the_master_boards_description(synthetic_recording) -> None:
    from brainflow.board_shim import BoardIds, BoardShim

    path, recorded = synthetic_recording
    master = BoardIds.SYNTHETIC_BOARD.value
    src = open_source(f"brainflow:playback_file?file={path}&master_board={master}")
    with src:
        assert src.sfreq == BoardShim.get_sampling_rate(master)
        assert len(src.ch_names) == len(BoardShim.get_eeg_channels(master))
        got = []
        deadline = time.monotonic() + 5.0
        while sum(c.shape[1] for c in got) < 100 and time.monotonic() < deadline:
            chunk = src.read()
            if chunk is not None:
                got.append(chunk.data)
            time.sleep(0.05)
    data = np.concatenate(got, axis=1)
    eeg = recorded[BoardShim.get_eeg_channels(master)] * 1e-6
    # the replayed samples are the recorded ones, in volts
    # (BrainFlow writes its files as text with six decimals of a microvolt)
    np.testing.assert_allclose(data[:, :100], eeg[:, :100], rtol=0, atol=1e-12)


def test_playback_file_board_without_master_board_says_what_is_missing(synthetic_recording) -> None:
    path, _ = synthetic_recording
    with pytest.raises(SourceSpecError, match="give master_board=ID"):
        open_source(f"brainflow:playback_file?file={path}")
    with pytest.raises(SourceSpecError, match="master_board"):
        open_source(f"brainflow:playback_file?file={path}&master_board=12345")
