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

The kinds above are the built-in ones (:mod:`.builtin_kinds`); every kind, theirs and a
third-party package's, is a :class:`~.kinds.SourceKind` registered in the
``bci_valence.sources`` entry-point group (:mod:`.kinds`). This parser reads the syntax
and the options every kind shares (``channels=``, parsed once into a
:class:`~bci_valence.signal.montage.ChannelSpec`) and leaves the rest to the kind.

Every source yields :class:`Chunk` objects of float64 samples. ``Source.unit`` says
``"V"`` when the values are volts (the stream or file stated a voltage unit) and
``"unknown"`` when they are the stream's own values (e.g. an LSL stream without
``<unit>`` in its channel description, or the OpenBCI XDF recording).
"""


from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from ..signal.montage import ORIGIN_SPEC, ChannelMappingError, ChannelSpec
from .errors import SourceError, SourceSpecError
from .kinds import SourceKind, source_kinds

logger = logging.getLogger(__name__)

__all__ = [
    "COMMON_OPTIONS",
    "FALSE_VALUES",
    "TRUE_VALUES",
    "SourceError",
    "SourceSpec",
    "SourceSpecError",
    "parse_source_spec",
    "syntax_help",
]

#: Options every kind accepts (read here, not passed on to the kind's source).
COMMON_OPTIONS: tuple[str, ...] = ("channels",)
#: Spellings of a yes / no option value (``loop=1``, ``markers=off``...).
TRUE_VALUES = ("1", "true", "yes", "on")
FALSE_VALUES = ("0", "false", "no", "off")


def syntax_help() -> str:
    """The spec syntax and an example of every registered kind, in one line for errors."""
    examples = ", ".join(kind.example or f"{name}:" for name, kind in source_kinds().items())
    return f"expected KIND:BODY?KEY=VALUE&..., e.g. {examples}"


@dataclass(frozen=True)
class SourceSpec:
    """A parsed source spec.

    Attributes
    ----------
    kind : str
        The kind's name (``"lsl"``, ``"brainflow"``, ``"xdf"``, ``"file"``, ``"sim"`` or
        a plugin's).
    target : str
        The file path (xdf/file), the board name (brainflow), else ``""``.
    options : tuple of (str, str)
        The kind's ``KEY=VALUE`` options, in the order given (``channels=`` is
        :attr:`channels`).
    channels : ChannelSpec | None
        The ``channels=`` relabelling, parsed; None keeps the stream's own labels.
    """

    kind: str
    target: str = ""
    options: tuple[tuple[str, str], ...] = ()
    channels: ChannelSpec | None = None

    @property
    def params(self) -> dict[str, str]:
        """The kind's options as a dict."""
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
            raise SourceSpecError(f"{key}={value!r} is not a number") from None

    def get_int(self, key: str, default: int | None = None) -> int | None:
        """Option ``key`` as an integer (:class:`SourceSpecError` when not one)."""
        value = self.get(key)
        if value is None:
            return default
        try:
            return int(value)
        except ValueError:
            raise SourceSpecError(f"{key}={value!r} must be an integer") from None

    def get_bool(self, key: str, default: bool = False) -> bool:
        """Option ``key`` as a bool (1/0, true/false, yes/no, on/off)."""
        value = self.get(key)
        if value is None:
            return default
        if value.lower() in TRUE_VALUES:
            return True
        if value.lower() in FALSE_VALUES:
            return False
        raise SourceSpecError(f"{key}={value!r} is not a boolean (expected 1 or 0)")

    @property
    def speed(self) -> float | None:
        """Replay speed factor for xdf/file specs: None means ``max`` (no LSL)."""
        value = self.get("speed", "1")
        if value is not None and value.lower() in ("max", "inf", "fast"):
            return None
        return self.get_float("speed", 1.0)

    def with_channels(self, channels: ChannelSpec | None) -> SourceSpec:
        """This spec with another relabelling (the app's channel box, parsed there)."""
        return replace(self, channels=channels)

    def __str__(self) -> str:
        options = list(self.options)
        if self.channels is not None:
            options.append(("channels", self.channels.text))
        query = "&".join(f"{k}={v}" for k, v in options)
        if query:
            return f"{self.kind}:{self.target}?{query}" if self.target else f"{self.kind}:{query}"
        return f"{self.kind}:{self.target}"


