"""The model's 32-channel FACED montage and the mapping of any stream onto it.

Devices and files name channels in many ways (``EEG Fp1-REF``, ``T3``, ``FPZ``,
``EXG1``…). :func:`map_channels` normalises the names, places the ones that are 10-20
electrodes, leaves out non-EEG channels, and fills the model channels that the stream
lacks by spherical-spline interpolation. The interpolation is computed once with MNE as a
fixed matrix, so applying it to a window is one matrix product.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Sequence

import numpy as np

from ..constants import FACED_CHANNELS

#: The MNE template whose positions place every electrode name we accept.
POSITION_TEMPLATE = "colin27_1005"

#: Old 10-20 names (and mastoid synonyms) to the modern 10-10 name.
ALIASES: dict[str, str] = {
    "T3": "T7",
    "T4": "T8",
    "T5": "P7",
    "T6": "P8",
    "M1": "A1",
    "M2": "A2",
    "TP9": "A1",
    "TP10": "A2",
}

_NON_EEG = re.compile(
    r"^(EOG|VEOG|HEOG|ECG|EKG|EMG|RESP|GSR|EDA|PPG|SPO2|TEMP|TRIG|TRIGGER|STI|STIM|STATUS|"
    r"MARKER|EVENT|AUX|ACC|ACCEL|GYRO|BATTERY|BAT|PACKET|COUNTER|SAMPLE|TIMESTAMP|EXG|"
    r"X|Y|Z|ANALOG|DIGITAL|OTHER|PHOTO|LIGHT|BIP|EXT)",
    re.IGNORECASE,
)
_PREFIX = re.compile(r"^(EEG)[\s_:\-]+", re.IGNORECASE)
_REF_SUFFIX = re.compile(
    r"[\s_\-]*(REF|LE|AR|AVG|AVERAGE|CAR|A1A2|M1M2|LM|RM|CZ|A1|A2|M1|M2)$", re.IGNORECASE
)
# BioSemi's native labels (A1…A32, B1…, EXG1…) are grid positions, not 10-20 names.
_BIOSEMI = re.compile(r"^[A-H]([1-9]|[12][0-9]|3[0-2])$", re.IGNORECASE)


class ChannelMappingError(ValueError):
    """A stream's channels cannot be placed on the model's montage."""


@lru_cache(maxsize=1)
def _template_positions() -> dict[str, np.ndarray]:
    """Electrode name (upper case) → 3-D head position in metres, from MNE's template."""
    import mne

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        montage = mne.channels.make_standard_montage(POSITION_TEMPLATE)
    positions = montage.get_positions()["ch_pos"]
    return {name.upper(): np.asarray(pos, float) for name, pos in positions.items()}


@lru_cache(maxsize=1)
def _canonical_names() -> dict[str, str]:
    """Upper-case electrode name → the template's spelling (``FPZ`` → ``Fpz``)."""
    import mne

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        montage = mne.channels.make_standard_montage(POSITION_TEMPLATE)
    names = {name.upper(): name for name in montage.ch_names}
    names.update({name.upper(): name for name in FACED_CHANNELS})
    return names


def normalize_channel_name(name: str) -> str | None:
    """Return the canonical 10-20/10-05 name of a channel label, or ``None``.

    ``None`` means the label is not an electrode we can place: a non-EEG channel
    (EOG, trigger, aux…) or an unknown label. Prefixes (``EEG``) and reference suffixes
    (``-REF``, ``-LE``) are removed, old names are translated (``T3`` → ``T7``), and
    case is ignored.

    Parameters
    ----------
    name : str
        The label as the device or file writes it.

    Returns
    -------
    str | None
        The electrode's name in the template's spelling, or ``None``.
    """
    label = str(name).strip()
    if not label:
        return None
    label = _PREFIX.sub("", label).strip()
    canonical = _canonical_names()
    for candidate in (label, _REF_SUFFIX.sub("", label)):
        key = candidate.strip().upper().replace(" ", "")
        if not key:
            continue
        key = ALIASES.get(key, key)
        if key in canonical:
            return canonical[key]
    return None


