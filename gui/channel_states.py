"""A channel's display state in the raw traces and the scalp maps, named once.

The names come from :class:`bci_valence.signal.quality.QualityFlag`: a channel the
montage fills in is ``interpolated`` (:attr:`QualityFlag.INTERPOLATED`), and a recorded
channel whose last second is flat, non-finite or beyond the artefact amplitude (the
conditions of :data:`FLAGGED_BY`) is ``flagged``.
"""

from __future__ import annotations

from bci_valence.signal.quality import QualityFlag, flag_names

__all__ = ["CHANNEL_STATES", "FLAGGED", "FLAGGED_BY", "GOOD", "INTERPOLATED", "flagged_meaning"]

#: A recorded channel with nothing wrong in its last second.
GOOD = "good"
#: A channel the montage fills in from its neighbours (not recorded).
INTERPOLATED = QualityFlag.INTERPOLATED.name.lower()
#: A recorded channel whose last second shows one of :data:`FLAGGED_BY`.
FLAGGED = "flagged"
#: The quality conditions that make the window draw a recorded channel as flagged.
FLAGGED_BY = QualityFlag.FLAT | QualityFlag.NONFINITE | QualityFlag.ARTEFACT
#: Every state, in drawing order.
CHANNEL_STATES: tuple[str, ...] = (GOOD, INTERPOLATED, FLAGGED)


def flagged_meaning() -> str:
    """What ``flagged`` stands for, in the quality flags' own names (for tooltips).

    Returns
    -------
    str
        E.g. ``"flagged: FLAT, NONFINITE or ARTEFACT in the last second"``.
    """
    names = flag_names(FLAGGED_BY)
    return f"{FLAGGED}: {', '.join(names[:-1])} or {names[-1]} in the last second"
