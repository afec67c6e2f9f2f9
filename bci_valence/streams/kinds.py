"""Source kinds, found through the ``bci_valence.sources`` entry-point group.

A *kind* is the word before the colon of a source spec (``lsl:``, ``sim:``...). Each
one is a :class:`SourceKind`: the options its spec takes, how the text after the colon
reads, a check of the parsed spec, and a factory from the parsed spec to a
:class:`~bci_valence.streams.base.Source`. Kinds are registered as entry points, the
built-in ones (:mod:`.builtin_kinds`) in this project's ``pyproject.toml`` exactly as a
third-party package registers its own::

    [project.entry-points."bci_valence.sources"]
    toy = "toy_source:TOY"

so the spec parser and :func:`~bci_valence.streams.factory.open_source` never name a
kind, and a new kind needs no edit to either.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib.metadata import entry_points
from types import MappingProxyType
from typing import TYPE_CHECKING, Literal

from .errors import SourceSpecError

if TYPE_CHECKING:
    from .base import Source
    from .spec import SourceSpec

logger = logging.getLogger(__name__)

__all__ = ["ENTRY_POINT_GROUP", "SourceKind", "describe_kinds", "source_kind", "source_kinds"]

#: The entry-point group every source kind, built-in or third-party, is registered in.
ENTRY_POINT_GROUP = "bci_valence.sources"

#: The entry-point value each loaded kind came from (to tell a copy from a clash).
_values: dict[str, str] = {}


@dataclass(frozen=True)
class SourceKind:
    """How one kind of source is written in a spec and opened.

    Parameters
    ----------
    open : callable ``(spec, timeout) -> Source``
        Builds the source (not started) from the parsed
        :class:`~bci_valence.streams.spec.SourceSpec`; ``timeout`` is the seconds to wait
        for a stream (``--timeout``, else the spec's ``timeout=``, else 10). The
        spec's ``channels=`` relabelling is applied by the caller, not here.
    options : tuple of str
        The ``KEY=VALUE`` options its spec accepts (``channels=`` is accepted by every
        kind and is not listed).
    summary : str
        What it reads, a few words for help texts (``"an LSL stream"``).
    example : str
        A spec of this kind, for help texts and errors (``"lsl:name=MyEEG"``).
    body : {"options", "path", "target"}
        How the text after the colon reads: ``KEY=VALUE`` options; a file path (the
        spec's ``target``, required); or a target such as a board name when it has no
        ``=`` and options otherwise.
    bare_option : str | None
        With ``body="options"``: the option a body without ``=`` is the value of
        (``lsl:MyEEG`` is ``lsl:name=MyEEG``).
    suffixes : tuple of str
        File suffixes that make a bare path (``rec.xdf``) a spec of this kind; ``"*"``
        takes any file that exists and that no other kind claims.
    check : callable ``(spec) -> None``, optional
        Checks the parsed spec's values; raises
        :class:`~bci_valence.streams.errors.SourceSpecError` with a message that names
        the bad option (the parser prefixes the spec).
    """

    open: Callable[[SourceSpec, float], Source]
    options: tuple[str, ...] = ()
    summary: str = ""
    example: str = ""
    body: Literal["options", "path", "target"] = "options"
    bare_option: str | None = None
    suffixes: tuple[str, ...] = ()
    check: Callable[[SourceSpec], None] | None = None

    def __post_init__(self) -> None:
        if self.body not in ("options", "path", "target"):
            raise ValueError(f"body must be 'options', 'path' or 'target', got {self.body!r}")
        if not callable(self.open):
            raise TypeError(f"open must be callable, got {self.open!r}")


@lru_cache(maxsize=1)
def source_kinds() -> Mapping[str, SourceKind]:
    """Every registered kind, by name (the entry points of :data:`ENTRY_POINT_GROUP`).

    Loaded once per process. A plugin whose entry point cannot be loaded, or does not
    name a :class:`SourceKind`, is left out with a warning, so one broken package does
    not take the others down; a name registered twice keeps the first one.

    Returns
    -------
    Mapping of str to SourceKind
        In registration order, names in lower case.

    Raises
    ------
    SourceSpecError
        No kind at all: the project's own metadata is missing (not installed).
    """
    kinds: dict[str, SourceKind] = {}
    for point in entry_points(group=ENTRY_POINT_GROUP):
        name = point.name.strip().lower()
        if name in kinds:
            if point.value != _values.get(name):
                logger.warning("source kind %r registered twice; %s is ignored", name, point.value)
            continue
        try:
            kind = point.load()
        except Exception as err:  # noqa: BLE001 - a broken plugin must not break the others
            logger.warning("source kind %r (%s) cannot be loaded: %s", name, point.value, err)
            continue
        if not isinstance(kind, SourceKind):
            logger.warning("source kind %r (%s) is %r, not a SourceKind: ignored", name, point.value, kind)
            continue
        kinds[name] = kind
        _values[name] = point.value
    if not kinds:
        raise SourceSpecError(
            f"no source kind is registered in the {ENTRY_POINT_GROUP!r} entry-point group: "
            "install the project (pip install -e .) so its metadata exists"
        )
    return MappingProxyType(kinds)


def source_kind(name: str) -> SourceKind:
    """The kind called ``name``.

    Raises
    ------
    SourceSpecError
        Unknown kind; the one-line message lists the known ones.
    """
    kinds = source_kinds()
    kind = kinds.get(str(name).strip().lower())
    if kind is None:
        raise SourceSpecError(f"unknown source kind {name!r}: expected one of {', '.join(kinds)}")
    return kind


def describe_kinds() -> str:
    """One line listing every kind with an example, for help texts.

    Returns
    -------
    str
        E.g. ``"lsl:name=MyEEG (an LSL stream), sim: (the simulated headset), ..."``.
    """
    parts = []
    for name, kind in source_kinds().items():
        example = kind.example or f"{name}:"
        parts.append(f"{example} ({kind.summary})" if kind.summary else example)
    return ", ".join(parts)
