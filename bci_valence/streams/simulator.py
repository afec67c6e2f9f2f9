"""A simulated 32-channel FACED-montage headset on LSL.

The signal is a sum of band-limited noises, one per FACED band (delta 1-4, theta 4-8,
alpha 8-14, beta 14-30, gamma 30-47 Hz), each scaled every second so that its
variance is ``exp(2 DE) / (2 pi e)`` (i.e. DE = 0.5 ln(2 pi e var)) with DE drawn from
class-conditional statistics of FACED's DE (``data/faced_class_stats.json``, built by
``offline/simulator_stats.py``)::

    z_t = contrast * class_mean_z[c] + segment_offset + noise * within_clip_std * d_t
    DE_t = global_mean_de + within_subject_std_de * z_t

``segment_offset`` is drawn once per segment (the clip-to-clip part of the class's
spread), ``d_t`` is an AR(1) process with FACED's lag-1 autocorrelation and a
component common to all channels (FACED's mean inter-channel correlation). Filters
keep their state, and amplitudes ramp over 0.1 s, so the signal is continuous across
seconds and segments. Values are in microvolts (FACED's unit), declared in the
stream's channel description.

A scripted sequence of emotion segments (default: the nine FACED classes, 20 s each,
looping) drives the class; a marker stream ``<name>-markers`` carries the true
label at each segment start and repeats it every ``marker_repeat_s`` seconds for late
joiners. Both streams carry ``<simulated>true</simulated>`` in their description.
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass, replace
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..constants import FACED_SFREQ
from ._outlet_thread import OutletThread, wait_for_consumer

if TYPE_CHECKING:
    from .spec import SourceSpec

logger = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_SCRIPT",
    "HeadsetSynth",
    "SimulatedHeadset",
    "SimulationSettings",
    "load_class_stats",
    "parse_script",
]

#: Default script: every FACED class, alternating valence, 20 s each.
DEFAULT_SCRIPT: tuple[tuple[str, float], ...] = (
    ("joy", 20.0),
    ("anger", 20.0),
    ("tenderness", 20.0),
    ("sadness", 20.0),
    ("amusement", 20.0),
    ("fear", 20.0),
    ("inspiration", 20.0),
    ("disgust", 20.0),
    ("neutral", 20.0),
)
STATS_FILE = "faced_class_stats.json"


@lru_cache(maxsize=4)
def _load_stats_text(path: str | None) -> str:
    if path is None:
        return resources.files("bci_valence").joinpath("data", STATS_FILE).read_text()
    return Path(path).read_text()


def load_class_stats(path: str | Path | None = None) -> dict[str, Any]:
    """The simulator's FACED statistics (the packaged JSON unless ``path`` is given).

    Returns
    -------
    dict
        ``classes``, ``channels``, ``bands``, arrays ``global_mean_de`` (32, 5),
        ``within_subject_std_de``, ``within_clip_std_z`` (32, 5), ``class_mean_z`` /
        ``class_std_z`` {class: (32, 5)}, ``lag1_autocorrelation`` (5,),
        ``channel_correlation`` (5,).
    """
    raw = json.loads(_load_stats_text(None if path is None else str(path)))
    out: dict[str, Any] = dict(raw)
    for key in ("global_mean_de", "within_subject_std_de", "within_clip_std_z", "between_subject_std_de"):
        if key in raw:
            out[key] = np.asarray(raw[key], dtype=np.float64)
    for key in ("lag1_autocorrelation", "channel_correlation"):
        out[key] = np.asarray(raw[key], dtype=np.float64)
    for key in ("class_mean_z", "class_std_z"):
        out[key] = {c: np.asarray(v, dtype=np.float64) for c, v in raw[key].items()}
    return out


def parse_script(text: str | None) -> tuple[tuple[str, float], ...]:
    """Parse ``"joy:20,anger:20"`` into ((class, seconds), ...).

    Raises
    ------
    ValueError
        Unknown class (must be one of the nine FACED classes) or bad duration.
    """
    if text is None or not text.strip():
        return DEFAULT_SCRIPT
    from ..constants import EMOTION_CLASSES

    out = []
    for item in text.split(","):
        item = item.strip()
        if not item:
            continue
        label, sep, dur = item.partition(":")
        label = label.strip().lower()
        if label not in EMOTION_CLASSES:
            raise ValueError(
                f"script item {item!r}: unknown class {label!r} "
                f"(expected one of {', '.join(EMOTION_CLASSES)})"
            )
        try:
            seconds = float(dur) if sep else 20.0
        except ValueError:
            raise ValueError(f"script item {item!r}: duration {dur!r} is not a number") from None
        if not seconds >= 1:
            raise ValueError(f"script item {item!r}: duration must be >= 1 s")
        out.append((label, float(round(seconds))))
    if not out:
        raise ValueError(f"empty script {text!r}: expected e.g. 'joy:20,anger:20'")
    return tuple(out)


@dataclass(frozen=True)
class SimulationSettings:
    """Settings of the simulated headset.

    Attributes
    ----------
    sfreq : float
        Sampling rate (Hz).
    script : tuple of (class, seconds)
        Emotion segments, whole seconds each.
    loop : bool
        Repeat the script forever (else the headset finishes after one pass).
    duration : float or None
        Stop after this many seconds (None: per ``loop``).
    name : str
        Stream name; markers on ``<name>-markers``.
    source_id : str or None
        None: a unique ``bci-valence-sim-<hex>``.
    seed : int or None
        Random seed (same seed, same signal).
    contrast : float
        Factor on the class means (1 = FACED's effect sizes, which are small).
    noise : float
        Factor on the within-segment fluctuation.
    marker_repeat_s : float
        Re-send the current label this often.
    chunk_s : float
        Push interval.
    wait_for_consumer : float
        Seconds to wait for a first consumer before the clock starts (0: at once).
    stats_path : str or None
        Statistics JSON (None: the packaged one).
    """

    sfreq: float = FACED_SFREQ
    script: tuple[tuple[str, float], ...] = DEFAULT_SCRIPT
    loop: bool = True
    duration: float | None = None
    name: str = "bci-valence-sim"
    source_id: str | None = None
    seed: int | None = None
    contrast: float = 1.0
    noise: float = 1.0
    marker_repeat_s: float = 5.0
    chunk_s: float = 0.04
    wait_for_consumer: float = 0.0
    stats_path: str | None = None

    def __post_init__(self) -> None:
        if not self.sfreq >= 100:
            raise ValueError(f"sfreq must be >= 100 Hz (gamma goes to 47 Hz), got {self.sfreq}")
        if self.contrast < 0 or self.noise < 0:
            raise ValueError("contrast and noise must be >= 0")

    @classmethod
    def from_spec(cls, spec: SourceSpec) -> SimulationSettings:
        """Settings from a ``sim:`` source spec (script, rate, seed, contrast, noise, name)."""
        kwargs: dict[str, Any] = {}
        if spec.get("script"):
            kwargs["script"] = parse_script(spec.get("script"))
        if spec.get("rate"):
            kwargs["sfreq"] = float(spec.get_float("rate") or FACED_SFREQ)
        if spec.get("seed") is not None:
            kwargs["seed"] = int(spec.get_float("seed") or 0)
        if spec.get("contrast"):
            kwargs["contrast"] = float(spec.get_float("contrast") or 1.0)
        if spec.get("noise"):
            kwargs["noise"] = float(spec.get_float("noise") or 0.0)
        if spec.get("name"):
            kwargs["name"] = str(spec.get("name"))
        return cls(**kwargs)

    @property
    def script_text(self) -> str:
        """The script as ``joy:20,anger:20``."""
        return ",".join(f"{c}:{d:g}" for c, d in self.script)


class HeadsetSynth:
    """Second-by-second synthesis (no LSL): ``next_second()`` -> ((32, sfreq) µV, label)."""

    def __init__(self, settings: SimulationSettings) -> None:
        from scipy.signal import butter, sosfilt, sosfilt_zi

        self.settings = settings
        self.stats = load_class_stats(settings.stats_path)
        self.classes: list[str] = list(self.stats["classes"])
        self.channels: list[str] = list(self.stats["channels"])
        self.bands: dict[str, tuple[float, float]] = {k: tuple(v) for k, v in self.stats["bands"].items()}
        for label, _ in settings.script:
            if label not in self.stats["class_mean_z"]:
                raise ValueError(f"class {label!r} is not in the simulator statistics")
        self.rng = np.random.default_rng(settings.seed)
        self.n_ch = len(self.channels)
        self.n_band = len(self.bands)
        self.fs = float(settings.sfreq)
        self.n_per_s = int(round(self.fs))
        nyq = self.fs / 2
        self._sos = []
        self._gain = []
        for lo, hi in self.bands.values():
            sos = butter(6, [lo / nyq, min(hi, 0.95 * nyq) / nyq], btype="bandpass", output="sos")
            impulse = np.zeros(int(self.fs * 20))
            impulse[0] = 1.0
            h = sosfilt(sos, impulse)
            self._sos.append(sos)
            self._gain.append(float(np.sqrt(np.sum(h**2))))
        self._zi = [
            np.repeat(sosfilt_zi(sos)[:, None, :], self.n_ch, axis=1) * 0.0 for sos in self._sos
        ]
        self._sosfilt = sosfilt
        # segment schedule: one label per second
        self.schedule: list[str] = [c for c, d in settings.script for _ in range(int(d))]
        self.second = 0
        self._d = self.rng.standard_normal((self.n_ch, self.n_band))
        self._amp = None
        self._offset = np.zeros((self.n_ch, self.n_band))
        self._segment_label: str | None = None
        # warm the filters up so the first second is stationary
        for b, sos in enumerate(self._sos):
            warm = self.rng.standard_normal((self.n_ch, 2 * self.n_per_s))
            _, self._zi[b] = sosfilt(sos, warm, axis=-1, zi=self._zi[b])

    @property
    def cycle_seconds(self) -> int:
        """Length of one pass through the script (s)."""
        return len(self.schedule)

    def label_at(self, second: int) -> str:
        """True class of a given second (the script repeats)."""
        return self.schedule[second % len(self.schedule)]

    def target_de(self, label: str) -> np.ndarray:
        """Next second's DE (32, 5) for class ``label`` (advances the AR state)."""
        st = self.stats
        s = self.settings
        rho = np.clip(st["lag1_autocorrelation"], 0.0, 0.99)  # (band,)
        a = np.clip(st["channel_correlation"], 0.0, 0.99)
        common = self.rng.standard_normal((1, self.n_band))
        indep = self.rng.standard_normal((self.n_ch, self.n_band))
        eps = np.sqrt(a) * common + np.sqrt(1 - a) * indep
        self._d = rho * self._d + np.sqrt(1 - rho**2) * eps
        if label != self._segment_label:  # new segment: its own clip-level offset
            self._segment_label = label
            between = np.sqrt(np.maximum(st["class_std_z"][label] ** 2 - st["within_clip_std_z"] ** 2, 0.0))
            shared = self.rng.standard_normal((1, self.n_band))
            own = self.rng.standard_normal((self.n_ch, self.n_band))
            self._offset = between * (np.sqrt(a) * shared + np.sqrt(1 - a) * own) * s.noise
        z = s.contrast * st["class_mean_z"][label] + self._offset + s.noise * st["within_clip_std_z"] * self._d
        return st["global_mean_de"] + st["within_subject_std_de"] * z

    def next_second(self) -> tuple[np.ndarray, str]:
        """Synthesize the next second.

        Returns
        -------
        data : ndarray, shape (32, n_per_s), float64, microvolts
        label : str
            The true class of this second.
        """
        label = self.label_at(self.second)
        de = self.target_de(label)
        amp = np.exp(de) / np.sqrt(2 * np.pi * np.e)  # std per (ch, band)
        n = self.n_per_s
        ramp_n = max(1, int(0.1 * n))
        prev = amp if self._amp is None else self._amp
        weights = np.ones(n)
        weights[:ramp_n] = np.linspace(1.0 / ramp_n, 1.0, ramp_n)
        out = np.zeros((self.n_ch, n))
        for b, sos in enumerate(self._sos):
            white = self.rng.standard_normal((self.n_ch, n))
            y, self._zi[b] = self._sosfilt(sos, white, axis=-1, zi=self._zi[b])
            y /= self._gain[b]
            env = prev[:, b, None] + (amp[:, b, None] - prev[:, b, None]) * weights[None, :]
            out += y * env
        self._amp = amp
        self.second += 1
        return out, label

    def generate(self, seconds: int) -> tuple[np.ndarray, list[str]]:
        """``seconds`` seconds at once: ((32, seconds * n_per_s), per-second labels)."""
        blocks, labels = [], []
        for _ in range(int(seconds)):
            block, label = self.next_second()
            blocks.append(block)
            labels.append(label)
        return np.concatenate(blocks, axis=1), labels


class SimulatedHeadset(OutletThread):
    """The simulated headset on LSL, streaming from a background thread.

    Parameters
    ----------
    settings : SimulationSettings, optional

    Attributes
    ----------
    name, source_id : str
        Of the EEG stream; the marker stream is ``<name>-markers`` /
        ``<source_id>-markers``.
    current_label : str or None
        Class of the segment now being streamed.
    """

    simulated = True
    thread_prefix = "sim"

    def __init__(self, settings: SimulationSettings | None = None) -> None:
        super().__init__()
        settings = settings or SimulationSettings()
        if settings.source_id is None:
            settings = replace(settings, source_id=f"bci-valence-sim-{uuid.uuid4().hex[:12]}")
        self.settings = settings
        self.name = settings.name
        self.source_id: str = settings.source_id  # type: ignore[assignment]
        self.synth = HeadsetSynth(settings)
        self.current_label: str | None = None
        self.n_pushed = 0

    def _make_outlets(self) -> None:
        from mne_lsl.lsl import StreamInfo, StreamOutlet

        s = self.settings
        info = StreamInfo(self.name, "EEG", self.synth.n_ch, s.sfreq, "float32", self.source_id)
        info.set_channel_names(self.synth.channels)
        info.set_channel_types("eeg")
        info.set_channel_units("microvolts")
        desc = info.desc
        desc.append_child_value("simulated", "true")
        desc.append_child_value("manufacturer", "bci-valence simulator (SIMULATED DATA)")
        desc.append_child_value("script", s.script_text)
        desc.append_child_value("contrast", f"{s.contrast:g}")
        desc.append_child_value("statistics", "FACED class-conditional DE (faced_class_stats.json)")
        self._outlet = StreamOutlet(info, chunk_size=max(1, int(s.sfreq * s.chunk_s)))
        minfo = StreamInfo(f"{self.name}-markers", "Markers", 1, 0.0, "string", f"{self.source_id}-markers")
        minfo.desc.append_child_value("simulated", "true")
        self._marker_outlet = StreamOutlet(minfo)

    def _announce(self) -> None:
        logger.info(
            "SIMULATED headset streaming on LSL as %r (source_id %s): %d ch @ %g Hz, script %s",
            self.name,
            self.source_id,
            self.synth.n_ch,
            self.settings.sfreq,
            self.settings.script_text,
        )

    def _run(self) -> None:
        from mne_lsl.lsl import local_clock

        s = self.settings
        synth = self.synth
        n_per_s = synth.n_per_s
        period = 1.0 / s.sfreq
        total_s = s.duration if s.duration is not None else (None if s.loop else float(synth.cycle_seconds))
        total_n = None if total_s is None else int(round(total_s * s.sfreq))

        wait_for_consumer(self._outlet, s.wait_for_consumer, self._stop)
        t0 = local_clock() + 0.05
        pending = np.zeros((synth.n_ch, 0), dtype=np.float32)
        sent = 0
        last_marker = -np.inf
        labels: list[str] = []  # label of each second in `pending`, by absolute second
        try:
            while not self._stop.is_set():
                now = local_clock()
                due = int((now - t0) * s.sfreq) + 1
                if total_n is not None:
                    due = min(due, total_n)
                while pending.shape[1] < due - sent:
                    block, label = synth.next_second()
                    pending = np.concatenate([pending, block.astype(np.float32)], axis=1)
                    labels.append(label)
                n = due - sent
                if n > 0:
                    chunk = np.ascontiguousarray(pending[:, :n].T)
                    stamps = t0 + (sent + np.arange(n)) * period
                    # markers: segment starts inside this chunk, and periodic repeats
                    first_s, last_s = sent // n_per_s, (sent + n - 1) // n_per_s
                    for sec in range(first_s, last_s + 1):
                        start = sec * n_per_s
                        label = labels[sec]
                        new_segment = sec == 0 or labels[sec - 1] != label
                        if start >= sent and new_segment:
                            self._push_marker(label, t0 + start * period)
                            last_marker = t0 + start * period
                            self.current_label = label
                    if stamps[-1] - last_marker >= s.marker_repeat_s:
                        label = labels[last_s]
                        self._push_marker(label, float(stamps[-1]))
                        last_marker = float(stamps[-1])
                    if n == 1:
                        self._outlet.push_sample(chunk[0], timestamp=float(stamps[0]))
                    else:
                        self._outlet.push_chunk(chunk, timestamp=stamps)
                    pending = pending[:, n:]
                    sent += n
                    self.n_pushed = sent
                if total_n is not None and sent >= total_n:
                    self._finished.set()
                    logger.info("SIMULATED headset %r finished after %d samples", self.name, sent)
                    return
                self._stop.wait(s.chunk_s)
        except Exception as err:  # noqa: BLE001 - report, never die silently
            logger.error("simulated headset %r stopped: %s: %s", self.name, type(err).__name__, err)
            self._finished.set()

    def _push_marker(self, label: str, timestamp: float) -> None:
        self._marker_outlet.push_sample([label], timestamp=timestamp)

    def __repr__(self) -> str:
        return f"<SimulatedHeadset {self.name!r} source_id={self.source_id!r} SIMULATED>"