def is_non_eeg(name: str) -> bool:
    """Whether a label names a non-EEG channel (EOG, ECG, trigger, aux, accelerometer…)."""
    label = _PREFIX.sub("", str(name).strip())
    return bool(_NON_EEG.match(label)) and normalize_channel_name(name) is None


@dataclass(frozen=True)
class MontageMapping:
    """How one stream's channels become the model's channels.

    Attributes
    ----------
    source_names : tuple of str
        The stream's labels, in stream order.
    target_names : tuple of str
        The model's channel names, in model order.
    matrix : ndarray, shape (n_target, n_source)
        ``target = matrix @ source``: a one for each measured channel, spherical-spline
        weights for each interpolated one, zeros for every left-out source channel.
    real : tuple of str
        Target channels measured by the stream.
    interpolated : tuple of str
        Target channels filled by interpolation.
    unplaced : tuple of str
        Source labels that look like EEG but could not be placed.
    non_eeg : tuple of str
        Source labels recognised as non-EEG and left out.
    """

    source_names: tuple[str, ...]
    target_names: tuple[str, ...]
    matrix: np.ndarray = field(repr=False)
    real: tuple[str, ...]
    interpolated: tuple[str, ...]
    unplaced: tuple[str, ...]
    non_eeg: tuple[str, ...]

    @property
    def n_real(self) -> int:
        """Number of model channels that are measured, not interpolated."""
        return len(self.real)

    @property
    def interpolated_mask(self) -> np.ndarray:
        """Boolean (n_target,) mask of interpolated model channels."""
        return np.isin(np.asarray(self.target_names), np.asarray(self.interpolated))

    def apply(self, data: np.ndarray) -> np.ndarray:
        """Map ``data[..., n_source, n_times]`` onto ``[..., n_target, n_times]``."""
        data = np.asarray(data)
        if data.shape[-2] != len(self.source_names):
            raise ChannelMappingError(
                f"data has {data.shape[-2]} channels, the mapping expects "
                f"{len(self.source_names)} ({', '.join(self.source_names)})"
            )
        return np.matmul(self.matrix.astype(data.dtype, copy=False), data)

    def describe(self) -> str:
        """One readable line: how many channels are real, interpolated and left out."""
        parts = [f"{self.n_real}/{len(self.target_names)} model channels measured"]
        if self.interpolated:
            parts.append(f"interpolated: {', '.join(self.interpolated)}")
        if self.non_eeg:
            parts.append(f"non-EEG left out: {', '.join(self.non_eeg)}")
        if self.unplaced:
            parts.append(f"could not place: {', '.join(self.unplaced)}")
        return "; ".join(parts)


def _interpolation_matrix(from_names: Sequence[str], to_names: Sequence[str]) -> np.ndarray:
    """Spherical-spline weights (n_to, n_from), computed by MNE's ``interpolate_bads``.

    Interpolation is linear in the data, so interpolating an identity matrix (one
    sample per good channel) yields the weights themselves.
    """
    import mne

    names = list(from_names) + list(to_names)
    info = mne.create_info(names, sfreq=float(len(from_names)), ch_types="eeg")
    positions = _template_positions()
    montage = mne.channels.make_dig_montage(
        ch_pos={name: positions[name.upper()] for name in names}, coord_frame="head"
    )
    info.set_montage(montage)
    data = np.zeros((len(names), len(from_names)))
    data[: len(from_names)] = np.eye(len(from_names))
    raw = mne.io.RawArray(data, info, verbose="error")
    raw.info["bads"] = list(to_names)
    raw.interpolate_bads(reset_bads=True, origin=(0.0, 0.0, 0.04), verbose="error")
    return raw.get_data(picks=list(to_names))


