"""Scalp regions of the FACED montage, defined once from the channel names.

A channel's region follows the letters of its 10-20 name (digits and the midline
``z`` removed, case ignored):

============  ==========================================
region        letter prefixes (FACED channels)
============  ==========================================
frontal       ``FP``, ``F`` (Fp1 Fp2 Fz F3 F4 F7 F8)
central       ``FC``, ``C`` (FC1 FC2 FC5 FC6 Cz C3 C4)
temporal      ``T`` (T7 T8)
parietal      ``CP``, ``P`` (CP1 CP2 CP5 CP6 Pz P3 P4 P7 P8)
occipital     ``PO``, ``O`` (PO3 PO4 Oz O1 O2)
mastoid       ``A`` (A1 A2, the reference-side mastoids)
============  ==========================================

A two-letter transitional prefix (``FC``, ``CP``, ``PO``) goes to the region of its
second, more posterior letter, so that every channel has exactly one region.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from bci_valence.constants import FACED_CHANNELS

__all__ = ["REGIONS", "REGION_PREFIXES", "channel_region", "region_channels", "region_of_channels"]

#: The regions, front to back, then the mastoids.
REGIONS: tuple[str, ...] = ("frontal", "central", "temporal", "parietal", "occipital", "mastoid")

#: Letter prefix of a 10-20 name -> region.
REGION_PREFIXES: dict[str, str] = {
    "FP": "frontal",
    "AF": "frontal",
    "F": "frontal",
    "FC": "central",
    "FT": "temporal",
    "C": "central",
    "T": "temporal",
    "TP": "temporal",
    "CP": "parietal",
    "P": "parietal",
    "PO": "occipital",
    "O": "occipital",
    "I": "occipital",
    "A": "mastoid",
    "M": "mastoid",
}

_NAME_RE = re.compile(r"^([A-Za-z]+?)(z|Z|\d+)$")


def channel_region(name: str) -> str:
    """Region of one 10-20 channel name (see the module notes).

    Parameters
    ----------
    name : str
        E.g. ``"PO3"``, ``"Fz"``, ``"FP1"`` (case ignored).

    Returns
    -------
    str
        One of :data:`REGIONS`.

    Raises
    ------
    ValueError
        If the name is not a 10-20 name (letters then a number or ``z``) or its
        letters are not a known prefix.
    """
    match = _NAME_RE.match(name.strip())
    if match is None:
        raise ValueError(
            f"channel {name!r} is not a 10-20 name: expected letters then a number or 'z' "
            "(e.g. 'PO3', 'Fz')"
        )
    prefix = match.group(1).upper()
    if prefix not in REGION_PREFIXES:
        raise ValueError(
            f"channel {name!r}: unknown 10-20 prefix {prefix!r}; known: {sorted(REGION_PREFIXES)}"
        )
    return REGION_PREFIXES[prefix]


def region_of_channels(channels: Sequence[str] = FACED_CHANNELS) -> list[str]:
    """Region of each channel, in channel order."""
    return [channel_region(c) for c in channels]


def region_channels(channels: Sequence[str] = FACED_CHANNELS) -> dict[str, list[int]]:
    """Channel indices of each region (regions without channels are left out)."""
    regions = region_of_channels(channels)
    return {r: [i for i, g in enumerate(regions) if g == r] for r in REGIONS if r in regions}
