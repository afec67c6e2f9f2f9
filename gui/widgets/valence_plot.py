"""Scrolling valence trace: raw steps, a smoothed curve and, with markers, the true valence."""

from __future__ import annotations

import math
from collections import deque

import numpy as np

from .. import qt_compat  # noqa: F401  (before any widget)
import pyqtgraph as pg  # noqa: E402


class ValencePlot(pg.PlotWidget):
    """The last ``window_s`` seconds of valence, newest at the right (x = seconds from now).

    Parameters
    ----------
    window_s : float
        Seconds shown.
    smoothing_s : float
        Time constant of the exponential smoothing of the drawn curve.
    """

    def __init__(self, parent=None, window_s: float = 60.0, smoothing_s: float = 4.0):
        super().__init__(parent=parent, background="w")
        self.window_s = float(window_s)
        self.smoothing_s = float(smoothing_s)
        self.setMenuEnabled(False)
        self.setMouseEnabled(x=False, y=False)
        self.hideButtons()
        item = self.getPlotItem()
        item.setLabel("bottom", "time (s)")
        item.setLabel("left", "valence")
        item.showGrid(x=True, y=True, alpha=0.25)
        item.setXRange(-self.window_s, 0.0, padding=0)
        self.legend = item.addLegend(offset=(8, 8), labelTextColor=(30, 30, 30))
        self.zero = pg.InfiniteLine(pos=0.0, angle=0, pen=pg.mkPen(150, 150, 150, style=pg.QtCore.Qt.PenStyle.DashLine))
        item.addItem(self.zero)
        self.raw_curve = item.plot([], [], pen=pg.mkPen(120, 150, 210, width=1), name="valence",
                                   connect="finite")
        self.smooth_curve = item.plot([], [], pen=pg.mkPen(20, 60, 170, width=3), name="smoothed",
                                      connect="finite")
        self.true_curve = item.plot([], [], pen=pg.mkPen(0, 150, 60, width=2, style=pg.QtCore.Qt.PenStyle.DashLine),
                                    name="true valence (markers)", connect="finite")
        # the readout's noise band around the smoothed curve (set_noise_band): moves inside it
        # are what the valence does while the content's valence stays the same
        self.band_upper = pg.PlotDataItem([], [], pen=pg.mkPen(None), connect="finite")
        self.band_lower = pg.PlotDataItem([], [], pen=pg.mkPen(None), connect="finite")
        self.band = pg.FillBetweenItem(self.band_upper, self.band_lower, brush=pg.mkBrush(20, 60, 170, 40))
        item.addItem(self.band)
        self.noise_sd: float | None = None
        self.calibration_text = pg.TextItem("", color=(160, 80, 0), anchor=(1, 0))
        item.addItem(self.calibration_text, ignoreBounds=True)
        item.enableAutoRange(y=False)
        item.setYRange(-1.0, 1.0, padding=0.05)
        self._t: deque[float] = deque()
        self._v: deque[float] = deque()
        self._s: deque[float] = deque()
        self._true: deque[float] = deque()
        self._smoothed: float | None = None
        self._last_t: float | None = None
        self.dirty = False

    # ------------------------------------------------------------------ data
    def clear_data(self) -> None:
        """Forget every point (a new session)."""
        for buf in (self._t, self._v, self._s, self._true):
            buf.clear()
        self._smoothed = None
        self._last_t = None
        self.dirty = True

    def add_point(self, t: float, valence: float, true_valence: float | None = None) -> None:
        """Append one step (``t`` on the source clock; NaN valence breaks the curve)."""
        if not math.isfinite(t):
            return
        if math.isfinite(valence):
            if self._smoothed is None or self._last_t is None:
                self._smoothed = valence
            else:
                dt = max(t - self._last_t, 0.0)
                alpha = 1.0 - math.exp(-dt / self.smoothing_s) if self.smoothing_s > 0 else 1.0
                self._smoothed += alpha * (valence - self._smoothed)
            smooth = self._smoothed
        else:
            smooth = math.nan
            self._smoothed = None
        self._last_t = t
        self._t.append(t)
        self._v.append(valence)
        self._s.append(smooth)
        self._true.append(math.nan if true_valence is None else float(true_valence))
        while self._t and self._t[0] < t - self.window_s - 1.0:
            self._t.popleft()
            self._v.popleft()
            self._s.popleft()
            self._true.popleft()
        self.dirty = True

    @property
    def n_points(self) -> int:
        """Points currently held."""
        return len(self._t)

    @property
    def smoothed(self) -> float | None:
        """The latest smoothed valence."""
        return self._smoothed

    def set_noise_band(self, sd: float | None) -> None:
        """Shade ``±sd`` around the smoothed curve (None or non-finite: no band)."""
        self.noise_sd = float(sd) if sd is not None and math.isfinite(sd) and sd > 0 else None
        self.dirty = True

    def set_calibration(self, progress: float) -> None:
        """Show 'calibrating NN %' until progress reaches 1."""
        text = "" if progress >= 1.0 else f"calibrating {100 * progress:.0f} %"
        if text != self.calibration_text.toPlainText():
            self.calibration_text.setText(text)
            self.calibration_text.setPos(0.0, self.getPlotItem().viewRange()[1][1])

    # ------------------------------------------------------------------ drawing
    def refresh(self) -> None:
        """Redraw if new points arrived (called by the UI timer)."""
        if not self.dirty:
            return
        self.dirty = False
        if not self._t:
            for curve in (self.raw_curve, self.smooth_curve, self.true_curve, self.band_upper, self.band_lower):
                curve.setData([], [])
            return
        t = np.fromiter(self._t, float)
        x = t - t[-1]
        self.raw_curve.setData(x, np.fromiter(self._v, float))
        smooth = np.fromiter(self._s, float)
        self.smooth_curve.setData(x, smooth)
        if self.noise_sd is not None:
            self.band_upper.setData(x, smooth + self.noise_sd)
            self.band_lower.setData(x, smooth - self.noise_sd)
        else:
            self.band_upper.setData([], [])
            self.band_lower.setData([], [])
        true = np.fromiter(self._true, float)
        if np.isfinite(true).any():
            self.true_curve.setData(x, true)
        else:
            self.true_curve.setData([], [])
        # y range: the visible data with a margin, at least [-1, 1], changed only when needed
        visible = x >= -self.window_s
        values = np.concatenate([np.fromiter(self._v, float)[visible], true[visible]])
        values = values[np.isfinite(values)]
        lo = min(-1.0, float(values.min()) if values.size else -1.0)
        hi = max(1.0, float(values.max()) if values.size else 1.0)
        margin = 0.08 * (hi - lo)
        item = self.getPlotItem()
        cur_lo, cur_hi = item.viewRange()[1]
        if lo - margin < cur_lo or hi + margin > cur_hi or (cur_hi - cur_lo) > 2.0 * (hi - lo + 2 * margin):
            item.setYRange(lo - margin, hi + margin, padding=0)
        self.calibration_text.setPos(0.0, item.viewRange()[1][1])
