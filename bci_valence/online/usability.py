"""Whether a run gave any usable window, and if not, why (for the commands' exit code).

A window is *usable* when it carries none of the bad quality flags
(:data:`~bci_valence.signal.quality.BAD_FLAGS`: gap, flat, clipped, non-finite,
artefact, stale, undersampled) and the stream's calibration is complete. A run that
never gives one (every window flagged, a recording shorter than the calibration, a
rate too low for the bands, input that never forms a window) has produced nothing a
reader should take for valence: :meth:`WindowCounts.problem` says why in one line.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

__all__ = ["WindowCounts"]


@dataclass(frozen=True)
class WindowCounts:
    """One stream's windows so far (:meth:`bci_valence.online.pipeline.Pipeline.window_counts`).

    Attributes
    ----------
    stream : str
        The stream's name.
    windows : int
        Windows computed (one per step, STALE markers aside).
    usable : int
        Windows without a bad flag, computed after calibration.
    blank : int
        Windows without a valence (NaN): non-finite input or no statistics yet.
    flagged : dict of str to int
        Bad flag name (``FLAT``, ``NONFINITE``, ``CALIBRATING``...) to the number of
        windows that carried it.
    samples : int
        Samples the stream delivered.
    sfreq : float | None
        The stream's rate (None before it started).
    window_s : float | None
        Seconds of signal one window needs (feature context included).
    calibration_progress : float
        0..1.
    calibration_s : float
        The calibration period asked for (0: adapts, never calibrating).
    calibrated : bool
        Whether the calibration completed (or was loaded, or is adaptive).
    rate_problem : str | None
        Why the stream's rate cannot carry the bands, if it cannot.
    """

    stream: str
    windows: int
    usable: int
    blank: int
    flagged: dict[str, int] = field(default_factory=dict)
    samples: int = 0
    sfreq: float | None = None
    window_s: float | None = None
    calibration_progress: float = 0.0
    calibration_s: float = 0.0
    calibrated: bool = False
    rate_problem: str | None = None

    @property
    def seconds(self) -> float:
        """Seconds of signal the stream delivered."""
        return self.samples / self.sfreq if self.sfreq else 0.0

    def problem(self) -> str | None:
        """Why the stream gave no usable window, in one line; None when it gave one."""
        if self.usable > 0:
            return None
        name = f"stream {self.stream!r}"
        if self.rate_problem:
            return f"{name}: no usable window: {self.rate_problem}"
        if self.windows == 0:
            need = f"; one window needs {self.window_s:.1f} s" if self.window_s else ""
            return f"{name}: no window at all: it delivered {self.samples} samples ({self.seconds:.1f} s){need}"
        bad = {k: v for k, v in self.flagged.items() if k != "CALIBRATING"}
        counts = ", ".join(f"{k} {v}" for k, v in sorted(bad.items(), key=lambda kv: (-kv[1], kv[0])))
        if self.calibrated or self.calibration_progress == 0.0:
            # no window fit for the statistics (before calibration) or for output (after)
            return (
                f"{name}: no usable window: all {self.windows} windows flagged bad ({counts}); "
                f"calibration reached {self.calibration_progress:.0%}"
            )
        return None  # good windows came, standardized with what was gathered: see note()

    def note(self) -> str | None:
        """What a reader of a run that did give windows should know, in one line: the
        calibration never completed, so every row carries CALIBRATING. None otherwise."""
        if self.usable > 0 or self.calibrated or self.calibration_progress == 0.0 or self.rate_problem:
            return None
        bad = {k: v for k, v in self.flagged.items() if k != "CALIBRATING"}
        counts = ", ".join(f"{k} {v}" for k, v in sorted(bad.items(), key=lambda kv: (-kv[1], kv[0])))
        gathered = self.calibration_progress * self.calibration_s
        short = f"; the input is only {self.seconds:.1f} s long" if self.seconds < self.calibration_s else ""
        flagged = f"; windows flagged bad: {counts}" if bad else ""
        return (
            f"stream {self.stream!r}: calibration never completed ({gathered:.1f} s of good signal of the "
            f"{self.calibration_s:g} s needed, {self.calibration_progress:.0%}){short}{flagged}: every row "
            "carries CALIBRATING (standardized with the statistics gathered so far). Load a saved calibration "
            "(--calibration) or shorten it (--calibration-s)"
        )
