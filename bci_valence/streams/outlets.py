"""Where the steps go: an LSL outlet any LSL client can read, and a CSV log.

:class:`ValenceOutlet` publishes one stream per EEG stream, named ``bci_valence``,
type ``Valence``, with 11 float32 channels: ``valence``, ``p_<class>`` × 9 and
``quality`` (the :class:`~bci_valence.signal.quality.QualityFlag` bitmask as a number).
Every sample carries the step's source timestamp, so it lines up with the EEG in
any LSL recording. Probabilities are NaN until the classifier has 10 s of DE. The
outlet declares an irregular rate: steps pause while a stream is lost, and a reader
that smooths timestamps of regular streams (pyxdf's ``dejitter_timestamps``) would
otherwise spread the steps after a gap back over it.

:class:`CsvLog` writes one row per step with every field, flushed per row so a
crash loses nothing.

Both carry a description of what the numbers mean when the caller gives one (the
session does: what the valence is, how reliable it is on content the model never saw,
that the probabilities are FACED-specific, the settings): the outlet in its stream
description (``<desc><about>``), the CSV log in a JSON file beside it
(``session.csv.json``), so plain CSV readers still read the log.
"""

from __future__ import annotations

import csv
import fcntl
import io
import json
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from ..signal.quality import flag_names

__all__ = [
    "OutletSettings",
    "ValenceOutlet",
    "CsvLog",
    "CsvWriteError",
    "OUTLET_NAME",
    "OUTLET_TYPE",
    "channel_labels",
    "csv_columns",
    "read_csv_log",
]

OUTLET_NAME = "bci_valence"
OUTLET_TYPE = "Valence"


@dataclass(frozen=True)
class OutletSettings:
    """Settings of :class:`ValenceOutlet`.

    Parameters
    ----------
    name, stype : str
        LSL stream name and type.
    rate : float
        Nominal rate in steps per second. The default 0 declares the stream
        irregular, so that readers keep each step's own timestamp; a regular rate
        (``1 / hop_s``) makes pyxdf's default timestamp smoothing move the steps
        that follow a gap by seconds (read such files with
        ``pyxdf.load_xdf(..., dejitter_timestamps=False)``).
    """

    name: str = OUTLET_NAME
    stype: str = OUTLET_TYPE
    rate: float = 0.0

    def __post_init__(self) -> None:
        if not (self.rate >= 0 and math.isfinite(self.rate)):
            raise ValueError(f"outlet rate must be 0 (irregular) or a positive number of steps per second, got {self.rate}")


def channel_labels(class_names: Sequence[str]) -> list[str]:
    """The outlet's channel labels."""
    return ["valence", *[f"p_{c}" for c in class_names], "quality"]


class ValenceOutlet:
    """LSL outlet(s) for the pipeline's steps, one per EEG stream.

    Parameters
    ----------
    class_names : sequence of str
        The bundle's classes, in probability order.
    settings : OutletSettings
    source_id_prefix : str
        Each outlet's source_id is ``{prefix}-{stream}``.
    about : mapping of str to str, optional
        What the values mean, written into each stream's description as
        ``<desc><about><key>text</key>…</about>`` (any LSL client can read it).
    """

    def __init__(
        self,
        class_names: Sequence[str],
        settings: OutletSettings | None = None,
        source_id_prefix: str = "bci_valence",
        about: Mapping[str, str] | None = None,
    ) -> None:
        self.class_names = tuple(class_names)
        self.settings = settings or OutletSettings()
        self.prefix = source_id_prefix
        self.about = dict(about or {})
        self.labels = channel_labels(self.class_names)
        self._outlets: dict[str, object] = {}

    def source_id(self, stream: str) -> str:
        """source_id of the outlet for ``stream``."""
        return f"{self.prefix}-{stream}"

    def _outlet(self, stream: str):
        out = self._outlets.get(stream)
        if out is None:
            from mne_lsl.lsl import StreamInfo, StreamOutlet

            info = StreamInfo(
                self.settings.name,
                self.settings.stype,
                len(self.labels),
                self.settings.rate,
                "float32",
                self.source_id(stream),
            )
            info.set_channel_names(self.labels)
            info.set_channel_types(["misc"] * len(self.labels))
            info.set_channel_units(["none"] * len(self.labels))
            # which run and which input this is: two runs on one network can be told apart
            info.desc.append_child_value("input_stream", str(stream))
            info.desc.append_child_value("session", self.prefix)
            info.desc.append_child_value("pid", str(os.getpid()))
            info.desc.append_child_value("started", time.strftime("%Y-%m-%dT%H:%M:%S%z"))
            if self.about:
                node = info.desc.append_child("about")
                for key, text in self.about.items():
                    node.append_child_value(str(key), str(text))
            out = StreamOutlet(info, chunk_size=1, max_buffered=60)
            self._outlets[stream] = out
        return out

    def open(self, streams: Sequence[str]) -> None:
        """Create the outlets now (so recorders and clients can find them early)."""
        for s in streams:
            self._outlet(s)

    def row(self, step) -> np.ndarray:
        """The 11 values of one step."""
        probs = step.probabilities
        if probs is None:
            probs = np.full(len(self.class_names), np.nan)
        return np.concatenate(([step.valence], np.asarray(probs, dtype=float), [float(step.flags)])).astype(
            np.float32
        )

    def push(self, steps) -> None:
        """Push steps, each with its source timestamp."""
        for step in steps:
            if step.timestamp is None or not math.isfinite(step.timestamp):
                continue
            self._outlet(step.stream).push_sample(self.row(step), timestamp=float(step.timestamp))

    def close(self) -> None:
        """Destroy the outlets."""
        self._outlets.clear()

    def __enter__(self) -> ValenceOutlet:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def csv_columns(class_names: Sequence[str]) -> list[str]:
    """Column names of :class:`CsvLog`."""
    return [
        "stream",
        "timestamp",
        "wall_time",
        "valence",
        *[f"p_{c}" for c in class_names],
        "flags",
        "flags_int",
        "calibration_progress",
        "latency_ms",
        "true_label",
    ]


