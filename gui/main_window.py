"""The main window: source panel, session header, the app's panels and the status bar.

The panels (the valence trace, segments, probabilities, scalp maps, raw EEG, and any
other package's) are found through the ``bci_valence.panels`` entry-point group
(:mod:`gui.panels`); the window places each in its area and feeds it what the worker
sends. With several sources (one person each) the valence plot shows every person
thinly and the group's mean thickly, and the segment panel the group's segment means.
*Mark* (Ctrl+M) starts a new segment at the current time of the streams.
"""

from __future__ import annotations

import logging
import math
import time
from pathlib import Path
from typing import Any

from bci_valence.constants import BAND_NAMES, EMOTION_CLASSES, FACED_CHANNELS

from . import qt_compat  # noqa: F401, I001  (before any widget)
from PySide6 import QtCore, QtGui, QtWidgets  # noqa: E402
from .panels import PANEL_AREAS, LoadedPanels, Panel, PanelContext, first_person, last_finite, load_panels  # noqa: E402
from .settings import GuiSettings, load_settings, save_settings  # noqa: E402
from .widgets.banner import Banner  # noqa: E402
from .widgets.session_header import MARK_SHORTCUT, SessionHeader  # noqa: E402
from .widgets.source_panel import SourcePanel  # noqa: E402
from .widgets.status_labels import add_status_labels, device_text, show_stream_status  # noqa: E402
from .worker import PipelineWorker, RawSnapshot, SessionInfo, SessionRequest  # noqa: E402

__all__ = ["MARK_SHORTCUT", "MAX_REFRESH_HZ", "Banner", "MainWindow", "short_spec", "simulation_text",
           "write_steps_csv"]  # fmt: skip

log = logging.getLogger(__name__)

#: Highest redraw rate of the plots (Hz).
MAX_REFRESH_HZ = 30.0

#: Initial heights of the panel areas (:data:`~gui.panels.PANEL_AREAS`), in pixels.
AREA_HEIGHTS = {"top": 330, "maps": 260, "bottom": 330}


def short_spec(spec: str) -> str:
    """A source text for the log: whole for one source, the first and a count for several."""
    from .widgets.source_list import split_specs

    specs = split_specs(spec)
    if len(specs) <= 1:
        return spec
    return f"{len(specs)} sources, one person each ({specs[0]}; …)"


def simulation_text(contrasts: tuple[float, ...], people: int) -> tuple[str, str]:
    """The SIMULATED badge's text and tooltip: how many people and which effect size.

    Parameters
    ----------
    contrasts : tuple of float
        The simulator's ``contrast`` of each simulated source (1 = FACED's effect sizes).
    people : int
        Sources in the session.

    Returns
    -------
    text, tooltip : str
    """
    from .headless import effect_size_text

    effect = effect_size_text(contrasts)
    if not effect:
        return "SIMULATED", "A simulated source: the valence follows a script, not a person."
    who = f"{people} people · " if people > 1 else ""
    tip = (f"Simulated EEG: each class's band features are drawn around contrast × FACED's class means (1 keeps "
           f"FACED's small effect sizes; the spec's contrast= option sets it). Here: {effect}"
           + (f", {len(contrasts)} of {people} sources simulated." if len(contrasts) != people else "."))  # fmt: skip
    return f"SIMULATED · {who}{effect}", tip


def _title_label(text: str) -> QtWidgets.QLabel:
    """A panel's title; a long one is cut at the panel's edge rather than widening the window."""
    label = QtWidgets.QLabel(text)
    label.setStyleSheet("font-weight: bold; color: #222;")
    label.setSizePolicy(QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Preferred)
    label.setToolTip(text)
    return label


