"""The app's marks: the ``bci_valence_marks`` outlet a press of *Mark* pushes on, and the
segments of a session kept live (:class:`SessionSegments`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["MARKS_OUTLET_NAME", "MARKS_OUTLET_TYPE", "MARK_CLOCK_TOLERANCE_S", "MarkOutlet", "SessionSegments"]

#: The app's marker stream: one string sample per press of *Mark*.
MARKS_OUTLET_NAME = "bci_valence_marks"
MARKS_OUTLET_TYPE = "Markers"

#: A press of *Mark* is stamped with the LSL clock when the streams' timestamps are
#: within this many seconds of it; otherwise (a file replayed on its own clock) with
#: the newest sample read.
MARK_CLOCK_TOLERANCE_S = 10.0


class MarkOutlet:
    """The app's marker stream on LSL (``bci_valence_marks``, type ``Markers``, one
    irregular string channel), so that a recording keeps every press of *Mark*.

    Parameters
    ----------
    source_id : str
        Unique to the session.
    name : str
        LSL stream name.
    """

    def __init__(self, source_id: str, name: str = MARKS_OUTLET_NAME) -> None:
        from mne_lsl.lsl import StreamInfo, StreamOutlet

        self.source_id = str(source_id)
        self.name = name
        info = StreamInfo(name, MARKS_OUTLET_TYPE, 1, 0.0, "string", self.source_id)
        node = info.desc.append_child("about")
        node.append_child_value("marks", "a press of Mark in the bci-valence app: a plain label starts a segment "
                                         "that runs until the next one (or a bare 'end')")  # fmt: skip
        self._outlet: Any = StreamOutlet(info, chunk_size=1, max_buffered=360)

    def push(self, label: str, timestamp: float) -> None:
        """Push one mark stamped ``timestamp`` (LSL seconds)."""
        if self._outlet is None:
            raise ValueError(f"the marker outlet {self.name!r} is closed")
        self._outlet.push_sample([str(label)], timestamp=float(timestamp))

    def close(self) -> None:
        """Destroy the outlet (idempotent)."""
        self._outlet = None


class SessionSegments:
    """The segments of a session, live: those of the sources' markers and those of the
    app's marks, each in its own :class:`~bci_valence.online.segments.SegmentTracker`.

    Marks are kept apart from the sources' markers so that each follows the marker
    conventions on its own: a mark runs until the next mark, whatever the stimulus
    markers do (a simulator re-sends its label every few seconds, which would end it).
    Every mark applies to every person.

    Parameters
    ----------
    settings : SegmentSettings
        The summaries' settings (the pipeline's hop, window and lag).
    streams : sequence of str
        The people's streams.
    """

    def __init__(self, settings: Any, streams: Sequence[str]) -> None:
        from bci_valence.online.segments import SegmentTracker

        self.streams = tuple(streams)
        self.markers = SegmentTracker(settings)
        self.marks = SegmentTracker(settings)

    def add_samples(self, stream: str, timestamps: Any) -> None:
        """Note a chunk's sample times (the segments' ends follow the newest)."""
        self.markers.add_samples(stream, timestamps)
        self.marks.add_samples(stream, timestamps)

    def add_markers(self, stream: str, markers: Sequence[tuple[float, str]]) -> None:
        """Keep a batch of the source's markers."""
        self.markers.add_markers(stream, markers)

    def add_mark(self, timestamp: float, label: str) -> None:
        """Keep one mark, for every person."""
        for name in self.streams:
            self.marks.add_markers(name, [(float(timestamp), str(label))])

    def add_steps(self, steps: Sequence[Any]) -> None:
        """Keep the windows among ``steps``."""
        self.markers.add_steps(steps)
        self.marks.add_steps(steps)

    def newest(self) -> float | None:
        """The newest sample of any stream, or None before the first."""
        ends = [e for e in (self.markers.end(n) for n in self.streams) if e is not None]
        return max(ends) if ends else None

    def rows(self) -> list[Any]:
        """The segment panel's bars (:class:`~gui.widgets.segment_panel.SegmentRow`), by onset."""
        from .widgets.segment_rows import segment_rows

        ends = {n: e for n in self.streams if (e := self.markers.end(n)) is not None}
        rows = segment_rows(self.markers.summaries(), ends, kind="marker")
        rows += segment_rows(self.marks.summaries(), ends, kind="mark")
        return sorted(rows, key=lambda r: r.summary.onset)
