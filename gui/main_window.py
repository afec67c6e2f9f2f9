"""The main window: source panel, valence trace, segments, probabilities, topographies, raw EEG.

With several sources (one person each) the valence plot shows every person thinly and
the group's mean thickly, and the segment panel the group's segment means. *Mark*
(Ctrl+M) starts a new segment at the current time of the streams.
"""

from __future__ import annotations

import logging
import math
import time
from pathlib import Path
from typing import Any

import numpy as np

from bci_valence.constants import BAND_NAMES, EMOTION_CLASSES, POSITIVE_CLASSES

from . import qt_compat  # noqa: F401, I001  (before any widget)
from PySide6 import QtCore, QtGui, QtWidgets  # noqa: E402
from .settings import GuiSettings, load_settings, save_settings  # noqa: E402
from .widgets.probabilities import ProbabilityBars  # noqa: E402
from .widgets.raw_traces import RawTraces, scrollable  # noqa: E402
from .widgets.segment_panel import SegmentPanel  # noqa: E402
from .widgets.source_panel import SourcePanel  # noqa: E402
from .widgets.topomap import TopomapPanel  # noqa: E402
from .worker import PipelineWorker, RawSnapshot, SessionInfo, SessionRequest  # noqa: E402

log = logging.getLogger(__name__)

#: Highest redraw rate of the plots (Hz).
MAX_REFRESH_HZ = 30.0

#: The keyboard shortcut of *Mark*.
MARK_SHORTCUT = "Ctrl+M"


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


def _default_class_names() -> tuple[str, ...]:
    return tuple(EMOTION_CLASSES)


def _default_bands() -> tuple[str, ...]:
    return tuple(BAND_NAMES)


class Banner(QtWidgets.QFrame):
    """A dismissable coloured message line at the top of the plots."""

    STYLES = {
        "error": "background:#fde2e1; color:#8a1010; border:1px solid #e0a0a0;",
        "warning": "background:#fff3cd; color:#6b4b00; border:1px solid #e6cf84;",
        "info": "background:#e3f0ff; color:#123f73; border:1px solid #a8c8ee;",
    }

    def __init__(self, parent=None):
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
        self.level = level
        self.setStyleSheet(f"QFrame {{{self.STYLES.get(level, '')}}} QLabel {{border:none;}}")
        self.label.setText(text)
        self.show()

    def text(self) -> str:
        return self.label.text() if self.isVisible() else ""


