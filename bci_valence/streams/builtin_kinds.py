"""The built-in source kinds: ``lsl:``, ``brainflow:``, ``xdf:``, ``file:`` and ``sim:``.

Each is a :class:`~.kinds.SourceKind` registered in the ``bci_valence.sources``
entry-point group of this project's ``pyproject.toml``, the way a third-party package
registers its own. The sources' modules are imported when a source is opened, not when
a spec is parsed, so reading a spec stays cheap.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import replace
from pathlib import Path

from .base import Player, Source
from .errors import SourceSpecError
from .kinds import SourceKind
from .spec import SourceSpec

__all__ = ["BRAINFLOW", "FILE", "LSL", "SIM", "XDF"]

#: BrainFlow's connection parameters (``BrainFlowInputParams``) and the board choice.
BRAINFLOW_OPTIONS = (
    "board", "board_id", "serial_port", "mac_address", "ip_address", "ip_address_aux", "ip_address_anc",
    "ip_port", "ip_port_aux", "ip_port_anc", "ip_protocol", "other_info", "timeout", "serial_number",
    "file", "file_aux", "file_anc", "master_board",
)  # fmt: skip
_BRAINFLOW_INTS = ("ip_port", "ip_port_aux", "ip_port_anc", "ip_protocol", "timeout", "master_board")


def _positive(spec: SourceSpec, *keys: str) -> None:
    """Each of ``keys`` that is given is a number > 0."""
    for key in keys:
        value = spec.get_float(key)
        if value is not None and not value > 0:
            raise SourceSpecError(f"{key} must be > 0, got {value:g}")


# --------------------------------------------------------------------------- lsl
def _check_lsl(spec: SourceSpec) -> None:
    if not any(spec.get(k) for k in ("name", "type", "source_id")):
        raise SourceSpecError(
            "an lsl: spec needs name=, type= or source_id= "
            "(run 'bci-valence streams' to list the streams on the network)"
        )
    _positive(spec, "timeout")
    spec.get_bool("markers", True)


def _open_lsl(spec: SourceSpec, timeout: float) -> Source:
    from .lsl_source import LSLSource

    return LSLSource(
        name=spec.get("name") or None,
        stype=spec.get("type") or None,
        source_id=spec.get("source_id") or None,
        timeout=timeout,
        markers=spec.get_bool("markers", True),
    )


LSL = SourceKind(
    open=_open_lsl,
    options=("name", "type", "source_id", "timeout", "markers"),
    summary="an LSL stream by name, type or source_id",
    example="lsl:name=MyEEG",
    bare_option="name",
    check=_check_lsl,
)


# --------------------------------------------------------------------------- brainflow
def _check_brainflow(spec: SourceSpec) -> None:
    if not (spec.target or spec.get("board") or spec.get("board_id")):
        raise SourceSpecError(
            "a brainflow: spec needs a board name or board_id "
            "(e.g. 'brainflow:synthetic', 'brainflow:board_id=0&serial_port=COM3')"
        )
    if spec.target and ("board" in spec.params or "board_id" in spec.params):
        raise SourceSpecError("board given twice")
    for key in _BRAINFLOW_INTS:
        spec.get_int(key)


def _open_brainflow(spec: SourceSpec, timeout: float) -> Source:
    from .brainflow_source import BrainFlowSource

    params = {k: v for k, v in spec.options if k not in ("board", "board_id")}
    board = spec.target or spec.get("board") or spec.get("board_id") or "synthetic"
    return BrainFlowSource(board, params)


BRAINFLOW = SourceKind(
    open=_open_brainflow,
    options=BRAINFLOW_OPTIONS,
    summary="a BrainFlow board; synthetic needs no hardware",
    example="brainflow:synthetic",
    body="target",
    check=_check_brainflow,
)


# --------------------------------------------------------------------------- recordings
def _check_recording(spec: SourceSpec) -> None:
    speed = spec.speed
    if speed is not None and not (speed > 0 and math.isfinite(speed)):
        raise SourceSpecError(f"speed must be > 0 or 'max', got {speed:g}")
    for key in ("loop", "allow_truncated", "dejitter"):
        spec.get_bool(key)
    chunk = spec.get_float("chunk")
    if chunk is not None and (chunk < 1 or chunk != int(chunk)):
        raise SourceSpecError(f"chunk must be a positive integer (samples), got {spec.get('chunk')!r}")
    _positive(spec, "timeout")


def _open_recording(spec: SourceSpec, timeout: float) -> Source:
    """An :class:`~.array_source.ArraySource` (``speed=max``), else a player replaying on LSL."""
    from ..io.recordings import read_recording
    from .array_source import ArraySource
    from .lsl_source import LSLSource
    from .players import MNEPlayer, XDFPlayer

    loop = spec.get_bool("loop")
    chunk = spec.get_int("chunk")
    dejitter = spec.get_bool("dejitter", True)
    recording = read_recording(
        Path(spec.target).expanduser(), stream=spec.get("stream"),
        allow_truncated=spec.get_bool("allow_truncated"), dejitter=dejitter,
    )  # fmt: skip
    if spec.speed is None:
        return ArraySource(recording, chunk_size=chunk, loop=loop, simulated=recording.simulated)
    sid = f"bci-valence-replay-{uuid.uuid4().hex[:12]}"
    player: Player
    if spec.kind == "xdf":
        player = XDFPlayer(
            recording, speed=spec.speed, loop=loop, source_id=sid, wait_for_consumer=timeout,
            recorded_stamps=not dejitter,
        )  # fmt: skip
    else:
        player = MNEPlayer(recording, speed=spec.speed, loop=loop, source_id=sid, wait_for_consumer=timeout)
    return LSLSource(source_id=player.source_id, timeout=timeout, players=[player])


XDF = SourceKind(
    open=_open_recording,
    options=("speed", "loop", "stream", "chunk", "timeout", "allow_truncated", "dejitter"),
    summary="an XDF recording replayed; speed=max without LSL",
    example="xdf:rec.xdf?speed=2",
    body="path",
    suffixes=(".xdf", ".xdfz", ".xdf.gz"),
    check=_check_recording,
)
FILE = SourceKind(
    open=_open_recording,
    options=("speed", "loop", "chunk", "timeout", "allow_truncated"),
    summary="a recording MNE reads (EEGLAB, EDF, BDF, FIF...)",
    example="file:rec.set?speed=1",
    body="path",
    suffixes=("*",),
    check=_check_recording,
)


# --------------------------------------------------------------------------- sim
def _check_sim(spec: SourceSpec) -> None:
    from .simulator import parse_script

    _positive(spec, "timeout", "rate", "contrast")
    spec.get_float("seed")
    noise = spec.get_float("noise")
    if noise is not None and noise < 0:
        raise SourceSpecError(f"noise must be >= 0, got {noise:g}")
    if spec.get("script"):
        try:
            parse_script(spec.get("script") or "")  # class names and durations
        except ValueError as err:
            raise SourceSpecError(str(err)) from None


def _open_sim(spec: SourceSpec, timeout: float) -> Source:
    from .lsl_source import LSLSource
    from .simulator import SimulatedHeadset, SimulationSettings

    headset = SimulatedHeadset(replace(SimulationSettings.from_spec(spec), wait_for_consumer=timeout))
    return LSLSource(source_id=headset.source_id, timeout=timeout, players=[headset])


SIM = SourceKind(
    open=_open_sim,
    options=("script", "rate", "seed", "contrast", "noise", "name", "timeout"),
    summary="the simulated 32-channel FACED headset",
    example="sim:script=joy:20,anger:20",
    check=_check_sim,
)
