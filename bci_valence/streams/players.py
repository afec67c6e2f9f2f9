"""Replay recordings onto LSL.

- :class:`XDFPlayer` replays a :class:`~.recordings.Recording` (EEG + markers) with
  the original inter-sample timing taken from its timestamps, a ``speed`` factor and
  optional looping, from a background thread. Gaps between pyxdf segments are kept
  (capped at ``max_gap_s``); a clock reset (time going backwards) becomes one sample
  period. Pushed timestamps are this machine's LSL clock at the moment each sample is
  due, so at ``speed=4`` samples of a 1000 Hz file arrive 0.25 ms apart.
- :class:`MNEPlayer` replays anything MNE reads, with the XDFPlayer machinery on the
  recording by default. mne-lsl's :class:`~mne_lsl.player.PlayerLSL` is available with
  ``use_mne_lsl=True`` at ``speed=1`` only: it has no speed factor, removes its outlets
  at the end of the file and its first chunk can be missed by a consumer that
  connects right after it starts, so its replay is not sample-identical to
  ``--speed max``.

Every player gets a unique ``source_id`` unless one is given; the marker stream is
named ``<name>-markers`` with source_id ``<source_id>-markers`` (PlayerLSL's is
``<name>-annotations``), which is how :class:`~.sources.LSLSource` finds it.
The outlets stay on the network after a non-looping replay ends (``finished`` is then
True) until :meth:`stop`.
"""

from __future__ import annotations

import logging
import uuid
from pathlib import Path
from typing import Any

import numpy as np

from ..io.recordings import Recording, read_recording
from ._outlet_thread import OutletThread, wait_for_consumer

logger = logging.getLogger(__name__)

__all__ = ["MNEPlayer", "XDFPlayer", "playback_offsets"]


def playback_offsets(recording: Recording, max_gap_s: float | None = 10.0) -> np.ndarray:
    """Seconds from the first sample at which each sample is replayed (speed 1).

    Parameters
    ----------
    recording : Recording
    max_gap_s : float or None
        Longest gap kept between consecutive samples (None: keep all).

    Returns
    -------
    ndarray, shape (n_times,)
        Non-decreasing offsets; steps are the file's sample spacing, one sample
        period where time goes backwards (clock reset) or is not finite.
    """
    ts = np.asarray(recording.timestamps, dtype=np.float64)
    period = 1.0 / recording.sfreq
    if ts.size < 2:
        return np.zeros(ts.size)
    dt = np.diff(ts)
    bad = ~np.isfinite(dt) | (dt <= 0)
    dt[bad] = period
    if max_gap_s is not None:
        dt = np.minimum(dt, max_gap_s)
    return np.concatenate([[0.0], np.cumsum(dt)])


def _marker_offsets(recording: Recording, offsets: np.ndarray) -> list[tuple[float, str]]:
    """Map the recording's markers onto the playback timeline."""
    ts = recording.timestamps
    out = []
    for t, label in recording.markers:
        pos = None
        for start, stop in recording.segments or [(0, ts.size)]:
            seg = ts[start:stop]
            if seg.size and seg[0] <= t <= seg[-1] + 1.0 / recording.sfreq:
                pos = float(np.interp(t, seg, offsets[start:stop]))
                break
        if pos is None:  # outside every segment: nearest sample
            pos = float(offsets[int(np.argmin(np.abs(ts - t)))])
        out.append((pos, label))
    out.sort(key=lambda m: m[0])
    return out


