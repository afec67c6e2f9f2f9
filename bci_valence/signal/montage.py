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

from ..constants import FACED_CHANNELS, FACED_SFREQ

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
# Trigger / status channels: left out before any relabelling (BioSemi's "Status",
# MNE's "STI 014", LSL streams that type a channel "trigger").
_TRIGGER = re.compile(
    r"^(STATUS|TRIG|TRIGGER|TRIGGERS|STI|STIM|STI[\s_]?\d+|MARKER|MARKERS|EVENT|EVENTS|TRG)$",
    re.IGNORECASE,
)
#: Channel types (MNE's, LSL's) of trigger channels.
TRIGGER_TYPES = frozenset({"stim", "trig", "trigger", "triggers", "status", "marker", "markers", "event"})
#: Channel types that are never EEG: left out of the mapping whatever their label.
NON_EEG_TYPES = TRIGGER_TYPES | {"eog", "ecg", "emg", "resp", "gsr", "bio", "syst", "exci", "ias", "chpi"}


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


def is_trigger(name: str, ch_type: str | None = None) -> bool:
    """Whether a channel is a trigger/status channel (by its type, else by its label).

    Parameters
    ----------
    name : str
        The channel's label (``Status``, ``STI 014``, ``Trigger``...).
    ch_type : str | None
        Its type when the source states one (MNE's ``stim``, an LSL ``trigger``).

    Returns
    -------
    bool
    """
    if ch_type is not None and str(ch_type).strip().lower() in TRIGGER_TYPES:
        return True
    return bool(_TRIGGER.match(str(name).strip()))


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
    duplicates : tuple of str
        Source labels naming an electrode an earlier channel already names: left out
        (the first is used).
    """

    source_names: tuple[str, ...]
    target_names: tuple[str, ...]
    matrix: np.ndarray = field(repr=False)
    real: tuple[str, ...]
    interpolated: tuple[str, ...]
    unplaced: tuple[str, ...]
    non_eeg: tuple[str, ...]
    duplicates: tuple[str, ...] = ()

    @property
    def n_real(self) -> int:
        """Number of model channels that are measured, not interpolated."""
        return len(self.real)

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
        if self.duplicates:
            parts.append(f"labels given twice, left out (the first is used): {', '.join(self.duplicates)}")
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
    ch_types: Sequence[str] | None = None,
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
    ch_types : sequence of str | None
        The channels' types when the source states them: trigger, EOG, ECG, EMG...
        channels (:data:`NON_EEG_TYPES`) are left out whatever their label.

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
    if ch_types is not None and len(ch_types) != len(source):
        raise ChannelMappingError(
            f"{len(ch_types)} channel types given for {len(source)} channels ({', '.join(source)})"
        )
    types = [str(t or "").strip().lower() for t in ch_types] if ch_types is not None else [""] * len(source)
    placement = _place_channels(source, target, types)
    if len(placement.picks) < min_channels:
        raise _too_few_channels(placement, target, min_channels)
    real = tuple(name for name in target if name in placement.picks)
    missing = tuple(name for name in target if name not in placement.picks)
    return MontageMapping(
        source_names=source,
        target_names=target,
        matrix=_mapping_matrix(placement, source, target, real, missing),
        real=real,
        interpolated=missing,
        unplaced=tuple(placement.unplaced),
        non_eeg=tuple(placement.non_eeg),
        duplicates=tuple(placement.duplicates),
    )


@dataclass
class _Placement:
    """Where each of a stream's channels went (see :func:`_place_channels`)."""

    biosemi: bool
    picks: dict[str, int] = field(default_factory=dict)  # target name → source index
    extra_real: dict[str, int] = field(default_factory=dict)  # placeable, outside the target
    unplaced: list[str] = field(default_factory=list)
    non_eeg: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)


def _place_channels(source: tuple[str, ...], target: tuple[str, ...], types: list[str]) -> _Placement:
    """Sort each source channel: a target channel, another electrode, non-EEG, unplaced or a duplicate."""
    # A1, A2 are mastoids in 10-20 but grid cells in a BioSemi file: decide per file.
    biosemi = sum(bool(_BIOSEMI.match(n.strip())) and normalize_channel_name(n) is None for n in source) >= 2
    out = _Placement(biosemi=biosemi)
    target_index = {name.upper(): i for i, name in enumerate(target)}
    for index, label in enumerate(source):
        if types[index] in NON_EEG_TYPES or is_trigger(label):
            out.non_eeg.append(label or f"<unnamed #{index}>")
            continue
        name = None if biosemi and _BIOSEMI.match(label.strip()) else normalize_channel_name(label)
        if name is None:
            (out.non_eeg if is_non_eeg(label) else out.unplaced).append(label or f"<unnamed #{index}>")
            continue
        key = target[target_index[name.upper()]] if name.upper() in target_index else name
        if key in out.picks or key in out.extra_real:
            out.duplicates.append(label)
        elif name.upper() in target_index:
            out.picks[key] = index
        else:
            out.extra_real[key] = index
    return out


