"""Scrolling valence trace: raw steps, a smoothed curve and, with markers, the true valence.

With several people (:meth:`ValencePlot.set_people`), each person's smoothed valence is a
thin trace and the group's mean (:class:`~bci_valence.online.group.GroupRow`) a thick
one, with its 95% interval across people and how many people it is over.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable, Sequence

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
        # several people: thin per-person traces, the group's thick trace and its interval
        self.people: tuple[str, ...] = ()
        self.person_curves: dict[str, pg.PlotDataItem] = {}
        self._person: dict[str, deque[tuple[float, float]]] = {}
        self._person_smooth: dict[str, tuple[float, float] | None] = {}
        self.group_curve = pg.PlotDataItem([], [], pen=pg.mkPen(200, 70, 0, width=4), connect="finite")
        self.group_upper = pg.PlotDataItem([], [], pen=pg.mkPen(None), connect="finite")
        self.group_lower = pg.PlotDataItem([], [], pen=pg.mkPen(None), connect="finite")
        self.group_band = pg.FillBetweenItem(self.group_upper, self.group_lower, brush=pg.mkBrush(200, 70, 0, 50))
        for it in (self.group_band, self.group_curve):
            item.addItem(it)
            it.setVisible(False)
        self.group_text = pg.TextItem("", color=(150, 50, 0), anchor=(0, 1))
        item.addItem(self.group_text, ignoreBounds=True)
        self.group_text.setVisible(False)
        self._group: deque[tuple[float, float, float, float, int]] = deque()
        self._newest: float | None = None
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
        for buf in (self._t, self._v, self._s, self._true, self._group, *self._person.values()):
            buf.clear()
        self._person_smooth = dict.fromkeys(self._person_smooth)
        self._smoothed = None
        self._last_t = None
        self._newest = None
        self.dirty = True

    @property
    def group_mode(self) -> bool:
        """Whether the plot shows several people and their group."""
        return len(self.people) >= 2

    def set_people(self, names: Sequence[str]) -> None:
        """Show one thin trace per person and the group's thick trace (two names or more),
        or one person's trace and its smoothed curve (fewer); forgets every point."""
        item = self.getPlotItem()
        for curve in self.person_curves.values():
            item.removeItem(curve)
        self.people = tuple(names)
        self.person_curves, self._person, self._person_smooth = {}, {}, {}
        group = self.group_mode
        if group:
            for i, name in enumerate(self.people):
                shade = 120 + int(90 * i / max(1, len(self.people) - 1))
                curve = pg.PlotDataItem([], [], pen=pg.mkPen(shade - 60, shade - 30, shade + 20, 170, width=1),
                                        connect="finite")  # fmt: skip
                curve.setZValue(-5)
                item.addItem(curve)
                self.person_curves[name] = curve
                self._person[name] = deque()
                self._person_smooth[name] = None
        for it in (self.raw_curve, self.smooth_curve, self.band):
            it.setVisible(not group)
        for it in (self.group_band, self.group_curve, self.group_text):
            it.setVisible(group)
        self.legend.clear()
        if group:
            first = next(iter(self.person_curves.values()))
            self.legend.addItem(first, f"each person ({len(self.people)}), smoothed")
            self.legend.addItem(self.group_curve, "group mean, 95% interval shaded")
        else:
            self.legend.addItem(self.raw_curve, "valence")
            self.legend.addItem(self.smooth_curve, "smoothed")
        self.legend.addItem(self.true_curve, "true valence (markers)")
        self.clear_data()

    def add_point(self, t: float, valence: float, true_valence: float | None = None,
                  stream: str | None = None) -> None:
        """Append one step (``t`` on the source clock; NaN valence breaks the curve).

        With several people, ``stream`` names the person: each gets a thin smoothed
        trace; the first person's steps also give the true valence (every person follows
        the same script) and :attr:`smoothed`.
        """
        if not math.isfinite(t):
            return
        self._newest = t if self._newest is None else max(self._newest, t)
        if self.group_mode and stream is not None and stream in self._person:
            self._add_person(stream, t, valence)
            if stream != self.people[0]:
                self.dirty = True
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

    def _add_person(self, stream: str, t: float, valence: float) -> None:
        last = self._person_smooth.get(stream)
        if not math.isfinite(valence):
            smooth = math.nan
            self._person_smooth[stream] = None
        else:
            if last is None:
                smooth = valence
            else:
                alpha = 1.0 - math.exp(-max(t - last[0], 0.0) / self.smoothing_s) if self.smoothing_s > 0 else 1.0
                smooth = last[1] + alpha * (valence - last[1])
            self._person_smooth[stream] = (t, smooth)
        buf = self._person[stream]
        buf.append((t, smooth))
        while buf and buf[0][0] < t - self.window_s - 1.0:
            buf.popleft()

    def add_group_rows(self, rows: Iterable[object]) -> None:
        """Append rows of the group trace (:class:`~bci_valence.online.group.GroupRow`)."""
        for r in rows:
            if not math.isfinite(r.time):
                continue
            self._group.append((float(r.time), float(r.mean), float(r.ci_low), float(r.ci_high), int(r.n_streams)))
            self._newest = r.time if self._newest is None else max(self._newest, float(r.time))
        newest = self._newest
        while self._group and newest is not None and self._group[0][0] < newest - self.window_s - 1.0:
            self._group.popleft()
        self.dirty = True

    @property
    def group_n(self) -> int | None:
        """How many people the newest group row is over (None before the first row)."""
        return self._group[-1][4] if self._group else None

    @property
    def group_mean(self) -> float | None:
        """The newest group mean (None before the first row; NaN when nobody counts)."""
        return self._group[-1][1] if self._group else None

    @property
    def n_group_rows(self) -> int:
        """Group rows currently held."""
        return len(self._group)

    @property
    def n_points(self) -> int:
        """Points currently held (the first person's, with several)."""
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
        if self.group_mode:
            self._refresh_group()
            return
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
        self._fit_y(values)

    def _refresh_group(self) -> None:
        """Draw the people's thin traces and the group's thick one with its interval."""
        newest = self._newest
        if newest is None:
            for curve in (*self.person_curves.values(), self.group_curve, self.group_upper, self.group_lower,
                          self.true_curve):
                curve.setData([], [])
            self.group_text.setText("")
            return
        values = []
        for name, curve in self.person_curves.items():
            buf = self._person[name]
            if buf:
                t, v = (np.asarray(c, float) for c in zip(*buf))
                curve.setData(t - newest, v)
                values.append(v[t - newest >= -self.window_s])
            else:
                curve.setData([], [])
        if self._group:
            t, mean, low, high, n = (np.asarray(c, float) for c in zip(*self._group))
            self.group_curve.setData(t - newest, mean)
            self.group_upper.setData(t - newest, high)
            self.group_lower.setData(t - newest, low)
            values.append(mean[t - newest >= -self.window_s])
            latest = self._group[-1]
            total = len(self.people)
            if math.isfinite(latest[1]):
                self.group_text.setText(f"group mean over n = {latest[4]} of {total} people: {latest[1]:+.2f}")
            else:
                self.group_text.setText(f"group mean: nobody counts now (n = 0 of {total})")
        else:
            for curve in (self.group_curve, self.group_upper, self.group_lower):
                curve.setData([], [])
            self.group_text.setText(f"group of {len(self.people)}: waiting for every person's first window")
        if self._t:
            tt = np.fromiter(self._t, float)
            true = np.fromiter(self._true, float)
            if np.isfinite(true).any():
                self.true_curve.setData(tt - newest, true)
            else:
                self.true_curve.setData([], [])
            values.append(true[tt - newest >= -self.window_s])
        self._fit_y(np.concatenate(values) if values else np.zeros(0))
        self.group_text.setPos(-self.window_s, self.getPlotItem().viewRange()[1][0])

    def _fit_y(self, values: np.ndarray) -> None:
        """Fit the y range to ``values`` with a margin, at least [-1, 1], changed only when needed."""
        values = values[np.isfinite(values)]
        lo = min(-1.0, float(values.min()) if values.size else -1.0)
        hi = max(1.0, float(values.max()) if values.size else 1.0)
        margin = 0.08 * (hi - lo)
        item = self.getPlotItem()
        cur_lo, cur_hi = item.viewRange()[1]
        if lo - margin < cur_lo or hi + margin > cur_hi or (cur_hi - cur_lo) > 2.0 * (hi - lo + 2 * margin):
            item.setYRange(lo - margin, hi + margin, padding=0)
        self.calibration_text.setPos(0.0, item.viewRange()[1][1])
