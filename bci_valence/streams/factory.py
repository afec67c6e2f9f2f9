"""Build the source a spec names: :func:`open_source`."""

from __future__ import annotations

import logging
import uuid
from dataclasses import replace
from pathlib import Path

logger = logging.getLogger(__name__)

from .array_source import ArraySource
from .base import Player, Source
from .brainflow_source import BrainFlowSource
from .lsl_source import LSLSource
from .spec import COMMON_OPTIONS, SourceSpec, SourceSpecError, parse_source_spec

__all__ = ["open_source"]


# --------------------------------------------------------------------------- factory
def open_source(spec: str | SourceSpec, *, timeout: float | None = None) -> Source:
    """Build the source a spec names (not started: call ``start()`` or use ``with``).

    For ``xdf:``/``file:`` specs the recording is read now (so a bad file fails
    here with a :class:`~.recordings.RecordingError`); with ``speed=max`` the result is
    an :class:`ArraySource`, else an :class:`LSLSource` that owns an
    :class:`~.players.XDFPlayer`/:class:`~.players.MNEPlayer` replaying the file on
    LSL (started and stopped with the source). ``sim:`` gives an :class:`LSLSource`
    owning a :class:`~.simulate.SimulatedHeadset`. Players get a unique source_id.

    Parameters
    ----------
    spec : str or SourceSpec
    timeout : float, optional
        Seconds to wait for an LSL stream (default: the spec's ``timeout`` or 10).

    Returns
    -------
    Source
        With the spec's ``channels=`` option as its relabelling (:meth:`Source.relabel`).
    """
    spec = parse_source_spec(spec)
    source = _open(spec, timeout)
    source.relabel(spec.get("channels"), origin=f"channels= of source {str(spec)!r}")
    return source


def _open(spec: SourceSpec, timeout: float | None) -> Source:
    wait = timeout if timeout is not None else spec.get_float("timeout", 10.0)
    assert wait is not None
    if spec.kind == "lsl":
        return LSLSource(
            name=spec.get("name") or None,
            stype=spec.get("type") or None,
            source_id=spec.get("source_id") or None,
            timeout=wait,
            markers=spec.get_bool("markers", True),
        )
    if spec.kind == "brainflow":
        params = {k: v for k, v in spec.options if k not in ("board", "board_id", *COMMON_OPTIONS)}
        board = spec.target or spec.get("board") or spec.get("board_id") or "synthetic"
        return BrainFlowSource(board, params)
    if spec.kind in ("xdf", "file"):
        from ..io.recordings import read_recording
        from .players import MNEPlayer, XDFPlayer

        path = Path(spec.target).expanduser()
        loop = spec.get_bool("loop")
        chunk = int(spec.get_float("chunk", 0) or 0) or None
        dejitter = spec.get_bool("dejitter", True)
        recording = read_recording(
            path, stream=spec.get("stream"), allow_truncated=spec.get_bool("allow_truncated"), dejitter=dejitter
        )
        if spec.speed is None:
            return ArraySource(recording, chunk_size=chunk, loop=loop, simulated=recording.simulated)
        sid = f"bci-valence-replay-{uuid.uuid4().hex[:12]}"
        if spec.kind == "xdf":
            player: Player = XDFPlayer(
                recording, speed=spec.speed, loop=loop, source_id=sid, wait_for_consumer=wait,
                recorded_stamps=not dejitter,
            )
        else:
            player = MNEPlayer(
                recording, speed=spec.speed, loop=loop, source_id=sid, wait_for_consumer=wait
            )
        return LSLSource(source_id=player.source_id, timeout=wait, players=[player])
    if spec.kind == "sim":
        from .simulator import SimulatedHeadset, SimulationSettings

        settings = replace(SimulationSettings.from_spec(spec), wait_for_consumer=wait)
        headset = SimulatedHeadset(settings)
        return LSLSource(source_id=headset.source_id, timeout=wait, players=[headset])
    raise SourceSpecError(f"unknown source kind {spec.kind!r}")  # pragma: no cover
