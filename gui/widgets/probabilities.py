"""The nine emotion probabilities as horizontal bars."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from .. import qt_compat  # noqa: F401  (before any widget)
import pyqtgraph as pg  # noqa: E402


class ProbabilityBars(pg.PlotWidget):
    """One horizontal bar per class with its value (percent); the most probable class is highlighted.

    Parameters
    ----------
    class_names : sequence of str
        Class labels (top to bottom in this order).
    positive : sequence of bool, optional
        Classes of positive valence (drawn warm) vs negative/neutral (drawn cool).
    """

    def __init__(self, class_names: Sequence[str], parent=None,
                 positive: Sequence[bool] | None = None):
        super().__init__(parent=parent, background="w")
        self.setMenuEnabled(False)
        self.setMouseEnabled(x=False, y=False)
        self.hideButtons()
        self.item = self.getPlotItem()
        self.item.setLabel("bottom", "probability")
        self.item.setXRange(0.0, 1.0, padding=0.02)
        self.item.showGrid(x=True, alpha=0.25)
        self.bars: pg.BarGraphItem | None = None
        self.labels: list[pg.TextItem] = []
        self.probabilities = None
        self.set_classes(class_names, positive)
        self.dirty = False

    def set_classes(self, class_names: Sequence[str], positive: Sequence[bool] | None = None) -> None:
        """(Re)build the bars for ``class_names``."""
        self.class_names = list(class_names)
        n = len(self.class_names)
        self.y = np.arange(n)[::-1].astype(float)
        pos = [False] * n if positive is None else list(positive)
        self._base = [pg.mkBrush(235, 150, 60) if p else pg.mkBrush(90, 140, 200) for p in pos]
        self._hi = [pg.mkBrush(200, 90, 0) if p else pg.mkBrush(20, 70, 160) for p in pos]
        if self.bars is not None:
            self.item.removeItem(self.bars)
        for label in self.labels:
            self.item.removeItem(label)
        self.bars = pg.BarGraphItem(x0=np.zeros(n), y=self.y, height=0.7, width=np.zeros(n),
                                    brushes=self._base, pen=pg.mkPen(None))
        self.item.addItem(self.bars)
        self.labels = []
        for y in self.y:
            label = pg.TextItem("", color=(40, 40, 40), anchor=(0, 0.5))
            label.setPos(0.0, float(y))
            self.item.addItem(label, ignoreBounds=True)
            self.labels.append(label)
        axis = self.item.getAxis("left")
        axis.setTicks([[(float(y), name) for y, name in zip(self.y, self.class_names)]])
        self.item.setYRange(-0.6, n - 0.4, padding=0)
        self.probabilities = None

    def set_probabilities(self, probabilities: np.ndarray | None) -> None:
        """Store new probabilities (drawn at the next :meth:`refresh`); None greys out."""
        self.probabilities = None if probabilities is None else np.asarray(probabilities, float)
        self.dirty = True

    def refresh(self) -> None:
        """Redraw if new probabilities arrived."""
        if not self.dirty or self.bars is None:
            return
        self.dirty = False
        n = len(self.class_names)
        p = self.probabilities
        if p is None or p.shape != (n,) or not np.isfinite(p).all():
            self.bars.setOpts(width=np.zeros(n), brushes=self._base)
            for label in self.labels:
                label.setText("")
            return
        best = int(np.argmax(p))
        brushes = [self._hi[i] if i == best else self._base[i] for i in range(n)]
        self.bars.setOpts(width=p, brushes=brushes)
        for i, (label, value) in enumerate(zip(self.labels, p)):
            # beside the bar, or inside its end (white) when there is no room beyond it
            inside = value > 0.8
            label.setAnchor((1, 0.5) if inside else (0, 0.5))
            label.setColor((255, 255, 255) if inside else (40, 40, 40))
            label.setText(f"{100 * value:.0f} %")
            label.setPos(float(value) + (-0.01 if inside else 0.01), float(self.y[i]))

    def value_texts(self) -> list[str]:
        """The values shown beside the bars, top to bottom (``""`` when greyed out)."""
        return [label.toPlainText() for label in self.labels]
