"""The app's own panels: the valence trace (and the group's), the segments, the emotion
probabilities, the scalp maps and the raw EEG.

Each class is a panel factory (it takes the :class:`~gui.panels.base.PanelContext`),
registered under the ``bci_valence.panels`` entry-point group in bci-valence's
``pyproject.toml`` exactly as another package's panel would be.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from bci_valence.constants import POSITIVE_CLASSES

from .. import qt_compat  # noqa: F401, I001  (before any widget)
from PySide6 import QtWidgets  # noqa: E402
from ..channel_states import FLAGGED, INTERPOLATED, flagged_meaning  # noqa: E402
from .base import PanelBase, PanelContext, first_person, last_finite  # noqa: E402

__all__ = ["ProbabilitiesPanel", "RawEegPanel", "ScalpMapsPanel", "SegmentsPanel", "ValencePanel"]


def _several(info: Any) -> bool:
    return info is not None and len(info.stream_names) > 1


class ValencePanel(PanelBase):
    """The valence trace of the last 60 s: one person's steps and smoothed curve, or each
    person thinly and the group's mean thickly (:class:`~gui.widgets.valence_plot.ValencePlot`)."""

    name, area, order, stretch, size = "valence", "top", 10, 3, 520
    ONE = "Valence (last 60 s)"
    GROUP = "Valence (60 s): people thin, group mean thick, 95% interval shaded"

    def __init__(self, context: PanelContext) -> None:
        from ..widgets.valence_plot import ValencePlot

        super().__init__()
        self.title = self.ONE
        self.plot = self.widget = ValencePlot(window_s=60.0)

    def clear(self) -> None:
        """Empty the trace."""
        self.plot.clear_data()

    def on_started(self, info: Any) -> None:
        """One trace per person of the session."""
        super().on_started(info)
        self.plot.set_people(info.stream_names)
        self.title = self.GROUP if _several(info) else self.ONE

    def on_steps(self, steps: Sequence[Any]) -> None:
        """Every person's steps, with the true valence of their marker's class."""
        coords = self.info.class_coordinates if self.info else {}
        for step in steps:
            true_v = coords.get(step.true_label) if step.true_label else None
            self.plot.add_point(float(step.timestamp), float(step.valence), true_v, stream=step.stream)
        mine = first_person(steps, self.info)
        if mine:
            self.plot.set_calibration(float(mine[-1].calibration_progress))

    def on_group(self, rows: Sequence[Any]) -> None:
        """The group's mean and interval."""
        self.plot.add_group_rows(rows)

    def show_reliability(self, reliability: Any) -> None:
        """The noise band around the smoothed curve, and the figures as a tooltip."""
        self.plot.setToolTip(reliability.details())
        self.plot.set_noise_band(reliability.noise_sd)

    def refresh(self) -> None:
        """Redraw the trace."""
        self.plot.refresh()


class SegmentsPanel(PanelBase):
    """Each segment's mean valence and 95% interval (:class:`~gui.widgets.segment_panel.SegmentPanel`)."""

    name, area, order, stretch, size = "segments", "top", 20, 2, 380
    ONE = "Segments: mean valence, 95% interval"
    GROUP = "Segments: group mean, 95% interval; dots: each person"

    def __init__(self, context: PanelContext) -> None:
        from ..widgets.segment_panel import SegmentPanel

        super().__init__()
        self.title = self.ONE
        self.segments = self.widget = SegmentPanel()

    def clear(self) -> None:
        """No segment yet."""
        self.segments.clear_data()

    def on_started(self, info: Any) -> None:
        """Label the bars for one person or a group."""
        super().on_started(info)
        self.title = self.GROUP if _several(info) else self.ONE

    def on_segments(self, rows: Sequence[Any]) -> None:
        """The session's segments now."""
        self.segments.set_rows(rows)

    def refresh(self) -> None:
        """Redraw the bars."""
        self.segments.refresh()


class ProbabilitiesPanel(PanelBase):
    """The first person's emotion probabilities (:class:`~gui.widgets.probabilities.ProbabilityBars`)."""

    name, area, order, stretch, size = "probabilities", "top", 30, 1, 280
    ONE = "Emotion probabilities (FACED stimuli)"

    def __init__(self, context: PanelContext) -> None:
        from ..widgets.probabilities import ProbabilityBars

        super().__init__()
        self.title = self.ONE
        names = context.class_names
        self.bars = self.widget = ProbabilityBars(names, positive=[c in POSITIVE_CLASSES for c in names])
        self.last_step: Any = None

    def clear(self) -> None:
        """No probabilities."""
        self.last_step = None
        self.bars.set_probabilities(None)

    def on_started(self, info: Any) -> None:
        """The bundle's classes; whose probabilities they are, with several people."""
        super().on_started(info)
        self.title = f"Emotion probabilities: {info.stream_names[0]}" if _several(info) else self.ONE
        if list(info.class_names) != self.bars.class_names:
            self.bars.set_classes(info.class_names, [c in POSITIVE_CLASSES for c in info.class_names])

    def on_steps(self, steps: Sequence[Any]) -> None:
        """The newest usable step of the first person."""
        mine = first_person(steps, self.info)
        self.last_step = last_finite(mine, self.last_step)
        if self.last_step is not None and mine:
            self.bars.set_probabilities(self.last_step.probabilities)

    def show_reliability(self, reliability: Any) -> None:
        """Say what the probabilities are worth."""
        self.bars.setToolTip(reliability.probabilities_note())

    def refresh(self) -> None:
        """Redraw the bars."""
        self.bars.refresh()


