"""EEG sources behind one interface and one spec syntax.

Spec syntax (command line and API alike), ``KIND:BODY?KEY=VALUE&KEY=VALUE``::

    lsl:name=MyEEG              an LSL stream by name (``lsl:MyEEG`` is the same)
    lsl:type=EEG                ... by type
    lsl:source_id=abc           ... by source_id (criteria combine: name=X&type=EEG)
    brainflow:synthetic         BrainFlow's synthetic board (no hardware)
    brainflow:cyton?serial_port=/dev/ttyUSB0
    brainflow:board_id=0&serial_port=/dev/ttyUSB0
    xdf:path/to/file.xdf?speed=2&loop=1
    xdf:path/to/file.xdf?speed=max        as fast as possible, no LSL (ArraySource)
    file:path/to/rec.set?speed=1          anything MNE reads (EEGLAB, EDF, BDF, FIF...)
    sim:                                  the simulated 32-channel FACED headset
    sim:script=joy:20,anger:20&rate=250&seed=1&contrast=3&noise=0.5
    lsl:name=X?channels=Fp1,Fp2,C3,C4     any kind: relabel this source's channels
    file:rec.bdf?channels=biosemi16       ... (labels or an MNE montage name; trigger
                                          channels such as Status keep their label)

A bare path (``rec.xdf``, ``rec.edf``) is accepted as ``xdf:``/``file:``, and a kind on
its own (``sim``) as that kind with an empty body (``sim:``).

Every source yields :class:`Chunk` objects of float64 samples. ``Source.unit`` says
``"V"`` when the values are volts (the stream or file stated a voltage unit) and
``"unknown"`` when they are the stream's own values (e.g. an LSL stream without
``<unit>`` in its channel description, or the OpenBCI XDF recording).
"""


from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)

__all__ = ["COMMON_OPTIONS", "SOURCE_KINDS", "SourceError", "SourceSpec", "SourceSpecError", "parse_source_spec"]


# --------------------------------------------------------------------------- specs
#: Source kinds and the option keys each accepts.
SOURCE_KINDS: dict[str, tuple[str, ...]] = {
    "lsl": ("name", "type", "source_id", "timeout", "markers"),
    "brainflow": (
        "board",
        "board_id",
        "serial_port",
        "mac_address",
        "ip_address",
        "ip_address_aux",
        "ip_address_anc",
        "ip_port",
        "ip_port_aux",
        "ip_port_anc",
        "ip_protocol",
        "other_info",
        "timeout",
        "serial_number",
        "file",
        "file_aux",
        "file_anc",
        "master_board",
    ),
    "xdf": ("speed", "loop", "stream", "chunk", "timeout", "allow_truncated", "dejitter"),
    "file": ("speed", "loop", "chunk", "timeout", "allow_truncated"),
    "sim": ("script", "rate", "seed", "contrast", "noise", "name", "timeout"),
}
#: Options every kind accepts (not passed on to the device or player).
COMMON_OPTIONS: tuple[str, ...] = ("channels",)
for _kind in SOURCE_KINDS:
    SOURCE_KINDS[_kind] = SOURCE_KINDS[_kind] + COMMON_OPTIONS

_SYNTAX = (
    "expected KIND:BODY?KEY=VALUE&..., e.g. 'lsl:name=MyEEG', 'lsl:type=EEG', "
    "'brainflow:synthetic', 'brainflow:cyton?serial_port=/dev/ttyUSB0', "
    "'xdf:rec.xdf?speed=2&loop=1', 'file:rec.set?speed=max', 'sim:script=joy:20,anger:20'"
)
#: Spellings of a yes / no option value (``loop=1``, ``markers=off``...).
TRUE_VALUES = ("1", "true", "yes", "on")
FALSE_VALUES = ("0", "false", "no", "off")


class SourceSpecError(ValueError):
    """A source spec that cannot be parsed; the message names it and the expected form."""


