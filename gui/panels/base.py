"""What an app panel is: the :class:`Panel` protocol, the :class:`PanelContext` its
factory is given, and :class:`PanelBase`, whose hooks do nothing until overridden."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from PySide6 import QtWidgets

    from ..session import RawSnapshot, SessionInfo
    from ..settings import GuiSettings

__all__ = ["PANEL_AREAS", "Panel", "PanelBase", "PanelContext", "first_person", "last_finite"]

#: Where a panel sits, top to bottom: beside the valence trace, the scalp maps' row, the
#: raw EEG's row. Panels of one area share it side by side, by :attr:`Panel.order`.
PANEL_AREAS: tuple[str, ...] = ("top", "maps", "bottom")


@dataclass(frozen=True)
class PanelContext:
    """What the window gives a panel's factory.

    Attributes
    ----------
    settings : GuiSettings
        The app's settings as the window starts (raw trace length and scale...).
    channels : tuple of str
        The 32 channels every stream is mapped onto (FACED's montage).
    class_names : tuple of str
        The emotion classes, until a session's bundle names its own.
    band_names : tuple of str
        The DE bands.
    """

    settings: GuiSettings
    channels: tuple[str, ...]
    class_names: tuple[str, ...]
    band_names: tuple[str, ...]


@runtime_checkable
class Panel(Protocol):
    """An app panel: a titled widget the window places and feeds.

    A factory registered under the ``bci_valence.panels`` entry-point group
    (:mod:`gui.panels.registry`) takes a :class:`PanelContext` and returns one. The
    window calls the hooks in the GUI thread: ``clear`` when a session starts,
    ``on_started`` once it runs, then ``on_steps`` (every new
    :class:`~bci_valence.online.pipeline.ValenceStep` of every person, in order),
    ``on_segments``, ``on_group``, ``on_raw`` and ``on_status`` as the worker sends them,
    and ``refresh`` at most ``MAX_REFRESH_HZ`` times a second: draw there, not in the
    feeding hooks.

    Attributes
    ----------
    name : str
        Unique key (the entry point's name by convention).
    title : str
        The line above the widget; the window re-reads it after ``on_started``.
    area : str
        One of :data:`PANEL_AREAS`.
    order : int
        Position inside the area, left to right (lower first).
    stretch : int
        Share of the area's width when the window is resized.
    size : int
        Initial width in pixels.
    widget : QWidget
        What the window shows.
    toolbar : QWidget or None
        Controls shown on the title's line, at its right.
    """

    name: str
    title: str
    area: str
    order: int
    stretch: int
    size: int
    widget: QtWidgets.QWidget
    toolbar: QtWidgets.QWidget | None

    def clear(self) -> None:
        """Forget the previous session's data (a new one starts)."""

    def on_started(self, info: SessionInfo) -> None:
        """A session runs: label the panel for its streams, classes and bundle."""

    def on_steps(self, steps: Sequence[Any]) -> None:
        """New valence steps, of every person."""

    def on_segments(self, rows: Sequence[Any]) -> None:
        """The session's segments now (:class:`~gui.widgets.segment_rows.SegmentRow`)."""

    def on_group(self, rows: Sequence[Any]) -> None:
        """New rows of the group trace (:class:`~bci_valence.online.group.GroupRow`)."""

    def on_raw(self, snapshot: RawSnapshot) -> None:
        """The latest mapped EEG of the first person."""

    def on_status(self, statuses: Sequence[Any]) -> None:
        """Every stream's :class:`~bci_valence.online.pipeline.StreamStatus`."""

    def show_reliability(self, reliability: Any) -> None:
        """What the valence is worth on new content
        (:class:`~bci_valence.online.reliability.ValenceReliability`)."""

    def update_settings(self, settings: GuiSettings) -> GuiSettings:
        """``settings`` with the panel's own edits (returned unchanged when it has none)."""

    def refresh(self) -> None:
        """Redraw what changed."""


class PanelBase:
    """A :class:`Panel` whose hooks do nothing: subclass it and override what the panel needs.

    Subclasses set the class attributes and assign :attr:`widget` in ``__init__``.
    """

    name: str = ""
    title: str = ""
    area: str = "top"
    order: int = 100
    stretch: int = 1
    size: int = 300
    toolbar: Any = None

    def __init__(self) -> None:
        self.widget: Any = None
        self.info: SessionInfo | None = None

    def clear(self) -> None:
        """Nothing to forget."""

    def on_started(self, info: SessionInfo) -> None:
        """Keep ``info`` (:attr:`info`)."""
        self.info = info

    def on_steps(self, steps: Sequence[Any]) -> None:
        """Ignore steps."""

    def on_segments(self, rows: Sequence[Any]) -> None:
        """Ignore segments."""

    def on_group(self, rows: Sequence[Any]) -> None:
        """Ignore the group trace."""

    def on_raw(self, snapshot: RawSnapshot) -> None:
        """Ignore raw EEG."""

    def on_status(self, statuses: Sequence[Any]) -> None:
        """Ignore the streams' status."""

    def show_reliability(self, reliability: Any) -> None:
        """Ignore the reliability."""

    def update_settings(self, settings: GuiSettings) -> GuiSettings:
        """No settings of its own."""
        return settings

    def refresh(self) -> None:
        """Nothing to draw."""


def first_person(steps: Sequence[Any], info: SessionInfo | None) -> list[Any]:
    """The steps of the session's first stream (every step with one stream or no info).

    The probabilities, the scalp maps and the raw EEG show the first person.

    Parameters
    ----------
    steps : sequence of ValenceStep
    info : SessionInfo or None

    Returns
    -------
    list of ValenceStep
    """
    if info is None or len(info.stream_names) < 2:
        return list(steps)
    first = info.stream_names[0]
    return [s for s in steps if s.stream == first]


def last_finite(steps: Sequence[Any], previous: Any = None) -> Any:
    """The newest of ``steps`` with a finite valence, else ``previous``."""
    import math

    return next((s for s in reversed(steps) if math.isfinite(s.valence)), previous)
