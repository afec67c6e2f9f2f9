"""The app says on the command line when it uses settings saved by an earlier run."""

from __future__ import annotations

import pytest


@pytest.mark.timeout(30)
def test_persisted_settings_are_named_with_their_file(qtbot, settings_file):
    from PySide6.QtCore import QSettings

    from gui.settings import GuiSettings, persisted_note, save_settings

    store = QSettings(settings_file, QSettings.Format.IniFormat)
    assert persisted_note(store) is None  # nothing saved yet: the defaults, nothing to say
    save_settings(GuiSettings(), store)
    note = persisted_note(store)
    assert note is not None and "earlier run" in note and settings_file in note and "--settings" in note
