"""An LSL stream as a :class:`~.base.Source` (mne-lsl inlets), with its marker stream."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)

from .base import Chunk, Player, Source
from .recorder import MIRROR_PREFIX
from .spec import TRUE_VALUES, SourceError

__all__ = ["LSLSource"]


# --------------------------------------------------------------------------- LSL
def is_simulated(sinfo: Any) -> bool:
    try:
        value = sinfo.desc.child_value("simulated")
    except Exception:  # noqa: BLE001 - desc access differs across versions
        return False
    return str(value).strip().lower() in TRUE_VALUES


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

        explicit = bool(self.criteria["name"] or self.criteria["source_id"])
        found = [
            s
            for s in resolve_streams(timeout=timeout, **self.criteria)
            if s.sfreq > 0 and s.dtype is not str and str(s.dtype) != "string"
            # the recorder's mirrors of other streams are never picked by type alone
            and (explicit or not s.source_id.startswith(MIRROR_PREFIX))
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

        from ..io.recordings import unit_scale

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
                f"stream {_describe(full)} came back with {full.n_channels} ch @ {full.sfreq:g} Hz; "
                f"it had {self.n_channels} ch @ {self.sfreq:g} Hz when the run started: "
                "start a new run to use it"
            )
            logger.error(msg)  # once: the source stops waiting (``failure``)
            self._status_note = msg
            self.failure = msg
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
        self.simulated = is_simulated(full)
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
            except RuntimeError:  # mne-lsl's LostError (a RuntimeError; not in its public API)
                self._mark_lost("the connection was lost")
        if not stamps:
            return None
        self._last_activity = time.monotonic()
        data = datas[0] if len(datas) == 1 else np.concatenate(datas, axis=1)
        ts = stamps[0] if len(stamps) == 1 else np.concatenate(stamps)
        if self._scale != 1.0:
            data *= self._scale
        return Chunk(data=data, timestamps=ts)

    def read_markers(self) -> list[tuple[float, str]]:
        """Markers received since the last call, as (LSL time, label)."""
        with self._lock:
            inlet = self._marker_inlet
            if inlet is None:
                return []
            try:
                values, ts = inlet.pull_chunk(timeout=0.0, max_samples=1024)
            except RuntimeError:  # mne-lsl's LostError: the marker stream is gone
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
                elif self.reconnect and self._lost_at is not None and self.failure is None:
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