class SourceError(RuntimeError):
    """A source that cannot be opened or read (stream not found, board not answering...)."""


@dataclass(frozen=True)
class SourceSpec:
    """A parsed source spec.

    Attributes
    ----------
    kind : str
        ``"lsl"``, ``"brainflow"``, ``"xdf"``, ``"file"`` or ``"sim"``.
    target : str
        The file path (xdf/file), the board name or id (brainflow), else ``""``.
    options : tuple of (str, str)
        The ``KEY=VALUE`` options, in the order given.
    """

    kind: str
    target: str = ""
    options: tuple[tuple[str, str], ...] = ()

    @property
    def params(self) -> dict[str, str]:
        """Options as a dict."""
        return dict(self.options)

    def get(self, key: str, default: str | None = None) -> str | None:
        """The value of option ``key``, or ``default``."""
        return self.params.get(key, default)

    def get_float(self, key: str, default: float | None = None) -> float | None:
        """Option ``key`` as a float (:class:`SourceSpecError` when not a number)."""
        value = self.get(key)
        if value is None:
            return default
        try:
            return float(value)
        except ValueError:
            raise SourceSpecError(f"source {self}: {key}={value!r} is not a number") from None

    def get_bool(self, key: str, default: bool = False) -> bool:
        """Option ``key`` as a bool (1/0, true/false, yes/no, on/off)."""
        value = self.get(key)
        if value is None:
            return default
        if value.lower() in TRUE_VALUES:
            return True
        if value.lower() in FALSE_VALUES:
            return False
        raise SourceSpecError(f"source {self}: {key}={value!r} is not a boolean (expected 1 or 0)")

    @property
    def speed(self) -> float | None:
        """Replay speed factor for xdf/file specs: None means ``max`` (no LSL)."""
        value = self.get("speed", "1")
        if value is not None and value.lower() in ("max", "inf", "fast"):
            return None
        return self.get_float("speed", 1.0)

    def __str__(self) -> str:
        body = self.target
        query = "&".join(f"{k}={v}" for k, v in self.options)
        if query:
            return f"{self.kind}:{body}?{query}" if body else f"{self.kind}:{query}"
        return f"{self.kind}:{body}"


