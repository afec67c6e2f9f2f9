"""The app's panels, found through the ``bci_valence.panels`` entry-point group.

A package adds a panel to the window by naming a factory in its own ``pyproject.toml``::

    [project.entry-points."bci_valence.panels"]
    my-panel = "my_package.panel:make_panel"

``make_panel(context: PanelContext) -> Panel``. The app's own panels register the same
way (bci-valence's ``pyproject.toml``), so there is one path for every panel.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from .base import PANEL_AREAS, Panel, PanelContext

__all__ = ["PANEL_GROUP", "PANEL_MEMBERS", "LoadedPanels", "check_panel", "load_panels", "panel_entry_points"]

#: The entry-point group of the app's panels.
PANEL_GROUP = "bci_valence.panels"

#: What a :class:`~gui.panels.base.Panel` has: its attributes, then its hooks.
PANEL_MEMBERS: tuple[str, ...] = (
    "name", "title", "area", "order", "stretch", "size", "widget", "toolbar", "clear", "on_started", "on_steps",
    "on_segments", "on_group", "on_raw", "on_status", "show_reliability", "update_settings", "refresh",
)  # fmt: skip


@dataclass(frozen=True)
class LoadedPanels:
    """The panels built for a window, and why any registered one was left out.

    Attributes
    ----------
    panels : tuple of Panel
        In the window's order: by area (:data:`~gui.panels.base.PANEL_AREAS`), then
        ``order``, then name.
    problems : tuple of str
        One readable line per entry point that could not be loaded, built or used.
    """

    panels: tuple[Panel, ...]
    problems: tuple[str, ...] = ()

    def by_name(self, name: str) -> Panel | None:
        """The panel called ``name``, or None."""
        return next((p for p in self.panels if p.name == name), None)


def panel_entry_points(group: str = PANEL_GROUP) -> list[EntryPoint]:
    """The entry points registered under ``group``, each name once, by name."""
    found: dict[str, EntryPoint] = {}
    for ep in entry_points(group=group):
        found.setdefault(ep.name, ep)
    return [found[name] for name in sorted(found)]


def check_panel(panel: Any) -> str | None:
    """Why ``panel`` cannot be placed in the window, or None when it can.

    Parameters
    ----------
    panel : object
        What a factory returned.

    Returns
    -------
    str or None
    """
    missing = [member for member in PANEL_MEMBERS if not hasattr(panel, member)]
    if missing:
        return f"{type(panel).__name__} is not a Panel: it has no {', '.join(missing)}"
    if not panel.name:
        return "the panel has no name"
    if panel.area not in PANEL_AREAS:
        return f"area must be one of {PANEL_AREAS}, got {panel.area!r}"
    if panel.widget is None:
        return "the panel has no widget"
    return None


def load_panels(context: PanelContext, group: str = PANEL_GROUP,
                factories: dict[str, Callable[[PanelContext], Any]] | None = None) -> LoadedPanels:
    """Build every registered panel for a window.

    A panel that fails to load or build is left out and said why (:attr:`LoadedPanels.problems`):
    a broken add-on never keeps the window from opening.

    Parameters
    ----------
    context : PanelContext
        Given to each factory.
    group : str
        The entry-point group.
    factories : dict, optional
        ``{name: factory}`` to build instead of the entry points (for tests and embedding).

    Returns
    -------
    LoadedPanels
    """
    if factories is None:
        sources: list[tuple[str, Any]] = [(ep.name, ep) for ep in panel_entry_points(group)]
    else:
        sources = sorted(factories.items())
    panels: list[Panel] = []
    problems: list[str] = []
    for name, source in sources:
        where = f"{name} = {source.value}" if isinstance(source, EntryPoint) else name
        try:
            factory = source.load() if isinstance(source, EntryPoint) else source
            panel = factory(context)
        except Exception as err:  # noqa: BLE001 - a broken panel is reported, not fatal
            problems.append(f"panel {where!r} failed: {type(err).__name__}: {err}")
            continue
        why = check_panel(panel)
        if why is None and any(p.name == panel.name for p in panels):
            why = f"another panel is already called {panel.name!r}"
        if why is not None:
            problems.append(f"panel {where!r} left out: {why}")
            continue
        panels.append(panel)
    if not sources:
        problems.append(f"no panels registered under the entry-point group {group!r}: is bci-valence installed "
                        "(pip install -e .)?")  # fmt: skip
    panels.sort(key=lambda p: (PANEL_AREAS.index(p.area), p.order, p.name))
    return LoadedPanels(tuple(panels), tuple(problems))
