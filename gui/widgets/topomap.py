"""Scalp topographies: one head map per band plus a map of valence contributions."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from .. import qt_compat  # noqa: F401  (before any widget)
import pyqtgraph as pg  # noqa: E402
from PySide6 import QtCore  # noqa: E402

from ..channel_states import FLAGGED, INTERPOLATED
from ..topo_geometry import TopoGrid, head_outline, interpolation_grid, symmetric_limit

#: Diverging colour map used by every map (blue = below calibration, red = above).
COLORMAP_NAME = "CET-D1"

_DOT_NORMAL = pg.mkBrush(30, 30, 30)
_DOT_FLAGGED = pg.mkBrush(220, 20, 20)
_PEN_NORMAL = pg.mkPen(30, 30, 30, width=1)
_PEN_FLAGGED = pg.mkPen(220, 20, 20, width=2)
_NO_BRUSH = pg.mkBrush(0, 0, 0, 0)

#: Unit of the contribution map: valence-axis units per channel (the channels' sum,
#: plus the projection's bias, is the valence).
CONTRIBUTION_UNIT = "valence units"


def _lookup_table(name: str = COLORMAP_NAME, n: int = 256) -> np.ndarray:
    cmap = pg.colormap.get(name)
    return cmap.getLookupTable(0.0, 1.0, n, alpha=True).astype(np.uint8)


class HeadMap:
    """One head: interpolated image, outline, electrode dots and a title (in a ViewBox).

    Hovering an electrode shows its name, the map's value there (``unit``) and whether
    it is interpolated or flagged (:meth:`tooltip`).
    """

    def __init__(self, layout: pg.GraphicsLayout, col: int, title: str, grid: TopoGrid,
                 xy: np.ndarray, names: Sequence[str] = (), unit: str = ""):
        self.grid = grid
        self.title = layout.addLabel(title, row=0, col=col, size="10pt", color="#222")
        self.view = layout.addViewBox(row=1, col=col, lockAspect=True, enableMouse=False,
                                      invertY=False)
        self.view.setMenuEnabled(False)
        self.image = pg.ImageItem(axisOrder="row-major")
        e = grid.extent
        self._rect = QtCore.QRectF(-e, -e, 2 * e, 2 * e)
        self.view.addItem(self.image)
        head, nose, ears = head_outline()
        pen = pg.mkPen(40, 40, 40, width=2)
        for line in (head, nose, ears):
            self.view.addItem(pg.PlotCurveItem(line[:, 0], line[:, 1], pen=pen, connect="finite"))
        self.names = list(names) or [f"#{i}" for i in range(len(xy))]
        self.label = title
        self.unit = unit
        self.values: np.ndarray | None = None  # per electrode, for the tooltips
        self.states: list[str] = [""] * len(xy)
        self.dots = pg.ScatterPlotItem(xy[:, 0], xy[:, 1], size=7, brush=_DOT_NORMAL, pen=_PEN_NORMAL,
                                       data=np.arange(len(xy)), hoverable=True,
                                       hoverSize=11, tip=self._tip)  # fmt: skip
        self.view.addItem(self.dots)
        self.view.setRange(xRange=(-1.3, 1.3), yRange=(-1.2, 1.25), padding=0)

    def tooltip(self, index: int) -> str:
        """The hover text of electrode ``index``: name, value with its unit, state."""
        index = int(index)
        text = self.names[index]
        if self.values is not None and index < len(self.values) and np.isfinite(self.values[index]):
            text += f"\n{self.label}: {self.values[index]:+.2f}" + (f" {self.unit}" if self.unit else "")
        if self.states[index]:
            text += f"\n({self.states[index]})"
        return text

    def _tip(self, x: float = 0.0, y: float = 0.0, data=None) -> str:
        return self.tooltip(int(data)) if data is not None else ""

    def set_image(self, image: np.ndarray, limit: float, lut: np.ndarray) -> None:
        """Colour ``image`` on the symmetric scale ``[-limit, limit]``; NaN is transparent."""
        norm = (image + limit) / (2.0 * limit)
        idx = np.clip(np.nan_to_num(norm, nan=0.5) * (len(lut) - 1), 0, len(lut) - 1).astype(np.intp)
        rgba = lut[idx]
        rgba[~np.isfinite(image)] = 0
        self.image.setImage(rgba, autoLevels=False)
        self.image.setRect(self._rect)

    def set_states(self, brushes: Sequence, pens: Sequence, states: Sequence[str] | None = None) -> None:
        self.dots.setBrush(brushes)
        self.dots.setPen(pens)
        if states is not None:
            self.states = list(states)


class TopomapPanel(pg.GraphicsLayoutWidget):
    """Five band maps of the current DE relative to calibration, on a shared colour scale,
    and a map of each channel's contribution to the valence projection.

    Parameters
    ----------
    band_names : sequence of str
        Band labels (delta ... gamma).
    xy : ndarray, shape (n_channels, 2)
        Electrode positions on the unit head disc.
    channel_names : sequence of str
        Labels, for tooltips and tests.
    """

    def __init__(self, band_names: Sequence[str], xy: np.ndarray, channel_names: Sequence[str],
                 parent=None, grid_size: int = 96):
        super().__init__(parent=parent)
        self.setBackground("w")
        self.band_names = list(band_names)
        self.channel_names = list(channel_names)
        self.xy = np.asarray(xy, dtype=float)
        self.grid = interpolation_grid(self.xy, size=grid_size)
        self._lut = _lookup_table()
        self.maps: list[HeadMap] = []
        layout = self.ci
        layout.setSpacing(2)
        for col, band in enumerate(self.band_names):
            self.maps.append(HeadMap(layout, col, band, self.grid, self.xy, self.channel_names,
                                     unit="z (DE vs calibration)"))  # fmt: skip
        n_bands = len(self.band_names)
        self.contribution_map = HeadMap(layout, n_bands + 1, "valence contribution", self.grid,
                                        self.xy, self.channel_names, unit=CONTRIBUTION_UNIT)  # fmt: skip
        cmap = pg.colormap.get(COLORMAP_NAME)
        self.colorbar = pg.ColorBarItem(values=(-2, 2), colorMap=cmap, interactive=False,
                                        width=12, label="DE z-score")
        layout.addItem(self.colorbar, row=1, col=n_bands)
        self.contrib_bar = pg.ColorBarItem(values=(-1, 1), colorMap=cmap, interactive=False,
                                           width=12, label=f"contribution ({CONTRIBUTION_UNIT})")
        layout.addItem(self.contrib_bar, row=1, col=n_bands + 2)
        self.limit = 2.0
        self.contrib_limit = 1.0
        self.updates = 0
        self.band_values: np.ndarray | None = None
        self.contribution: np.ndarray | None = None
        self.interpolated = np.zeros(len(self.xy), bool)
        self.flagged = np.zeros(len(self.xy), bool)
        self.setMinimumHeight(170)

    def set_channel_states(self, interpolated: Sequence[bool] | None = None,
                           flagged: Sequence[bool] | None = None) -> None:
        """Draw interpolated electrodes hollow and flagged ones red."""
        n = len(self.xy)
        interp = np.zeros(n, bool) if interpolated is None else np.asarray(interpolated, bool)
        flag = np.zeros(n, bool) if flagged is None else np.asarray(flagged, bool)
        if np.array_equal(interp, self.interpolated) and np.array_equal(flag, self.flagged):
            return
        self.interpolated, self.flagged = interp, flag
        brushes, pens, states = [], [], []
        for i in range(n):
            colour = _DOT_FLAGGED if flag[i] else _DOT_NORMAL
            brushes.append(_NO_BRUSH if interp[i] else colour)
            pens.append(_PEN_FLAGGED if flag[i] else _PEN_NORMAL)
            states.append(", ".join(w for w, on in ((INTERPOLATED, interp[i]), (FLAGGED, flag[i])) if on))
        for head in (*self.maps, self.contribution_map):
            head.set_states(brushes, pens, states)

    def update_maps(self, de_z: np.ndarray, weights: np.ndarray | None = None) -> None:
        """Redraw from standardized DE ``de_z (n_channels, n_bands)``.

        ``weights (n_channels, n_bands)`` (the bundle's projection) give the contribution
        map ``sum_b w[c, b] * de_z[c, b]``; without weights that map stays empty.
        """
        de_z = np.nan_to_num(np.asarray(de_z, dtype=np.float32), nan=0.0, posinf=0.0, neginf=0.0)
        images = [self.grid.image(de_z[:, b]) for b in range(min(de_z.shape[1], len(self.maps)))]
        target = symmetric_limit(images, floor=0.5)
        # smooth the shared scale so the colours do not flicker between steps
        self.limit = target if target > self.limit else 0.9 * self.limit + 0.1 * target
        for b, (head, image) in enumerate(zip(self.maps, images)):
            head.set_image(image, self.limit, self._lut)
            head.values = de_z[:, b]
        self.colorbar.setLevels((-self.limit, self.limit))
        self.band_values = de_z
        if weights is not None:
            contribution = (np.asarray(weights, dtype=np.float32) * de_z).sum(axis=1)
            image = self.grid.image(contribution)
            target = symmetric_limit([image], floor=1e-3)
            self.contrib_limit = (target if target > self.contrib_limit
                                  else 0.9 * self.contrib_limit + 0.1 * target)
            self.contribution_map.set_image(image, self.contrib_limit, self._lut)
            self.contrib_bar.setLevels((-self.contrib_limit, self.contrib_limit))
            self.contribution = contribution
            self.contribution_map.values = contribution
        self.updates += 1
