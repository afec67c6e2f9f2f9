"""A dismissable coloured message line at the top of the window's plots."""

from __future__ import annotations

from .. import qt_compat  # noqa: F401, I001  (before any widget)
from PySide6 import QtCore, QtWidgets  # noqa: E402

__all__ = ["Banner"]


class Banner(QtWidgets.QFrame):
    """A dismissable coloured message line at the top of the plots.

    Parameters
    ----------
    parent : QWidget, optional
    """

    STYLES = {
        "error": "background:#fde2e1; color:#8a1010; border:1px solid #e0a0a0;",
        "warning": "background:#fff3cd; color:#6b4b00; border:1px solid #e6cf84;",
        "info": "background:#e3f0ff; color:#123f73; border:1px solid #a8c8ee;",
    }

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        lay = QtWidgets.QHBoxLayout(self)
        lay.setContentsMargins(8, 4, 4, 4)
        self.label = QtWidgets.QLabel()
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        close = QtWidgets.QToolButton()
        close.setText("×")
        close.setAutoRaise(True)
        close.clicked.connect(self.hide)
        lay.addWidget(self.label, 1)
        lay.addWidget(close)
        self.level = ""
        self.hide()

    def show_message(self, text: str, level: str = "error") -> None:
        """Show ``text`` coloured for ``level`` (``error``, ``warning`` or ``info``)."""
        self.level = level
        self.setStyleSheet(f"QFrame {{{self.STYLES.get(level, '')}}} QLabel {{border:none;}}")
        self.label.setText(text)
        self.show()

    def text(self) -> str:
        """The message shown, or "" when the banner is hidden."""
        return self.label.text() if self.isVisible() else ""
