"""The app's panels are an extension point: every panel, the app's own included, comes from
the ``bci_valence.panels`` entry-point group, and a package that registers one there gets
it placed in the window and fed the session's steps."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

BUILTIN = ("valence", "segments", "probabilities", "scalp-maps", "raw-eeg")

#: A panel package as a third party would ship it: a module and its dist-info.
TOY_MODULE = '''
from PySide6 import QtWidgets

from gui.panels import PanelBase


class ToyPanel(PanelBase):
    name, area, order, size = "toy", "top", 15, 200

    def __init__(self, context):
        super().__init__()
        self.title = "Toy: waiting"
        self.channels = context.channels
        self.widget = QtWidgets.QLabel("no steps")
        self.cleared = 0
        self.steps = []
        self.statuses = 0
        self.refreshes = 0

    def clear(self):
        self.cleared += 1
        self.steps = []

    def on_started(self, info):
        super().on_started(info)
        self.title = f"Toy: {len(info.stream_names)} stream(s)"

    def on_steps(self, steps):
        self.steps.extend(steps)

    def on_status(self, statuses):
        self.statuses += 1

    def refresh(self):
        self.refreshes += 1
        self.widget.setText(f"{len(self.steps)} steps")
'''


def _install_toy(root: Path, module: str = "toy_panel_pkg", entry: str = "toy") -> Path:
    """Write the toy package and a dist-info that registers it under ``bci_valence.panels``."""
    root.mkdir(parents=True, exist_ok=True)
    (root / f"{module}.py").write_text(textwrap.dedent(TOY_MODULE))
    info = root / f"{module}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[bci_valence.panels]\n{entry} = {module}:ToyPanel\n")
    return root


def test_the_apps_own_panels_register_through_the_entry_point_group():
    from gui.panels import panel_entry_points

    found = {ep.name: ep.value for ep in panel_entry_points()}
    assert set(BUILTIN) <= set(found), found
    assert all(found[name].startswith("gui.panels.builtin:") for name in BUILTIN)


def test_the_protocol_lists_what_a_panel_has():
    from gui.panels import PANEL_MEMBERS, Panel, PanelBase, check_panel

    hooks = {k for k, v in vars(Panel).items() if callable(v) and not k.startswith("_")}
    assert set(PANEL_MEMBERS) == set(Panel.__annotations__) | hooks
    bare = PanelBase()
    assert check_panel(bare) == "the panel has no name"  # every member is there, but nothing to show
    assert "is not a Panel: it has no" in check_panel(object())


def test_window_builds_its_panels_from_the_group(qtbot, settings_file):
    from gui.app import make_window

    win = make_window(settings_file=settings_file)
    qtbot.addWidget(win)
    assert [p.name for p in win.panels] == list(BUILTIN)  # by area, then order
    assert win.loaded_panels.problems == ()
    assert win.valence_plot is win.loaded_panels.by_name("valence").widget
    assert win.raw_scroll.widget() is win.raw_traces
    assert win.panel_titles["raw-eeg"].text() == "Raw EEG (mapped, filtered)"
    win.close()


def test_broken_panels_are_left_out_and_said(qtbot, settings_file):
    from PySide6.QtCore import QSettings

    from bci_valence.constants import BAND_NAMES, EMOTION_CLASSES, FACED_CHANNELS
    from gui.main_window import MainWindow
    from gui.panels import PanelContext, load_panels
    from gui.panels.builtin import SegmentsPanel
    from gui.settings import GuiSettings

    class Sideways(SegmentsPanel):
        area = "sideways"

    def boom(context):
        raise RuntimeError("no such sensor")

    context = PanelContext(GuiSettings(), tuple(FACED_CHANNELS), tuple(EMOTION_CLASSES), tuple(BAND_NAMES))
    loaded = load_panels(context, factories={"boom": boom, "plain": lambda c: object(), "sideways": Sideways,
                                             "segments": SegmentsPanel, "segments-again": SegmentsPanel})
    assert [p.name for p in loaded.panels] == ["segments"]
    problems = "\n".join(loaded.problems)
    assert "'boom' failed: RuntimeError: no such sensor" in problems
    assert "'plain' left out: object is not a Panel" in problems
    assert "'sideways' left out: area must be one of" in problems
    assert "'segments-again' left out: another panel is already called 'segments'" in problems
    assert len(loaded.problems) == 4
    assert "no panels registered" in load_panels(context, group="bci_valence.no_such_group").problems[0]

    win = MainWindow(qsettings=QSettings(settings_file, QSettings.Format.IniFormat), panels=loaded)
    qtbot.addWidget(win)
    win.show()
    assert win.banner.level == "warning" and win.banner.text().count("\n") == 3  # every problem
    assert "'sideways' left out" in win.banner.text()
    assert "no such sensor" in win.panel.messages.toPlainText()
    assert win.valence_plot is None and win.segment_panel is loaded.panels[0].widget
    win.refresh()  # the header does without the valence panel
    assert win.frames == 1
    win.close()


@pytest.mark.lsl
@pytest.mark.timeout(120)
def test_a_registered_panel_is_shown_and_fed_steps(qtbot, tmp_path, monkeypatch, settings_file, bundle_path):
    from gui.app import make_window
    from gui.panels import panel_entry_points

    monkeypatch.syspath_prepend(str(_install_toy(tmp_path / "site")))
    assert "toy" in {ep.name for ep in panel_entry_points()}
    win = make_window(source="sim:", bundle=bundle_path or None, calibration_s=3.0, settings_file=settings_file)
    qtbot.addWidget(win)
    win.show()
    toy = win.loaded_panels.by_name("toy")
    assert toy is not None and type(toy).__module__ == "toy_panel_pkg"
    assert [p.name for p in win.panels] == ["valence", "toy", "segments", "probabilities", "scalp-maps", "raw-eeg"]
    assert toy.channels == win.channels  # the factory was given the window's context
    qtbot.waitUntil(lambda: toy.widget.isVisible(), timeout=5000)
    assert toy.widget.window() is win and win.panel_titles["toy"].text() == "Toy: waiting"

    win.start_session()
    assert toy.cleared == 1
    qtbot.waitUntil(lambda: len(toy.steps) >= 3 and toy.statuses >= 1, timeout=30000)
    assert win.panel_titles["toy"].text() == "Toy: 1 stream(s)"  # re-read after on_started
    assert toy.steps == win.session_steps[:len(toy.steps)]  # the very steps, in order
    win.refresh()
    assert toy.widget.text() == f"{len(toy.steps)} steps" and toy.refreshes >= 1
    win.stop_session()
    qtbot.waitUntil(lambda: not win.running, timeout=15000)
    assert toy.steps == win.session_steps
    win.close()