def _too_few_channels(placement: _Placement, target: tuple[str, ...], min_channels: int) -> ChannelMappingError:
    """The error for a stream with fewer than ``min_channels`` placed: what was found, and what to do."""
    found = [name for name in target if name in placement.picks]
    placed = f" ({', '.join(found)})" if found else ""
    details = []
    if placement.unplaced:
        hint = " (BioSemi grid labels)" if placement.biosemi else ""
        details.append(f"could not place: {', '.join(placement.unplaced)}{hint}")
    if placement.non_eeg:
        details.append(f"non-EEG left out: {', '.join(placement.non_eeg)}")
    if not found and not placement.unplaced:
        details.append("no 10-20 labels")
    if found and not placement.unplaced:
        advice = (
            f"The stream's 10-20 labels are all placed: it has fewer EEG channels than "
            f"min_channels={min_channels} (--min-channels); lower it to run on "
            f"{len(found)} channel(s), the other model channels being interpolated."
        )
    else:
        advice = (
            "Relabel the stream with --channels Fp1,Fp2,... (or its source spec's channels= "
            f"option) or an MNE montage name such as biosemi16, or lower min_channels={min_channels} "
            "(--min-channels)."
        )
    return ChannelMappingError(
        f"only {len(placement.picks)} of the model's {len(target)} channels found in the stream"
        f"{placed}, at least min_channels={min_channels} needed"
        + (f"; {'; '.join(details)}" if details else "")
        + f". {advice}"
    )


def _mapping_matrix(
    placement: _Placement,
    source: tuple[str, ...],
    target: tuple[str, ...],
    real: tuple[str, ...],
    missing: tuple[str, ...],
) -> np.ndarray:
    """``target = matrix @ source``: ones for measured channels, spline weights for missing ones."""
    matrix = np.zeros((len(target), len(source)))
    for name, index in placement.picks.items():
        matrix[target.index(name), index] = 1.0
    if missing:
        good = {**{name: placement.picks[name] for name in real}, **placement.extra_real}
        weights = _interpolation_matrix(list(good), list(missing))
        columns = list(good.values())
        for row, name in enumerate(missing):
            matrix[target.index(name), columns] = weights[row]
    return matrix


#: Where a relabelling came from, named in its errors: the command line's option, a
#: source spec's option, the app's field.
ORIGIN_CLI = "--channels"
ORIGIN_SPEC = "the source spec's channels= option"
ORIGIN_APP = "the app's channel box"


@dataclass(frozen=True)
class ChannelSpec:
    """A relabelling of a stream's channels, parsed once where it enters.

    Made by :meth:`parse` from ``--channels``, a source spec's ``channels=`` option or
    the app's channel box, and carried as this object from there on (the source spec,
    the :class:`~bci_valence.streams.base.Source`, the pipeline's settings); its errors
    name where it came from.

    Attributes
    ----------
    text : str
        As given: ``"Fp1,Fp2,..."`` or an MNE montage name (``biosemi16``).
    labels : tuple of str
        The labels it names, in order.
    origin : str
        Where it came from, for messages (:data:`ORIGIN_CLI`, :data:`ORIGIN_SPEC` with
        the source it relabels, :data:`ORIGIN_APP`). Not compared: two relabellings
        naming the same labels are equal wherever they were typed.
    """

    text: str
    labels: tuple[str, ...]
    origin: str = field(default=ORIGIN_CLI, compare=False)

    @classmethod
    def parse(cls, text: str | ChannelSpec, origin: str = ORIGIN_CLI) -> ChannelSpec:
        """Check ``text`` and make the spec (a ChannelSpec is returned unchanged).

        Raises
        ------
        ChannelMappingError
            No label, an empty one, or a label given twice; the message names ``origin``.
        """
        if isinstance(text, ChannelSpec):
            return text
        text = str(text).strip()
        return cls(text, tuple(channel_spec_labels(text, origin)), origin)

    @property
    def montage(self) -> str | None:
        """The MNE montage it names, or None for a list of labels."""
        return None if "," in self.text or tuple([self.text]) == self.labels else self.text

    def apply(self, ch_names: Sequence[str], ch_types: Sequence[str] | None = None) -> list[str]:
        """The stream's labels after this relabelling.

        Trigger/status channels (:func:`is_trigger`: BioSemi's ``Status``, a ``stim``
        channel) are left out before relabelling and keep their own label, so
        ``biosemi16`` relabels a 17-channel BDF (16 EEG + Status). Labels for every
        channel, trigger included, are accepted too.

        Parameters
        ----------
        ch_names : sequence of str
            The stream's own labels (``""`` where it has none).
        ch_types : sequence of str | None
            The stream's channel types, when known.

        Returns
        -------
        list of str
            One label per stream channel.

        Raises
        ------
        ChannelMappingError
            A count that matches neither the stream's channels nor its channels without
            the trigger ones; the message names :attr:`origin`.
        """
        labels = list(self.labels)
        names = [str(n or "") for n in ch_names]
        types = list(ch_types) if ch_types is not None and len(ch_types) == len(names) else [None] * len(names)
        if len(labels) == len(names):
            return labels
        triggers = [i for i, (n, t) in enumerate(zip(names, types)) if is_trigger(n, t)]
        keep = [i for i in range(len(names)) if i not in set(triggers)]
        if triggers and len(labels) == len(keep):
            out = list(names)
            for i, label in zip(keep, labels):
                out[i] = label
            return out
        source = f"montage {self.text!r} ({self.origin})" if self.montage else self.origin
        without = (
            f" ({len(keep)} without the trigger channel(s) "
            f"{', '.join(names[i] or f'#{i}' for i in triggers)})"
            if triggers
            else ""
        )
        raise ChannelMappingError(
            f"{source} gives {len(labels)} labels but the stream has {len(names)} channels{without}"
        )

    def __str__(self) -> str:
        return self.text


