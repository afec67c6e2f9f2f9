"""The interface every EEG source implements: :class:`Source` yields :class:`Chunk` objects."""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from ..signal.montage import ChannelSpec

logger = logging.getLogger(__name__)

__all__ = ["Chunk", "Player", "Source"]


# --------------------------------------------------------------------------- interface
@dataclass(frozen=True)
class Chunk:
    """New samples from a source.

    Attributes
    ----------
    data : ndarray, shape (n_channels, n_samples), float64
        Samples (volts when the source's ``unit`` is ``"V"``).
    timestamps : ndarray, shape (n_samples,), float64
        Time of each sample: this machine's LSL clock (:func:`mne_lsl.lsl.local_clock`)
        for live sources, the file's clock for :class:`ArraySource`.
    lost_before : ndarray of int, shape (n_samples,) | None
        Samples the device's packet counter says were lost just before each sample
        (BrainFlow boards with a package-number channel); None when the source has no
        counter.
    """

    data: np.ndarray
    timestamps: np.ndarray
    lost_before: np.ndarray | None = None

    @property
    def n_samples(self) -> int:
        """Number of samples."""
        return int(self.timestamps.shape[0])


class Player(Protocol):
    """What a source needs from a player/simulator it owns (see :mod:`.players`)."""

    name: str
    source_id: str

    def start(self) -> Any: ...

    def stop(self) -> Any: ...

    @property
    def finished(self) -> bool: ...


class Source(ABC):
    """Common interface the pipeline consumes.

    ``name``, ``ch_names``, ``ch_types``, ``sfreq``, ``unit`` and ``simulated`` are
    known once :meth:`start` returned. Use as a context manager
    (``with open_source(spec) as src:``) to start and stop it.

    Attributes
    ----------
    name : str
        Human-readable name (stream name, board name, file name).
    ch_names : list of str
        Channel labels, ``""`` where the source has none (caller must relabel).
    ch_types : list of str
        Channel types (``"eeg"`` unless the source says otherwise).
    sfreq : float
        Nominal sampling rate (Hz).
    unit : str
        ``"V"`` (data in volts) or ``"unknown"`` (the source's own values).
    simulated : bool
        True for the simulated headset (its stream info says ``simulated=true``).
    channels : ChannelSpec | None
        Relabelling of this source (its spec's ``channels=`` option or the app's channel
        box, see :meth:`relabel`); None keeps the stream's own labels.
    failure : str | None
        Why the source cannot go on (a stream that came back with another sampling
        rate or channel count); None while it can.
    """

    name: str = ""
    ch_names: list[str]
    ch_types: list[str]
    sfreq: float = 0.0
    unit: str = "unknown"
    simulated: bool = False
    channels: ChannelSpec | None = None
    failure: str | None = None

    def __init__(self) -> None:
        self.ch_names = []
        self.ch_types = []

    def relabel(self, channels: ChannelSpec | None) -> None:
        """Use ``channels`` instead of the stream's own labels (None keeps them).

        The relabelling arrives parsed (a :class:`~bci_valence.signal.montage.ChannelSpec`
        made where it was typed: the spec's ``channels=``, ``--channels``, the app's
        channel box), so its errors still name that place; the pipeline applies it to
        the stream's channels once the source has started.

        Raises
        ------
        TypeError
            ``channels`` is text: parse it where it enters
            (:meth:`ChannelSpec.parse <bci_valence.signal.montage.ChannelSpec.parse>`).
        """
        if channels is not None and not isinstance(channels, ChannelSpec):
            raise TypeError(f"relabel takes a parsed ChannelSpec or None, got {type(channels).__name__}")
        self.channels = channels

    @abstractmethod
    def start(self) -> None:
        """Connect / open; blocks until the channel layout is known."""

    @abstractmethod
    def read(self) -> Chunk | None:
        """All samples that arrived since the last call (non-blocking); None if none."""

    def read_markers(self) -> list[tuple[float, str]]:
        """Markers that arrived since the last call, as (timestamp, label)."""
        return []

    @abstractmethod
    def stop(self) -> None:
        """Disconnect and release everything (idempotent)."""

    @property
    @abstractmethod
    def connected(self) -> bool:
        """Whether samples can currently arrive."""

    @property
    def finished(self) -> bool:
        """True when a finite source (replay without loop) has delivered everything."""
        return False

    @property
    def status(self) -> str:
        """One line describing the state, for logs and the GUI."""
        state = "connected" if self.connected else "disconnected"
        if self.finished:
            state = "finished"
        sim = " [SIMULATED]" if self.simulated else ""
        return f"{self.name}: {len(self.ch_names)} ch @ {self.sfreq:g} Hz, {state}{sim}"

    @property
    def labeled(self) -> bool:
        """Whether every channel has a label."""
        return bool(self.ch_names) and all(self.ch_names)

    def __enter__(self) -> Source:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.status}>"
