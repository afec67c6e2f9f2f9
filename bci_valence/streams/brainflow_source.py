"""A BrainFlow board (the synthetic board included) as a :class:`~.base.Source`."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)

from .base import Chunk, Source
from .errors import SourceError, SourceSpecError

__all__ = ["BrainFlowSource", "lost_from_counter"]

#: BrainFlow's package-number channel counts 0..255 and wraps.
PACKAGE_MODULO = 256


def lost_from_counter(counter: np.ndarray, previous: int | None, modulo: int = PACKAGE_MODULO) -> np.ndarray:
    """Samples lost just before each sample, from a per-sample packet counter.

    Parameters
    ----------
    counter : ndarray, shape (n,)
        The board's package numbers (one step per sample, wrapping at ``modulo``).
    previous : int | None
        The last package number of the previous chunk (None for the first chunk).
    modulo : int
        Where the counter wraps.

    Returns
    -------
    ndarray of int, shape (n,)
        ``(step - 1) mod modulo`` where the counter skipped, else 0. A loss of a whole
        multiple of ``modulo`` samples cannot be seen here (the stream clock sees it).
    """
    c = np.asarray(counter, dtype=np.int64) % modulo
    prev = np.concatenate(([c[0] - 1 if previous is None else int(previous) % modulo], c[:-1])) if c.size else c
    return (c - prev - 1) % modulo


# --------------------------------------------------------------------------- BrainFlow
def _board_id(board: str | int) -> int:
    import warnings

    with warnings.catch_warnings():  # brainflow 5.23 imports the deprecated pkg_resources
        warnings.simplefilter("ignore")
        from brainflow.board_shim import BoardIds

    text = str(board).strip()
    try:
        value = int(text)
    except ValueError:
        pass
    else:
        if value not in {b.value for b in BoardIds}:
            raise SourceSpecError(f"unknown BrainFlow board_id {value}")
        return value
    key = text.upper().replace("-", "_").replace(" ", "_")
    names = {b.name: b.value for b in BoardIds}
    for candidate in (key, f"{key}_BOARD"):
        if candidate in names:
            return names[candidate]
    close = sorted(n for n in names if key in n)[:8]
    raise SourceSpecError(
        f"unknown BrainFlow board {text!r}"
        + (f"; did you mean {', '.join(close)}?" if close else "")
        + " (names from brainflow.board_shim.BoardIds, e.g. synthetic, cyton, ganglion)"
    )


def _description_board(board_id: int, params: Mapping[str, Any]) -> int:
    """The board whose description (rate, rows, names) applies to ``board_id``'s data.

    BrainFlow's playback-file and streaming boards replay another board's data and
    have no description of their own: theirs is the ``master_board`` parameter's.
    """
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from brainflow.board_shim import BoardIds

    relays = {BoardIds.PLAYBACK_FILE_BOARD.value, BoardIds.STREAMING_BOARD.value}
    if board_id not in relays:
        return board_id
    master = params.get("master_board")
    name = BoardIds(board_id).name.lower()
    if master in (None, ""):
        raise SourceSpecError(
            f"BrainFlow board {name} replays another board's data: give master_board=ID "
            f"(e.g. 'brainflow:{name.removesuffix('_board')}?file=rec.csv&master_board="
            f"{BoardIds.SYNTHETIC_BOARD.value}' for a synthetic-board recording)"
        )
    try:
        master_id = _board_id(str(master))
    except SourceSpecError as err:
        raise SourceSpecError(f"master_board: {err}") from None
    if master_id in relays:
        raise SourceSpecError(f"master_board={master} is itself a relay board; name the recording board")
    return master_id


class BrainFlowSource(Source):
    """A BrainFlow board (``BoardShim``); the synthetic board needs no hardware.

    Data are converted from BrainFlow's microvolts to volts (``unit == "V"``).
    Timestamps come from the board's timestamp channel (UNIX time) mapped to this
    machine's LSL clock.

    Parameters
    ----------
    board : str or int
        Board name (``"synthetic"``, ``"cyton"``, ``"CYTON_DAISY_BOARD"``) or id.
    params : mapping, optional
        :class:`brainflow.board_shim.BrainFlowInputParams` fields (serial_port,
        mac_address, ip_address, ip_port, serial_number, timeout, file...). The
        playback-file and streaming boards need ``master_board``: the board that
        recorded the data, whose description (rate, rows, labels) is used.

    Raises
    ------
    SourceSpecError
        Unknown board, or a playback/streaming board without a usable ``master_board``.
    """

    def __init__(self, board: str | int = "synthetic", params: Mapping[str, Any] | None = None) -> None:
        super().__init__()
        self.board_id = _board_id(board)
        self.params = dict(params or {})
        self.descr_id = _description_board(self.board_id, self.params)
        self._board: Any = None
        self._offset = 0.0
        self._counter_row: int | None = None
        self._last_counter: int | None = None

    def start(self) -> None:
        """Prepare the session and start streaming.

        Raises
        ------
        SourceError
            The board could not be prepared (not connected, wrong port...).
        """
        if self._board is not None:
            return
        import warnings

        from mne_lsl.lsl import local_clock

        with warnings.catch_warnings():  # loading its library imports pkg_resources
            warnings.simplefilter("ignore")
            from brainflow.board_shim import BoardIds, BoardShim, BrainFlowInputParams

            BoardShim.disable_board_logger()
        inputs = BrainFlowInputParams()
        for key, value in self.params.items():
            if not hasattr(inputs, key):
                raise SourceSpecError(f"unknown BrainFlow input parameter {key!r}")
            default = getattr(inputs, key)
            setattr(inputs, key, int(value) if isinstance(default, int) else str(value))
        board_name = BoardIds(self.board_id).name
        self.name = f"brainflow:{board_name.lower()}"
        board = BoardShim(self.board_id, inputs)
        try:
            board.prepare_session()
            board.start_stream(450000)
        except Exception as err:  # noqa: BLE001 - BrainFlowError and friends
            try:
                board.release_session()
            except Exception:  # noqa: BLE001
                pass
            raise SourceError(
                f"BrainFlow board {board_name} (id {self.board_id}) with {self.params} "
                f"could not start: {err}"
            ) from err
        self._board = board
        self._offset = local_clock() - time.time()
        # the playback-file and streaming boards carry the master board's data: its
        # description (rate, rows, names) is the master board's
        descr = self.descr_id
        self.sfreq = float(BoardShim.get_sampling_rate(descr))
        self._eeg_rows = list(BoardShim.get_eeg_channels(descr))
        self._ts_row = int(BoardShim.get_timestamp_channel(descr))
        try:  # lost packets are counted where the board numbers them
            self._counter_row = int(BoardShim.get_package_num_channel(descr))
        except Exception:  # noqa: BLE001 - boards without a package-number channel
            self._counter_row = None
        self._last_counter = None
        if descr != self.board_id:
            self.name += f"({BoardIds(descr).name.lower()})"
        try:
            names = list(BoardShim.get_eeg_names(descr))
        except Exception:  # noqa: BLE001 - boards without names
            names = []
        self.ch_names = names if len(names) == len(self._eeg_rows) else [""] * len(self._eeg_rows)
        self.ch_types = ["eeg"] * len(self._eeg_rows)
        self.unit = "V"
        self.simulated = False
        logger.info("BrainFlow %s started: %s", board_name, self.status)

    def read(self) -> Chunk | None:
        """Everything the board buffered since the last call, or None."""
        if self._board is None:
            raise SourceError(f"BrainFlow source {self.name or self.board_id} is not started")
        data = self._board.get_board_data()
        if data.shape[1] == 0:
            return None
        eeg = np.asarray(data[self._eeg_rows], dtype=np.float64) * 1e-6
        ts = np.asarray(data[self._ts_row], dtype=np.float64) + self._offset
        lost = None
        if self._counter_row is not None:
            counter = np.asarray(data[self._counter_row])
            if np.any(np.diff(counter) == 0):  # it numbers packets of several samples: no use here
                logger.info("%s: the package counter numbers packets, not samples; losses from timestamps only", self.name)
                self._counter_row = None
            else:
                lost = lost_from_counter(counter, self._last_counter)
                self._last_counter = int(counter[-1])
        return Chunk(data=eeg, timestamps=ts, lost_before=lost)

    def stop(self) -> None:
        """Stop streaming and release the session."""
        board, self._board = self._board, None
        if board is None:
            return
        for call in (board.stop_stream, board.release_session):
            try:
                call()
            except Exception:  # noqa: BLE001
                pass

    @property
    def connected(self) -> bool:
        return self._board is not None and bool(self._board.is_prepared())
