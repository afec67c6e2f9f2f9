"""Signal-quality flags for one analysis window.

Pure functions on arrays: :func:`assess_window` looks at the raw (unfiltered,
source-rate) samples of a window and, optionally, at the filtered signal, and
returns a :class:`QualityFlag` bitmask. The pipeline adds the stream-level flags
(``GAP``, ``CALIBRATING``, ``SIMULATED``, ``STALE``, ``INTERPOLATED``,
``UNDERSAMPLED``) itself; :func:`undersampled` says when a rate is too low for the bands.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import numpy as np

__all__ = [
    "QualityFlag",
    "QualityThresholds",
    "BAD_FLAGS",
    "assess_window",
    "undersampled",
    "flag_names",
    "parse_flags",
]


class QualityFlag(enum.IntFlag):
    """Bitmask of quality conditions attached to every :class:`~bci_valence.pipeline.ValenceStep`.

    The numeric values are part of the output format (LSL ``quality`` channel, CSV
    ``flags_int`` column): never renumber.
    """

    NONE = 0
    GAP = 1 << 0  #: samples missing inside the window (timestamp deltas) or stream restarted
    FLAT = 1 << 1  #: a real channel is flat (peak-to-peak below ``flat_uv``)
    CLIPPED = 1 << 2  #: a real channel sits on its extreme values (amplifier rail)
    NONFINITE = 1 << 3  #: NaN or Inf in the window
    ARTEFACT = 1 << 4  #: absurd amplitude (filtered signal beyond ``artefact_uv``)
    CALIBRATING = 1 << 5  #: standardization statistics still being gathered
    SIMULATED = 1 << 6  #: the source is simulated, not a real EEG device
    STALE = 1 << 7  #: the stream is lost; no live data behind this step
    INTERPOLATED = 1 << 8  #: some montage channels are interpolated, not recorded
    UNDERSAMPLED = 1 << 9  #: the stream's rate cannot carry the top band (Nyquist below its edge)
    BAD_CHANNEL = 1 << 10  #: a channel had no signal in this window (flat or non-finite): interpolated


#: Flags that make a window unfit for the normalization statistics.
BAD_FLAGS = (
    QualityFlag.GAP
    | QualityFlag.FLAT
    | QualityFlag.CLIPPED
    | QualityFlag.NONFINITE
    | QualityFlag.ARTEFACT
    | QualityFlag.STALE
    | QualityFlag.UNDERSAMPLED
)


def undersampled(sfreq: float, top_hz: float) -> bool:
    """Whether a rate of ``sfreq`` cannot carry content up to ``top_hz`` (Nyquist).

    Parameters
    ----------
    sfreq : float
        The stream's sampling rate (Hz).
    top_hz : float
        The highest frequency the features need (the top band's upper edge).

    Returns
    -------
    bool
        True when ``sfreq / 2 < top_hz``.
    """
    return float(sfreq) / 2.0 < float(top_hz)


@dataclass(frozen=True)
class QualityThresholds:
    """Thresholds for :func:`assess_window` (amplitudes in microvolts).

    Parameters
    ----------
    flat_uv : float
        A channel whose raw peak-to-peak over the window is below this is flat.
    clip_fraction : float
        A channel with more than this fraction of its raw samples exactly at its
        window minimum or maximum (and at least ``clip_min_samples`` of them) is
        clipped: real EEG almost never repeats its extreme value.
    clip_min_samples : int
        Minimum number of samples at the extreme to call a channel clipped.
    artefact_uv : float
        Absolute filtered amplitude above which the window is an artefact.
    """

    flat_uv: float = 0.5
    clip_fraction: float = 0.05
    clip_min_samples: int = 4
    artefact_uv: float = 500.0


def assess_window(
    raw: np.ndarray,
    filtered: np.ndarray | None = None,
    thresholds: QualityThresholds = QualityThresholds(),
) -> QualityFlag:
    """Quality flags of one window.

    Parameters
    ----------
    raw : ndarray, shape (n_channels, n_samples)
        Raw samples of the real (recorded, EEG) channels in microvolts, before any
        filtering. Not modified.
    filtered : ndarray, shape (n_channels', n_samples') | None
        The filtered, re-referenced signal of the same window (microvolts), used for
        the artefact-amplitude test. When None, the raw signal minus its per-channel
        median is used instead.
    thresholds : QualityThresholds
        The thresholds.

    Returns
    -------
    QualityFlag
        Any of ``NONFINITE``, ``FLAT``, ``CLIPPED``, ``ARTEFACT``.
    """
    raw = np.asarray(raw)
    if raw.ndim != 2:
        raise ValueError(f"raw window must be 2-D (channels, samples), got shape {raw.shape}")
    flags = QualityFlag.NONE
    if raw.size == 0:
        return flags
    finite = np.isfinite(raw)
    if not finite.all():
        flags |= QualityFlag.NONFINITE
        # each channel's non-finite samples take its finite median (0 when it has none):
        # np.nanmedian would warn "All-NaN slice" for a channel without a finite sample
        fill = np.zeros((raw.shape[0], 1))
        for c in np.flatnonzero(finite.any(axis=1)):
            fill[c, 0] = np.median(raw[c, finite[c]])
        raw = np.where(finite, raw, fill)
    hi = raw.max(axis=1)
    lo = raw.min(axis=1)
    ptp = hi - lo
    flat = ptp < thresholds.flat_uv
    if flat.any():
        flags |= QualityFlag.FLAT
    n = raw.shape[1]
    at_extreme = (raw == hi[:, None]).sum(axis=1) + (raw == lo[:, None]).sum(axis=1)
    clipped = (~flat) & (at_extreme >= thresholds.clip_min_samples) & (
        at_extreme > thresholds.clip_fraction * n
    )
    if clipped.any():
        flags |= QualityFlag.CLIPPED
    if filtered is None:
        sig = raw - np.median(raw, axis=1, keepdims=True)
    else:
        sig = np.asarray(filtered)
    sig_finite = np.isfinite(sig)
    peak = float(np.abs(sig[sig_finite]).max()) if sig_finite.any() else 0.0
    if sig.size and not sig_finite.all():
        flags |= QualityFlag.NONFINITE
    elif peak > thresholds.artefact_uv:
        flags |= QualityFlag.ARTEFACT
    return flags


def flag_names(flags: int) -> list[str]:
    """Names of the set flags, lowest bit first (``[]`` when none)."""
    return [f.name for f in QualityFlag if f.value and int(flags) & f.value and f.name]


def parse_flags(text: str) -> QualityFlag:
    """Inverse of ``"|".join(flag_names(flags))`` (empty string is no flag)."""
    out = QualityFlag.NONE
    for name in filter(None, (t.strip() for t in text.split("|"))):
        try:
            out |= QualityFlag[name.upper()]
        except KeyError:
            raise ValueError(
                f"unknown quality flag {name!r}; expected one of "
                f"{[f.name for f in QualityFlag if f.value]}"
            ) from None
    return out