def _titled(title: QtWidgets.QLabel, panel: Panel) -> QtWidgets.QWidget:
    """``panel``'s widget under its title (and its toolbar, right of the title)."""
    box = QtWidgets.QWidget()
    lay = QtWidgets.QVBoxLayout(box)
    lay.setContentsMargins(0, 0, 0, 0)
    lay.setSpacing(2)
    head = QtWidgets.QHBoxLayout()
    head.addWidget(title, 1)
    if panel.toolbar is not None:
        head.addWidget(panel.toolbar)
    lay.addLayout(head)
    lay.addWidget(panel.widget, 1)
    return box


class MainWindow(QtWidgets.QMainWindow):
    """The desktop app.

    Parameters
    ----------
    qsettings : QSettings, optional
        Where settings persist (default: the user's ``bci-valence/gui`` settings).
    source : str, optional
        A source spec to preselect (overrides the remembered one).
    calibration_s : float, optional
        The calibration length to use (overrides the remembered one).
    panels : LoadedPanels, optional
        The panels to show (default: every panel of the ``bci_valence.panels``
        entry-point group, :func:`~gui.panels.load_panels`).
    """

    requestStart = QtCore.Signal(object)
    requestStop = QtCore.Signal()
    requestRecord = QtCore.Signal(str)
    requestStopRecord = QtCore.Signal()
    requestMark = QtCore.Signal(str, float)

    def __init__(self, qsettings: Any | None = None, source: str | None = None,
                 calibration_s: float | None = None, panels: LoadedPanels | None = None):
        super().__init__()
        self.qsettings = qsettings
        self.settings: GuiSettings = load_settings(qsettings)
        if calibration_s is not None:
            self.settings = self.settings.with_stored("calibration_s", float(calibration_s))
        self.setWindowTitle("bci-valence")
        self.resize(1500, 950)
        self.info: SessionInfo | None = None
        self.running = False
        self.session_steps: list[Any] = []
        self.last_step = None
        self.step_count = 0
        self.last_error = ""
        self._was_lost = False
        self.group_rows: list[Any] = []
        self.segment_rows: list[Any] = []
        self.marks: list[tuple[float, str]] = []
        self.frames = 0
        self.channels = tuple(FACED_CHANNELS)
        self.panel = SourcePanel(self.settings)
        if source:
            self.panel.set_spec(source)
        self.banner = Banner()
        self.header = SessionHeader()
        self._alias_header()
        context = PanelContext(self.settings, self.channels, tuple(EMOTION_CLASSES), tuple(BAND_NAMES))
        self.loaded_panels = panels if panels is not None else load_panels(context)
        self.panel_titles: dict[str, QtWidgets.QLabel] = {}
        self.setCentralWidget(self._build_layout())
        self.status_labels = add_status_labels(self.statusBar(), self.settings.resolved_device())
        self._build_menu()
        self._start_worker()
        self._connect()
        self.refresh_timer = QtCore.QTimer(self)
        self.refresh_timer.setInterval(int(math.ceil(1000.0 / MAX_REFRESH_HZ)))
        self.refresh_timer.timeout.connect(self.refresh)
        self.refresh_timer.start()
        problems = self.loaded_panels.problems
        if problems:  # a broken add-on panel says why it is missing
            self.banner.show_message("\n".join(problems), "warning")
        for problem in problems:
            self.panel.log(f"warning: {problem}")

    # ------------------------------------------------------------------ building
    def _alias_header(self) -> None:
        """The header's widgets as the window's own attributes."""
        header = self.header
        self.valence_label, self.class_label = header.valence_label, header.class_label
        self.reliability_label, self.sim_badge = header.reliability_label, header.sim_badge
        self.mark_label, self.mark_button = header.mark_label, header.mark_button
        self.mark_shortcut = QtGui.QShortcut(QtGui.QKeySequence(MARK_SHORTCUT), self)
        self.mark_shortcut.setContext(QtCore.Qt.ShortcutContext.WindowShortcut)

    def _build_area(self, area: str) -> QtWidgets.QSplitter | None:
        """The panels of ``area`` side by side (None when it has none)."""
        panels = [p for p in self.loaded_panels.panels if p.area == area]
        if not panels:
            return None
        splitter = QtWidgets.QSplitter(QtCore.Qt.Orientation.Horizontal)
        for i, panel in enumerate(panels):
            title = self.panel_titles[panel.name] = _title_label(panel.title)
            splitter.addWidget(_titled(title, panel))
            splitter.setStretchFactor(i, int(panel.stretch))
        splitter.setSizes([int(p.size) for p in panels])
        return splitter

    def _build_layout(self) -> QtWidgets.QWidget:
        """Source panel at the left; banner, header and the panels' areas at the right."""
        scroll = QtWidgets.QScrollArea()
        scroll.setWidget(self.panel)
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setMinimumWidth(300)
        scroll.setMaximumWidth(380)
        areas = QtWidgets.QSplitter(QtCore.Qt.Orientation.Vertical)
        heights = []
        for area in PANEL_AREAS:
            splitter = self._build_area(area)
            if splitter is not None:
                areas.addWidget(splitter)
                heights.append(AREA_HEIGHTS.get(area, 300))
        areas.setSizes(heights)
        center = QtWidgets.QWidget()
        clay = QtWidgets.QVBoxLayout(center)
        clay.setContentsMargins(4, 4, 4, 4)
        clay.addWidget(self.banner)
        clay.addWidget(self.header)
        clay.addWidget(areas, 1)
        main = QtWidgets.QSplitter(QtCore.Qt.Orientation.Horizontal)
        main.addWidget(scroll)
        main.addWidget(center)
        main.setStretchFactor(1, 1)
        main.setSizes([320, 1180])
        return main

    def _build_menu(self) -> None:
        menu = self.menuBar().addMenu("&File")
        act = menu.addAction("Export session CSV…")
        act.triggered.connect(self.export_csv_dialog)
        act = menu.addAction("Save screenshot…")
        act.triggered.connect(self._screenshot_dialog)
        menu.addSeparator()
        act = menu.addAction("Quit")
        act.setShortcut(QtGui.QKeySequence.StandardKey.Quit)
        act.triggered.connect(self.close)

    def _start_worker(self) -> None:
        """The pipeline's worker in its own thread, wired both ways through queued signals."""
        self.thread = QtCore.QThread(self)
        self.thread.setObjectName("bci-valence-pipeline")
        self.worker = PipelineWorker()
        self.worker.moveToThread(self.thread)
        self.thread.finished.connect(self.worker.deleteLater)
        for request, slot in ((self.requestStart, self.worker.start_session),
                              (self.requestStop, self.worker.stop_session),
                              (self.requestRecord, self.worker.start_recording),
                              (self.requestStopRecord, self.worker.stop_recording),
                              (self.requestMark, self.worker.mark)):  # fmt: skip
            request.connect(slot)
        worker = self.worker
        for signal, slot in ((worker.started, self._on_started), (worker.stopped, self._on_stopped),
                             (worker.steps, self._on_steps), (worker.raw, self._on_raw),
                             (worker.status, self._on_status), (worker.error, self.show_error),
                             (worker.message, self._on_message), (worker.segments, self._on_segments),
                             (worker.group, self._on_group), (worker.marked, self._on_marked)):  # fmt: skip
            signal.connect(slot)
        self.thread.start()

    def _connect(self) -> None:
        """The window's own controls."""
        self.mark_button.clicked.connect(self.mark)
        self.mark_shortcut.activated.connect(self.mark)
        self.mark_label.returnPressed.connect(self.mark)
        self.panel.startRequested.connect(self.start_session)
        self.panel.stopRequested.connect(self.stop_session)
        self.panel.recordRequested.connect(self._on_record_toggled)
        self.panel.exportRequested.connect(self.export_csv_dialog)

    # ------------------------------------------------------------------ the app's own panels
    @property
    def panels(self) -> tuple[Panel, ...]:
        """The panels shown, in the window's order."""
        return self.loaded_panels.panels

    def _builtin(self, name: str, attribute: str) -> Any:
        panel = self.loaded_panels.by_name(name)
        return getattr(panel, attribute, None)

    @property
    def valence_plot(self) -> Any:
        """The ``valence`` panel's :class:`~gui.widgets.valence_plot.ValencePlot` (None without it)."""
        return self._builtin("valence", "plot")

    @property
    def segment_panel(self) -> Any:
        """The ``segments`` panel's :class:`~gui.widgets.segment_panel.SegmentPanel`."""
        return self._builtin("segments", "segments")

    @property
    def probabilities(self) -> Any:
        """The ``probabilities`` panel's :class:`~gui.widgets.probabilities.ProbabilityBars`."""
        return self._builtin("probabilities", "bars")

    @property
    def topomaps(self) -> Any:
        """The ``scalp-maps`` panel's :class:`~gui.widgets.topomap.TopomapPanel`."""
        return self._builtin("scalp-maps", "maps")

    @property
    def raw_traces(self) -> Any:
        """The ``raw-eeg`` panel's :class:`~gui.widgets.raw_traces.RawTraces`."""
        return self._builtin("raw-eeg", "traces")

    @property
    def raw_scroll(self) -> Any:
        """The scroll area around :attr:`raw_traces`."""
        return self._builtin("raw-eeg", "scroll")

    def _retitle(self) -> None:
        for panel in self.panels:
            label = self.panel_titles[panel.name]
            label.setText(panel.title)
            label.setToolTip(panel.title)

    # ------------------------------------------------------------------ session control
    def pipeline_settings(self):
        """The :class:`~bci_valence.online.settings.PipelineSettings` the window edits."""
        return self.settings.pipeline

    @QtCore.Slot()
    def start_session(self) -> None:
        """Start the pipeline on the panel's source (in the worker thread)."""
        if self.running:
            return
        self.settings = self.panel.gui_settings(self.settings)
        spec = self.panel.spec()
        if not spec:
            self.show_error("Choose a recording file (or another source) before starting.")
            return
        try:
            settings = self.pipeline_settings()
        except Exception as err:  # noqa: BLE001
            self.show_error(f"Invalid settings: {err}")
            return
        try:
            sources = self.panel.source_specs()  # parsed once, the channel box as an object
        except ValueError as err:
            self.show_error(str(err))
            return
        self.save_settings()
        self.banner.hide()
        self.last_error = ""
        self.session_steps = []
        self.last_step = None
        self.step_count = 0
        self._was_lost = False
        self.group_rows = []
        self.segment_rows = []
        self.marks = []
        for panel in self.panels:
            panel.clear()
        self.running = True
        self.panel.set_running(True)
        self.panel.set_calibration(0.0)
        self.status_labels["state"].setText("starting…")
        self.panel.log(f"starting {short_spec(spec)}")
        self.requestStart.emit(SessionRequest(spec=spec, bundle_path=self.settings.bundle_path,
                                              settings=settings, raw_seconds=12.0, sources=sources))

    @QtCore.Slot()
    def stop_session(self) -> None:
        """Stop the running session."""
        self.requestStop.emit()

    @QtCore.Slot()
    def mark(self) -> None:
        """Start a new segment now, labelled by the label field (then cleared) or
        ``mark N``: the worker pushes it on the marker outlet and into the segments."""
        if not self.running or self.info is None:
            self.statusBar().showMessage("Start a session before marking.", 5000)
            return
        from mne_lsl.lsl import local_clock

        pressed = local_clock()  # the press, not when the worker gets to it
        label = self.mark_label.text().strip()
        self.mark_label.clear()
        self.requestMark.emit(label, pressed)

    @QtCore.Slot(bool)
    def _on_record_toggled(self, on: bool) -> None:
        if not on:
            self.requestStopRecord.emit()
            return
        default = str(Path.cwd() / time.strftime("bci-valence-%Y%m%d-%H%M%S.xdf"))
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self, "Record to XDF", default, "XDF (*.xdf)")
        if not path:
            self.panel.record_button.blockSignals(True)
            self.panel.record_button.setChecked(False)
            self.panel.record_button.blockSignals(False)
            return
        self.requestRecord.emit(path)

    # ------------------------------------------------------------------ worker slots
    @QtCore.Slot(object)
    def _on_started(self, info: SessionInfo) -> None:
        self.info = info
        self.status_labels["state"].setText("running")
        self.status_labels["device"].setText(device_text(info.device))
        self.header.show_simulation(info.simulated, *simulation_text(info.contrasts, len(info.stream_names)))
        for panel in self.panels:
            panel.on_started(info)
        self._retitle()
        self.mark_button.setEnabled(True)
        self.panel.export_button.setEnabled(True)
        self.panel.log(f"started: {short_spec(info.spec)} · bundle {info.bundle} · device {info.device}")
        self.show_reliability(info.reliability)

    def show_reliability(self, reliability: Any) -> None:
        """Label the trace with what the valence is worth on new content.

        Parameters
        ----------
        reliability : bci_valence.online.reliability.ValenceReliability or None
            The bundle's measured figures (None or unmeasured: the label says so).
        """
        from bci_valence.online.reliability import ValenceReliability

        rel = reliability if reliability is not None else ValenceReliability()
        self.header.show_reliability(rel.summary(), rel.details())
        for panel in self.panels:
            panel.show_reliability(rel)

    @QtCore.Slot(str)
    def _on_stopped(self, reason: str) -> None:
        self.running = False
        self.panel.set_running(False)
        self.mark_button.setEnabled(False)
        self.status_labels["state"].setText("stopped" if reason != "error" else "error")
        self.panel.log(f"session {reason}")

    @QtCore.Slot(object)
    def _on_steps(self, steps: list) -> None:
        self.session_steps.extend(steps)
        self.step_count += len(steps)
        mine = first_person(steps, self.info)  # the header shows the first person
        self.last_step = last_finite(mine, self.last_step)
        if mine:
            self.panel.set_calibration(float(mine[-1].calibration_progress))
        for panel in self.panels:
            panel.on_steps(steps)

    @QtCore.Slot(object)
    def _on_segments(self, rows: list) -> None:
        self.segment_rows = list(rows)
        for panel in self.panels:
            panel.on_segments(rows)

    @QtCore.Slot(object)
    def _on_group(self, rows: list) -> None:
        self.group_rows.extend(rows)
        del self.group_rows[:-2000]
        for panel in self.panels:
            panel.on_group(rows)

    @QtCore.Slot(object)
    def _on_marked(self, mark: tuple[float, str]) -> None:
        self.marks.append(mark)
        self.panel.log(f"mark {mark[1]!r} at {mark[0]:.3f} (LSL time)")
        self.statusBar().showMessage(f"marked: {mark[1]}", 3000)

    @QtCore.Slot(object)
    def _on_raw(self, snapshot: RawSnapshot) -> None:
        for panel in self.panels:
            panel.on_raw(snapshot)

    @QtCore.Slot(object)
    def _on_status(self, statuses: list) -> None:
        if not statuses:
            return
        st = statuses[0]
        show_stream_status(self.status_labels, st, len(self.channels))
        for panel in self.panels:
            panel.on_status(statuses)
        lost = not st.connected and st.steps > 0 or "lost" in (st.message or "")
        if lost and not self._was_lost:
            self.banner.show_message(f"Stream '{st.name}' lost: waiting for it to come back…", "warning")
            self.status_labels["state"].setText("stream lost")
        elif self._was_lost and not lost:
            self.banner.show_message(f"Stream '{st.name}' is back.", "info")
            self.status_labels["state"].setText("running")
        self._was_lost = lost

    @QtCore.Slot(str)
    def _on_message(self, text: str) -> None:
        if text.startswith("warning: "):
            self.banner.show_message(text.removeprefix("warning: "), "warning")
        self.panel.log(text)
        self.statusBar().showMessage(text, 5000)

    @QtCore.Slot(str)
    def show_error(self, text: str) -> None:
        """Show an error in the window (banner, message log, status bar)."""
        self.last_error = text
        self.banner.show_message(text, "error")
        self.panel.log(f"ERROR: {text}")
        self.statusBar().showMessage(text, 10000)

    # ------------------------------------------------------------------ drawing
    @QtCore.Slot()
    def refresh(self) -> None:
        """Redraw what changed (called at most ``MAX_REFRESH_HZ`` times a second)."""
        for panel in self.panels:
            panel.refresh()
        people = len(self.info.stream_names) if self.info is not None else 0
        step = self.last_step
        group = self.group_rows[-1] if self.group_rows and people > 1 else None
        plot = self.valence_plot
        self.header.show_valence(step, group, people, plot.smoothed if plot is not None else None)
        if step is not None and math.isfinite(step.valence):
            who = f"{step.stream}: " if people > 1 else ""
            self.header.show_emotion(step, self.info.class_names if self.info is not None else None, who)
            self.status_labels["latency"].setText(f"latency {step.latency_ms:.0f} ms")
        self.frames += 1

    # ------------------------------------------------------------------ export
    def export_csv(self, path: str | Path) -> Path:
        """Write this session's steps to ``path`` (the pipeline's CSV format when available)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        class_names = self.info.class_names if self.info else tuple(EMOTION_CLASSES)
        write_steps_csv(self.session_steps, path, class_names)
        return path

    def export_csv_dialog(self) -> None:
        """Ask where to write the session's steps, and write them there."""
        if not self.session_steps:
            self.show_error("Nothing to export yet: start a session first.")
            return
        default = str(Path.cwd() / time.strftime("bci-valence-%Y%m%d-%H%M%S.csv"))
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self, "Export session CSV", default, "CSV (*.csv)")
        if path:
            try:
                self.export_csv(path)
                self.panel.log(f"exported {len(self.session_steps)} steps to {path}")
            except Exception as err:  # noqa: BLE001
                self.show_error(f"Cannot write {path}: {err}")

    def save_screenshot(self, path: str | Path) -> Path:
        """Save a PNG of the window."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.refresh()
        if not self.grab().save(str(path)):
            raise OSError(f"cannot write the screenshot {path}")
        return path

    def _screenshot_dialog(self) -> None:
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self, "Save screenshot", "bci-valence.png", "PNG (*.png)")
        if path:
            self.save_screenshot(path)

    # ------------------------------------------------------------------ lifecycle
    def save_settings(self) -> None:
        """Keep the source panel's and the panels' settings (:meth:`Panel.update_settings`)."""
        settings = self.panel.gui_settings(self.settings)
        for panel in self.panels:
            settings = panel.update_settings(settings)
        self.settings = settings
        save_settings(self.settings, self.qsettings)

    def shutdown(self) -> None:
        """Stop the session and the worker thread (blocks until it has stopped)."""
        if self.thread.isRunning():
            QtCore.QMetaObject.invokeMethod(self.worker, "stop_session",
                                            QtCore.Qt.ConnectionType.BlockingQueuedConnection)
            self.thread.quit()
            self.thread.wait(10000)
        self.refresh_timer.stop()

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:  # noqa: N802 - Qt name
        try:
            self.save_settings()
        except Exception as err:  # noqa: BLE001
            log.warning("cannot save settings: %s", err)
        self.shutdown()
        super().closeEvent(event)


def write_steps_csv(steps: list, path: Path, class_names) -> None:
    """Write ``steps`` in the pipeline's CSV format (:class:`bci_valence.streams.outlets.CsvLog`)."""
    from bci_valence.streams.outlets import CsvLog

    with CsvLog(path, tuple(class_names), overwrite=True) as writer:  # the save dialog asked
        writer.write(steps)
