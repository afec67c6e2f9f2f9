"""The group valence on LSL: one stream for everyone in the session.

:class:`GroupOutlet` publishes ``bci_valence_group`` (type ``Valence``) with four
float32 channels: ``valence_mean``, ``valence_ci_low``, ``valence_ci_high`` and
``n_streams`` (how many people the mean is over). Each sample carries its tick on the
shared LSL clock; the rate is declared irregular, as the per-stream
:class:`~bci_valence.streams.outlets.ValenceOutlet`'s is, so readers keep each sample's
own timestamp. Values a row does not have (no interval with one person, no mean with
nobody) are NaN.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from .outlets import OUTLET_TYPE

__all__ = ["GROUP_CHANNELS", "GROUP_OUTLET_NAME", "GroupOutlet"]

GROUP_OUTLET_NAME = "bci_valence_group"
#: The group outlet's channels, in order.
GROUP_CHANNELS = ("valence_mean", "valence_ci_low", "valence_ci_high", "n_streams")


class GroupOutlet:
    """LSL outlet of the group valence.

    Parameters
    ----------
    source_id : str
        The outlet's source_id (unique to the session).
    name, stype : str
        LSL stream name and type.
    about : mapping of str to str, optional
        What the values mean, written into the stream's description as
        ``<desc><about><key>text</key>…</about>``.
    """

    def __init__(
        self,
        source_id: str,
        *,
        name: str = GROUP_OUTLET_NAME,
        stype: str = OUTLET_TYPE,
        about: Mapping[str, str] | None = None,
    ) -> None:
        from mne_lsl.lsl import StreamInfo, StreamOutlet

        self.source_id = str(source_id)
        self.name = name
        info = StreamInfo(name, stype, len(GROUP_CHANNELS), 0.0, "float32", self.source_id)
        info.set_channel_names(list(GROUP_CHANNELS))
        info.set_channel_types(["misc"] * len(GROUP_CHANNELS))
        info.set_channel_units(["none"] * len(GROUP_CHANNELS))
        if about:
            node = info.desc.append_child("about")
            for key, text in about.items():
                node.append_child_value(str(key), str(text))
        self._outlet: object | None = StreamOutlet(info, chunk_size=1, max_buffered=60)

    def push(self, timestamp: float, mean: float, ci_low: float, ci_high: float, n_streams: int) -> None:
        """Push one row stamped with ``timestamp`` (its tick); rows without a finite
        timestamp are skipped."""
        if self._outlet is None:
            raise ValueError(f"the group outlet {self.name!r} is closed")
        if timestamp is None or not math.isfinite(timestamp):
            return
        row = np.array([mean, ci_low, ci_high, float(n_streams)], dtype=np.float32)
        self._outlet.push_sample(row, timestamp=float(timestamp))

    def close(self) -> None:
        """Destroy the outlet (idempotent)."""
        self._outlet = None

    def __enter__(self) -> GroupOutlet:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