class XDFPlayer(OutletThread):
    """Replay a recording onto LSL with its original timing.

    Parameters
    ----------
    recording : Recording or path
        What to replay (a path is read with :func:`~.recordings.read_recording`).
    speed : float
        Time factor (2 = twice as fast).
    loop : bool
        Restart at the end, forever.
    name : str, optional
        Stream name (default: ``<stream or file name>-replay``).
    source_id : str, optional
        Default: a unique ``bci-valence-replay-<hex>``.
    stype : str
        Stream type.
    chunk_s : float
        Push interval in seconds (wall clock).
    markers : bool
        Also replay the markers on ``<name>-markers`` (when there are any).
    max_gap_s : float or None
        Longest gap kept between samples.
    wait_for_consumer : float
        Seconds to wait for a first consumer before the replay clock starts (so a
        consumer that owns the player misses nothing); 0 starts at once.
    recorded_stamps : bool
        Push each sample with the timestamp it was recorded with (shifted onto this
        machine's clock, divided by ``speed``) instead of the time it is due: with a
        recording read without dejittering, the pipeline sees the device's jitter.
    """

    backend = "bci-valence"
    thread_prefix = "player"

    def __init__(
        self,
        recording: Recording | str | Path,
        *,
        speed: float = 1.0,
        loop: bool = False,
        name: str | None = None,
        source_id: str | None = None,
        stype: str = "EEG",
        chunk_s: float = 0.02,
        markers: bool = True,
        max_gap_s: float | None = 10.0,
        wait_for_consumer: float = 0.0,
        recorded_stamps: bool = False,
    ) -> None:
        if not isinstance(recording, Recording):
            recording = read_recording(recording)
        if not (speed > 0 and np.isfinite(speed)):
            raise ValueError(f"speed must be a positive number, got {speed}")
        super().__init__()
        self.recording = recording
        self.speed = float(speed)
        self.loop = loop
        base = recording.stream_name or recording.source.stem or "recording"
        self.name = name or f"{Path(base).stem}-replay"
        self.source_id = source_id or f"bci-valence-replay-{uuid.uuid4().hex[:12]}"
        self.stype = stype
        self.chunk_s = float(chunk_s)
        self.wait_for_consumer = float(wait_for_consumer)
        self.with_markers = markers and bool(recording.markers)
        self.offsets = playback_offsets(recording, max_gap_s)
        self.marker_offsets = _marker_offsets(recording, self.offsets)
        self.cycle_s = float(self.offsets[-1]) + 1.0 / recording.sfreq
        self.n_pushed = 0
        self.recorded_stamps = bool(recorded_stamps)
        self._data = np.ascontiguousarray(recording.data.T, dtype=np.float64)

    def _make_outlets(self) -> None:
        from mne_lsl.lsl import StreamInfo, StreamOutlet

        rec = self.recording
        info = StreamInfo(self.name, self.stype, rec.n_channels, rec.sfreq, "float64", self.source_id)
        if rec.labeled:
            info.set_channel_names(list(rec.ch_names))
        info.set_channel_types([t or "eeg" for t in rec.ch_types])
        if rec.unit == "V":
            info.set_channel_units("volts")
        info.desc.append_child_value("replay_of", str(rec.source))
        info.desc.append_child_value("simulated", "true" if rec.simulated else "false")
        info.desc.append_child_value("speed", f"{self.speed:g}")
        chunk = max(1, int(round(rec.sfreq * self.chunk_s * self.speed)))
        self._outlet = StreamOutlet(info, chunk_size=chunk)
        if self.with_markers:
            minfo = StreamInfo(f"{self.name}-markers", "Markers", 1, 0.0, "string", f"{self.source_id}-markers")
            minfo.desc.append_child_value("simulated", "false")
            self._marker_outlet = StreamOutlet(minfo)

    def _announce(self) -> None:
        logger.info(
            "replaying %r on LSL as %r (source_id %s) at speed %g%s",
            str(self.recording.source),
            self.name,
            self.source_id,
            self.speed,
            ", looping" if self.loop else "",
        )

    def _run(self) -> None:
        from mne_lsl.lsl import local_clock

        offsets = self.offsets
        n = offsets.size
        speed = self.speed
        wait_for_consumer(self._outlet, self.wait_for_consumer, self._stop)
        t0 = local_clock() + 0.05
        pos = 0
        mpos = 0
        try:
            while not self._stop.is_set():
                elapsed = (local_clock() - t0) * speed
                end = int(np.searchsorted(offsets, elapsed, side="right"))
                if end > pos:
                    if self.recorded_stamps:
                        ts = self.recording.timestamps
                        stamps = t0 + (ts[pos:end] - ts[0]) / speed
                    else:
                        stamps = t0 + offsets[pos:end] / speed
                    if end - pos == 1:
                        self._outlet.push_sample(self._data[pos], timestamp=float(stamps[0]))
                    else:
                        self._outlet.push_chunk(self._data[pos:end], timestamp=stamps)
                    self.n_pushed += end - pos
                    pos = end
                if self._marker_outlet is not None:
                    while mpos < len(self.marker_offsets) and self.marker_offsets[mpos][0] <= elapsed:
                        off, label = self.marker_offsets[mpos]
                        self._marker_outlet.push_sample([label], timestamp=t0 + off / speed)
                        mpos += 1
                if pos >= n:
                    if not self.loop:
                        self._finished.set()
                        logger.info("replay of %r finished (%d samples)", self.name, self.n_pushed)
                        return
                    t0 += self.cycle_s / speed
                    pos = 0
                    mpos = 0
                    continue
                due = t0 + offsets[pos] / speed - local_clock()
                self._stop.wait(min(max(due, self.chunk_s), 0.25))
        except Exception as err:  # noqa: BLE001 - report, never die silently
            logger.error("player %r stopped: %s: %s", self.name, type(err).__name__, err)
            self._finished.set()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} source_id={self.source_id!r} speed={self.speed:g}>"