class ScalpMapsPanel(PanelBase):
    """DE relative to calibration per band, and each channel's contribution to the
    valence, for the first person (:class:`~gui.widgets.topomap.TopomapPanel`)."""

    name, area, order, stretch, size = "scalp-maps", "maps", 10, 1, 1180
    title = (f"Scalp maps: DE relative to calibration (z), per band · hollow = {INTERPOLATED}, red = {FLAGGED} · "
             "hover an electrode for its name")  # fmt: skip

    def __init__(self, context: PanelContext) -> None:
        from ..topo_geometry import faced_positions_2d
        from ..widgets.topomap import TopomapPanel

        super().__init__()
        self.channels = tuple(context.channels)
        self.maps = self.widget = TopomapPanel(context.band_names, faced_positions_2d(), self.channels)
        self.last_step: Any = None
        self.dirty = False
        self.interpolated: tuple[str, ...] = ()
        self.flagged: tuple[str, ...] = ()

    def clear(self) -> None:
        """Wait for the new session's first step."""
        self.last_step = None
        self.dirty = False

    def on_steps(self, steps: Sequence[Any]) -> None:
        """Keep the first person's newest usable step for the next redraw."""
        mine = first_person(steps, self.info)
        self.last_step = last_finite(mine, self.last_step)
        if self.last_step is not None and mine:
            self.dirty = True

    def on_raw(self, snapshot: Any) -> None:
        """The channels flagged in the latest signal."""
        self.flagged = tuple(snapshot.flagged)

    def on_status(self, statuses: Sequence[Any]) -> None:
        """The channels the first stream's montage interpolates."""
        if statuses:
            self.interpolated = tuple(statuses[0].interpolated)

    def refresh(self) -> None:
        """Redraw the maps after a new step, and the electrodes' states."""
        if self.dirty and self.last_step is not None:
            self.dirty = False
            weights = self.info.projection_weights if self.info is not None else None
            self.maps.update_maps(self.last_step.de_z, weights)
        if self.channels:
            self.maps.set_channel_states([c in self.interpolated for c in self.channels],
                                         [c in self.flagged for c in self.channels])  # fmt: skip


class RawEegPanel(PanelBase):
    """The first person's mapped, filtered EEG, one labelled row per channel
    (:class:`~gui.widgets.raw_traces.RawTraces`), with its scale and window on the title's line."""

    name, area, order, stretch, size = "raw-eeg", "bottom", 10, 1, 1180
    title = "Raw EEG (mapped, filtered)"

    def __init__(self, context: PanelContext) -> None:
        from ..widgets.raw_traces import RawTraces, scrollable

        super().__init__()
        settings = context.settings
        self.traces = RawTraces(seconds=settings.raw_seconds, scale_uv=settings.raw_scale_uv)
        self.scroll = self.widget = scrollable(self.traces)  # every row labelled, a scroll away
        self.scale = _spin_box(1.0, 5000.0, " µV", settings.raw_scale_uv)
        self.seconds = _spin_box(1.0, 12.0, " s", min(settings.raw_seconds, 12.0))
        self.toolbar = self._toolbar()
        self.scale.valueChanged.connect(self.traces.set_scale)
        self.seconds.valueChanged.connect(self.traces.set_seconds)
        self.interpolated: tuple[str, ...] = ()
        self.snapshot: Any = None

    def _toolbar(self) -> QtWidgets.QWidget:
        bar = QtWidgets.QWidget()
        lay = QtWidgets.QHBoxLayout(bar)
        lay.setContentsMargins(0, 0, 0, 0)
        legend = QtWidgets.QLabel(f"<span style='color:#1e1e1e'>■ recorded</span>  "
                                  f"<span style='color:#969696'>■ {INTERPOLATED}</span>  "
                                  f"<span style='color:#d21414'>■ {FLAGGED}</span>")  # fmt: skip
        legend.setToolTip(flagged_meaning())
        lay.addWidget(legend)
        lay.addSpacing(12)
        for text, box in (("scale", self.scale), ("window", self.seconds)):
            lay.addWidget(QtWidgets.QLabel(text))
            lay.addWidget(box)
        return bar

    def clear(self) -> None:
        """Drop the previous session's undrawn snapshot."""
        self.snapshot = None

    def on_raw(self, snapshot: Any) -> None:
        """Keep only the newest snapshot: a slow frame skips the ones in between."""
        self.snapshot = snapshot

    def on_status(self, statuses: Sequence[Any]) -> None:
        """The channels the first stream's montage interpolates."""
        if statuses:
            self.interpolated = tuple(statuses[0].interpolated)

    def update_settings(self, settings: Any) -> Any:
        """The trace's scale and window as the user left them."""
        return replace(settings, raw_scale_uv=float(self.scale.value()), raw_seconds=float(self.seconds.value()))

    def refresh(self) -> None:
        """Draw the newest snapshot with each channel's state."""
        snap, self.snapshot = self.snapshot, None
        if snap is not None:
            states = {n: INTERPOLATED for n in self.interpolated}
            states.update({n: FLAGGED for n in snap.flagged})
            self.traces.set_channel_states(states)
            self.traces.set_data(snap.data, snap.times, snap.names)
        self.traces.refresh()


def _spin_box(low: float, high: float, suffix: str, value: float) -> QtWidgets.QDoubleSpinBox:
    box = QtWidgets.QDoubleSpinBox()
    box.setRange(low, high)
    box.setDecimals(0)
    box.setSuffix(suffix)
    box.setValue(value)
    return box

