"""A recording in memory as a :class:`~.base.Source`, read as fast as the caller asks."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import numpy as np

logger = logging.getLogger(__name__)

from .base import Chunk, Source
from .errors import SourceError

if TYPE_CHECKING:
    from ..io.recordings import Recording

__all__ = ["ArraySource"]


# --------------------------------------------------------------------------- arrays
class ArraySource(Source):
    """A :class:`~.recordings.Recording` pushed through as fast as the caller reads.

    Each :meth:`read` returns the next ``chunk_size`` samples with the file's own
    timestamps (what ``--speed max`` uses); after the last one :meth:`read` returns
    None and :attr:`finished` is True. With ``loop`` the recording restarts and the
    timestamps keep increasing.

    Parameters
    ----------
    recording : Recording
    chunk_size : int, optional
        Samples per read; default one tenth of a second.
    loop : bool
        Restart at the end (never finishes).
    simulated : bool
        Mark the data as simulated.
    """

    def __init__(
        self,
        recording: Recording,
        *,
        chunk_size: int | None = None,
        loop: bool = False,
        simulated: bool = False,
    ) -> None:
        super().__init__()
        self.recording = recording
        self.name = recording.stream_name or recording.source.name
        self.ch_names = list(recording.ch_names)
        self.ch_types = list(recording.ch_types)
        self.sfreq = float(recording.sfreq)
        self.unit = recording.unit
        self.simulated = simulated
        self.chunk_size = int(chunk_size or max(1, round(self.sfreq / 10)))
        if self.chunk_size < 1:
            raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
        self.loop = loop
        self._pos = 0
        self._cycle = 0
        self._started = False
        self._done = False
        self._marker_pos = 0
        self._last_ts = -np.inf
        ts = recording.timestamps
        self._period = float(ts[-1] - ts[0]) + 1.0 / self.sfreq if ts.size else 0.0

    def start(self) -> None:
        self._started = True

    def read(self) -> Chunk | None:
        if not self._started:
            raise SourceError(f"array source {self.name!r} is not started: call start()")
        if self._done:
            return None
        rec = self.recording
        if self._pos >= rec.n_times:
            if not self.loop:
                self._done = True
                return None
            self._pos = 0
            self._cycle += 1
            self._marker_pos = 0
        stop = min(self._pos + self.chunk_size, rec.n_times)
        data = np.array(rec.data[:, self._pos : stop], dtype=np.float64, copy=True)
        ts = rec.timestamps[self._pos : stop] + self._cycle * self._period
        self._pos = stop
        self._last_ts = float(ts[-1])
        if stop >= rec.n_times and not self.loop:
            self._done = True
        return Chunk(data=data, timestamps=np.asarray(ts, dtype=np.float64))

    def read_markers(self) -> list[tuple[float, str]]:
        out = []
        markers = self.recording.markers
        shift = self._cycle * self._period
        while self._marker_pos < len(markers) and markers[self._marker_pos][0] + shift <= self._last_ts:
            t, label = markers[self._marker_pos]
            out.append((t + shift, label))
            self._marker_pos += 1
        return out

    def stop(self) -> None:
        self._started = False

    @property
    def connected(self) -> bool:
        return self._started and not self._done

    @property
    def finished(self) -> bool:
        return self._done

    @property
    def progress(self) -> float:
        """Fraction of the recording delivered (of the current cycle when looping)."""
        return self._pos / max(1, self.recording.n_times)