class MainWindow(QtWidgets.QMainWindow):
    """The desktop app.

    Parameters
    ----------
    qsettings : QSettings, optional
        Where settings persist (default: the user's ``bci-valence/gui`` settings).
    source : str, optional
        A source spec to preselect (overrides the remembered one).
    """

    requestStart = QtCore.Signal(object)
    requestStop = QtCore.Signal()
    requestRecord = QtCore.Signal(str)
    requestStopRecord = QtCore.Signal()
    requestMark = QtCore.Signal(str, float)

    def __init__(self, qsettings: Any | None = None, source: str | None = None,
                 calibration_s: float | None = None):
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
        self._latest_raw: RawSnapshot | None = None
        self._topo_dirty = False
        self._interpolated: tuple[str, ...] = ()
        self._was_lost = False
        self.group_rows: list[Any] = []
        self.segment_rows: list[Any] = []
        self.marks: list[tuple[float, str]] = []

        # ---------------------------------------------------------------- widgets
        self.panel = SourcePanel(self.settings)
        if source:
            self.panel.set_spec(source)
        scroll = QtWidgets.QScrollArea()
        scroll.setWidget(self.panel)
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setMinimumWidth(300)
        scroll.setMaximumWidth(380)

        self.banner = Banner()
        self.sim_badge = QtWidgets.QLabel("SIMULATED")
        self.sim_badge.setStyleSheet("background:#7a2ea0; color:white; font-weight:bold; padding:3px 10px; border-radius:4px;")
        self.sim_badge.hide()
        self.valence_label = QtWidgets.QLabel("valence —")
        font = self.valence_label.font()
        font.setPointSize(font.pointSize() + 5)
        font.setBold(True)
        self.valence_label.setFont(font)
        self.class_label = QtWidgets.QLabel("")
        self.class_label.setStyleSheet("font-size: 13pt; color:#333;")
        # what the valence is worth on new content (the bundle's unseen-clips figures)
        self.reliability_label = QtWidgets.QLabel("valence reliability on new content: shown when a session starts")
        self.reliability_label.setStyleSheet("color:#555; font-size: 9pt;")
        self.reliability_label.setWordWrap(True)
        # Mark: a new segment now, on the app's marker outlet and in the segment panel
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
        self.mark_shortcut = QtGui.QShortcut(QtGui.QKeySequence(MARK_SHORTCUT), self)
        self.mark_shortcut.setContext(QtCore.Qt.ShortcutContext.WindowShortcut)
        head = QtWidgets.QHBoxLayout()
        head.addWidget(self.valence_label)
        head.addSpacing(20)
        head.addWidget(self.class_label, 1)
        head.addWidget(self.mark_label)
        head.addWidget(self.mark_button)
        self.class_label.setSizePolicy(QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Preferred)
        subhead = QtWidgets.QHBoxLayout()  # what the valence is worth, and what is simulated
        subhead.addWidget(self.reliability_label, 1)
        subhead.addWidget(self.sim_badge)

        from .topo_geometry import faced_positions_2d

        try:
            from bci_valence.constants import FACED_CHANNELS
        except Exception:  # noqa: BLE001
            FACED_CHANNELS = ()
        self.channels = tuple(FACED_CHANNELS)
        self.valence_plot = self._make_valence_plot()
        self.probabilities = ProbabilityBars(_default_class_names(),
                                             positive=[c in POSITIVE_CLASSES for c in _default_class_names()])
        self.topomaps = TopomapPanel(_default_bands(), faced_positions_2d(), self.channels)
        self.raw_traces = RawTraces(seconds=self.settings.raw_seconds, scale_uv=self.settings.raw_scale_uv)

        self.segment_panel = SegmentPanel()
        self.valence_title = self._title_label("Valence (last 60 s)", shrink=True)
        self.segment_title = self._title_label("Segments: mean valence, 95% interval", shrink=True)
        self.probabilities_title = self._title_label("Emotion probabilities (FACED stimuli)", shrink=True)
        top = QtWidgets.QSplitter(QtCore.Qt.Orientation.Horizontal)
        top.addWidget(self._titled(self.valence_title, self.valence_plot))
        top.addWidget(self._titled(self.segment_title, self.segment_panel))
        top.addWidget(self._titled(self.probabilities_title, self.probabilities))
        top.setStretchFactor(0, 3)
        top.setStretchFactor(1, 2)
        top.setStretchFactor(2, 1)
        top.setSizes([520, 380, 280])

        raw_box = QtWidgets.QWidget()
        raw_lay = QtWidgets.QVBoxLayout(raw_box)
        raw_lay.setContentsMargins(0, 0, 0, 0)
        raw_head = QtWidgets.QHBoxLayout()
        raw_head.addWidget(self._title_label("Raw EEG (mapped, filtered)"))
        raw_head.addStretch(1)
        legend = QtWidgets.QLabel("<span style='color:#1e1e1e'>■ recorded</span>  "
                                  "<span style='color:#969696'>■ interpolated</span>  "
                                  "<span style='color:#d21414'>■ flagged</span>")
        raw_head.addWidget(legend)
        raw_head.addSpacing(12)
        raw_head.addWidget(QtWidgets.QLabel("scale"))
        self.raw_scale = QtWidgets.QDoubleSpinBox()
        self.raw_scale.setRange(1.0, 5000.0)
        self.raw_scale.setDecimals(0)
        self.raw_scale.setSuffix(" µV")
        self.raw_scale.setValue(self.settings.raw_scale_uv)
        raw_head.addWidget(self.raw_scale)
        raw_head.addWidget(QtWidgets.QLabel("window"))
        self.raw_seconds = QtWidgets.QDoubleSpinBox()
        self.raw_seconds.setRange(1.0, 12.0)
        self.raw_seconds.setDecimals(0)
        self.raw_seconds.setSuffix(" s")
        self.raw_seconds.setValue(min(self.settings.raw_seconds, 12.0))
        raw_head.addWidget(self.raw_seconds)
        raw_lay.addLayout(raw_head)
        self.raw_scroll = scrollable(self.raw_traces)  # every row labelled, a scroll away
        raw_lay.addWidget(self.raw_scroll)

        splitter = QtWidgets.QSplitter(QtCore.Qt.Orientation.Vertical)
        splitter.addWidget(top)
        splitter.addWidget(self._titled("Scalp maps: DE relative to calibration (z), per band · "
                                        "hollow = interpolated, red = flagged · hover an electrode for its name",
                                        self.topomaps))
        splitter.addWidget(raw_box)
        splitter.setSizes([330, 260, 330])

        center = QtWidgets.QWidget()
        clay = QtWidgets.QVBoxLayout(center)
        clay.setContentsMargins(4, 4, 4, 4)
        clay.addWidget(self.banner)
        clay.addLayout(head)
        clay.addLayout(subhead)
        clay.addWidget(splitter, 1)

        main = QtWidgets.QSplitter(QtCore.Qt.Orientation.Horizontal)
        main.addWidget(scroll)
        main.addWidget(center)
        main.setStretchFactor(1, 1)
        main.setSizes([320, 1180])
        self.setCentralWidget(main)

        # ---------------------------------------------------------------- status bar
        bar = self.statusBar()
        self.status_labels: dict[str, QtWidgets.QLabel] = {}
        for key, text in (("state", "idle"), ("rate", "— Hz"), ("jitter", "jitter —"), ("latency", "latency —"),
                          ("lost", "lost 0"), ("gaps", "gaps 0"), ("channels", "channels —"),
                          ("device", f"device {self.settings.resolved_device().upper()}")):
            label = QtWidgets.QLabel(text)
            label.setMinimumWidth(70)
            bar.addPermanentWidget(label)
            self.status_labels[key] = label

        # ---------------------------------------------------------------- menu
        menu = self.menuBar().addMenu("&File")
        act = menu.addAction("Export session CSV…")
        act.triggered.connect(self.export_csv_dialog)
        act = menu.addAction("Save screenshot…")
        act.triggered.connect(self._screenshot_dialog)
        menu.addSeparator()
        act = menu.addAction("Quit")
        act.setShortcut(QtGui.QKeySequence.StandardKey.Quit)
        act.triggered.connect(self.close)

        # ---------------------------------------------------------------- worker
        self.thread = QtCore.QThread(self)
        self.thread.setObjectName("bci-valence-pipeline")
        self.worker = PipelineWorker()
        self.worker.moveToThread(self.thread)
        self.thread.finished.connect(self.worker.deleteLater)
        self.requestStart.connect(self.worker.start_session)
        self.requestStop.connect(self.worker.stop_session)
        self.requestRecord.connect(self.worker.start_recording)
        self.requestStopRecord.connect(self.worker.stop_recording)
        self.requestMark.connect(self.worker.mark)
        self.worker.started.connect(self._on_started)
        self.worker.stopped.connect(self._on_stopped)
        self.worker.steps.connect(self._on_steps)
        self.worker.raw.connect(self._on_raw)
        self.worker.status.connect(self._on_status)
        self.worker.error.connect(self.show_error)
        self.worker.message.connect(self._on_message)
        self.worker.segments.connect(self._on_segments)
        self.worker.group.connect(self._on_group)
        self.worker.marked.connect(self._on_marked)
        self.thread.start()
        self.mark_button.clicked.connect(self.mark)
        self.mark_shortcut.activated.connect(self.mark)
        self.mark_label.returnPressed.connect(self.mark)

        self.panel.startRequested.connect(self.start_session)
        self.panel.stopRequested.connect(self.stop_session)
        self.panel.recordRequested.connect(self._on_record_toggled)
        self.panel.exportRequested.connect(self.export_csv_dialog)
        self.raw_scale.valueChanged.connect(self.raw_traces.set_scale)
        self.raw_seconds.valueChanged.connect(self.raw_traces.set_seconds)

        self.refresh_timer = QtCore.QTimer(self)
        self.refresh_timer.setInterval(int(math.ceil(1000.0 / MAX_REFRESH_HZ)))
        self.refresh_timer.timeout.connect(self.refresh)
        self.refresh_timer.start()
        self.frames = 0

    # ------------------------------------------------------------------ layout helpers
    @staticmethod
    def _title_label(text: str, shrink: bool = False) -> QtWidgets.QLabel:
        label = QtWidgets.QLabel(text)
        label.setStyleSheet("font-weight: bold; color: #222;")
        if shrink:  # a long title is cut at the panel's edge rather than widening the window
            label.setSizePolicy(QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Preferred)
            label.setToolTip(text)
        return label

    def _set_title(self, label: QtWidgets.QLabel, text: str) -> None:
        label.setText(text)
        label.setToolTip(text)

    def _titled(self, title: str | QtWidgets.QLabel, widget: QtWidgets.QWidget) -> QtWidgets.QWidget:
        box = QtWidgets.QWidget()
        lay = QtWidgets.QVBoxLayout(box)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        lay.addWidget(title if isinstance(title, QtWidgets.QLabel) else self._title_label(title))
        lay.addWidget(widget, 1)
        return box

    def _make_valence_plot(self):
        from .widgets.valence_plot import ValencePlot

        return ValencePlot(window_s=60.0)

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
        self.save_settings()
        self.banner.hide()
        self.last_error = ""
        self.session_steps = []
        self.last_step = None
        self.step_count = 0
        self._latest_raw = None
        self._was_lost = False
        self.group_rows = []
        self.segment_rows = []
        self.marks = []
        self.valence_plot.clear_data()
        self.segment_panel.clear_data()
        self.probabilities.set_probabilities(None)
        self.running = True
        self.panel.set_running(True)
        self.panel.set_calibration(0.0)
        self.status_labels["state"].setText("starting…")
        self.panel.log(f"starting {short_spec(spec)}")
        self.requestStart.emit(SessionRequest(spec=spec, bundle_path=self.settings.bundle_path,
                                              settings=settings, raw_seconds=12.0))

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
        self.status_labels["device"].setText(f"device {info.device.upper()}")
        self.sim_badge.setVisible(info.simulated)
        people = len(info.stream_names)
        text, tip = simulation_text(info.contrasts, people)
        self.sim_badge.setText(text)
        self.sim_badge.setToolTip(tip)
        self.valence_plot.set_people(info.stream_names)
        if people > 1:
            self._set_title(self.valence_title, "Valence (60 s): people thin, group mean thick, 95% interval shaded")
            self._set_title(self.segment_title, "Segments: group mean, 95% interval; dots: each person")
            self._set_title(self.probabilities_title, f"Emotion probabilities: {info.stream_names[0]}")
        else:
            self._set_title(self.valence_title, "Valence (last 60 s)")
            self._set_title(self.segment_title, "Segments: mean valence, 95% interval")
            self._set_title(self.probabilities_title, "Emotion probabilities (FACED stimuli)")
        self.mark_button.setEnabled(True)
        positive = [c in POSITIVE_CLASSES for c in info.class_names]
        if list(info.class_names) != self.probabilities.class_names:
            self.probabilities.set_classes(info.class_names, positive)
        self.panel.export_button.setEnabled(True)
        self.panel.log(f"started: {short_spec(info.spec)} · bundle {info.bundle} · device {info.device}")
        self.show_reliability(info.reliability)

    def show_reliability(self, reliability) -> None:
        """Label the trace with what the valence is worth on new content.

        Parameters
        ----------
        reliability : bci_valence.online.reliability.ValenceReliability or None
            The bundle's measured figures (None or unmeasured: the label says so).
        """
        from bci_valence.online.reliability import ValenceReliability

        rel = reliability if reliability is not None else ValenceReliability()
        self.reliability_label.setText(rel.summary())
        details = rel.details()
        for widget in (self.reliability_label, self.valence_label, self.valence_plot):
            widget.setToolTip(details)
        self.probabilities.setToolTip(rel.probabilities_note())
        self.valence_plot.set_noise_band(rel.noise_sd)

    @QtCore.Slot(str)
    def _on_stopped(self, reason: str) -> None:
        self.running = False
        self.panel.set_running(False)
        self.mark_button.setEnabled(False)
        self.status_labels["state"].setText("stopped" if reason != "error" else "error")
        self.panel.log(f"session {reason}")

    @QtCore.Slot(object)
    def _on_steps(self, steps: list) -> None:
        coords = self.info.class_coordinates if self.info else {}
        first = self.info.stream_names[0] if self.info and self.info.stream_names else None
        several = self.info is not None and len(self.info.stream_names) > 1
        mine = []  # the first person's: probabilities, scalp maps and raw EEG are theirs
        for step in steps:
            self.session_steps.append(step)
            self.step_count += 1
            true_v = coords.get(step.true_label) if step.true_label else None
            self.valence_plot.add_point(float(step.timestamp), float(step.valence), true_v, stream=step.stream)
            if several and step.stream != first:
                continue
            mine.append(step)
            if math.isfinite(step.valence):
                self.last_step = step
        if self.last_step is not None and mine:
            self.probabilities.set_probabilities(self.last_step.probabilities)
            self._topo_dirty = True
        if mine:
            progress = float(mine[-1].calibration_progress)
            self.panel.set_calibration(progress)
            self.valence_plot.set_calibration(progress)

    @QtCore.Slot(object)
    def _on_segments(self, rows: list) -> None:
        self.segment_rows = list(rows)
        self.segment_panel.set_rows(rows)

    @QtCore.Slot(object)
    def _on_group(self, rows: list) -> None:
        self.group_rows.extend(rows)
        del self.group_rows[:-2000]
        self.valence_plot.add_group_rows(rows)

    @QtCore.Slot(object)
    def _on_marked(self, mark: tuple[float, str]) -> None:
        self.marks.append(mark)
        self.panel.log(f"mark {mark[1]!r} at {mark[0]:.3f} (LSL time)")
        self.statusBar().showMessage(f"marked: {mark[1]}", 3000)

    @QtCore.Slot(object)
    def _on_raw(self, snapshot: RawSnapshot) -> None:
        self._latest_raw = snapshot  # only the newest is drawn

    @QtCore.Slot(object)
    def _on_status(self, statuses: list) -> None:
        if not statuses:
            return
        st = statuses[0]
        timing = st.timing
        if timing is not None:  # what the stream really delivers, on this machine's clock
            self.status_labels["rate"].setText(f"{timing.effective_rate:.2f} Hz ({st.sfreq:g} declared)")
            self.status_labels["jitter"].setText(f"jitter {timing.jitter_ms:.0f} ms")
            self.status_labels["rate"].setToolTip(timing.describe())
        else:
            self.status_labels["rate"].setText(f"{st.sfreq:g} Hz" if st.sfreq else "— Hz")
        self.status_labels["lost"].setText(f"lost {st.lost_samples}")
        self.status_labels["gaps"].setText(f"gaps {st.gaps}")
        self.status_labels["channels"].setText(f"channels {st.n_real}/{len(self.channels)} real")
        self.status_labels["device"].setText(f"device {str(st.device).upper()}")
        self._interpolated = tuple(st.interpolated)
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
        self.valence_plot.refresh()
        self.segment_panel.refresh()
        self.probabilities.refresh()
        step = self.last_step
        group = self.group_rows[-1] if self.group_rows and self.valence_plot.group_mode else None
        if group is not None:
            interval = (f"95% {group.ci_low:+.2f} … {group.ci_high:+.2f}, " if math.isfinite(group.ci_low) else "")
            mean = f"{group.mean:+.2f}" if math.isfinite(group.mean) else "—"
            self.valence_label.setText(f"group valence {mean}   ({interval}n = {group.n_streams} of "
                                       f"{len(self.valence_plot.people)})")  # fmt: skip
        elif step is not None and math.isfinite(step.valence) and not self.valence_plot.group_mode:
            self.valence_label.setText(f"valence {step.valence:+.2f}   (smoothed {self.valence_plot.smoothed or 0:+.2f})")
        if step is not None and math.isfinite(step.valence):
            if step.probabilities is not None and self.info is not None:
                best = int(np.argmax(step.probabilities))
                who = f"{step.stream}: " if self.valence_plot.group_mode else ""
                self.class_label.setText(f"{who}most likely: {self.info.class_names[best]} "
                                         f"({100 * float(step.probabilities[best]):.0f} %)")
            else:
                self.class_label.setText("emotions: waiting for 10 s of continuous signal")
            self.status_labels["latency"].setText(f"latency {step.latency_ms:.0f} ms")
        snap = self._latest_raw
        flagged: tuple[str, ...] = ()
        if snap is not None:
            self._latest_raw = None
            flagged = snap.flagged
            states = {n: "interpolated" for n in self._interpolated}
            states.update({n: "flagged" for n in snap.flagged})
            self.raw_traces.set_channel_states(states)
            self.raw_traces.set_data(snap.data, snap.times, snap.names)
            self._flagged = flagged
        self.raw_traces.refresh()
        if self._topo_dirty and step is not None:
            self._topo_dirty = False
            weights = self.info.projection_weights if self.info is not None else None
            self.topomaps.update_maps(step.de_z, weights)
        if self.channels:
            interp = [c in self._interpolated for c in self.channels]
            flag = [c in getattr(self, "_flagged", ()) for c in self.channels]
            self.topomaps.set_channel_states(interp, flag)
        self.frames += 1

    # ------------------------------------------------------------------ export
    def export_csv(self, path: str | Path) -> Path:
        """Write this session's steps to ``path`` (the pipeline's CSV format when available)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        class_names = self.info.class_names if self.info else _default_class_names()
        write_steps_csv(self.session_steps, path, class_names)
        return path

    def export_csv_dialog(self) -> None:
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
        self.settings = self.panel.gui_settings(self.settings)
        from dataclasses import replace

        self.settings = replace(self.settings, raw_scale_uv=float(self.raw_scale.value()),
                                raw_seconds=float(self.raw_seconds.value()))
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
