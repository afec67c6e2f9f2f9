"""Mean valence per segment: one bar per segment, its 95% interval, per-person means.

Fed :class:`~gui.widgets.segment_rows.SegmentRow` objects (built from
:class:`~bci_valence.online.segments.SegmentSummary` lists by
:func:`~gui.widgets.segment_rows.segment_rows`), so the widget knows nothing of the
pipeline. A segment without a usable window has no mean: it is drawn as a grey hatched
column labelled "no usable window", never as a bar of height 0.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from .. import qt_compat  # noqa: F401  (before any widget)
import pyqtgraph as pg  # noqa: E402
from PySide6 import QtCore, QtGui  # noqa: E402

from .segment_rows import KIND_COLOURS, NO_USABLE_WINDOW, SegmentRow, describe_row, segment_rows  # noqa: E402

__all__ = ["NO_USABLE_WINDOW", "SegmentPanel", "SegmentRow", "segment_rows"]

#: Longest label shown under a bar (longer ones are cut, the tooltip has them whole).
MAX_LABEL_CHARS = 12

#: Most bars that carry their value as text (more would overlap; the tooltip has them all).
MAX_VALUE_BARS = 5


def _short(label: str) -> str:
    return label if len(label) <= MAX_LABEL_CHARS else label[: MAX_LABEL_CHARS - 1] + "…"


class SegmentPanel(pg.PlotWidget):
    """Mean valence per segment with its 95% interval; the newest ``max_bars`` segments.

    Parameters
    ----------
    max_bars : int
        Segments shown (the newest); older ones scroll out to the left.
    """

    def __init__(self, parent=None, max_bars: int = 8):
        super().__init__(parent=parent, background="w")
        self.max_bars = int(max_bars)
        self.setMenuEnabled(False)
        self.setMouseEnabled(x=False, y=False)
        self.hideButtons()
        self.item = self.getPlotItem()
        self.item.setLabel("left", "mean valence")
        self.item.getAxis("left").enableAutoSIPrefix(False)
        self.item.getAxis("bottom").setHeight(40)  # two rows of labels
        self.item.showGrid(y=True, alpha=0.25)
        self.item.enableAutoRange(False)
        self.item.addItem(pg.InfiniteLine(pos=0.0, angle=0, pen=pg.mkPen(150, 150, 150)))
        self.bars = pg.BarGraphItem(x=[], height=[], width=0.6)
        hatch = QtGui.QBrush(QtGui.QColor(150, 150, 150), QtCore.Qt.BrushStyle.BDiagPattern)
        self.empty_bars = pg.BarGraphItem(x=[], height=[], width=0.6, brush=hatch,
                                          pen=pg.mkPen(170, 170, 170, style=QtCore.Qt.PenStyle.DashLine))
        self.errors = pg.ErrorBarItem(x=np.zeros(0), y=np.zeros(0), top=np.zeros(0), bottom=np.zeros(0),
                                      beam=0.25, pen=pg.mkPen(20, 20, 20, width=2))
        self.people = pg.ScatterPlotItem(size=5, pen=pg.mkPen(None), brush=pg.mkBrush(60, 60, 60, 150))
        for it in (self.empty_bars, self.bars, self.people, self.errors):
            self.item.addItem(it)
        self.placeholder = pg.TextItem("segments appear with the first marker,\nor press Mark",
                                       color=(120, 120, 120), anchor=(0.5, 0.5))
        self.item.addItem(self.placeholder, ignoreBounds=True)
        self.texts: list[pg.TextItem] = []  # "no usable window" and the values, rebuilt per refresh
        self.rows: list[SegmentRow] = []
        self.shown: list[SegmentRow] = []
        self.frames = 0
        self.dirty = True
        self._y_range = (-1.0, 1.0)
        self.item.setXRange(-0.5, self.max_bars - 0.5, padding=0)
        self.item.setYRange(-1.0, 1.0, padding=0)

    # ------------------------------------------------------------------ data
    def set_rows(self, rows: Sequence[SegmentRow]) -> None:
        """Store the bars (drawn at the next :meth:`refresh`), sorted by onset."""
        self.rows = sorted(rows, key=lambda r: r.summary.onset)
        self.dirty = True

    def set_summaries(self, summaries: Iterable[object], ends: Mapping[str, float] | None = None) -> None:
        """Store the bars of one tracker's summaries (:func:`segment_rows`)."""
        self.set_rows(segment_rows(summaries, ends))

    def clear_data(self) -> None:
        """Forget every segment (a new session)."""
        self.set_rows([])

    def labels(self) -> list[str]:
        """The labels of the bars shown, left to right."""
        return [r.summary.label for r in self.shown]

    def empty_texts(self) -> list[str]:
        """The texts drawn inside the bars without a mean."""
        return [t.toPlainText() for t in self.texts if t.toPlainText() == NO_USABLE_WINDOW]

    # ------------------------------------------------------------------ drawing
    def refresh(self) -> None:
        """Redraw if the segments changed (called by the UI timer)."""
        if not self.dirty:
            return
        self.dirty = False
        self.frames += 1
        for t in self.texts:
            self.item.removeItem(t)
        self.texts = []
        rows = self.rows[-self.max_bars :]
        self.shown = rows
        self.placeholder.setVisible(not rows)
        x = np.arange(len(rows), dtype=float)
        full = [i for i, r in enumerate(rows) if not r.empty]
        empty = [i for i, r in enumerate(rows) if r.empty]
        lo, hi = self._range(rows)
        self._y_range = (lo, hi)
        self.placeholder.setPos((self.max_bars - 1) / 2, (lo + hi) / 2)
        means = np.array([rows[i].summary.mean for i in full], dtype=float)
        brushes, pens = [], []
        for i in full:
            colour = KIND_COLOURS.get(rows[i].kind, KIND_COLOURS["marker"])
            brushes.append(pg.mkBrush(*colour, 110 if rows[i].running else 200))
            pens.append(pg.mkPen(*colour, width=2, style=QtCore.Qt.PenStyle.DashLine) if rows[i].running
                        else pg.mkPen(None))  # fmt: skip
        # (pyqtgraph fails on empty lists of pens: None draws nothing alike)
        self.bars.setOpts(x=x[full], height=means, y0=np.zeros(len(full)), width=0.6, brushes=brushes or None,
                          pens=pens or None)  # fmt: skip
        self.empty_bars.setOpts(x=x[empty], y0=np.full(len(empty), lo), height=np.full(len(empty), hi - lo),
                                width=0.6)  # fmt: skip
        for i in empty:
            text = pg.TextItem(NO_USABLE_WINDOW, color=(90, 90, 90), anchor=(0.5, 0.5), angle=90)
            text.setPos(float(x[i]), (lo + hi) / 2)
            self.item.addItem(text, ignoreBounds=True)
            self.texts.append(text)
        # the 95% interval where there is one
        ci = [i for i in full if math.isfinite(rows[i].summary.ci_low) and math.isfinite(rows[i].summary.ci_high)]
        if ci:
            m = np.array([rows[i].summary.mean for i in ci])
            top = np.array([rows[i].summary.ci_high for i in ci]) - m
            bottom = m - np.array([rows[i].summary.ci_low for i in ci])
            self.errors.setData(x=x[ci], y=m, top=top, bottom=bottom, beam=0.25)
        else:
            self.errors.setData(x=np.zeros(0), y=np.zeros(0), top=np.zeros(0), bottom=np.zeros(0))
        self.errors.setVisible(bool(ci))
        # each person's mean beside the group's bar
        px, py = [], []
        for i, r in enumerate(rows):
            values = np.array([v for v in r.people if math.isfinite(v)], dtype=float)
            if values.size:
                px.extend(x[i] + np.linspace(-0.22, 0.22, values.size))
                py.extend(values)
        self.people.setData(px, py)
        for i in full if len(rows) <= MAX_VALUE_BARS else ():  # the value above (below) the bar's interval
            s = rows[i].summary
            up = s.mean >= 0
            end = s.ci_high if up else s.ci_low
            end = end if math.isfinite(end) else s.mean
            text = pg.TextItem(f"{s.mean:+.2f}", color=(40, 40, 40), anchor=(0.5, 1.0 if up else 0.0))
            text.setPos(float(x[i]), float(np.clip(end, lo, hi)))
            self.item.addItem(text, ignoreBounds=True)
            self.texts.append(text)
        ticks = [(float(x[i]), ("\n" if i % 2 else "") + _short(r.summary.label)  # two rows: room for each
                  + (" …" if r.running else ""))
                 for i, r in enumerate(rows)]  # fmt: skip
        self.item.getAxis("bottom").setTicks([ticks, []])
        self.item.setXRange(-0.5, max(self.max_bars, len(rows)) - 0.5, padding=0)
        self.item.setYRange(lo, hi, padding=0)
        self.setToolTip("\n".join(describe_row(r) for r in rows) if rows else "")

    @staticmethod
    def _range(rows: Sequence[SegmentRow]) -> tuple[float, float]:
        """The y range: every mean, interval and person's mean, at least [-0.5, 0.5], at most [-4, 4]."""
        values = []
        for r in rows:
            s = r.summary
            values += [s.mean, s.ci_low, s.ci_high, *r.people]
        arr = np.array([v for v in values if v is not None and math.isfinite(v)], dtype=float)
        lo = min(-0.5, float(arr.min()) if arr.size else -0.5)
        hi = max(0.5, float(arr.max()) if arr.size else 0.5)
        margin = 0.15 * (hi - lo)
        return max(lo - margin, -4.0), min(hi + margin, 4.0)
