"""The app's panels as an extension point.

A panel (:class:`Panel`) is a titled widget the main window places in one of its areas
and feeds with the session's steps, segments, group trace, raw EEG and stream status.
Every panel, the app's own included (:mod:`gui.panels.builtin`), is found through the
``bci_valence.panels`` entry-point group (:func:`load_panels`).
"""

from .base import PANEL_AREAS, Panel, PanelBase, PanelContext, first_person, last_finite
from .registry import PANEL_GROUP, PANEL_MEMBERS, LoadedPanels, check_panel, load_panels, panel_entry_points

__all__ = [
    "PANEL_AREAS", "PANEL_GROUP", "PANEL_MEMBERS", "LoadedPanels", "Panel", "PanelBase", "PanelContext",
    "check_panel", "first_person", "last_finite", "load_panels", "panel_entry_points",
]  # fmt: skip