def parse_source_spec(spec: str | SourceSpec, kinds: Mapping[str, SourceKind] | None = None) -> SourceSpec:
    """Parse a source spec string (see the module docstring for the syntax).

    Parameters
    ----------
    spec : str or SourceSpec
        E.g. ``"lsl:type=EEG"``, ``"xdf:rec.xdf?speed=4"``. A SourceSpec is returned
        unchanged.
    kinds : mapping of str to SourceKind, optional
        The kinds to read (default: every registered one, :func:`~.kinds.source_kinds`).

    Returns
    -------
    SourceSpec
        With its ``channels=`` option parsed into :attr:`SourceSpec.channels`.

    Raises
    ------
    SourceSpecError
        Unknown kind or option, missing path/board/stream criterion, bad value; the
        message names the spec.
    """
    if isinstance(spec, SourceSpec):
        return spec
    if not isinstance(spec, str) or not spec.strip():
        raise SourceSpecError(f"empty source spec {spec!r}: {syntax_help()}")
    kinds = source_kinds() if kinds is None else kinds
    text = spec.strip()
    name, rest = _split_kind(text, kinds)
    kind = kinds[name]
    body, _, query = rest.partition("?")
    target, options = _read_body(kind, name, body, text)
    options += _read_pairs(query, text)
    _check_keys(kind, name, options, text)
    base = SourceSpec(name, target, tuple(o for o in options if o[0] not in COMMON_OPTIONS))
    result = base.with_channels(_read_channels(options, base))
    if kind.check is not None:
        try:
            kind.check(result)
        except SourceSpecError as err:
            raise SourceSpecError(f"source {text!r}: {err}") from None
    return result


def _split_kind(text: str, kinds: Mapping[str, SourceKind]) -> tuple[str, str]:
    """The kind's name and the text after its colon (a bare path gets the kind its suffix names)."""
    name, sep, rest = text.partition(":")
    name = name.lower()
    head, qmark, tail = text.partition("?")
    if not sep and head.lower() in kinds:
        # a kind on its own ("sim", "sim?rate=500") is the kind with an empty body
        return head.lower(), qmark + tail
    if sep and name in kinds:
        return name, rest
    path = text.split("?", 1)[0]
    lowered = path.lower()
    for kind_name, kind in kinds.items():
        if any(s != "*" and lowered.endswith(s) for s in kind.suffixes):
            return kind_name, text
    if "." in Path(lowered).name and (Path(path).exists() or not sep):
        for kind_name, kind in kinds.items():
            if "*" in kind.suffixes:
                return kind_name, text
    raise SourceSpecError(f"unknown source kind {name!r} in {text!r}: expected one of {', '.join(kinds)}")


def _read_body(kind: SourceKind, name: str, body: str, text: str) -> tuple[str, list[tuple[str, str]]]:
    """The target and options the text between the colon and ``?`` gives, as the kind reads it."""
    body = body.strip()
    if kind.body == "path":
        if not body:
            raise SourceSpecError(f"source {text!r}: the {name}: spec needs a file path (e.g. {kind.example})")
        return body, []
    if body and "=" not in body:
        if kind.body == "target":
            return body, []
        if kind.bare_option:
            return "", [(kind.bare_option, body)]
    return "", _read_pairs(body, text)


def _read_pairs(text_pairs: str, text: str) -> list[tuple[str, str]]:
    """``KEY=VALUE&KEY=VALUE`` as pairs, keys in lower case."""
    options = []
    for pair in filter(None, text_pairs.split("&")):
        key, eq, value = pair.partition("=")
        key = key.strip().lower()
        if not eq or not key:
            raise SourceSpecError(f"source {text!r}: option {pair!r} is not KEY=VALUE; {syntax_help()}")
        options.append((key, value.strip()))
    return options


def _check_keys(kind: SourceKind, name: str, options: list[tuple[str, str]], text: str) -> None:
    """Every key is the kind's or a common one, and none is given twice."""
    allowed = (*kind.options, *COMMON_OPTIONS)
    for key, _ in options:
        if key not in allowed:
            raise SourceSpecError(
                f"source {text!r}: unknown option {key!r} for {name}: (allowed: {', '.join(allowed)})"
            )
    keys = [k for k, _ in options]
    dup = {k for k in keys if keys.count(k) > 1}
    if dup:
        raise SourceSpecError(f"source {text!r}: option(s) {sorted(dup)} given twice")


def _read_channels(options: list[tuple[str, str]], base: SourceSpec) -> ChannelSpec | None:
    """The ``channels=`` option, parsed once here; its errors name the source it relabels."""
    value = dict(options).get("channels", "").strip()
    if not value:
        return None
    try:
        return ChannelSpec.parse(value, origin=f"{ORIGIN_SPEC} of {base}")
    except ChannelMappingError as err:
        raise SourceSpecError(str(err)) from None
