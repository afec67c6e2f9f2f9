"""Helpers shared by the test modules (import them from here, never from another test file)."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

from bci_valence.model.bundle import BundleConfig

#: The project folder (where pyproject.toml is).
REPO_ROOT = Path(__file__).resolve().parents[1]

#: Units in the last place allowed between two float32 computations of the same value.
#: BLAS kernels differ between CPUs (AMD, Intel) and between thread counts: sums are
#: reordered, so results agree to a few ulps of the largest term, not bit for bit.
FLOAT32_ULPS = 128


def float32_tolerance(reference: np.ndarray, ulps: int = FLOAT32_ULPS) -> float:
    """Absolute tolerance of ``ulps`` float32 units at the scale of ``reference``.

    Parameters
    ----------
    reference : array
        The values compared against; their largest magnitude sets the scale (a
        reduction's rounding error grows with its largest term, not with each output).
    ulps : int
        How many float32 units in the last place are allowed.

    Returns
    -------
    float
        ``ulps * eps32 * max(1, max |reference|)``.
    """
    scale = max(1.0, float(np.max(np.abs(np.asarray(reference, dtype=np.float64)), initial=0.0)))
    return ulps * float(np.finfo(np.float32).eps) * scale


def assert_float32_close(actual, desired, ulps: int = FLOAT32_ULPS, err_msg: str = "") -> None:
    """Assert two float32 results agree within a tolerance that follows the dtype."""
    desired = np.asarray(desired, dtype=np.float64)
    np.testing.assert_allclose(
        np.asarray(actual, dtype=np.float64), desired, rtol=0, atol=float32_tolerance(desired, ulps),
        err_msg=err_msg,
    )


class LinearBundle:
    """A deterministic model with the pipeline's :class:`~bci_valence.model.protocol.ValenceModel` API.

    Valence is a fixed linear map of the standardized DE and the probabilities a fixed
    softmax of the sequence's means, so pipeline tests check the pipeline, not a model.
    """

    has_classifier = True

    def __init__(self) -> None:
        self.config = BundleConfig()
        self.projection_weights = np.random.default_rng(0).standard_normal((32, 5)) / 10

    def to(self, device) -> LinearBundle:
        return self

    def project(self, de: np.ndarray) -> np.ndarray:
        return (np.asarray(de) * self.projection_weights).sum(axis=(-1, -2))

    def predict_proba(self, seq: np.ndarray) -> np.ndarray:
        m = np.asarray(seq).mean(axis=(2, 3))  # (b, 10)
        logits = m @ np.linspace(-1, 1, 90).reshape(10, 9)
        e = np.exp(logits - logits.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)


# --------------------------------------------------------------------------- EDF / BDF writer
def write_edf(
    path,
    data: np.ndarray,
    sfreq: float,
    labels: list[str],
    *,
    bdf: bool = False,
    status: np.ndarray | None = None,
    record_s: float = 1.0,
):
    """Write an EDF (16-bit) or BDF (24-bit) file the way acquisition software does.

    Parameters
    ----------
    path : path-like
        The file to write.
    data : ndarray (n_channels, n_times)
        Signals in volts (written in µV with each channel's own physical range).
    sfreq : float
        Sampling rate; ``sfreq * record_s`` must be a whole number.
    labels : list of str
        One label per channel of ``data``.
    bdf : bool
        BDF (24-bit, BioSemi) instead of EDF.
    status : ndarray (n_times,) of int | None
        BDF only: a trigger channel ``Status`` appended after the signals.
    record_s : float
        Data record length (s); samples past the last whole record are dropped.

    Returns
    -------
    Path
    """
    from pathlib import Path

    path = Path(path)
    data = np.asarray(data, dtype=np.float64) * 1e6  # µV
    n_ch, n_times = data.shape
    per = int(round(sfreq * record_s))
    if abs(per - sfreq * record_s) > 1e-9:
        raise ValueError(f"sfreq * record_s must be whole, got {sfreq * record_s}")
    n_rec = n_times // per
    dig_min, dig_max = (-(2**23), 2**23 - 1) if bdf else (-(2**15), 2**15 - 1)
    signals = [(labels[k], "uV", data[k, : n_rec * per]) for k in range(n_ch)]
    if status is not None:
        if not bdf:
            raise ValueError("a Status channel needs bdf=True")
        signals.append(("Status", "Boolean", np.asarray(status, dtype=np.float64)[: n_rec * per]))

    def field(text, width: int) -> bytes:
        raw = str(text).encode("ascii")[:width]
        return raw + b" " * (width - len(raw))

    def num(value: float, width: int = 8) -> bytes:
        text = f"{value:.6g}" if not float(value).is_integer() else str(int(value))
        return field(text[:width], width)

    header = bytearray()
    header += b"\xffBIOSEMI" if bdf else field("0", 8)
    header += field("X X X X", 80) + field("Startdate 01-JAN-2020 X X X", 80)
    header += field("01.01.20", 8) + field("10.00.00", 8)
    header += num(256 * (1 + len(signals)), 8)
    header += field("24BIT" if bdf else "", 44)
    header += num(n_rec, 8) + num(record_s, 8) + field(str(len(signals)), 4)
    ranges = []
    for label, unit, x in signals:
        if unit == "Boolean":
            lo, hi = float(dig_min), float(dig_max)
        else:
            lo, hi = float(np.floor(x.min())) - 1.0, float(np.ceil(x.max())) + 1.0
        ranges.append((lo, hi))
    header += b"".join(field(s[0], 16) for s in signals)
    header += b"".join(field("AgAgCl electrode" if s[1] != "Boolean" else "Triggers and Status", 80) for s in signals)
    header += b"".join(field(s[1], 8) for s in signals)
    header += b"".join(num(lo) for lo, _ in ranges)
    header += b"".join(num(hi) for _, hi in ranges)
    header += b"".join(num(dig_min) for _ in signals)
    header += b"".join(num(dig_max) for _ in signals)
    header += b"".join(field("HP:0.1Hz LP:100Hz", 80) for _ in signals)
    header += b"".join(num(per) for _ in signals)
    header += b"".join(field("", 32) for _ in signals)
    digital = []
    for (label, unit, x), (lo, hi) in zip(signals, ranges):
        if unit == "Boolean":
            d = np.round(x)
        else:
            d = np.round((x - lo) / (hi - lo) * (dig_max - dig_min) + dig_min)
        digital.append(np.clip(d, dig_min, dig_max).astype(np.int64).reshape(n_rec, per))
    body = bytearray()
    for r in range(n_rec):
        for d in digital:
            values = d[r]
            if bdf:
                u = (values & 0xFFFFFF).astype("<u4")
                body += u.view(np.uint8).reshape(-1, 4)[:, :3].tobytes()
            else:
                body += values.astype("<i2").tobytes()
    path.write_bytes(bytes(header) + bytes(body))
    return path


# --------------------------------------------------------------------------- XDF writer
def _chunk(tag: int, content: bytes) -> bytes:
    body = struct.pack("<H", tag) + content
    return struct.pack("<B", 4) + struct.pack("<I", len(body)) + body


def _varlen(n: int) -> bytes:
    return struct.pack("<B", 4) + struct.pack("<I", n)


def write_xdf(
    path: Path,
    data: np.ndarray,
    timestamps: np.ndarray,
    *,
    sfreq: float,
    labels: list[str] | None = None,
    unit: str | None = None,
    types: list[str] | None = None,
    markers: list[tuple[float, str]] = (),
    name: str = "TestEEG",
    footer: bool = True,
) -> Path:
    """Write a minimal XDF 1.0 file: one float32 EEG stream (+ a string marker stream).

    ``data`` is (n_samples, n_channels); ``types`` gives each labelled channel's
    ``<type>`` (default ``EEG``).
    """
    n, n_ch = data.shape
    chans = ""
    if labels is not None:
        unit_xml = f"<unit>{unit}</unit>" if unit else ""
        kinds = types or ["EEG"] * len(labels)
        chans = "<channels>" + "".join(
            f"<channel><label>{lab}</label><type>{kind}</type>{unit_xml}</channel>"
            for lab, kind in zip(labels, kinds)
        ) + "</channels>"
    eeg_header = (
        f'<?xml version="1.0"?><info><name>{name}</name><type>EEG</type>'
        f"<channel_count>{n_ch}</channel_count><nominal_srate>{sfreq}</nominal_srate>"
        f"<channel_format>float32</channel_format><source_id>test</source_id>"
        f"<created_at>0</created_at><desc>{chans}</desc></info>"
    )
    out = bytearray(b"XDF:")
    out += _chunk(1, b'<?xml version="1.0"?><info><version>1.0</version></info>')
    out += _chunk(2, struct.pack("<I", 1) + eeg_header.encode())
    if markers:
        mk_header = (
            f'<?xml version="1.0"?><info><name>{name}-markers</name><type>Markers</type>'
            "<channel_count>1</channel_count><nominal_srate>0</nominal_srate>"
            "<channel_format>string</channel_format><source_id>test-m</source_id>"
            "<created_at>0</created_at><desc></desc></info>"
        )
        out += _chunk(2, struct.pack("<I", 2) + mk_header.encode())
    samples = bytearray(struct.pack("<I", 1)) + _varlen(n)
    for k in range(n):
        samples += struct.pack("<B", 8) + struct.pack("<d", timestamps[k])
        samples += np.asarray(data[k], dtype="<f4").tobytes()
    out += _chunk(3, bytes(samples))
    if markers:
        msamples = bytearray(struct.pack("<I", 2)) + _varlen(len(markers))
        for t, label in markers:
            raw = label.encode()
            msamples += struct.pack("<B", 8) + struct.pack("<d", t) + _varlen(len(raw)) + raw
        out += _chunk(3, bytes(msamples))
    if footer:
        foot = (
            f'<?xml version="1.0"?><info><first_timestamp>{timestamps[0]}</first_timestamp>'
            f"<last_timestamp>{timestamps[-1]}</last_timestamp><sample_count>{n}</sample_count>"
            "</info>"
        )
        out += _chunk(6, struct.pack("<I", 1) + foot.encode())
        if markers:
            out += _chunk(
                6,
                struct.pack("<I", 2)
                + b'<?xml version="1.0"?><info><sample_count>%d</sample_count></info>' % len(markers),
            )
    path.write_bytes(bytes(out))
    return path


def crafted_xdf(tmp_path: Path, *, gap: bool = True, name: str = "crafted.xdf") -> tuple[Path, np.ndarray]:
    """4 channels @ 100 Hz, µV, labelled, 2 segments (a 2 s gap), 3 markers."""
    sfreq = 100.0
    n = 300
    ts = 1000.0 + np.arange(n) / sfreq
    if gap:
        ts[150:] += 2.0
    data = (np.arange(n * 4, dtype=np.float64).reshape(n, 4) % 97).astype(np.float32)
    path = write_xdf(
        tmp_path / name,
        data,
        ts,
        sfreq=sfreq,
        labels=["Fp1", "Fz", "Cz", "Oz"],
        unit="microvolts",
        markers=[(1000.5, "start"), (1003.6, "after-gap"), (1004.4, "end")],
    )
    return path, data