def parse_source_spec(spec: str | SourceSpec) -> SourceSpec:
    """Parse a source spec string (see the module docstring for the syntax).

    Parameters
    ----------
    spec : str or SourceSpec
        E.g. ``"lsl:type=EEG"``, ``"xdf:rec.xdf?speed=4"``. A SourceSpec is returned
        unchanged.

    Returns
    -------
    SourceSpec

    Raises
    ------
    SourceSpecError
        Unknown kind or option, missing path/board/stream criterion, bad value.
    """
    if isinstance(spec, SourceSpec):
        return spec
    if not isinstance(spec, str) or not spec.strip():
        raise SourceSpecError(f"empty source spec {spec!r}: {_SYNTAX}")
    text = spec.strip()
    kind, sep, rest = text.partition(":")
    kind = kind.lower()
    head, qmark, tail = text.partition("?")
    if not sep and head.lower() in SOURCE_KINDS:
        # a kind on its own ("sim", "sim?rate=500") is the kind with an empty body
        kind, sep, rest = head.lower(), ":", qmark + tail
    if not sep or kind not in SOURCE_KINDS:
        # a bare recording path
        lowered = text.lower().split("?", 1)[0]
        if lowered.endswith((".xdf", ".xdfz", ".xdf.gz")):
            kind, rest = "xdf", text
        elif "." in Path(lowered).name and (Path(text.split("?", 1)[0]).exists() or not sep):
            kind, rest = "file", text
        else:
            raise SourceSpecError(
                f"unknown source kind {kind!r} in {spec!r}: expected one of "
                f"{', '.join(SOURCE_KINDS)}; {_SYNTAX}"
            )
    body, _, query = rest.partition("?")
    options: list[tuple[str, str]] = []
    target = ""

    def add_pairs(text_pairs: str) -> None:
        for pair in filter(None, text_pairs.split("&")):
            key, eq, value = pair.partition("=")
            key = key.strip().lower()
            if not eq or not key:
                raise SourceSpecError(
                    f"source {spec!r}: option {pair!r} is not KEY=VALUE; {_SYNTAX}"
                )
            options.append((key, value.strip()))

    if kind in ("xdf", "file"):
        target = body.strip()
        if not target:
            raise SourceSpecError(f"source {spec!r}: the {kind}: spec needs a file path; {_SYNTAX}")
    elif kind == "lsl":
        if body and "=" not in body:
            options.append(("name", body.strip()))
        else:
            add_pairs(body)
    elif kind == "brainflow":
        if body and "=" not in body:
            target = body.strip()
        else:
            add_pairs(body)
    else:  # sim
        add_pairs(body)
    add_pairs(query)

    allowed = SOURCE_KINDS[kind]
    for key, value in options:
        if key not in allowed:
            raise SourceSpecError(
                f"source {spec!r}: unknown option {key!r} for {kind}: (allowed: {', '.join(allowed)})"
            )
    keys = [k for k, _ in options]
    dup = {k for k in keys if keys.count(k) > 1}
    if dup:
        raise SourceSpecError(f"source {spec!r}: option(s) {sorted(dup)} given twice")
    params = dict(options)
    if kind == "lsl" and not any(params.get(k) for k in ("name", "type", "source_id")):
        raise SourceSpecError(
            f"source {spec!r}: an lsl: spec needs name=, type= or source_id= "
            "(run 'bci-valence streams' to list the streams on the network)"
        )
    if kind == "brainflow":
        board = target or params.get("board") or params.get("board_id")
        if not board:
            raise SourceSpecError(
                f"source {spec!r}: a brainflow: spec needs a board name or board_id "
                "(e.g. 'brainflow:synthetic', 'brainflow:board_id=0&serial_port=COM3')"
            )
        if target and ("board" in params or "board_id" in params):
            raise SourceSpecError(f"source {spec!r}: board given twice")
        for key in ("ip_port", "ip_port_aux", "ip_port_anc", "ip_protocol", "timeout", "master_board"):
            if key in params:
                try:
                    int(params[key])
                except ValueError:
                    raise SourceSpecError(
                        f"source {spec!r}: {key}={params[key]!r} must be an integer"
                    ) from None
    result = SourceSpec(kind=kind, target=target, options=tuple(options))
    if kind in ("xdf", "file"):
        speed = result.speed
        if speed is not None and not (speed > 0 and np.isfinite(speed)):
            raise SourceSpecError(f"source {spec!r}: speed must be > 0 or 'max', got {speed}")
        result.get_bool("loop")
        if "chunk" in params:
            chunk = result.get_float("chunk")
            if chunk is None or chunk < 1 or chunk != int(chunk):
                raise SourceSpecError(f"source {spec!r}: chunk must be a positive integer (samples)")
    for key in ("timeout", "rate", "contrast", "noise", "seed"):
        if key in params and kind != "brainflow":
            value = result.get_float(key)
            if key not in ("seed", "noise") and value is not None and value <= 0:
                raise SourceSpecError(f"source {spec!r}: {key} must be > 0, got {value}")
            if key == "noise" and value is not None and value < 0:
                raise SourceSpecError(f"source {spec!r}: {key} must be >= 0, got {value}")
    if kind == "lsl":
        result.get_bool("markers", True)
    if "channels" in params:
        from ..signal.montage import ChannelMappingError, channel_spec_labels

        try:
            channel_spec_labels(params["channels"])
        except ChannelMappingError as err:
            raise SourceSpecError(f"source {spec!r}: channels: {err}") from None
    if kind == "sim" and "script" in params:
        from .simulator import parse_script  # validates class names and durations

        try:
            parse_script(params["script"])
        except ValueError as err:
            raise SourceSpecError(f"source {spec!r}: {err}") from None
    return result
