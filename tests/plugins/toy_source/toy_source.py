"""A toy source kind: FACED's 32 channels of 10-Hz sines and noise, made as time passes.

``toy:`` (250 Hz), ``toy:rate=500&freq=8&seed=2``. The whole plugin is this module and
one entry point in its ``pyproject.toml``; bci-valence parses the spec (syntax, option
names, ``channels=``) and calls :data:`TOY`'s ``check`` and ``open``.
"""

from __future__ import annotations

import numpy as np
from mne_lsl.lsl import local_clock

from bci_valence.constants import FACED_CHANNELS
from bci_valence.streams.base import Chunk, Source
from bci_valence.streams.errors import SourceSpecError
from bci_valence.streams.kinds import SourceKind
from bci_valence.streams.spec import SourceSpec


class ToySource(Source):
    """Samples due since :meth:`start` at ``sfreq``, stamped on the LSL clock, in volts."""

    def __init__(self, sfreq: float = 250.0, freq: float = 10.0, seed: int = 0) -> None:
        super().__init__()
        self.name, self.sfreq, self.unit = "toy", float(sfreq), "V"
        self._freq = float(freq)
        self._rng = np.random.default_rng(seed)
        self._t0: float | None = None
        self._sent = 0

    def start(self) -> None:
        if self._t0 is None:
            self.ch_names = list(FACED_CHANNELS)
            self.ch_types = ["eeg"] * len(FACED_CHANNELS)
            self._t0, self._sent = local_clock(), 0

    def read(self) -> Chunk | None:
        if self._t0 is None:
            return None
        due = int((local_clock() - self._t0) * self.sfreq)
        if due <= self._sent:
            return None
        t = np.arange(self._sent, due) / self.sfreq
        phase = np.linspace(0.0, np.pi, len(self.ch_names))[:, None]
        data = 10e-6 * np.sin(2 * np.pi * self._freq * t + phase)
        data += 5e-6 * self._rng.standard_normal(data.shape)
        self._sent = due
        return Chunk(data, self._t0 + t)

    def stop(self) -> None:
        self._t0 = None

    @property
    def connected(self) -> bool:
        return self._t0 is not None


def _check(spec: SourceSpec) -> None:
    """Refuse a rate too low for the model's bands, or a frequency above Nyquist."""
    rate = spec.get_float("rate", 250.0) or 0.0
    if rate < 100:
        raise SourceSpecError(f"rate must be >= 100 Hz, got {rate:g}")
    if not 0 < (spec.get_float("freq", 10.0) or 0.0) < rate / 2:
        raise SourceSpecError(f"freq must be between 0 and {rate / 2:g} Hz")
    spec.get_int("seed")


def _open(spec: SourceSpec, timeout: float) -> ToySource:
    return ToySource(spec.get_float("rate", 250.0) or 250.0, spec.get_float("freq", 10.0) or 10.0,
                     spec.get_int("seed", 0) or 0)  # fmt: skip


#: The ``toy`` kind, named by this package's entry point.
TOY = SourceKind(
    open=_open,
    options=("rate", "freq", "seed"),
    summary="a toy plugin: sines and noise on 32 channels",
    example="toy:rate=250",
    check=_check,
)
