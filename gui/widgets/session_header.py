"""The lines above the plots: the valence now (one person's or the group's), the most
likely emotion, what the valence is worth on new content, the SIMULATED badge and *Mark*."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import qt_compat  # noqa: F401, I001  (before any widget)
from PySide6 import QtWidgets  # noqa: E402

__all__ = ["MARK_SHORTCUT", "SessionHeader"]

#: The keyboard shortcut of *Mark*.
MARK_SHORTCUT = "Ctrl+M"


class SessionHeader(QtWidgets.QWidget):
    """Two lines: the valence, the emotion and *Mark*; then the reliability and the badge.

    Parameters
    ----------
    parent : QWidget, optional
    """

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.valence_label = QtWidgets.QLabel("valence —")
        font = self.valence_label.font()
        font.setPointSize(font.pointSize() + 5)
        font.setBold(True)
        self.valence_label.setFont(font)
        self.class_label = QtWidgets.QLabel("")
        self.class_label.setStyleSheet("font-size: 13pt; color:#333;")
        self.class_label.setSizePolicy(QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Preferred)
        # what the valence is worth on new content (the bundle's unseen-clips figures)
        self.reliability_label = QtWidgets.QLabel("valence reliability on new content: shown when a session starts")
        self.reliability_label.setStyleSheet("color:#555; font-size: 9pt;")
        self.reliability_label.setWordWrap(True)
        self.sim_badge = QtWidgets.QLabel("SIMULATED")
        self.sim_badge.setStyleSheet("background:#7a2ea0; color:white; font-weight:bold; padding:3px 10px; "
                                     "border-radius:4px;")  # fmt: skip
        self.sim_badge.hide()
        self._make_mark()
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        head = QtWidgets.QHBoxLayout()
        for widget, stretch in ((self.valence_label, 0), (self.class_label, 1), (self.mark_label, 0),
                                (self.mark_button, 0)):  # fmt: skip
            head.addWidget(widget, stretch)
            if widget is self.valence_label:
                head.addSpacing(20)
        subhead = QtWidgets.QHBoxLayout()  # what the valence is worth, and what is simulated
        subhead.addWidget(self.reliability_label, 1)
        subhead.addWidget(self.sim_badge)
        lay.addLayout(head)
        lay.addLayout(subhead)

    def _make_mark(self) -> None:
        """*Mark*: a new segment now, on the app's marker outlet and in the segment panel."""
        self.mark_label = QtWidgets.QLineEdit()
        self.mark_label.setPlaceholderText("mark label")
        self.mark_label.setMaximumWidth(170)
        self.mark_label.setToolTip("The next mark's label; empty gives mark 1, mark 2…; 'end' ends the running mark")
        self.mark_button = QtWidgets.QPushButton(f"Mark ({MARK_SHORTCUT})")
        self.mark_button.setToolTip(
            "Start a new segment now (it runs until the next mark): pushed on the 'bci_valence_marks' LSL "
            f"stream, which a recording keeps, and shown in the segment panel. Shortcut {MARK_SHORTCUT}."
        )
        self.mark_button.setStyleSheet("QPushButton {font-weight: bold; padding: 3px 12px;}")
        self.mark_button.setEnabled(False)

    def show_simulation(self, simulated: bool, text: str, tooltip: str) -> None:
        """Show (or hide) the SIMULATED badge with ``text`` and ``tooltip``."""
        self.sim_badge.setVisible(simulated)
        self.sim_badge.setText(text)
        self.sim_badge.setToolTip(tooltip)

    def show_reliability(self, summary: str, details: str) -> None:
        """The reliability line, and its figures as the valence's tooltip."""
        self.reliability_label.setText(summary)
        for widget in (self.reliability_label, self.valence_label):
            widget.setToolTip(details)

    def show_valence(self, step: Any, group: Any, people: int, smoothed: float | None) -> None:
        """The group's valence now (``group``: its newest row) or the first person's.

        Parameters
        ----------
        step : ValenceStep or None
            The first person's newest usable step.
        group : GroupRow or None
            The group trace's newest row (several people only).
        people : int
            People in the session.
        smoothed : float or None
            The trace's smoothed valence.
        """
        if group is not None:
            interval = f"95% {group.ci_low:+.2f} … {group.ci_high:+.2f}, " if math.isfinite(group.ci_low) else ""
            mean = f"{group.mean:+.2f}" if math.isfinite(group.mean) else "—"
            self.valence_label.setText(f"group valence {mean}   ({interval}n = {group.n_streams} of {people})")
        elif step is not None and math.isfinite(step.valence) and people < 2:
            self.valence_label.setText(f"valence {step.valence:+.2f}   (smoothed {smoothed or 0:+.2f})")

    def show_emotion(self, step: Any, class_names: Any, who: str = "") -> None:
        """The most likely emotion of ``step`` (``who``: whose, with several people)."""
        if step.probabilities is not None and class_names is not None:
            best = int(np.argmax(step.probabilities))
            self.class_label.setText(f"{who}most likely: {class_names[best]} "
                                     f"({100 * float(step.probabilities[best]):.0f} %)")  # fmt: skip
        else:
            self.class_label.setText("emotions: waiting for 10 s of continuous signal")
