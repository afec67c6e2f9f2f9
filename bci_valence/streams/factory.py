"""Build the source a spec names: :func:`open_source`."""

from __future__ import annotations

import logging

from .base import Source
from .kinds import source_kind
from .spec import SourceSpec, parse_source_spec

logger = logging.getLogger(__name__)

__all__ = ["open_source"]


def open_source(spec: str | SourceSpec, *, timeout: float | None = None) -> Source:
    """Build the source a spec names (not started: call ``start()`` or use ``with``).

    The spec's kind (:mod:`.kinds`, the ``bci_valence.sources`` entry points) builds
    it. For the built-in ``xdf:``/``file:`` kinds the recording is read now (so a bad
    file fails here with a :class:`~bci_valence.io.recordings.RecordingError`); with
    ``speed=max`` the result is an :class:`~.array_source.ArraySource`, else an
    :class:`~.lsl_source.LSLSource` that owns a player replaying the file on LSL
    (started and stopped with the source). ``sim:`` gives an LSLSource owning a
    :class:`~.simulator.SimulatedHeadset`. Players get a unique source_id.

    Parameters
    ----------
    spec : str or SourceSpec
        A string is parsed here; a parsed spec (the app's, with the channel box's
        relabelling) is used as it is.
    timeout : float, optional
        Seconds to wait for an LSL stream (default: the spec's ``timeout`` or 10).

    Returns
    -------
    Source
        With the spec's relabelling as its :attr:`~.base.Source.channels`.
    """
    spec = parse_source_spec(spec)
    wait = timeout if timeout is not None else spec.get_float("timeout", 10.0)
    source = source_kind(spec.kind).open(spec, float(10.0 if wait is None else wait))
    source.relabel(spec.channels)
    return source
