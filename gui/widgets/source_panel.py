"""Source, bundle and settings controls: builds the parsed source specs the pipeline opens."""

from __future__ import annotations

import threading
from pathlib import Path
from urllib.parse import quote

from .. import qt_compat  # noqa: F401  (before any widget)
from PySide6 import QtCore, QtWidgets  # noqa: E402

from bci_valence.constants import HOP_RANGE_S, NOTCH_CHOICES  # noqa: E402
from bci_valence.signal.montage import ORIGIN_APP, ChannelSpec  # noqa: E402
from bci_valence.streams.spec import SourceSpec, parse_source_spec  # noqa: E402
from ..settings import DEVICE_CHOICES, GuiSettings  # noqa: E402

KIND_SIM, KIND_LSL, KIND_BRAINFLOW, KIND_FILE, KIND_CUSTOM = range(5)
KIND_LABELS = ("Simulated headset", "LSL stream", "BrainFlow board", "Recording file", "Spec")

#: Recording suffixes replayed through ``xdf:`` (the rest through ``file:``, MNE readers).
XDF_SUFFIXES = (".xdf", ".xdfz")
RECORDING_FILTER = "Recordings (*.xdf *.xdfz *.set *.edf *.bdf *.fif *.fif.gz);;All files (*)"

#: BrainFlow connection parameters offered in the panel (spec option names).
BRAINFLOW_PARAMS = ("serial_port", "mac_address", "ip_address", "ip_port", "serial_number", "other_info",
                    "file", "master_board")


def _brainflow_boards() -> list[str]:
    try:
        from brainflow.board_shim import BoardIds
    except Exception:  # noqa: BLE001 - brainflow is a dependency, but stay usable
        return ["synthetic"]
    names = []
    for board in BoardIds:
        if board.name == "NO_BOARD":
            continue  # the playback-file and streaming boards stay: they take file/master_board
        name = board.name.lower()
        names.append(name[: -len("_board")] if name.endswith("_board") else name)
    return names


def _esc(value: str) -> str:
    """Escape ``?``/``&``/``=`` in a spec value (paths with odd characters)."""
    return quote(value, safe="/:\\~._- ()[]+,@")


def discover_lsl_streams(timeout: float = 1.0) -> list[tuple[str, str]]:
    """LSL streams on the network as ``(label, spec)`` pairs (marker streams excluded)."""
    from mne_lsl.lsl import resolve_streams

    found = []
    for info in resolve_streams(timeout=timeout):
        stype = (info.stype or "").lower()
        if "marker" in stype or info.n_channels < 1 or info.sfreq <= 0:
            continue
        label = f"{info.name}  ({info.stype}, {info.n_channels} ch @ {info.sfreq:g} Hz, {info.hostname})"
        spec = f"lsl:source_id={info.source_id}" if info.source_id else f"lsl:name={info.name}"
        found.append((label, spec))
    return found