def map_channels(
    ch_names: Sequence[str],
    target: Sequence[str] = FACED_CHANNELS,
    *,
    min_channels: int = 8,
) -> MontageMapping:
    """Map a stream's channel labels onto the model's montage.

    Parameters
    ----------
    ch_names : sequence of str
        The stream's labels in stream order.
    target : sequence of str
        The model's channel names (the FACED order by default).
    min_channels : int
        Fewest model channels that must be measured; fewer raises.

    Returns
    -------
    MontageMapping
        The fixed mapping matrix and what was measured, interpolated and left out.

    Raises
    ------
    ChannelMappingError
        If fewer than ``min_channels`` model channels can be placed; the message names
        every label that could not be placed.
    """
    source = tuple(str(name) for name in ch_names)
    target = tuple(target)
    # A1, A2 are mastoids in 10-20 but grid cells in a BioSemi file: decide per file.
    biosemi = (
        sum(bool(_BIOSEMI.match(n.strip())) and normalize_channel_name(n) is None for n in source)
        >= 2
    )
    target_index = {name.upper(): i for i, name in enumerate(target)}
    picks: dict[str, int] = {}  # target name → source index
    extra_real: dict[str, int] = {}  # placeable source channels outside the target
    unplaced: list[str] = []
    non_eeg: list[str] = []
    for index, label in enumerate(source):
        name = None if biosemi and _BIOSEMI.match(label.strip()) else normalize_channel_name(label)
        if name is None:
            (non_eeg if is_non_eeg(label) else unplaced).append(label or f"<unnamed #{index}>")
            continue
        if name.upper() in target_index:
            picks.setdefault(target[target_index[name.upper()]], index)
        else:
            extra_real.setdefault(name, index)

    if len(picks) < min_channels:
        detail = f"could not place: {', '.join(unplaced)}" if unplaced else "no 10-20 labels"
        hint = " (BioSemi grid labels)" if biosemi else ""
        raise ChannelMappingError(
            f"only {len(picks)} of the model's {len(target)} channels found in the stream "
            f"(at least {min_channels} needed); {detail}{hint}. Relabel the stream with "
            "--channels Fp1,Fp2,... or an MNE montage name such as biosemi16."
        )

    real = tuple(name for name in target if name in picks)
    missing = tuple(name for name in target if name not in picks)
    matrix = np.zeros((len(target), len(source)))
    for name, index in picks.items():
        matrix[target.index(name), index] = 1.0
    if missing:
        good = {**{name: picks[name] for name in real}, **extra_real}
        weights = _interpolation_matrix(list(good), list(missing))
        columns = list(good.values())
        for row, name in enumerate(missing):
            matrix[target.index(name), columns] = weights[row]
    return MontageMapping(
        source_names=source,
        target_names=target,
        matrix=matrix,
        real=real,
        interpolated=missing,
        unplaced=tuple(unplaced),
        non_eeg=tuple(non_eeg),
    )


def resolve_channel_labels(spec: str, n_channels: int) -> list[str]:
    """Channel labels from a ``--channels`` value.

    Parameters
    ----------
    spec : str
        Either comma-separated labels (``Fp1,Fp2,C3``) or the name of an MNE standard
        montage (``biosemi16``), whose names are taken in order.
    n_channels : int
        The stream's channel count; the labels must cover every channel.

    Returns
    -------
    list of str
        One label per stream channel.
    """
    import mne

    spec = spec.strip()
    if "," not in spec and spec in mne.channels.get_builtin_montages():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            labels = list(mne.channels.make_standard_montage(spec).ch_names)
        source = f"montage {spec!r}"
    else:
        labels = [label.strip() for label in spec.split(",") if label.strip()]
        source = "--channels"
    if len(labels) != n_channels:
        raise ChannelMappingError(
            f"{source} gives {len(labels)} labels but the stream has {n_channels} channels"
        )
    return labels


def channel_positions(names: Sequence[str] = FACED_CHANNELS) -> np.ndarray:
    """3-D head positions (n, 3) in metres for placeable channel names."""
    positions = _template_positions()
    out = []
    for name in names:
        canonical = normalize_channel_name(name)
        if canonical is None:
            raise ChannelMappingError(f"no 10-20 position for channel {name!r}")
        out.append(positions[canonical.upper()])
    return np.asarray(out)


def faced_info(sfreq: float = 250.0):
    """An :class:`mne.Info` for the 32 FACED channels with template positions.

    Used for topomaps of features and weights.
    """
    import mne

    info = mne.create_info(list(FACED_CHANNELS), sfreq=sfreq, ch_types="eeg")
    montage = mne.channels.make_dig_montage(
        ch_pos=dict(zip(FACED_CHANNELS, channel_positions(FACED_CHANNELS))), coord_frame="head"
    )
    info.set_montage(montage)
    return info