class CsvWriteError(OSError):
    """The CSV log could not be written (its complete rows are kept); the message says why."""


class CsvLog:
    """CSV log of every step; each row is flushed to disk as it is written.

    Parameters
    ----------
    path : str | Path
        File to write (parent folders are created).
    class_names : sequence of str
    overwrite : bool
        Replace an existing file; by default an existing file is left untouched and
        :class:`FileExistsError` is raised.
    about : mapping, optional
        What the log means (JSON-able), written to :attr:`about_path` beside it.

    Raises
    ------
    FileExistsError
        ``path`` (or, with ``about``, :attr:`about_path`) exists and ``overwrite`` is False.
    OSError
        The file cannot be created; the message names it.
    """

    def __init__(
        self,
        path: str | Path,
        class_names: Sequence[str],
        *,
        overwrite: bool = False,
        about: Mapping[str, Any] | None = None,
    ) -> None:
        self.path = Path(path)
        self.class_names = tuple(class_names)
        if about is not None and not overwrite and self.about_path.exists():
            raise FileExistsError(
                f"{self.about_path} (the CSV log's description) already exists: choose another name "
                "or allow overwriting it"
            )
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # opened without truncating, locked, then emptied: a second run asked to
            # overwrite a log that another run is writing is refused, and the first run's
            # rows stay whole
            flags = os.O_WRONLY | os.O_CREAT | (0 if overwrite else os.O_EXCL)
            self._fh: io.RawIOBase | None = os.fdopen(os.open(self.path, flags, 0o644), "wb", buffering=0)
        except FileExistsError as err:
            raise FileExistsError(
                f"the CSV log {self.path} already exists: choose another name or allow overwriting it"
            ) from err
        except OSError as err:
            raise OSError(f"cannot write the CSV log {self.path}: {err}") from err
        try:
            fcntl.flock(self._fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._fh.close()
            self._fh = None
            raise FileExistsError(
                f"the CSV log {self.path} is being written by another run: choose another name"
            ) from None
        self._fh.truncate(0)
        if about is not None:
            with self.about_path.open("w", encoding="utf-8") as fh:
                json.dump({"log": self.path.name, "columns": csv_columns(self.class_names), **about},
                          fh, indent=2, default=str)  # fmt: skip
                fh.write("\n")
        self._complete = 0  # bytes of whole rows on disk
        self.rows = 0
        self._append([csv_columns(self.class_names)])

    def describe(self, key: str, value: Any) -> None:
        """Add ``key`` to the log's description (what is only known at the end, such as
        each stream's measured timing); the description is replaced whole, never cut."""
        path = self.about_path
        try:
            about = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return  # no description was written (or it is not ours to change)
        about[key] = value
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(about, indent=2, default=str) + "\n", encoding="utf-8")
        os.replace(tmp, path)

    @property
    def about_path(self) -> Path:
        """The JSON file that describes the log (``<log>.json``)."""
        return self.path.with_name(self.path.name + ".json")

    def write(self, steps) -> None:
        """Append one row per step and flush."""
        if self._fh is None:
            raise ValueError(f"CSV log {self.path} is closed")
        now = time.time()
        rows = []
        for s in steps:
            probs = s.probabilities
            probs = [""] * len(self.class_names) if probs is None else [f"{p:.6g}" for p in probs]
            rows.append(
                [
                    s.stream,
                    f"{s.timestamp:.6f}",
                    f"{now:.6f}",
                    "" if not math.isfinite(s.valence) else f"{s.valence:.6g}",
                    *probs,
                    "|".join(flag_names(s.flags)),
                    int(s.flags),
                    f"{s.calibration_progress:.4f}",
                    f"{s.latency_ms:.3f}",
                    s.true_label or "",
                ]
            )
        self._append(rows)
        self.rows += len(rows)

    def _append(self, rows: list[list[Any]]) -> None:
        """Write whole rows or none: a write that fails (disk full, medium removed)
        is cut back to the last complete row and raises :class:`CsvWriteError`."""
        text = io.StringIO()
        csv.writer(text).writerows(rows)
        data = memoryview(text.getvalue().encode("utf-8"))
        fh = self._fh
        assert fh is not None
        try:
            while data:
                written = fh.write(data)
                data = data[written or 0 :]
        except OSError as err:
            try:
                fh.truncate(self._complete)
            except OSError:
                pass
            raise CsvWriteError(
                f"the CSV log {self.path} could not be written ({err.strerror or err}): "
                f"its {self.rows} complete rows are kept, nothing after them"
            ) from err
        self._complete = fh.tell()

    def close(self) -> None:
        """Close the file (idempotent)."""
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    def __enter__(self) -> CsvLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_csv_log(path: str | Path) -> list[dict[str, str]]:
    """Rows of a :class:`CsvLog` file as dicts (for tests and tools)."""
    with Path(path).open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))