class SourcePanel(QtWidgets.QWidget):
    """Left-hand control panel.

    Signals
    -------
    startRequested(), stopRequested(), recordRequested(bool), exportRequested(),
    lslDiscovered(list)  (internal: discovery results from a helper thread)
    """

    startRequested = QtCore.Signal()
    stopRequested = QtCore.Signal()
    recordRequested = QtCore.Signal(bool)
    exportRequested = QtCore.Signal()
    lslDiscovered = QtCore.Signal(object)

    def __init__(self, settings: GuiSettings, parent=None):
        super().__init__(parent)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self._source_box(settings))
        layout.addWidget(self._settings_box(settings))
        layout.addWidget(self._session_box())
        layout.addWidget(self._messages_box(), 1)
        self._wire()
        self._discovering = False
        self.set_spec(settings.last_source or "sim:")

    # ------------------------------------------------------------------ building
    def _source_box(self, settings: GuiSettings) -> QtWidgets.QGroupBox:
        """The source's kind, its page, the channel box, the model and the spec line."""
        box = QtWidgets.QGroupBox("Source")
        form = QtWidgets.QVBoxLayout(box)
        self.kind = QtWidgets.QComboBox()
        self.kind.addItems(KIND_LABELS)
        form.addWidget(self.kind)
        self.pages = QtWidgets.QStackedWidget()
        form.addWidget(self.pages)
        self._add_stream_pages()
        self._add_file_pages(settings)

        # relabelling, for every kind of source (the spec's channels= option)
        channels_row = QtWidgets.QHBoxLayout()
        self.channels = QtWidgets.QLineEdit()
        self.channels.setPlaceholderText("stream's own labels")
        self.channels.setToolTip(
            "Relabel this source's channels: 'Fp1,Fp2,...' in stream order, or an MNE montage "
            "name such as biosemi16. Trigger channels (Status) keep their own label."
        )
        channels_row.addWidget(QtWidgets.QLabel("channels"))
        channels_row.addWidget(self.channels)
        form.addLayout(channels_row)

        bundle_row = QtWidgets.QHBoxLayout()
        self.bundle_path = QtWidgets.QLineEdit(settings.bundle_path)
        self.bundle_path.setPlaceholderText("shipped default bundle")
        self.bundle_browse = QtWidgets.QPushButton("…")
        self.bundle_browse.setFixedWidth(28)
        bundle_row.addWidget(QtWidgets.QLabel("model"))
        bundle_row.addWidget(self.bundle_path)
        bundle_row.addWidget(self.bundle_browse)
        form.addLayout(bundle_row)
        self.spec_label = QtWidgets.QLabel()
        self.spec_label.setWordWrap(True)
        self.spec_label.setStyleSheet("color: #555;")
        self.spec_label.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        # a long spec (a list of sources) wraps at its spaces and is cut there, never widening
        # the panel past its scroll area; the tooltip holds it whole
        self.spec_label.setSizePolicy(QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Preferred)
        form.addWidget(self.spec_label)
        return box

    def _add_stream_pages(self) -> None:
        """The simulated headset's, the LSL stream's and the BrainFlow board's pages."""
        sim = QtWidgets.QLabel("SIMULATED 32-channel FACED headset\n(scripted emotions, real time)")
        sim.setWordWrap(True)
        self.pages.addWidget(sim)

        lsl = QtWidgets.QWidget()
        lsl_l = QtWidgets.QGridLayout(lsl)
        lsl_l.setContentsMargins(0, 0, 0, 0)
        self.lsl_streams = QtWidgets.QComboBox()
        self.lsl_streams.setSizeAdjustPolicy(QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.lsl_streams.setMinimumContentsLength(16)
        self.lsl_refresh = QtWidgets.QPushButton("Refresh")
        self.lsl_name = QtWidgets.QLineEdit()
        self.lsl_name.setPlaceholderText("or a stream name")
        lsl_l.addWidget(self.lsl_streams, 0, 0)
        lsl_l.addWidget(self.lsl_refresh, 0, 1)
        lsl_l.addWidget(self.lsl_name, 1, 0, 1, 2)
        self.pages.addWidget(lsl)

        bf = QtWidgets.QWidget()
        bf_l = QtWidgets.QFormLayout(bf)
        bf_l.setContentsMargins(0, 0, 0, 0)
        self.board = QtWidgets.QComboBox()
        self.board.addItems(_brainflow_boards())
        self.board.setCurrentText("synthetic")
        bf_l.addRow("board", self.board)
        self.board_params: dict[str, QtWidgets.QLineEdit] = {}
        for name in BRAINFLOW_PARAMS:
            edit = QtWidgets.QLineEdit()
            self.board_params[name] = edit
            bf_l.addRow(name.replace("_", " "), edit)
        self.pages.addWidget(bf)

    def _add_file_pages(self, settings: GuiSettings) -> None:
        """The recording's page and the Spec page (any spec, several sources)."""
        rec = QtWidgets.QWidget()
        rec_l = QtWidgets.QGridLayout(rec)
        rec_l.setContentsMargins(0, 0, 0, 0)
        self.file_path = QtWidgets.QLineEdit()
        self.file_path.setPlaceholderText("XDF, EEGLAB, EDF, BDF, FIF")
        self.file_browse = QtWidgets.QPushButton("Open…")
        self.speed = QtWidgets.QDoubleSpinBox()
        self.speed.setRange(0.1, 64.0)
        self.speed.setDecimals(2)
        self.speed.setSingleStep(0.5)
        self.speed.setSuffix(" ×")
        self.speed.setValue(settings.replay_speed)
        self.loop = QtWidgets.QCheckBox("loop")
        self.raw_stamps = QtWidgets.QCheckBox("recorded timestamps")
        self.raw_stamps.setToolTip(
            "XDF: replay each sample with the timestamp it was recorded with, jitter and all "
            "(dejitter=0), so the replay sees what the live run saw"
        )
        rec_l.addWidget(self.file_path, 0, 0)
        rec_l.addWidget(self.file_browse, 0, 1)
        rec_l.addWidget(QtWidgets.QLabel("speed"), 1, 0)
        rec_l.addWidget(self.speed, 1, 1)
        rec_l.addWidget(self.loop, 2, 0)
        rec_l.addWidget(self.raw_stamps, 2, 1)
        self.pages.addWidget(rec)

        self.custom_spec = QtWidgets.QLineEdit()
        self.custom_spec.setPlaceholderText("e.g. lsl:type=EEG, sim:script=joy:20 (several people: spec; spec)")
        self.pages.addWidget(self.custom_spec)

    def _settings_box(self, settings: GuiSettings) -> QtWidgets.QGroupBox:
        """Hop, notch, calibration and device."""
        sbox = QtWidgets.QGroupBox("Settings")
        sform = QtWidgets.QFormLayout(sbox)
        self.hop = QtWidgets.QDoubleSpinBox()
        self.hop.setRange(*HOP_RANGE_S)
        self.hop.setSingleStep(0.05)
        self.hop.setSuffix(" s")
        self.hop.setValue(settings.pipeline.hop_s)
        self.notch = QtWidgets.QComboBox()
        for hz in NOTCH_CHOICES:  # the mains frequencies the filter takes, 0 for none
            self.notch.addItem(f"{hz:g} Hz" if hz else "off", float(hz))
        self.notch.setCurrentIndex(max(0, self.notch.findData(float(settings.pipeline.filter.notch_hz or 0.0))))
        self.calibration = QtWidgets.QDoubleSpinBox()
        self.calibration.setRange(0.0, 3600.0)
        self.calibration.setDecimals(0)
        self.calibration.setSuffix(" s")
        self.calibration.setValue(settings.pipeline.calibration.seconds)
        self.device = QtWidgets.QComboBox()
        self.device.addItems(DEVICE_CHOICES)
        self.device.setCurrentText(settings.pipeline.compute.device)
        sform.addRow("hop", self.hop)
        sform.addRow("notch", self.notch)
        sform.addRow("calibration", self.calibration)
        sform.addRow("device", self.device)
        return sbox

    def _session_box(self) -> QtWidgets.QGroupBox:
        """Start, stop, calibration progress, recording and export."""
        cbox = QtWidgets.QGroupBox("Session")
        clay = QtWidgets.QGridLayout(cbox)
        self.start_button = QtWidgets.QPushButton("Start")
        self.stop_button = QtWidgets.QPushButton("Stop")
        self.stop_button.setEnabled(False)
        self.calibration_bar = QtWidgets.QProgressBar()
        self.calibration_bar.setRange(0, 100)
        self.calibration_bar.setValue(0)
        self.calibration_bar.setFormat("calibration %p %")
        self.record_button = QtWidgets.QPushButton("Record XDF…")
        self.record_button.setCheckable(True)
        self.record_button.setEnabled(False)
        self.export_button = QtWidgets.QPushButton("Export CSV…")
        self.export_button.setEnabled(False)
        clay.addWidget(self.start_button, 0, 0)
        clay.addWidget(self.stop_button, 0, 1)
        clay.addWidget(self.calibration_bar, 1, 0, 1, 2)
        clay.addWidget(self.record_button, 2, 0)
        clay.addWidget(self.export_button, 2, 1)
        return cbox

    def _messages_box(self) -> QtWidgets.QGroupBox:
        """The message log."""
        mbox = QtWidgets.QGroupBox("Messages")
        mlay = QtWidgets.QVBoxLayout(mbox)
        self.messages = QtWidgets.QPlainTextEdit()
        self.messages.setReadOnly(True)
        self.messages.setMaximumBlockCount(500)
        mlay.addWidget(self.messages)
        return mbox

    def _wire(self) -> None:
        """Connect the controls: any change redraws the spec line."""
        self.kind.currentIndexChanged.connect(self._show_page)
        self.kind.currentIndexChanged.connect(self._update_spec_label)
        for edit in (self.lsl_name, self.file_path, self.custom_spec, self.channels, *self.board_params.values()):
            edit.textChanged.connect(self._update_spec_label)
        self.lsl_streams.currentIndexChanged.connect(self._update_spec_label)
        self.board.currentIndexChanged.connect(self._update_spec_label)
        self.speed.valueChanged.connect(self._update_spec_label)
        self.loop.toggled.connect(self._update_spec_label)
        self.raw_stamps.toggled.connect(self._update_spec_label)
        self.lsl_refresh.clicked.connect(self.refresh_lsl)
        self.lslDiscovered.connect(self._fill_lsl)
        self.file_browse.clicked.connect(self._browse_file)
        self.bundle_browse.clicked.connect(self._browse_bundle)
        self.start_button.clicked.connect(self.startRequested)
        self.stop_button.clicked.connect(self.stopRequested)
        self.record_button.toggled.connect(self.recordRequested)
        self.export_button.clicked.connect(self.exportRequested)


    # ------------------------------------------------------------------ spec
    def spec(self) -> str:
        """The source spec for the current choices, as text (with ``channels=`` when relabelled).

        The text is what the window shows and saves; the pipeline gets
        :meth:`source_specs`, whose relabelling is the channel box's own parsed object.
        """
        base = self._base_spec()
        labels = self.channels.text().strip()
        if not base or not labels or self.kind.currentIndex() == KIND_CUSTOM:
            return base
        option = f"channels={_esc(labels)}"
        if "?" in base:
            return f"{base}&{option}"
        if base.endswith(":"):  # sim: (an empty body)
            return f"{base}{option}"
        return f"{base}?{option}"

    def channel_spec(self) -> ChannelSpec | None:
        """The channel box, parsed once here (None when empty); its errors name the box.

        Raises
        ------
        bci_valence.signal.montage.ChannelMappingError
            A label given twice, an empty one.
        """
        text = self.channels.text().strip()
        if not text or self.kind.currentIndex() == KIND_CUSTOM:
            return None
        return ChannelSpec.parse(text, origin=ORIGIN_APP)

    def source_specs(self) -> tuple[SourceSpec, ...]:
        """The parsed source specs to open, one per person.

        A page's spec carries the channel box as a :class:`ChannelSpec` object, never
        written into the text and read back; the Spec page's text is parsed as typed
        (its ``channels=`` options included).

        Raises
        ------
        ValueError
            A bad spec (:class:`~bci_valence.streams.errors.SourceSpecError`) or a bad
            relabelling (:class:`~bci_valence.signal.montage.ChannelMappingError`).
        """
        from .source_list import split_specs

        base = self._base_spec()
        if self.kind.currentIndex() == KIND_CUSTOM:
            return tuple(parse_source_spec(part) for part in split_specs(base))
        if not base:
            return ()
        return (parse_source_spec(base).with_channels(self.channel_spec()),)

    def _base_spec(self) -> str:
        """The spec of the chosen source, without the relabelling."""
        kind = self.kind.currentIndex()
        if kind == KIND_SIM:
            return "sim:"
        if kind == KIND_LSL:
            name = self.lsl_name.text().strip()
            if name:
                return name if name.startswith("lsl:") else f"lsl:name={_esc(name)}"
            data = self.lsl_streams.currentData()
            return data or "lsl:type=EEG"
        if kind == KIND_BRAINFLOW:
            opts = [f"{k}={_esc(e.text().strip())}" for k, e in self.board_params.items() if e.text().strip()]
            board = self.board.currentText() or "synthetic"
            return f"brainflow:{board}" + (f"?{'&'.join(opts)}" if opts else "")
        if kind == KIND_FILE:
            path = self.file_path.text().strip()
            if not path:
                return ""
            prefix = "xdf" if path.lower().endswith(XDF_SUFFIXES) else "file"
            opts = [f"speed={self.speed.value():g}"]
            if self.loop.isChecked():
                opts.append("loop=1")
            if prefix == "xdf" and self.raw_stamps.isChecked():
                opts.append("dejitter=0")
            return f"{prefix}:{_esc(path)}?{'&'.join(opts)}"
        return self.custom_spec.text().strip()

    def set_spec(self, spec: str) -> None:
        """Show ``spec`` in the matching page (unrecognised specs, and lists of several
        sources, go to the Spec page)."""
        from .source_list import split_specs

        spec = original = (spec or "").strip()
        if len(split_specs(spec)) > 1:
            self.channels.setText("")
            self.custom_spec.setText(original)
            self.kind.setCurrentIndex(KIND_CUSTOM)
            self._show_page(KIND_CUSTOM)
            self._update_spec_label()
            return
        try:
            parsed = parse_source_spec(spec)
        except Exception:  # noqa: BLE001 - keep it as a custom spec
            parsed = None
        self.channels.setText("")
        if parsed is not None and parsed.channels is not None:
            # the relabelling has its own box; the rest picks the page
            self.channels.setText(parsed.channels.text)
            parsed = parsed.with_channels(None)
        if parsed is None:
            self.channels.setText("")
            self.custom_spec.setText(original)
            self.kind.setCurrentIndex(KIND_CUSTOM)
        elif parsed.kind == "sim" and not parsed.options:
            self.kind.setCurrentIndex(KIND_SIM)
        elif parsed.kind == "lsl" and parsed.get("name") and len(parsed.options) == 1:
            self.lsl_name.setText(parsed.get("name") or "")
            self.kind.setCurrentIndex(KIND_LSL)
        elif parsed.kind == "brainflow" and set(parsed.params) <= set(BRAINFLOW_PARAMS):
            self.board.setCurrentText(str(parsed.target or "synthetic").lower())
            for key, edit in self.board_params.items():
                edit.setText(parsed.get(key, "") or "")
            self.kind.setCurrentIndex(KIND_BRAINFLOW)
        elif parsed.kind in ("xdf", "file") and set(parsed.params) <= {"speed", "loop", "dejitter"} and \
                parsed.get("speed", "1").replace(".", "", 1).isdigit():
            self.file_path.setText(parsed.target)
            self.speed.setValue(float(parsed.get("speed", "1")))
            self.loop.setChecked(parsed.get_bool("loop"))
            self.raw_stamps.setChecked(not parsed.get_bool("dejitter", True))
            self.kind.setCurrentIndex(KIND_FILE)
        else:  # the Spec page takes the spec whole, its relabelling included
            self.channels.setText("")
            self.custom_spec.setText(original)
            self.kind.setCurrentIndex(KIND_CUSTOM)
        self._show_page(self.kind.currentIndex())
        self._update_spec_label()

    def _show_page(self, index: int) -> None:
        """Show one page; the hidden ones take no room (the stack fits the current page)."""
        policy = QtWidgets.QSizePolicy.Policy
        for i in range(self.pages.count()):
            page = self.pages.widget(i)
            if i == index:
                page.setSizePolicy(policy.Preferred, policy.Preferred)
            else:
                page.setSizePolicy(policy.Ignored, policy.Ignored)
            page.adjustSize()
        self.pages.setCurrentIndex(index)
        self.pages.adjustSize()

    def _update_spec_label(self, *_args) -> None:
        spec = self.spec()
        problem = self.spec_problem()
        if problem:
            self.spec_label.setStyleSheet("color: #a01010;")
            self.spec_label.setText(f"spec: {spec}\n{problem}")
            self.spec_label.setToolTip(f"{spec}\n{problem}")
            return
        self.spec_label.setStyleSheet("color: #555;")
        self.spec_label.setText(f"spec: {spec}" if spec else "spec: (choose a recording)")
        self.spec_label.setToolTip(spec)

    def spec_problem(self) -> str:
        """What is wrong with the current choices (a bad relabelling, a bad option), or ``""``."""
        if not self.spec():
            return ""
        try:
            self.source_specs()
        except ValueError as err:
            return str(err)
        return ""

    # ------------------------------------------------------------------ settings
    def gui_settings(self, base: GuiSettings) -> GuiSettings:
        """``base`` updated with the panel's values."""
        from dataclasses import replace

        notch = float(self.notch.currentData()) or None
        pipeline = base.pipeline
        pipeline = replace(
            pipeline,
            hop_s=round(self.hop.value(), 3),
            filter=replace(pipeline.filter, notch_hz=notch),
            calibration=replace(pipeline.calibration, seconds=float(self.calibration.value())),
            compute=replace(pipeline.compute, device=self.device.currentText()),
        )
        return replace(
            base,
            pipeline=pipeline,
            bundle_path=self.bundle_path.text().strip(),
            replay_speed=float(self.speed.value()),
            last_source=self.spec() or base.last_source,
        )

    def set_running(self, running: bool) -> None:
        """Enable/disable the controls for a running session."""
        for w in (self.kind, self.pages, self.bundle_path, self.bundle_browse, self.hop,
                  self.notch, self.calibration, self.device, self.start_button):
            w.setEnabled(not running)
        self.stop_button.setEnabled(running)
        self.record_button.setEnabled(running)
        if not running and self.record_button.isChecked():
            self.record_button.blockSignals(True)
            self.record_button.setChecked(False)
            self.record_button.blockSignals(False)

    def set_calibration(self, progress: float) -> None:
        self.calibration_bar.setValue(int(round(100 * max(0.0, min(1.0, progress)))))
        self.calibration_bar.setFormat("calibrated" if progress >= 1.0 else "calibration %p %")

    def log(self, text: str) -> None:
        """Append a line to the message log."""
        stamp = QtCore.QTime.currentTime().toString("HH:mm:ss")
        self.messages.appendPlainText(f"{stamp}  {text}")

    # ------------------------------------------------------------------ helpers
    def refresh_lsl(self) -> None:
        """Look for LSL streams in a helper thread (1 s) and fill the list."""
        if self._discovering:
            return
        self._discovering = True
        self.lsl_refresh.setEnabled(False)
        self.lsl_refresh.setText("…")

        def work() -> None:
            try:
                found = discover_lsl_streams()
            except Exception as err:  # noqa: BLE001
                found = err
            self.lslDiscovered.emit(found)

        threading.Thread(target=work, name="lsl-discovery", daemon=True).start()

    @QtCore.Slot(object)
    def _fill_lsl(self, found) -> None:
        self._discovering = False
        self.lsl_refresh.setEnabled(True)
        self.lsl_refresh.setText("Refresh")
        if isinstance(found, Exception):
            self.log(f"LSL discovery failed: {found}")
            return
        current = self.lsl_streams.currentData()
        self.lsl_streams.clear()
        for label, spec in found:
            self.lsl_streams.addItem(label, spec)
        if not found:
            self.lsl_streams.addItem("(no LSL stream found)", None)
        idx = self.lsl_streams.findData(current)
        if idx >= 0:
            self.lsl_streams.setCurrentIndex(idx)
        self.log(f"LSL: {len(found)} stream(s) found")

    def _browse_file(self) -> None:
        start = str(Path(self.file_path.text()).parent) if self.file_path.text() else ""
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Open a recording", start, RECORDING_FILTER)
        if path:
            self.file_path.setText(path)
            self.kind.setCurrentIndex(KIND_FILE)

    def _browse_bundle(self) -> None:
        path = QtWidgets.QFileDialog.getExistingDirectory(self, "Model bundle folder")
        if path:
            self.bundle_path.setText(path)
