"""Read any recording into one in-memory form: :class:`Recording`.

Two readers sit behind :func:`read_recording`:

- ``.xdf`` / ``.xdfz`` files go through :func:`pyxdf.load_xdf` (clock-reset handling
  and jitter removal on, as pyxdf does by default; any gap over 1 s starts a new
  segment, which pyxdf reports in ``segments``). The EEG stream is the stream of
  type ``EEG`` (case-insensitive; the longest one if several), else the numeric stream
  with the highest nominal rate. String-valued or irregular-rate streams become
  markers. Channel labels and units come from the stream's ``<desc><channels>`` when
  present.
- everything else goes through :func:`mne.io.read_raw` (EEGLAB ``.set``, EDF, BDF,
  FIF, BrainVision ``.vhdr``, ...). Annotations become markers.

Units: ``Recording.data`` is in **volts** when the file states its unit (MNE always
does; XDF when every channel's ``<unit>`` is a known voltage unit), and then
``Recording.unit == "V"``. Otherwise the values are the file's own, unscaled, and
``Recording.unit`` is ``"unknown"`` (e.g. the OpenBCI XDF in ``../shared/data/xdf``).

Any failure (missing, unreadable, truncated, unsupported file, no usable EEG stream)
raises :class:`RecordingError`, a :class:`ValueError` naming the file and the cause.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)

__all__ = ["Recording", "RecordingError", "read_recording", "unit_scale", "XDF_SUFFIXES"]

#: File name endings read with pyxdf; everything else goes to MNE.
XDF_SUFFIXES = (".xdf", ".xdfz", ".xdf.gz")

# unit spelling (lower case) -> factor to volts. "0", "-3", "-6", "-9" are mne-lsl's
# encoding (FIFF unit multiplier exponents of volts).
_UNIT_SCALE = {
    "v": 1.0,
    "volt": 1.0,
    "volts": 1.0,
    "0": 1.0,
    "mv": 1e-3,
    "millivolt": 1e-3,
    "millivolts": 1e-3,
    "-3": 1e-3,
    "uv": 1e-6,
    "µv": 1e-6,
    "μv": 1e-6,
    "microvolt": 1e-6,
    "microvolts": 1e-6,
    "-6": 1e-6,
    "nv": 1e-9,
    "nanovolt": 1e-9,
    "nanovolts": 1e-9,
    "-9": 1e-9,
}


class RecordingError(ValueError):
    """A recording file that cannot be used; the message names the file and the cause."""


def unit_scale(units: list[str | None] | tuple[str | None, ...] | None) -> float | None:
    """Factor that converts values in ``units`` to volts.

    Parameters
    ----------
    units : list of str or None
        One unit string per channel (``"microvolts"``, ``"uV"``, ``"V"``, mne-lsl's
        ``"-6"``...).

    Returns
    -------
    float or None
        The common factor, or None when a unit is missing, unknown or the channels
        disagree.
    """
    if not units:
        return None
    factors = {_UNIT_SCALE.get(str(u).strip().lower()) if u is not None else None for u in units}
    if len(factors) != 1:
        return None
    return factors.pop()


@dataclass
class Recording:
    """A recording held in memory.

    Attributes
    ----------
    data : ndarray, shape (n_channels, n_times), float64
        Samples, in volts when ``unit == "V"``, else in the file's own unit.
    sfreq : float
        Sampling rate in Hz (the nominal rate for XDF streams).
    ch_names : list of str
        Channel labels; ``""`` for a channel the file does not label (the caller must
        relabel, e.g. with ``montage.resolve_channel_labels``).
    ch_types : list of str
        MNE channel types (``"eeg"``, ``"eog"``, ``"misc"``...); ``"eeg"`` by default.
    timestamps : ndarray, shape (n_times,), float64
        Time of each sample in seconds on the file's clock (the LSL clock of the
        recording machine for XDF, seconds from the first sample for MNE files).
    markers : list of (float, str)
        Events as (timestamp on the same clock as ``timestamps``, label), sorted.
    segments : list of (int, int)
        Half-open sample index ranges ``[start, stop)`` of gap-free data (pyxdf's
        segments for XDF; one segment for MNE files).
    source : Path
        The file it was read from.
    unit : str
        ``"V"`` or ``"unknown"`` (see module docstring).
    stream_name : str
        Name of the XDF stream used, or the file name.
    simulated : bool
        The stream describes itself as simulated (``<desc><simulated>true``): a
        recording of the simulated headset stays labelled so when replayed.
    """

    data: np.ndarray
    sfreq: float
    ch_names: list[str]
    ch_types: list[str]
    timestamps: np.ndarray
    markers: list[tuple[float, str]] = field(default_factory=list)
    segments: list[tuple[int, int]] = field(default_factory=list)
    source: Path = Path()
    unit: str = "V"
    stream_name: str = ""
    simulated: bool = False

    @property
    def n_channels(self) -> int:
        """Number of channels."""
        return int(self.data.shape[0])

    @property
    def n_times(self) -> int:
        """Number of samples."""
        return int(self.data.shape[1])

    @property
    def duration(self) -> float:
        """Duration in seconds (``n_times / sfreq``)."""
        return self.n_times / self.sfreq

    @property
    def labeled(self) -> bool:
        """Whether every channel has a label."""
        return all(self.ch_names)

    def __repr__(self) -> str:
        return (
            f"Recording({self.source.name!r}, {self.n_channels} ch x {self.n_times} samples "
            f"@ {self.sfreq:g} Hz, unit={self.unit}, {len(self.markers)} markers, "
            f"{len(self.segments)} segment(s))"
        )


def read_recording(
    path: str | Path, *, stream: str | None = None, allow_truncated: bool = False, dejitter: bool = True
) -> Recording:
    """Read a recording file.

    Parameters
    ----------
    path : str or Path
        An XDF file or any file :func:`mne.io.read_raw` reads.
    stream : str, optional
        XDF only: the name (or type) of the stream to use as EEG, instead of the
        automatic choice.
    allow_truncated : bool
        Accept a recording that was cut off and use the samples that could be read:
        an XDF file whose EEG stream has no footer (e.g. LabRecorder crashed), an
        EDF/BDF file shorter than its header's record count says (only its whole
        records are used). By default such a file raises :class:`RecordingError`.
    dejitter : bool
        XDF only: smooth the timestamps (pyxdf's jitter removal, broken at gaps). With
        False the samples keep the timestamps they were recorded with, jitter and all,
        so a replay sees what the live run saw.

    Returns
    -------
    Recording

    Raises
    ------
    RecordingError
        The file is missing, unreadable, truncated, unsupported or holds no usable
        EEG stream; the message names the file and the cause.
    """
    path = Path(path)
    if not path.exists():
        raise RecordingError(f"recording {str(path)!r} does not exist")
    if not path.is_file():
        raise RecordingError(f"recording {str(path)!r} is not a file")
    if path.stat().st_size == 0:
        raise RecordingError(f"recording {str(path)!r} is empty (0 bytes)")
    if path.name.lower().endswith(XDF_SUFFIXES):
        rec = _read_xdf(path, stream, allow_truncated, dejitter)
    else:
        rec = _read_mne(path, allow_truncated)
    if rec.n_times == 0 or rec.n_channels == 0:
        raise RecordingError(f"recording {str(path)!r} holds no samples")
    if not np.all(np.isfinite(rec.timestamps)):
        raise RecordingError(f"recording {str(path)!r} has non-finite timestamps")
    logger.debug("read %r", rec)
    return rec


# --------------------------------------------------------------------------- XDF
def _first(value, default=None):
    """pyxdf wraps every header field in a one-element list."""
    if isinstance(value, list):
        return value[0] if value else default
    return value if value is not None else default


def _xdf_channels(info: dict, n_channels: int) -> tuple[list[str], list[str], list[str | None]]:
    """Labels, types and units from an XDF stream's ``<desc><channels>``."""
    labels = [""] * n_channels
    types = ["eeg"] * n_channels
    units: list[str | None] = [None] * n_channels
    try:
        desc = _first(info.get("desc"))
        channels = _first(desc.get("channels")) if isinstance(desc, dict) else None
        chans = channels.get("channel") if isinstance(channels, dict) else None
        if isinstance(chans, list) and len(chans) == n_channels:
            for k, ch in enumerate(chans):
                if not isinstance(ch, dict):
                    continue
                labels[k] = str(_first(ch.get("label"), "") or "").strip()
                ctype = str(_first(ch.get("type"), "") or "").strip().lower()
                if ctype:
                    if ctype in ("trigger", "trig", "triggers", "status", "marker", "markers", "event"):
                        ctype = "stim"  # a trigger channel, left out before any relabelling
                    types[k] = ctype if ctype in ("eeg", "eog", "emg", "ecg", "misc", "stim") else "misc"
                units[k] = _first(ch.get("unit"))
    except (AttributeError, TypeError, IndexError):  # malformed desc: treat as unlabeled
        pass
    return labels, types, units


def _is_numeric(info: dict) -> bool:
    return str(_first(info.get("channel_format"), "")).lower() != "string"


def _n_samples(stream: dict) -> int:
    ts = stream.get("time_stamps")
    return 0 if ts is None else len(ts)


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def _read_xdf(path: Path, wanted: str | None, allow_truncated: bool, dejitter: bool = True) -> Recording:
    from .xdf_scan import XdfScanError, scan_xdf

    try:  # sizes the headers declare, against the file's size, before pyxdf allocates from them
        scan_xdf(path, allow_truncated=True)
    except XdfScanError as err:
        raise RecordingError(str(err)) from None
    streams, corruption = _load_xdf_streams(path, dejitter)
    if not streams:
        raise RecordingError(f"XDF file {str(path)!r} holds no streams (truncated or empty?)")
    eeg = _choose_eeg_stream(path, streams, wanted)
    info = eeg["info"]
    if eeg.get("footer") is None or corruption:
        cause = (
            f"pyxdf reports: {corruption[0]}" if corruption else "its stream footer is missing"
        )
        if not allow_truncated:
            raise RecordingError(
                f"XDF file {str(path)!r} is truncated or damaged ({cause}); "
                f"{_n_samples(eeg)} samples could be read: replay it with --allow-bad (or add "
                "allow_truncated=1 to its source spec) to use them"
            )
        logger.warning("XDF file %r is truncated (%s); using what could be read", str(path), cause)
    data, labels, types, unit = _xdf_eeg_data(path, eeg)
    timestamps = np.asarray(eeg["time_stamps"], dtype=np.float64)
    segments = [
        (int(a), int(b) + 1)
        for a, b in (info.get("segments") or [(0, len(timestamps) - 1)])
        if int(b) >= int(a)
    ] or [(0, len(timestamps))]
    return Recording(
        data=data,
        sfreq=_srate(eeg),
        ch_names=labels,
        ch_types=types,
        timestamps=timestamps,
        markers=_xdf_markers(streams, eeg),
        segments=segments,
        source=path,
        unit=unit,
        stream_name=str(_first(info.get("name"), "") or ""),
        simulated=_says_simulated(info),
    )


def _load_xdf_streams(path: Path, dejitter: bool) -> tuple[list[dict], list[str]]:
    """pyxdf's streams, and its warnings about corrupt chunks (turned into our error message)."""
    import pyxdf

    collect = _Collect()
    pyxdf_logger = logging.getLogger("pyxdf")
    pyxdf_logger.addHandler(collect)
    propagate = pyxdf_logger.propagate
    pyxdf_logger.propagate = False  # its corruption warnings become our error message
    try:
        streams, _header = pyxdf.load_xdf(
            str(path),
            handle_clock_resets=True,
            dejitter_timestamps=dejitter,
            # a gap > 1 s starts a new segment at any rate (pyxdf's default waits for
            # 500 samples, i.e. 5 s at 100 Hz, and smooths shorter gaps away)
            jitter_break_threshold_seconds=1.0,
            jitter_break_threshold_samples=1,
            verbose=False,
        )
    except Exception as err:  # pyxdf raises many kinds on damaged files
        raise RecordingError(
            f"cannot read XDF file {str(path)!r}: {type(err).__name__}: {err} "
            "(is it truncated or not an XDF file?)"
        ) from err
    finally:
        pyxdf_logger.removeHandler(collect)
        pyxdf_logger.propagate = propagate
    return streams, [m for m in collect.messages if "corrupt" in m.lower()]


def _srate(stream: dict) -> float:
    """A stream's nominal rate (0 for an irregular or malformed one)."""
    try:
        return float(_first(stream["info"].get("nominal_srate"), 0) or 0)
    except (TypeError, ValueError):
        return 0.0


def _choose_eeg_stream(path: Path, streams: list[dict], wanted: str | None) -> dict:
    """The stream named or typed ``wanted``, else the ``EEG`` one, else the fastest numeric one.

    Among several candidates the longest wins.
    """
    numeric = [s for s in streams if _is_numeric(s["info"]) and _srate(s) > 0 and _n_samples(s) > 0]
    if wanted is not None:
        chosen = [
            s
            for s in numeric
            if wanted in (_first(s["info"].get("name"), ""), _first(s["info"].get("type"), ""))
        ]
        if not chosen:
            names = [_first(s["info"].get("name"), "?") for s in streams]
            raise RecordingError(
                f"XDF file {str(path)!r} has no regular numeric stream named {wanted!r}; "
                f"streams: {names}"
            )
    else:
        chosen = [s for s in numeric if str(_first(s["info"].get("type"), "")).lower() == "eeg"]
        if not chosen:
            chosen = sorted(numeric, key=_srate, reverse=True)[:1]
    if not chosen:
        names = [
            f"{_first(s['info'].get('name'), '?')} ({_first(s['info'].get('type'), '?')}, "
            f"{_n_samples(s)} samples)"
            for s in streams
        ]
        raise RecordingError(
            f"XDF file {str(path)!r} has no regular-rate numeric (EEG) stream with samples; "
            f"streams: {names}"
        )
    return max(chosen, key=_n_samples)


def _xdf_eeg_data(path: Path, eeg: dict) -> tuple[np.ndarray, list[str], list[str], str]:
    """The EEG stream's samples (channels x times, in volts when its units say so), labels,
    types and unit (``"V"`` or ``"unknown"``)."""
    info = eeg["info"]
    series = np.asarray(eeg["time_series"])
    if series.ndim != 2:
        raise RecordingError(f"XDF file {str(path)!r}: EEG stream data has shape {series.shape}")
    n_ch = series.shape[1]
    declared = int(_first(info.get("channel_count"), n_ch) or n_ch)
    if declared != n_ch:
        raise RecordingError(
            f"XDF file {str(path)!r}: stream declares {declared} channels but holds {n_ch}"
        )
    labels, types, units = _xdf_channels(info, n_ch)
    scale = unit_scale(units)
    data = series.T.astype(np.float64, copy=True)
    unit = "unknown"
    if scale is not None:
        data *= scale
        unit = "V"
    return data, labels, types, unit


def _xdf_markers(streams: list[dict], eeg: dict) -> list[tuple[float, str]]:
    """(timestamp, label) of every string or irregular single-channel stream, sorted."""
    markers: list[tuple[float, str]] = []
    for s in streams:
        if s is eeg or _n_samples(s) == 0:
            continue
        sinfo = s["info"]
        if _is_numeric(sinfo) and _srate(s) > 0:
            continue  # another regular stream (aux, accelerometer...): not markers
        if _is_numeric(sinfo) and int(_first(sinfo.get("channel_count"), 1) or 1) > 1:
            continue  # an irregular multichannel series (our valence outlet...): not markers
        for ts, value in zip(s["time_stamps"], s["time_series"]):
            vals = value if isinstance(value, (list, tuple, np.ndarray)) else [value]
            label = "/".join(str(v) for v in vals)
            markers.append((float(ts), label))
    markers.sort(key=lambda m: m[0])
    return markers


def _says_simulated(info: dict) -> bool:
    """Whether an XDF stream header's ``<desc>`` says ``simulated=true``."""
    desc = _first(info.get("desc"), None)
    value = _first(desc.get("simulated"), "") if isinstance(desc, dict) else ""
    return str(value).strip().lower() in ("1", "true", "yes")


# --------------------------------------------------------------------------- MNE
def edf_truncation(path: str | Path) -> str | None:
    """Why an EDF/BDF file is shorter than its header says, or None when it is whole.

    The header gives the number of data records and each signal's samples per
    record; the file must hold them all (a recorder that stopped writing, a copy cut
    off). A record count of -1 (still recording) is not checked.

    Parameters
    ----------
    path : str or Path
        An ``.edf`` or ``.bdf`` file.

    Returns
    -------
    str | None
        One line naming the records the header promises and those the file holds.
    """
    path = Path(path)
    with path.open("rb") as f:
        head = f.read(256)
        if len(head) < 256:
            return f"its header is cut off ({len(head)} of 256 bytes)"
        try:
            header_bytes = int(head[184:192].decode("ascii").strip())
            n_records = int(head[236:244].decode("ascii").strip())
            n_signals = int(head[252:256].decode("ascii").strip())
        except ValueError:
            return None  # not a standard header: leave it to the reader
        f.seek(256 + n_signals * 216)
        raw = f.read(8 * n_signals)
    try:
        per_record = sum(int(raw[8 * k : 8 * k + 8].decode("ascii").strip()) for k in range(n_signals))
    except ValueError:
        return None
    if n_records < 0 or per_record <= 0:
        return None
    width = 3 if head[:1] == b"\xff" else 2  # BDF: 24-bit samples
    record_bytes = per_record * width
    size = path.stat().st_size
    expected = header_bytes + n_records * record_bytes
    if size >= expected:
        return None
    whole = max(0, (size - header_bytes) // record_bytes)
    return (
        f"its header promises {n_records} data records but the file holds {whole} whole "
        f"record(s) ({size} of {expected} bytes)"
    )


def _read_mne(path: Path, allow_truncated: bool = False) -> Recording:
    import warnings

    import mne

    name = path.name.lower()
    if name.endswith((".edf", ".bdf")):
        cause = edf_truncation(path)
        if cause is not None:
            if not allow_truncated:
                raise RecordingError(
                    f"recording {str(path)!r} is truncated: {cause}; replay it with --allow-bad (or add "
                    "allow_truncated=1 to its source spec) to use its whole records"
                )
            logger.warning("recording %r is truncated (%s); using its whole records", str(path), cause)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            raw = mne.io.read_raw(path, preload=True, verbose="error")
    except ValueError as err:
        if "Unsupported file type" not in str(err):  # MNE's words for a file name it has no reader for
            raise RecordingError(
                f"cannot read recording {str(path)!r} with MNE: ValueError: {err} (is it truncated or damaged?)"
            ) from err
        raise RecordingError(
            f"unsupported recording file type {str(path)!r}: expected .xdf or a format MNE reads "
            f"(EEGLAB .set, EDF, BDF, FIF, BrainVision .vhdr, ...): {err}"
        ) from err
    except Exception as err:  # noqa: BLE001 - MNE raises many kinds
        raise RecordingError(
            f"cannot read recording {str(path)!r} with MNE: {type(err).__name__}: "
            f"{err or 'its content does not match the format its name implies'} "
            "(is it truncated or damaged?)"
        ) from err
    data = raw.get_data().astype(np.float64, copy=False)
    timestamps = np.asarray(raw.times, dtype=np.float64)
    offset = raw.first_time if raw.annotations.orig_time is not None else 0.0
    markers = sorted(
        (float(onset - offset), str(desc))
        for onset, desc in zip(raw.annotations.onset, raw.annotations.description)
    )
    return Recording(
        data=data,
        sfreq=float(raw.info["sfreq"]),
        ch_names=list(raw.ch_names),
        ch_types=list(raw.get_channel_types()),
        timestamps=timestamps,
        markers=markers,
        segments=[(0, raw.n_times)],
        source=path,
        unit="V",
        stream_name=path.name,
    )
