"""What a session of the app is: the request that starts it, what the window is told
once it runs, the raw snapshots it draws, and the readable text of its errors."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bci_valence.constants import FACED_SFREQ
from bci_valence.signal.quality import QualityThresholds

__all__ = ["RawSnapshot", "SessionInfo", "SessionRequest", "describe_error", "flagged_channels"]


@dataclass(frozen=True)
class SessionRequest:
    """What to start: source specs, a bundle and the pipeline settings.

    Attributes
    ----------
    spec : str
        Source spec (``sim:``, ``lsl:name=X``, ``xdf:FILE?speed=2`` ...), or several
        separated by ``;`` (one person each: :func:`split_specs`).
    bundle_path : str
        Model bundle path; empty for the shipped default.
    settings : Any
        A :class:`bci_valence.pipeline.PipelineSettings`.
    raw_seconds : float
        Seconds of signal sent with each raw snapshot.
    sources : tuple of SourceSpec
        The specs already parsed where they were entered (the app's channel box
        carried as a :class:`~bci_valence.signal.montage.ChannelSpec`); empty: parse
        ``spec``.
    """

    spec: str
    bundle_path: str = ""
    settings: Any = None
    raw_seconds: float = 10.0
    sources: tuple = ()


@dataclass(frozen=True)
class SessionInfo:
    """Sent once a session has started: what the widgets need to label themselves."""

    spec: str
    stream_names: tuple[str, ...]
    class_names: tuple[str, ...]
    class_coordinates: dict[str, float]
    channels: tuple[str, ...]
    band_names: tuple[str, ...]
    projection_weights: np.ndarray | None
    device: str
    simulated: bool
    bundle: str
    extra: dict[str, Any] = field(default_factory=dict)
    #: What the valence is worth on new content
    #: (:class:`bci_valence.online.reliability.ValenceReliability` from the bundle's figures).
    reliability: Any = None
    #: The simulator's ``contrast`` of each simulated source (1 = FACED's effect sizes).
    contrasts: tuple[float, ...] = ()
    #: The ``source_id`` of the app's marker outlet (empty when it could not be opened).
    marks_source_id: str = ""


@dataclass(frozen=True)
class RawSnapshot:
    """The latest mapped EEG of the first stream and per-channel display states."""

    data: np.ndarray
    times: np.ndarray
    names: tuple[str, ...]
    flagged: tuple[str, ...]


def describe_error(err: BaseException, spec: str = "") -> str:
    """A one-paragraph, human-readable message for an exception from a session."""
    name = type(err).__name__
    text = str(err).strip() or name
    where = f" ({spec})" if spec else ""
    if isinstance(err, FileNotFoundError):
        return f"File not found{where}: {text}"
    if name in ("RecordingError",):
        return f"Cannot read the recording{where}: {text}"
    if name in ("SourceSpecError",):
        return f"Invalid source{where}: {text}"
    if name in ("SourceError", "TimeoutError"):
        return f"Cannot open the source{where}: {text}"
    if name in ("ChannelMappingError",):
        return f"Bad channels{where}: {text}"
    if name in ("BundleError",):
        return f"Cannot load the model bundle: {text}"
    return f"{name}{where}: {text}"


def flagged_channels(data: np.ndarray, names: tuple[str, ...], interpolated: tuple[str, ...],
                     thresholds: QualityThresholds | None = None, sfreq: float = FACED_SFREQ) -> tuple[str, ...]:
    """Recorded channels whose last second looks bad (non-finite, flat or beyond the
    artefact amplitude of ``thresholds``, the pipeline's own: the conditions of
    :data:`gui.channel_states.FLAGGED_BY`): for display only, the pipeline flags whole
    windows itself."""
    thresholds = thresholds or QualityThresholds()
    flat_uv, artefact_uv = thresholds.flat_uv, thresholds.artefact_uv
    if data.ndim != 2 or data.shape[1] < 2:
        return ()
    last = data[:, -int(min(data.shape[1], max(sfreq, 2))):]
    with np.errstate(invalid="ignore"):
        finite = np.isfinite(last).all(axis=1)
        ptp = np.nanmax(last, axis=1) - np.nanmin(last, axis=1)
        peak = np.nanmax(np.abs(last), axis=1)
    bad = (~finite) | (ptp < flat_uv) | (peak > artefact_uv)
    skip = set(interpolated)
    return tuple(n for n, b in zip(names, bad) if b and n not in skip)
