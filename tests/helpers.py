"""Helpers shared by the test modules (import them from here, never from another test file)."""

from __future__ import annotations

import numpy as np

from bci_valence.model.bundle import BundleConfig

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
