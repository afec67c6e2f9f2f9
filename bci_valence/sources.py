"""EEG sources behind one interface and one spec syntax.

Spec syntax (command line and API alike), ``KIND:BODY?KEY=VALUE&KEY=VALUE``::

    lsl:name=MyEEG              an LSL stream by name (``lsl:MyEEG`` is the same)
    lsl:type=EEG                ... by type
    lsl:source_id=abc           ... by source_id (criteria combine: name=X&type=EEG)
    brainflow:synthetic         BrainFlow's synthetic board (no hardware)
    brainflow:cyton?serial_port=/dev/ttyUSB0
    brainflow:board_id=0&serial_port=/dev/ttyUSB0
    xdf:path/to/file.xdf?speed=2&loop=1
    xdf:path/to/file.xdf?speed=max        as fast as possible, no LSL (ArraySource)
    file:path/to/rec.set?speed=1          anything MNE reads (EEGLAB, EDF, BDF, FIF...)
    sim:                                  the simulated 32-channel FACED headset
    sim:script=joy:20,anger:20&rate=250&seed=1&contrast=3&noise=0.5

A bare path (``rec.xdf``, ``rec.edf``) is accepted as ``xdf:``/``file:``.

Every source yields :class:`Chunk` objects of float64 samples. ``Source.unit`` says
``"V"`` when the values are volts (the stream or file stated a voltage unit) and
``"unknown"`` when they are the stream's own values (e.g. an LSL stream without
``<unit>`` in its channel description, or the OpenBCI XDF recording).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

if TYPE_CHECKING:
    from .recordings import Recording

logger = logging.getLogger(__name__)

__all__ = [
    "ArraySource",
    "BrainFlowSource",
    "Chunk",
    "LSLSource",
    "Source",
    "SourceError",
    "SourceSpec",
    "SourceSpecError",
    "open_source",
    "parse_source_spec",
    "SOURCE_KINDS",
]

# --------------------------------------------------------------------------- specs
#: Source kinds and the option keys each accepts.
SOURCE_KINDS: dict[str, tuple[str, ...]] = {
    "lsl": ("name", "type", "source_id", "timeout", "markers"),
    "brainflow": (
        "board",
        "board_id",
        "serial_port",
        "mac_address",
        "ip_address",
        "ip_address_aux",
        "ip_address_anc",
        "ip_port",
        "ip_port_aux",
        "ip_port_anc",
        "ip_protocol",
        "other_info",
        "timeout",
        "serial_number",
        "file",
        "file_aux",
        "file_anc",
        "master_board",
    ),
    "xdf": ("speed", "loop", "stream", "chunk", "timeout", "allow_truncated"),
    "file": ("speed", "loop", "chunk", "timeout"),
    "sim": ("script", "rate", "seed", "contrast", "noise", "name", "timeout"),
}

_SYNTAX = (
    "expected KIND:BODY?KEY=VALUE&..., e.g. 'lsl:name=MyEEG', 'lsl:type=EEG', "
    "'brainflow:synthetic', 'brainflow:cyton?serial_port=/dev/ttyUSB0', "
    "'xdf:rec.xdf?speed=2&loop=1', 'file:rec.set?speed=max', 'sim:script=joy:20,anger:20'"
)
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


class SourceSpecError(ValueError):
    """A source spec that cannot be parsed; the message names it and the expected form."""


class SourceError(RuntimeError):
    """A source that cannot be opened or read (stream not found, board not answering...)."""


@dataclass(frozen=True)
class SourceSpec:
    """A parsed source spec.

    Attributes
    ----------
    kind : str
        ``"lsl"``, ``"brainflow"``, ``"xdf"``, ``"file"`` or ``"sim"``.
    target : str
        The file path (xdf/file), the board name or id (brainflow), else ``""``.
    options : tuple of (str, str)
        The ``KEY=VALUE`` options, in the order given.
    """

    kind: str
    target: str = ""
    options: tuple[tuple[str, str], ...] = ()

    @property
    def params(self) -> dict[str, str]:
        """Options as a dict."""
        return dict(self.options)

    def get(self, key: str, default: str | None = None) -> str | None:
        """The value of option ``key``, or ``default``."""
        return self.params.get(key, default)

    def get_float(self, key: str, default: float | None = None) -> float | None:
        """Option ``key`` as a float (:class:`SourceSpecError` when not a number)."""
        value = self.get(key)
        if value is None:
            return default
        try:
            return float(value)
        except ValueError:
            raise SourceSpecError(f"source {self}: {key}={value!r} is not a number") from None

    def get_bool(self, key: str, default: bool = False) -> bool:
        """Option ``key`` as a bool (1/0, true/false, yes/no, on/off)."""
        value = self.get(key)
        if value is None:
            return default
        if value.lower() in _TRUE:
            return True
        if value.lower() in _FALSE:
            return False
        raise SourceSpecError(f"source {self}: {key}={value!r} is not a boolean (expected 1 or 0)")

    @property
    def speed(self) -> float | None:
        """Replay speed factor for xdf/file specs: None means ``max`` (no LSL)."""
        value = self.get("speed", "1")
        if value is not None and value.lower() in ("max", "inf", "fast"):
            return None
        return self.get_float("speed", 1.0)

    def __str__(self) -> str:
        body = self.target
        query = "&".join(f"{k}={v}" for k, v in self.options)
        if query:
            return f"{self.kind}:{body}?{query}" if body else f"{self.kind}:{query}"
        return f"{self.kind}:{body}"


def parse_source_spec(spec: str | SourceSpec) -> SourceSpec:
    """Parse a source spec string (see the module docstring for the syntax).

    Parameters
    ----------
    spec : str or SourceSpec
        E.g. ``"lsl:type=EEG"``, ``"xdf:rec.xdf?speed=4"``. A SourceSpec is returned
        unchanged.

    Returns
    -------
    SourceSpec

    Raises
    ------
    SourceSpecError
        Unknown kind or option, missing path/board/stream criterion, bad value.
    """
    if isinstance(spec, SourceSpec):
        return spec
    if not isinstance(spec, str) or not spec.strip():
        raise SourceSpecError(f"empty source spec {spec!r}: {_SYNTAX}")
    text = spec.strip()
    kind, sep, rest = text.partition(":")
    kind = kind.lower()
    if not sep or kind not in SOURCE_KINDS:
        # a bare recording path
        lowered = text.lower().split("?", 1)[0]
        if lowered.endswith((".xdf", ".xdfz", ".xdf.gz")):
            kind, rest = "xdf", text
        elif "." in Path(lowered).name and (Path(text.split("?", 1)[0]).exists() or not sep):
            kind, rest = "file", text
        else:
            raise SourceSpecError(
                f"unknown source kind {kind!r} in {spec!r}: expected one of "
                f"{', '.join(SOURCE_KINDS)}; {_SYNTAX}"
            )
    body, _, query = rest.partition("?")
    options: list[tuple[str, str]] = []
    target = ""

    def add_pairs(text_pairs: str) -> None:
        for pair in filter(None, text_pairs.split("&")):
            key, eq, value = pair.partition("=")
            key = key.strip().lower()
            if not eq or not key:
                raise SourceSpecError(
                    f"source {spec!r}: option {pair!r} is not KEY=VALUE; {_SYNTAX}"
                )
            options.append((key, value.strip()))

    if kind in ("xdf", "file"):
        target = body.strip()
        if not target:
            raise SourceSpecError(f"source {spec!r}: the {kind}: spec needs a file path; {_SYNTAX}")
    elif kind == "lsl":
        if body and "=" not in body:
            options.append(("name", body.strip()))
        else:
            add_pairs(body)
    elif kind == "brainflow":
        if body and "=" not in body:
            target = body.strip()
        else:
            add_pairs(body)
    else:  # sim
        add_pairs(body)
    add_pairs(query)

    allowed = SOURCE_KINDS[kind]
    for key, value in options:
        if key not in allowed:
            raise SourceSpecError(
                f"source {spec!r}: unknown option {key!r} for {kind}: (allowed: {', '.join(allowed)})"
            )
    keys = [k for k, _ in options]
    dup = {k for k in keys if keys.count(k) > 1}
    if dup:
        raise SourceSpecError(f"source {spec!r}: option(s) {sorted(dup)} given twice")
    params = dict(options)
    if kind == "lsl" and not any(params.get(k) for k in ("name", "type", "source_id")):
        raise SourceSpecError(
            f"source {spec!r}: an lsl: spec needs name=, type= or source_id= "
            "(run 'bci-valence streams' to list the streams on the network)"
        )
    if kind == "brainflow":
        board = target or params.get("board") or params.get("board_id")
        if not board:
            raise SourceSpecError(
                f"source {spec!r}: a brainflow: spec needs a board name or board_id "
                "(e.g. 'brainflow:synthetic', 'brainflow:board_id=0&serial_port=COM3')"
            )
        if target and ("board" in params or "board_id" in params):
            raise SourceSpecError(f"source {spec!r}: board given twice")
        for key in ("ip_port", "ip_port_aux", "ip_port_anc", "ip_protocol", "timeout", "master_board"):
            if key in params:
                try:
                    int(params[key])
                except ValueError:
                    raise SourceSpecError(
                        f"source {spec!r}: {key}={params[key]!r} must be an integer"
                    ) from None
    result = SourceSpec(kind=kind, target=target, options=tuple(options))
    if kind in ("xdf", "file"):
        speed = result.speed
        if speed is not None and not (speed > 0 and np.isfinite(speed)):
            raise SourceSpecError(f"source {spec!r}: speed must be > 0 or 'max', got {speed}")
        result.get_bool("loop")
        if "chunk" in params:
            chunk = result.get_float("chunk")
            if chunk is None or chunk < 1 or chunk != int(chunk):
                raise SourceSpecError(f"source {spec!r}: chunk must be a positive integer (samples)")
    for key in ("timeout", "rate", "contrast", "noise", "seed"):
        if key in params and kind != "brainflow":
            value = result.get_float(key)
            if key not in ("seed", "noise") and value is not None and value <= 0:
                raise SourceSpecError(f"source {spec!r}: {key} must be > 0, got {value}")
            if key == "noise" and value is not None and value < 0:
                raise SourceSpecError(f"source {spec!r}: {key} must be >= 0, got {value}")
    if kind == "lsl":
        result.get_bool("markers", True)
    if kind == "sim" and "script" in params:
        from .simulate import parse_script  # validates class names and durations

        try:
            parse_script(params["script"])
        except ValueError as err:
            raise SourceSpecError(f"source {spec!r}: {err}") from None
    return result


# --------------------------------------------------------------------------- interface
@dataclass(frozen=True)
class Chunk:
    """New samples from a source.

    Attributes
    ----------
    data : ndarray, shape (n_channels, n_samples), float64
        Samples (volts when the source's ``unit`` is ``"V"``).
    timestamps : ndarray, shape (n_samples,), float64
        Time of each sample: this machine's LSL clock (:func:`mne_lsl.lsl.local_clock`)
        for live sources, the file's clock for :class:`ArraySource`.
    """

    data: np.ndarray
    timestamps: np.ndarray

    @property
    def n_samples(self) -> int:
        """Number of samples."""
        return int(self.timestamps.shape[0])


class Player(Protocol):
    """What a source needs from a player/simulator it owns (see :mod:`.players`)."""

    name: str
    source_id: str

    def start(self) -> Any: ...

    def stop(self) -> Any: ...

    @property
    def finished(self) -> bool: ...


class Source(ABC):
    """Common interface the pipeline consumes.

    ``name``, ``ch_names``, ``ch_types``, ``sfreq``, ``unit`` and ``simulated`` are
    known once :meth:`start` returned. Use as a context manager
    (``with open_source(spec) as src:``) to start and stop it.

    Attributes
    ----------
    name : str
        Human-readable name (stream name, board name, file name).
    ch_names : list of str
        Channel labels, ``""`` where the source has none (caller must relabel).
    ch_types : list of str
        Channel types (``"eeg"`` unless the source says otherwise).
    sfreq : float
        Nominal sampling rate (Hz).
    unit : str
        ``"V"`` (data in volts) or ``"unknown"`` (the source's own values).
    simulated : bool
        True for the simulated headset (its stream info says ``simulated=true``).
    """

    name: str = ""
    ch_names: list[str]
    ch_types: list[str]
    sfreq: float = 0.0
    unit: str = "unknown"
    simulated: bool = False

    def __init__(self) -> None:
        self.ch_names = []
        self.ch_types = []

    @abstractmethod
    def start(self) -> None:
        """Connect / open; blocks until the channel layout is known."""

    @abstractmethod
    def read(self) -> Chunk | None:
        """All samples that arrived since the last call (non-blocking); None if none."""

    def read_markers(self) -> list[tuple[float, str]]:
        """Markers that arrived since the last call, as (timestamp, label)."""
        return []

    @abstractmethod
    def stop(self) -> None:
        """Disconnect and release everything (idempotent)."""

    @property
    @abstractmethod
    def connected(self) -> bool:
        """Whether samples can currently arrive."""

    @property
    def finished(self) -> bool:
        """True when a finite source (replay without loop) has delivered everything."""
        return False

    @property
    def status(self) -> str:
        """One line describing the state, for logs and the GUI."""
        state = "connected" if self.connected else "disconnected"
        if self.finished:
            state = "finished"
        sim = " [SIMULATED]" if self.simulated else ""
        return f"{self.name}: {len(self.ch_names)} ch @ {self.sfreq:g} Hz, {state}{sim}"

    @property
    def labeled(self) -> bool:
        """Whether every channel has a label."""
        return bool(self.ch_names) and all(self.ch_names)

    def __enter__(self) -> Source:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.status}>"


# --------------------------------------------------------------------------- LSL
def _is_simulated(sinfo: Any) -> bool:
    try:
        value = sinfo.desc.child_value("simulated")
    except Exception:  # noqa: BLE001 - desc access differs across versions
        return False
    return str(value).strip().lower() in _TRUE


def _describe(sinfo: Any) -> str:
    return (
        f"{sinfo.name!r} (type {sinfo.stype!r}, {sinfo.n_channels} ch @ {sinfo.sfreq:g} Hz, "
        f"source_id {sinfo.source_id!r}, host {sinfo.hostname!r})"
    )


class LSLSource(Source):
    """An LSL stream read with :class:`mne_lsl.lsl.StreamInlet` ``pull_chunk``.

    Every sample is delivered exactly once, in order: the inlet's own buffer
    (``max_buffered`` seconds) holds samples between :meth:`read` calls.
    Timestamps are mapped to this machine's LSL clock (``clocksync``).

    A monitor thread watches the stream: when no sample arrived for ``stale_s`` it
    checks whether the stream is still on the network; when it is gone (or replaced
    by a new outlet) the source logs the loss, ``connected`` becomes False, and it
    waits for a stream matching the same criteria, reconnecting and logging the gap
    (``gaps`` lists them as (lost, back) LSL times). Markers come from a companion
    stream: same name + ``-markers``/``-annotations``, or source_id + ``-markers``,
    or an irregular stream sharing the source_id.

    Parameters
    ----------
    name, stype, source_id : str, optional
        Criteria; at least one.
    timeout : float
        Seconds :meth:`start` waits for the stream.
    reconnect : bool
        Wait for and reconnect a lost stream (else stay disconnected).
    stale_s : float
        Seconds without samples before checking that the stream still exists.
    markers : bool
        Look for a companion marker stream.
    max_buffered : float
        Seconds the inlet buffers between reads.
    players : sequence of Player
        Players/simulators this source owns: started by :meth:`start` before
        connecting, stopped by :meth:`stop`.
    """

    def __init__(
        self,
        name: str | None = None,
        stype: str | None = None,
        source_id: str | None = None,
        *,
        timeout: float = 10.0,
        reconnect: bool = True,
        stale_s: float = 1.0,
        markers: bool = True,
        max_buffered: float = 360.0,
        players: Sequence[Player] = (),
    ) -> None:
        super().__init__()
        if not any((name, stype, source_id)):
            raise ValueError("LSLSource needs a name, stype or source_id")
        self.criteria = {"name": name, "stype": stype, "source_id": source_id}
        self.name = name or source_id or stype or ""
        self.timeout = float(timeout)
        self.reconnect = reconnect
        self.stale_s = float(stale_s)
        self.want_markers = markers
        self.max_buffered = float(max_buffered)
        self.players = list(players)
        self.stream_source_id = ""
        self.stream_uid = ""
        self.hostname = ""
        self.n_channels = 0
        self.gaps: list[tuple[float, float]] = []
        self.n_samples_read = 0
        self._scale = 1.0
        self._inlet: Any = None
        self._marker_inlet: Any = None
        self._lock = threading.Lock()
        self._stop_event = threading.Event()
        self._monitor: threading.Thread | None = None
        self._started = False
        self._lost_at: float | None = None
        self._last_activity = 0.0
        self._last_marker_search = 0.0
        self._sinfo: Any = None
        self._status_note = ""
        self._exhausted = False

    # -- helpers
    def _criteria_text(self) -> str:
        return ", ".join(f"{k}={v!r}" for k, v in self.criteria.items() if v)

    def _resolve(self, timeout: float) -> Any | None:
        from mne_lsl.lsl import resolve_streams

        found = [
            s
            for s in resolve_streams(timeout=timeout, **self.criteria)
            if s.sfreq > 0 and s.dtype is not str and str(s.dtype) != "string"
        ]
        if not found:
            return None
        if len(found) > 1:
            logger.warning(
                "%d LSL streams match %s; using the newest: %s",
                len(found),
                self._criteria_text(),
                "; ".join(_describe(s) for s in found),
            )
        return max(found, key=lambda s: s.created_at)

    def _open(self, sinfo: Any) -> bool:
        """Open an inlet on ``sinfo``; False when its layout differs from the first."""
        from mne_lsl.lsl import StreamInlet

        from .recordings import unit_scale

        inlet = StreamInlet(
            sinfo,
            max_buffered=max(1, int(round(self.max_buffered))),
            recover=False,
            processing_flags=("clocksync",),
        )
        inlet.open_stream(timeout=max(self.timeout, 2.0))
        full = inlet.get_sinfo(timeout=max(self.timeout, 2.0))
        if self.n_channels and (full.n_channels != self.n_channels or full.sfreq != self.sfreq):
            msg = (
                f"stream {_describe(full)} returned with {full.n_channels} ch @ {full.sfreq:g} Hz, "
                f"expected {self.n_channels} ch @ {self.sfreq:g} Hz: not reconnecting to it"
            )
            logger.error(msg)
            self._status_note = msg
            inlet.close_stream()
            return False
        names = full.get_channel_names() or [""] * full.n_channels
        types = full.get_channel_types() or ["eeg"] * full.n_channels
        units = full.get_channel_units()
        scale = unit_scale(units)
        self.name = full.name
        self.ch_names = [str(n or "") for n in names]
        self.ch_types = [str(t or "eeg").lower() for t in types]
        self.sfreq = float(full.sfreq)
        self.n_channels = int(full.n_channels)
        self._scale = 1.0 if scale is None else scale
        self.unit = "unknown" if scale is None else "V"
        self.simulated = _is_simulated(full)
        self.stream_source_id = full.source_id
        self.stream_uid = full.uid
        self._sinfo = sinfo
        self.hostname = full.hostname
        self._max_samples = max(1024, int(self.sfreq) * 2)
        with self._lock:
            self._inlet = inlet
        self._last_activity = time.monotonic()
        self._status_note = ""
        return True

    def _find_markers(self, sinfo: Any, *, full: bool = True) -> None:
        """Open a marker inlet on the companion stream of ``sinfo``, if there is one.

        The quick search looks only for ``<source_id>-markers`` (what our players and
        the simulator publish); the full one lists every stream (0.5 s).
        """
        from mne_lsl.lsl import StreamInlet, resolve_streams

        self._last_marker_search = time.monotonic()
        name, sid, uid = sinfo.name, sinfo.source_id, sinfo.uid
        names = (f"{name}-markers", f"{name}-annotations", f"{name}-Markers")
        found = resolve_streams(timeout=0.2, source_id=f"{sid}-markers") if sid else []
        if not found and full:
            found = resolve_streams(timeout=0.5)
        candidates = []
        for s in found:
            if s.uid == uid:
                continue
            if s.name in names or (sid and s.source_id == f"{sid}-markers"):
                candidates.append((0, s))
            elif s.sfreq == 0 and sid and s.source_id == sid:
                candidates.append((1, s))
        if not candidates:
            return
        candidates.sort(key=lambda c: (c[0], -c[1].created_at))
        marker_info = candidates[0][1]
        inlet = StreamInlet(marker_info, recover=False, processing_flags=("clocksync",))
        try:
            inlet.open_stream(timeout=2.0)
        except Exception as err:  # noqa: BLE001
            logger.warning("cannot open marker stream %s: %s", _describe(marker_info), err)
            return
        with self._lock:
            old, self._marker_inlet = self._marker_inlet, inlet
        _close_quietly(old)
        logger.info("markers from LSL stream %s", _describe(marker_info))

    # -- Source API
    def start(self) -> None:
        """Start owned players, then connect (waits up to ``timeout`` seconds).

        Raises
        ------
        SourceError
            No matching stream appeared within ``timeout``.
        """
        if self._started:
            return
        try:
            self._start()
        except BaseException:
            self._stop_players()
            raise

    def _start(self) -> None:
        for player in self.players:
            player.start()
        deadline = time.monotonic() + self.timeout
        sinfo = None
        while sinfo is None and time.monotonic() < deadline:
            sinfo = self._resolve(min(1.0, max(0.1, deadline - time.monotonic())))
        if sinfo is None:
            from mne_lsl.lsl import resolve_streams

            seen = "; ".join(_describe(s) for s in resolve_streams(timeout=0.5)) or "none"
            raise SourceError(
                f"no LSL stream with {self._criteria_text()} found within {self.timeout:g} s "
                f"(streams on the network: {seen})"
            )
        if self.want_markers:  # before the EEG inlet: an owned player starts on it
            self._find_markers(sinfo, full=False)
            if self._marker_inlet is None:
                self._last_marker_search = -np.inf  # full search at once, in the monitor
        if not self._open(sinfo):
            raise SourceError(self._status_note)
        self._last_activity = time.monotonic()
        self._started = True
        self._stop_event.clear()
        self._monitor = threading.Thread(
            target=self._watch, name=f"LSLSource-{self.name}", daemon=True
        )
        self._monitor.start()
        logger.info("connected to LSL stream %s", self.status)

    def read(self) -> Chunk | None:
        """All samples received since the last call (non-blocking), or None."""
        from mne_lsl.lsl._utils import LostError

        if not self._started:
            raise SourceError(f"LSL source {self._criteria_text()} is not started: call start()")
        datas: list[np.ndarray] = []
        stamps: list[np.ndarray] = []
        with self._lock:
            inlet = self._inlet
            if inlet is None:
                return None
            try:
                while True:
                    data, ts = inlet.pull_chunk(timeout=0.0, max_samples=self._max_samples)
                    if ts.size == 0:
                        break
                    # pull_chunk returns views of a reused buffer: copy
                    datas.append(np.array(data, dtype=np.float64, copy=True).T)
                    stamps.append(np.array(ts, dtype=np.float64, copy=True))
                    if ts.size < self._max_samples:
                        break
            except LostError:
                self._mark_lost("the connection was lost")
        if not stamps:
            return None
        self._last_activity = time.monotonic()
        data = datas[0] if len(datas) == 1 else np.concatenate(datas, axis=1)
        ts = stamps[0] if len(stamps) == 1 else np.concatenate(stamps)
        if self._scale != 1.0:
            data *= self._scale
        self.n_samples_read += ts.size
        return Chunk(data=data, timestamps=ts)

    def read_markers(self) -> list[tuple[float, str]]:
        """Markers received since the last call, as (LSL time, label)."""
        from mne_lsl.lsl._utils import LostError

        with self._lock:
            inlet = self._marker_inlet
            if inlet is None:
                return []
            try:
                values, ts = inlet.pull_chunk(timeout=0.0, max_samples=1024)
            except LostError:
                self._marker_inlet = None
                return []
        out = []
        for k, t in enumerate(np.asarray(ts, dtype=float)):
            row = values[k]
            out.append((float(t), "/".join(str(v) for v in row)))
        return out

    def stop(self) -> None:
        """Disconnect, stop the monitor and the owned players."""
        self._stop_event.set()
        if self._monitor is not None and self._monitor is not threading.current_thread():
            self._monitor.join(timeout=5.0)
        self._monitor = None
        with self._lock:
            inlets = (self._inlet, self._marker_inlet)
            self._inlet = None
            self._marker_inlet = None
        _close_quietly(*inlets)
        self._stop_players()
        if self._started:
            logger.info("disconnected from LSL stream %r", self.name)
        self._started = False

    def _stop_players(self) -> None:
        for player in self.players:
            try:
                player.stop()
            except Exception as err:  # noqa: BLE001
                logger.warning("stopping %r failed: %s", player, err)

    @property
    def connected(self) -> bool:
        """Whether an inlet is open on a live stream."""
        return self._inlet is not None

    @property
    def finished(self) -> bool:
        """True once an owned, non-looping player finished and all samples were read."""
        if not self.players or not all(p.finished for p in self.players):
            return False
        if self._inlet is None:
            return True
        return self._exhausted

    @property
    def last_sample_age(self) -> float:
        """Seconds since samples last arrived (reads or inlet buffer)."""
        return time.monotonic() - self._last_activity

    @property
    def status(self) -> str:
        base = super().status
        if self._lost_at is not None and self._inlet is None:
            from mne_lsl.lsl import local_clock

            base += f"; stream lost {local_clock() - self._lost_at:.1f} s ago, waiting for it"
        elif self._inlet is not None and self.last_sample_age > self.stale_s:
            base += f"; no data for {self.last_sample_age:.1f} s"
        if self._status_note:
            base += f"; {self._status_note}"
        return base

    # -- monitoring
    def _mark_lost(self, why: str) -> None:
        """Drop the inlet (caller may hold ``_lock``: only swaps references)."""
        from mne_lsl.lsl import local_clock

        if self._inlet is None:
            return
        inlet, self._inlet = self._inlet, None
        marker, self._marker_inlet = self._marker_inlet, None
        self._lost_at = local_clock()
        if self.players and all(p.finished for p in self.players):
            logger.info("replay of %r finished", self.name)
        else:
            logger.warning(
                "LSL stream %r lost (%s) at LSL time %.3f: no data until it returns%s",
                self.name,
                why,
                self._lost_at,
                "; waiting for it" if self.reconnect else "",
            )
        threading.Thread(target=_close_quietly, args=(inlet, marker), daemon=True).start()

    def _watch(self) -> None:
        from mne_lsl.lsl import local_clock, resolve_streams

        while not self._stop_event.wait(0.2):
            try:
                if self._inlet is not None:
                    with self._lock:
                        inlet = self._inlet
                        available = inlet.samples_available if inlet is not None else 0
                    if available:
                        self._last_activity = time.monotonic()
                        self._exhausted = False
                    if (
                        self.want_markers
                        and self._marker_inlet is None
                        and time.monotonic() - self._last_marker_search > 10.0
                        and self._sinfo is not None
                    ):
                        self._find_markers(self._sinfo)
                    if available:
                        continue
                    idle = time.monotonic() - self._last_activity
                    if self.players and all(p.finished for p in self.players) and idle > 0.5:
                        self._exhausted = True
                    if idle < self.stale_s:
                        continue
                    key = (
                        {"source_id": self.stream_source_id}
                        if self.stream_source_id
                        else {"name": self.name}
                    )
                    alive = [s for s in resolve_streams(timeout=1.0, **key)]
                    if self._stop_event.is_set():
                        return
                    if any(s.uid == self.stream_uid for s in alive):
                        self._last_activity = time.monotonic() - self.stale_s / 2  # recheck later
                        continue
                    with self._lock:
                        self._mark_lost(
                            "replaced by a new outlet" if alive else "it left the network"
                        )
                elif self.reconnect and self._lost_at is not None:
                    if self.players and all(p.finished for p in self.players):
                        continue
                    sinfo = self._resolve(1.0)
                    if sinfo is None or self._stop_event.is_set():
                        continue
                    if self.want_markers:
                        self._find_markers(sinfo)
                    if self._open(sinfo):
                        back = local_clock()
                        self.gaps.append((self._lost_at, back))
                        logger.warning(
                            "LSL stream %r is back after a %.1f s gap (LSL time %.3f to %.3f); "
                            "reconnected",
                            self.name,
                            back - self._lost_at,
                            self._lost_at,
                            back,
                        )
                        self._lost_at = None
            except Exception as err:  # noqa: BLE001 - never let the monitor die silently
                logger.warning("LSL monitor for %r: %s: %s", self.name, type(err).__name__, err)
                self._stop_event.wait(1.0)


def _close_quietly(*inlets: Any) -> None:
    """Close and destroy inlets now (not at garbage collection), ignoring errors."""
    for inlet in inlets:
        if inlet is None:
            continue
        for call in ("close_stream", "_del"):
            try:
                getattr(inlet, call)()
            except Exception:  # noqa: BLE001
                pass


# --------------------------------------------------------------------------- BrainFlow
def _board_id(board: str | int) -> int:
    import warnings

    with warnings.catch_warnings():  # brainflow 5.23 imports the deprecated pkg_resources
        warnings.simplefilter("ignore")
        from brainflow.board_shim import BoardIds

    text = str(board).strip()
    try:
        value = int(text)
    except ValueError:
        pass
    else:
        if value not in {b.value for b in BoardIds}:
            raise SourceSpecError(f"unknown BrainFlow board_id {value}")
        return value
    key = text.upper().replace("-", "_").replace(" ", "_")
    names = {b.name: b.value for b in BoardIds}
    for candidate in (key, f"{key}_BOARD"):
        if candidate in names:
            return names[candidate]
    close = sorted(n for n in names if key in n)[:8]
    raise SourceSpecError(
        f"unknown BrainFlow board {text!r}"
        + (f"; did you mean {', '.join(close)}?" if close else "")
        + " (names from brainflow.board_shim.BoardIds, e.g. synthetic, cyton, ganglion)"
    )


class BrainFlowSource(Source):
    """A BrainFlow board (``BoardShim``); the synthetic board needs no hardware.

    Data are converted from BrainFlow's microvolts to volts (``unit == "V"``).
    Timestamps come from the board's timestamp channel (UNIX time) mapped to this
    machine's LSL clock.

    Parameters
    ----------
    board : str or int
        Board name (``"synthetic"``, ``"cyton"``, ``"CYTON_DAISY_BOARD"``) or id.
    params : mapping, optional
        :class:`brainflow.board_shim.BrainFlowInputParams` fields (serial_port,
        mac_address, ip_address, ip_port, serial_number, timeout, file...).
    """

    def __init__(self, board: str | int = "synthetic", params: Mapping[str, Any] | None = None) -> None:
        super().__init__()
        self.board_id = _board_id(board)
        self.params = dict(params or {})
        self._board: Any = None
        self._offset = 0.0

    def start(self) -> None:
        """Prepare the session and start streaming.

        Raises
        ------
        SourceError
            The board could not be prepared (not connected, wrong port...).
        """
        if self._board is not None:
            return
        import warnings

        from mne_lsl.lsl import local_clock

        with warnings.catch_warnings():  # loading its library imports pkg_resources
            warnings.simplefilter("ignore")
            from brainflow.board_shim import BoardIds, BoardShim, BrainFlowInputParams

            BoardShim.disable_board_logger()
        inputs = BrainFlowInputParams()
        for key, value in self.params.items():
            if not hasattr(inputs, key):
                raise SourceSpecError(f"unknown BrainFlow input parameter {key!r}")
            default = getattr(inputs, key)
            setattr(inputs, key, int(value) if isinstance(default, int) else str(value))
        board_name = BoardIds(self.board_id).name
        self.name = f"brainflow:{board_name.lower()}"
        board = BoardShim(self.board_id, inputs)
        try:
            board.prepare_session()
            board.start_stream(450000)
        except Exception as err:  # noqa: BLE001 - BrainFlowError and friends
            try:
                board.release_session()
            except Exception:  # noqa: BLE001
                pass
            raise SourceError(
                f"BrainFlow board {board_name} (id {self.board_id}) with {self.params} "
                f"could not start: {err}"
            ) from err
        self._board = board
        self._offset = local_clock() - time.time()
        self.sfreq = float(BoardShim.get_sampling_rate(self.board_id))
        self._eeg_rows = list(BoardShim.get_eeg_channels(self.board_id))
        self._ts_row = int(BoardShim.get_timestamp_channel(self.board_id))
        try:
            names = list(BoardShim.get_eeg_names(self.board_id))
        except Exception:  # noqa: BLE001 - boards without names
            names = []
        self.ch_names = names if len(names) == len(self._eeg_rows) else [""] * len(self._eeg_rows)
        self.ch_types = ["eeg"] * len(self._eeg_rows)
        self.unit = "V"
        self.simulated = False
        logger.info("BrainFlow %s started: %s", board_name, self.status)

    def read(self) -> Chunk | None:
        """Everything the board buffered since the last call, or None."""
        if self._board is None:
            raise SourceError(f"BrainFlow source {self.name or self.board_id} is not started")
        data = self._board.get_board_data()
        if data.shape[1] == 0:
            return None
        eeg = np.asarray(data[self._eeg_rows], dtype=np.float64) * 1e-6
        ts = np.asarray(data[self._ts_row], dtype=np.float64) + self._offset
        return Chunk(data=eeg, timestamps=ts)

    def stop(self) -> None:
        """Stop streaming and release the session."""
        board, self._board = self._board, None
        if board is None:
            return
        for call in (board.stop_stream, board.release_session):
            try:
                call()
            except Exception:  # noqa: BLE001
                pass

    @property
    def connected(self) -> bool:
        return self._board is not None and bool(self._board.is_prepared())


# --------------------------------------------------------------------------- arrays
class ArraySource(Source):
    """A :class:`~.recordings.Recording` pushed through as fast as the caller reads.

    Each :meth:`read` returns the next ``chunk_size`` samples with the file's own
    timestamps (what ``--speed max`` uses); after the last one :meth:`read` returns
    None and :attr:`finished` is True. With ``loop`` the recording restarts and the
    timestamps keep increasing.

    Parameters
    ----------
    recording : Recording
    chunk_size : int, optional
        Samples per read; default one tenth of a second.
    loop : bool
        Restart at the end (never finishes).
    simulated : bool
        Mark the data as simulated.
    """

    def __init__(
        self,
        recording: Recording,
        *,
        chunk_size: int | None = None,
        loop: bool = False,
        simulated: bool = False,
    ) -> None:
        super().__init__()
        self.recording = recording
        self.name = recording.stream_name or recording.source.name
        self.ch_names = list(recording.ch_names)
        self.ch_types = list(recording.ch_types)
        self.sfreq = float(recording.sfreq)
        self.unit = recording.unit
        self.simulated = simulated
        self.chunk_size = int(chunk_size or max(1, round(self.sfreq / 10)))
        if self.chunk_size < 1:
            raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
        self.loop = loop
        self._pos = 0
        self._cycle = 0
        self._started = False
        self._done = False
        self._marker_pos = 0
        self._last_ts = -np.inf
        ts = recording.timestamps
        self._period = float(ts[-1] - ts[0]) + 1.0 / self.sfreq if ts.size else 0.0

    def start(self) -> None:
        self._started = True

    def read(self) -> Chunk | None:
        if not self._started:
            raise SourceError(f"array source {self.name!r} is not started: call start()")
        if self._done:
            return None
        rec = self.recording
        if self._pos >= rec.n_times:
            if not self.loop:
                self._done = True
                return None
            self._pos = 0
            self._cycle += 1
            self._marker_pos = 0
        stop = min(self._pos + self.chunk_size, rec.n_times)
        data = np.array(rec.data[:, self._pos : stop], dtype=np.float64, copy=True)
        ts = rec.timestamps[self._pos : stop] + self._cycle * self._period
        self._pos = stop
        self._last_ts = float(ts[-1])
        if stop >= rec.n_times and not self.loop:
            self._done = True
        return Chunk(data=data, timestamps=np.asarray(ts, dtype=np.float64))

    def read_markers(self) -> list[tuple[float, str]]:
        out = []
        markers = self.recording.markers
        shift = self._cycle * self._period
        while self._marker_pos < len(markers) and markers[self._marker_pos][0] + shift <= self._last_ts:
            t, label = markers[self._marker_pos]
            out.append((t + shift, label))
            self._marker_pos += 1
        return out

    def stop(self) -> None:
        self._started = False

    @property
    def connected(self) -> bool:
        return self._started and not self._done

    @property
    def finished(self) -> bool:
        return self._done

    @property
    def progress(self) -> float:
        """Fraction of the recording delivered (of the current cycle when looping)."""
        return self._pos / max(1, self.recording.n_times)


# --------------------------------------------------------------------------- factory
def open_source(spec: str | SourceSpec, *, timeout: float | None = None) -> Source:
    """Build the source a spec names (not started: call ``start()`` or use ``with``).

    For ``xdf:``/``file:`` specs the recording is read now (so a bad file fails
    here with a :class:`~.recordings.RecordingError`); with ``speed=max`` the result is
    an :class:`ArraySource`, else an :class:`LSLSource` that owns an
    :class:`~.players.XDFPlayer`/:class:`~.players.MNEPlayer` replaying the file on
    LSL (started and stopped with the source). ``sim:`` gives an :class:`LSLSource`
    owning a :class:`~.simulate.SimulatedHeadset`. Players get a unique source_id.

    Parameters
    ----------
    spec : str or SourceSpec
    timeout : float, optional
        Seconds to wait for an LSL stream (default: the spec's ``timeout`` or 10).

    Returns
    -------
    Source
    """
    spec = parse_source_spec(spec)
    wait = timeout if timeout is not None else spec.get_float("timeout", 10.0)
    assert wait is not None
    if spec.kind == "lsl":
        return LSLSource(
            name=spec.get("name") or None,
            stype=spec.get("type") or None,
            source_id=spec.get("source_id") or None,
            timeout=wait,
            markers=spec.get_bool("markers", True),
        )
    if spec.kind == "brainflow":
        params = {k: v for k, v in spec.options if k not in ("board", "board_id")}
        board = spec.target or spec.get("board") or spec.get("board_id") or "synthetic"
        return BrainFlowSource(board, params)
    if spec.kind in ("xdf", "file"):
        from .players import MNEPlayer, XDFPlayer
        from .recordings import read_recording

        path = Path(spec.target).expanduser()
        loop = spec.get_bool("loop")
        chunk = int(spec.get_float("chunk", 0) or 0) or None
        recording = read_recording(
            path, stream=spec.get("stream"), allow_truncated=spec.get_bool("allow_truncated")
        )
        if spec.speed is None:
            return ArraySource(recording, chunk_size=chunk, loop=loop)
        sid = f"bci-valence-replay-{uuid.uuid4().hex[:12]}"
        if spec.kind == "xdf":
            player: Player = XDFPlayer(
                recording, speed=spec.speed, loop=loop, source_id=sid, wait_for_consumer=wait
            )
        else:
            player = MNEPlayer(
                recording, speed=spec.speed, loop=loop, source_id=sid, wait_for_consumer=wait
            )
        return LSLSource(source_id=player.source_id, timeout=wait, players=[player])
    if spec.kind == "sim":
        from .simulate import SimulatedHeadset, SimulationSettings

        settings = replace(SimulationSettings.from_spec(spec), wait_for_consumer=wait)
        headset = SimulatedHeadset(settings)
        return LSLSource(source_id=headset.source_id, timeout=wait, players=[headset])
    raise SourceSpecError(f"unknown source kind {spec.kind!r}")  # pragma: no cover
