"""What the pipeline keeps for one stream: its source, processor, calibration, history and counters."""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..signal.quality import BAD_FLAGS, QualityFlag
from ..streams.base import Source
from .markers import marker_to_class
from .processor import StreamProcessor
from .steps import StreamStatus

__all__ = ["StreamState", "unique_names"]


class StreamState:
    """Everything the pipeline holds for one source."""

    def __init__(self, source: Source, name: str) -> None:
        self.source = source
        self.name = name
        self.proc: StreamProcessor | None = None
        self.cal_path: Path | None = None
        self.standardizer = None
        self.calibrated = False
        self.good_windows = 0
        self.de_history: deque[tuple[int, int, np.ndarray]] = deque()  # (segment, end, de)
        self.z_history: deque[tuple[int, int, np.ndarray]] = deque()
        self.connected = False
        self.started = False
        self.lost = False
        self.last_data_wall: float | None = None
        self.reconnects = 0
        self.steps = 0
        self.markers: list[tuple[float, str]] = []
        self.message = ""
        self.simulated = bool(source.simulated)
        self.last_timestamp: float | None = None
        self.windows = 0  # windows computed
        self.usable = 0  # ... neither flagged bad nor calibrating
        self.blank = 0  # ... without a valence (no signal behind them)
        self.flag_counts: dict[str, int] = {}  # bad flag name -> windows carrying it

    def tally(self, flags: int, blank: bool) -> None:
        """Count one window: usable, blank, or flagged and why."""
        self.windows += 1
        self.blank += int(blank)
        bad = QualityFlag(int(flags)) & (BAD_FLAGS | QualityFlag.CALIBRATING)
        if not bad:
            self.usable += 1
        for flag in QualityFlag:
            if flag.value and bad & flag and flag.name:
                self.flag_counts[flag.name] = self.flag_counts.get(flag.name, 0) + 1

    def status(self, calibration_progress: float, device: str) -> StreamStatus:
        """The stream's :class:`StreamStatus` now."""
        p = self.proc
        m = p.mapping if p is not None else None
        return StreamStatus(
            name=self.name,
            connected=bool(self.connected and not self.lost and p is not None),
            sfreq=p.sfreq if p is not None else None,
            n_channels=len(m.source_names) if m is not None else 0,
            n_real=m.n_real if m is not None else 0,
            real=m.real if m is not None else (),
            interpolated=m.interpolated if m is not None else (),
            non_eeg=m.non_eeg if m is not None else (),
            unplaced=m.unplaced if m is not None else (),
            lost_samples=p.clock.missing_samples if p is not None else 0,
            gaps=p.clock.n_gaps if p is not None else 0,
            timing=p.timing if p is not None else None,
            reconnects=self.reconnects,
            samples=p.raw.pushed if p is not None else 0,
            steps=self.steps,
            calibration_progress=calibration_progress,
            calibrated=self.calibrated,
            simulated=self.simulated,
            device=device,
            last_timestamp=self.last_timestamp,
            message=self.message,
        )

    def sequence(self, segment: int, end: int, length: int, spacing: float, tolerance: float) -> np.ndarray | None:
        """Raw DE of the ``length`` windows ``spacing`` samples apart ending at ``end``.

        With a hop that divides the spacing (0.25 s and 1 s) every wanted window exists;
        otherwise the nearest one within ``tolerance`` samples stands in. None when one
        is missing.
        """
        by_end = {e: de for seg, e, de in self.de_history if seg == segment}
        ends: np.ndarray | None = None
        out = []
        for j in range(length - 1, -1, -1):
            target = end - j * spacing
            de = by_end.get(int(target)) if target == int(target) else None
            if de is None:
                if ends is None:
                    ends = np.fromiter(by_end.keys(), dtype=np.int64, count=len(by_end))
                if ends.size == 0:
                    return None
                k = int(ends[np.argmin(np.abs(ends - target))])
                if abs(k - target) > tolerance:
                    return None
                de = by_end[k]
            out.append(de)
        return np.stack(out)

    def label_at(self, timestamp: float, class_names: Sequence[str]) -> str | None:
        """The class the last marker at or before ``timestamp`` names, if any."""
        label = None
        for mts, mlabel in self.markers:
            if mts <= timestamp:
                label = mlabel
            else:
                break
        return None if label is None else marker_to_class(label, class_names)


def unique_names(names: Sequence[str]) -> list[str]:
    """Names made unique by suffixing ``#i`` to repeats."""
    out, seen = [], set()
    for i, n in enumerate(names):
        name = n if n not in seen else f"{n}#{i}"
        seen.add(name)
        out.append(name)
    return out