class MNEPlayer(XDFPlayer):
    """Replay any MNE-readable file onto LSL.

    By default (``backend == "bci-valence"``) the :class:`XDFPlayer` machinery replays
    the recording (any speed, exact samples, markers on ``<name>-markers``). With
    ``use_mne_lsl=True`` and ``speed == 1`` it wraps :class:`mne_lsl.player.PlayerLSL`
    instead (``backend == "mne-lsl"``; annotations on ``<name>-annotations`` as
    strings); PlayerLSL has no speed factor, so other speeds always use the machinery.

    Parameters
    ----------
    recording : Recording or path
        An MNE-readable recording.
    speed, loop, name, source_id, chunk_s
        As for :class:`XDFPlayer`.
    use_mne_lsl : bool
        Use PlayerLSL when ``speed == 1``.
    wait_for_consumer : float
        As for :class:`XDFPlayer` (not supported by PlayerLSL).
    """

    def __init__(
        self,
        recording: Recording | str | Path,
        *,
        speed: float = 1.0,
        loop: bool = False,
        name: str | None = None,
        source_id: str | None = None,
        chunk_s: float = 0.02,
        use_mne_lsl: bool = False,
        wait_for_consumer: float = 0.0,
        recorded_stamps: bool = False,
    ) -> None:
        if not isinstance(recording, Recording):
            recording = read_recording(recording)
        super().__init__(
            recording,
            speed=speed,
            loop=loop,
            name=name,
            source_id=source_id,
            chunk_s=chunk_s,
            wait_for_consumer=wait_for_consumer,
        )
        self.backend = "mne-lsl" if (use_mne_lsl and self.speed == 1.0) else "bci-valence"
        self._player: Any = None
        self._t_start = 0.0

    def start(self) -> MNEPlayer:
        if self.backend != "mne-lsl":
            super().start()
            return self
        if self._player is not None:
            return self
        from mne_lsl.lsl import local_clock
        from mne_lsl.player import PlayerLSL

        rec = self.recording
        chunk = max(1, int(round(rec.sfreq * self.chunk_s)))
        self._player = PlayerLSL(
            rec.source,
            chunk_size=chunk,
            n_repeat=np.inf if self.loop else 1,
            name=self.name,
            source_id=self.source_id,
            annotations=bool(rec.markers) or None,
            annotations_encoding="string",
        )
        self._player.start()
        self._t_start = local_clock()
        logger.info(
            "replaying %r on LSL with mne-lsl PlayerLSL as %r (source_id %s)%s",
            str(rec.source),
            self.name,
            self.source_id,
            ", looping" if self.loop else "",
        )
        return self

    def stop(self) -> None:
        if self.backend != "mne-lsl":
            super().stop()
            return
        player, self._player = self._player, None
        if player is not None:
            try:
                player.stop()
            except Exception:  # noqa: BLE001 - already stopped at end of file
                pass

    @property
    def running(self) -> bool:
        if self.backend != "mne-lsl":
            return super().running
        return self._player is not None and not self.finished

    @property
    def finished(self) -> bool:
        if self.backend != "mne-lsl":
            return super().finished
        if self.loop or self._player is None:
            return False
        from mne_lsl.lsl import local_clock

        return local_clock() - self._t_start > self.recording.duration + 0.5
