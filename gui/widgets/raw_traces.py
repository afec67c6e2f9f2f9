"""Scrolling raw EEG traces, one row per channel, coloured by channel quality."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from .. import qt_compat  # noqa: F401  (before any widget)
import pyqtgraph as pg  # noqa: E402

from ..channel_states import FLAGGED, GOOD, INTERPOLATED  # noqa: E402

#: Channel state (:mod:`gui.channel_states`) → pen colour.
QUALITY_COLOURS = {
    GOOD: (30, 30, 30),
    INTERPOLATED: (150, 150, 150),
    FLAGGED: (210, 20, 20),
}

#: Most points drawn per channel (min/max decimation above that).
MAX_POINTS = 1500

#: Height of one channel's row in pixels: every row keeps its label readable, and
#: the widget grows with the channel count (put it in a scroll area, :func:`scrollable`).
ROW_PX = 18

#: Room for the time axes above and below the rows (pixels).
AXES_PX = 60


def decimate_minmax(data: np.ndarray, max_points: int = MAX_POINTS) -> tuple[np.ndarray, int]:
    """Peak-preserving decimation of ``data (ch, n)`` to at most ``max_points`` per row.

    Returns the decimated array and the factor (each pair of output points covers
    ``factor`` input samples: its min and max, in time order).
    """
    n = data.shape[1]
    if n <= max_points:
        return data, 1
    factor = int(np.ceil(2 * n / max_points))
    usable = (n // factor) * factor
    blocks = data[:, n - usable:].reshape(data.shape[0], -1, factor)
    lo, hi = blocks.min(axis=2), blocks.max(axis=2)
    out = np.empty((data.shape[0], lo.shape[1] * 2), dtype=data.dtype)
    out[:, 0::2] = lo
    out[:, 1::2] = hi
    return out, factor


class RawTraces(pg.PlotWidget):
    """Stacked channels, newest sample at the right, each row labelled.

    Every state (good, interpolated, flagged) is one curve with NaN breaks between
    channels, so 64 channels cost three draw calls. Each row is at least
    :data:`ROW_PX` pixels tall with its channel's name beside it (the widget's
    minimum height follows the channel count; :func:`scrollable` puts it in a scroll
    area), and the time axis is drawn above and below the rows.
    """

    def __init__(self, parent=None, seconds: float = 10.0, scale_uv: float = 100.0):
        super().__init__(parent=parent, background="w")
        self.seconds = float(seconds)
        self.scale_uv = float(scale_uv)
        self.setMenuEnabled(False)
        self.setMouseEnabled(x=False, y=False)
        self.hideButtons()
        item = self.getPlotItem()
        item.setLabel("bottom", "time (s)")
        item.showAxis("top")
        item.showGrid(x=True, alpha=0.2)
        font = pg.QtGui.QFont()
        font.setPointSize(8)
        item.getAxis("left").setStyle(tickFont=font)
        self.curves = {state: item.plot([], [], pen=pg.mkPen(colour, width=1), connect="finite")
                       for state, colour in QUALITY_COLOURS.items()}
        self.scale_text = pg.TextItem("", color=(60, 60, 60), anchor=(1, 0), fill=pg.mkBrush(255, 255, 255, 220))
        item.addItem(self.scale_text, ignoreBounds=True)
        self.names: tuple[str, ...] = ()
        self.states: dict[str, str] = {}
        self._data: np.ndarray | None = None
        self._times: np.ndarray | None = None
        self.dirty = False
        self.frames = 0

    def set_scale(self, scale_uv: float) -> None:
        """Vertical distance between channels in microvolts."""
        self.scale_uv = max(float(scale_uv), 1e-3)
        self.dirty = True

    def set_seconds(self, seconds: float) -> None:
        self.seconds = max(float(seconds), 0.5)
        self.dirty = True

    def set_channel_states(self, states: dict[str, str]) -> None:
        """``{channel: state}``, a state of :data:`gui.channel_states.CHANNEL_STATES` (others are good)."""
        if states != self.states:
            self.states = dict(states)
            self.dirty = True

    def set_data(self, data: np.ndarray, times: np.ndarray, names: Sequence[str]) -> None:
        """Latest signal ``data (ch, n)`` in microvolts with ``times (n,)`` (source clock)."""
        self._data = np.asarray(data)
        self._times = np.asarray(times, dtype=float)
        names = tuple(names)
        if names != self.names:
            self.names = names
            axis = self.getPlotItem().getAxis("left")
            axis.setTicks([[(-float(i), name) for i, name in enumerate(names)], []])
            axis.setWidth(max(36, 8 * max((len(n) for n in names), default=0)))
            self.setMinimumHeight(len(names) * ROW_PX + AXES_PX)
            self.getPlotItem().setYRange(-len(names) + 0.3, 0.9, padding=0)
        self.dirty = True

    def refresh(self) -> None:
        """Redraw if there is new data."""
        if not self.dirty:
            return
        self.dirty = False
        data, times = self._data, self._times
        if data is None or times is None or data.ndim != 2 or data.shape[1] < 2 or len(times) != data.shape[1]:
            for curve in self.curves.values():
                curve.setData([], [])
            return
        keep = times >= times[-1] - self.seconds
        data, times = data[:, keep], times[keep]
        x_full = times - times[-1]
        dec, factor = decimate_minmax(data)
        if factor > 1:
            usable = (len(x_full) // factor) * factor
            x = np.repeat(x_full[len(x_full) - usable:][factor - 1::factor], 2)
        else:
            x = x_full
        # centre each channel on its median so offsets don't push it off its row
        rows = dec - np.nanmedian(dec, axis=1, keepdims=True)
        rows = np.clip(rows / self.scale_uv, -1.5, 1.5) - np.arange(len(rows))[:, None]
        for state, curve in self.curves.items():
            idx = [i for i, name in enumerate(self.names[: len(rows)])
                   if self.states.get(name, GOOD) == state]
            if not idx:
                curve.setData([], [])
                continue
            ys = np.concatenate([np.append(rows[i], np.nan) for i in idx])
            xs = np.tile(np.append(x, np.nan), len(idx))
            curve.setData(xs, ys)
        item = self.getPlotItem()
        item.setXRange(-self.seconds, 0.0, padding=0)
        self.scale_text.setText(f"{self.scale_uv:g} µV / row")
        self.scale_text.setPos(0.0, 0.9)
        self.frames += 1


def scrollable(traces: RawTraces):
    """``traces`` in a vertical scroll area: rows keep :data:`ROW_PX` when the window is short."""
    from PySide6 import QtCore, QtWidgets

    area = QtWidgets.QScrollArea()
    area.setWidget(traces)
    area.setWidgetResizable(True)
    area.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    area.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
    return area


def row_heights(traces: RawTraces) -> float:
    """Pixels per channel row as drawn now (the view's height over the rows shown)."""
    view = traces.getPlotItem().getViewBox()
    (_, _), (y0, y1) = view.viewRange()
    return float(view.height()) / max(y1 - y0, 1e-9)