def channel_spec_labels(spec: str, origin: str = ORIGIN_CLI) -> list[str]:
    """The labels a ``--channels`` value names.

    Parameters
    ----------
    spec : str
        Either comma-separated labels (``Fp1,Fp2,C3``) or the name of an MNE standard
        montage (``biosemi16``), whose names are taken in order.
    origin : str
        Where the value came from, named in errors.

    Returns
    -------
    list of str
        The labels, in order.

    Raises
    ------
    ChannelMappingError
        No label, or a label given twice (also as two spellings of one electrode, such
        as ``T3`` and ``T7``).
    """
    import mne

    spec = str(spec).strip()
    if "," not in spec and spec in mne.channels.get_builtin_montages():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            return list(mne.channels.make_standard_montage(spec).ch_names)
    labels = [label.strip() for label in spec.split(",")]
    if not any(labels):
        raise ChannelMappingError(
            f"{origin} {spec!r} names no channel: expected 'Fp1,Fp2,...' or an MNE montage "
            "name such as biosemi16"
        )
    if "" in labels:
        raise ChannelMappingError(f"{origin} {spec!r} has an empty label (two commas in a row?)")
    seen: dict[str, str] = {}
    for label in labels:
        key = (normalize_channel_name(label) or label).upper()
        if key in seen:
            same = "" if seen[key].upper() == label.upper() else f" (as {seen[key]!r})"
            raise ChannelMappingError(
                f"{origin} {spec!r} gives the label {label!r} twice{same}: each channel "
                "needs its own label"
            )
        seen[key] = label
    return labels


def relabel_channels(
    spec: str | ChannelSpec, ch_names: Sequence[str], ch_types: Sequence[str] | None = None
) -> list[str]:
    """The stream's labels after a relabelling: :meth:`ChannelSpec.apply`.

    Parameters
    ----------
    spec : str | ChannelSpec
        A parsed relabelling, or the text of ``--channels`` (parsed here, for the
        commands that take the option and use it at once).
    ch_names : sequence of str
        The stream's own labels (``""`` where it has none).
    ch_types : sequence of str | None
        The stream's channel types, when known.

    Returns
    -------
    list of str
        One label per stream channel.

    Raises
    ------
    ChannelMappingError
        Duplicate labels, or a count that matches neither the stream's channels nor
        its channels without the trigger ones.
    """
    return ChannelSpec.parse(spec, ORIGIN_CLI).apply(ch_names, ch_types)


def resolve_channel_labels(spec: str | ChannelSpec, n_channels: int) -> list[str]:
    """Channel labels from a ``--channels`` value for a stream of ``n_channels``.

    See :func:`relabel_channels`, which also leaves trigger channels out.

    Raises
    ------
    ChannelMappingError
        Duplicate labels or a count other than ``n_channels``.
    """
    return relabel_channels(spec, [""] * int(n_channels))


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


def faced_info(sfreq: float = FACED_SFREQ):
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
