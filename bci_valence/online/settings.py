"""Settings of the online pipeline: one frozen value shared by all streams."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from pathlib import Path

from ..checks import check_range, check_type, check_value
from ..constants import HOP_RANGE_S, NOTCH_CHOICES
from ..signal.features import check_feature
from ..signal.montage import ChannelSpec
from ..signal.preprocessing import FilterSettings
from ..signal.quality import QualityThresholds
from ..signal.timing import TimingSettings

log = logging.getLogger(__name__)

__all__ = ["CalibrationSettings", "ComputeSettings", "PipelineSettings", "StreamSettings", "UNIT_CHOICES"]

#: Units a stream may declare (``"auto"``: decided from the values, see ``StreamSettings.units``).
UNIT_CHOICES: tuple[str, ...] = ("auto", "uV", "V")


@dataclass(frozen=True)
class StreamSettings:
    """How a stream's samples are read: channel labels, units, gaps and loss.

    Parameters
    ----------
    channels : ChannelSpec | None
        Relabel every stream whose source has no relabelling of its own (a string is
        parsed as ``--channels``) (the spec's
        ``channels=`` option, :meth:`~bci_valence.streams.base.Source.relabel`):
        ``"Fp1,Fp2,..."`` or an MNE montage name (``biosemi16``). Trigger channels
        (``Status``) keep their own label.
    min_channels : int
        Fewest model channels that must be placed from the stream's labels.
    units : {"auto", "uV", "V"}
        Units of the stream. ``"auto"`` takes values whose median magnitude is below
        0.01 for volts. Everything downstream is in microvolts.
    timing : TimingSettings
        How timestamps are read: the stream's clock fit, the jitter tolerated and how
        long late samples are held before their lateness counts as a gap; a gap longer
        than ``timing.restart_gap_s`` (or a stream lost and back) restarts the signal
        state, so no window straddles it.
    stale_after_s : float
        A stream silent for this long (wall clock) is reported lost.
    buffer_s : float
        Seconds of raw and processed signal kept (for :meth:`Pipeline.latest_raw`).
    """

    channels: ChannelSpec | None = None
    min_channels: int = 8
    units: str = "auto"
    timing: TimingSettings = field(default_factory=TimingSettings)
    stale_after_s: float = 2.0
    buffer_s: float = 12.0

    def __post_init__(self) -> None:
        if isinstance(self.channels, str):  # parsed once, here, where it enters
            object.__setattr__(self, "channels", ChannelSpec.parse(self.channels) if self.channels.strip() else None)
        check_value(self.units, UNIT_CHOICES, "units")
        check_range(self.min_channels, "min_channels", 1, integer=True)
        if self.stale_after_s != math.inf:  # inf: never stale (a replay from memory)
            check_range(self.stale_after_s, "stale_after_s", 0, low_inclusive=False, unit="s")
        check_range(self.buffer_s, "buffer_s", 0, low_inclusive=False, unit="s")


@dataclass(frozen=True)
class CalibrationSettings:
    """The per-person standardization of the DE features.

    Parameters
    ----------
    seconds : float
        Seconds of good (unflagged) windows gathered for the per-session
        standardization; after that the statistics are frozen. 0 adapts forever.
    path : str | None
        JSON file of a saved calibration: loaded when it exists (no calibration
        period), else written when the calibration completes. With several
        streams, ``{stream}`` in the path is replaced by the stream's name (else the
        name is appended to the file stem).
    """

    seconds: float = 60.0
    path: str | None = None

    def __post_init__(self) -> None:
        check_range(self.seconds, "calibration seconds", 0, unit="s")
        check_type(self.path, ("path-like", None), "calibration path")

    def file(self, stream: str, n_streams: int = 1) -> Path | None:
        """Calibration JSON path for one stream (see ``path``)."""
        if not self.path:
            return None
        path = str(self.path)
        if "{stream}" in path:
            return Path(path.replace("{stream}", _safe_name(stream)))
        p = Path(path)
        if n_streams <= 1:
            return p
        return p.with_name(f"{p.stem}-{_safe_name(stream)}{p.suffix or '.json'}")


@dataclass(frozen=True)
class ComputeSettings:
    """Where and how the features and the model run.

    Parameters
    ----------
    device : str
        ``"auto"`` (CUDA when present), ``"cpu"``, ``"cuda"``...
    feature_method : str | None
        The feature method (a registered name, :func:`~bci_valence.signal.features.feature_names`).
        None: the one the bundle was trained on; a bundle trained on another is refused.
    max_batch : int
        Most windows sent to the device in one call. A poll reads every stream at
        least once and stops reading a stream once its share of this many windows is
        pending (the rest stays queued in the source for the next poll).
    torch_threads : int | None
        On CPU, ``torch.set_num_threads`` and numpy's BLAS threads (threadpoolctl) for
        the process, set by :func:`~bci_valence.online.tuning.tune_process` (None:
        leave them). One thread is fastest for the pipeline's small batches and keeps
        its latency steady on a busy machine; intra-op threads only add synchronisation.
    cpu_sub_batch : int
        On CPU without ``incremental_de``, windows per feature-extractor call.
    incremental_de : bool
        On CPU with ``feature_method="fir"``, keep each stream's band-passed samples
        and filter only the samples new since its last window
        (:class:`~bci_valence.signal.streaming_de.StreamingBandVariance`, 2-3 times as
        fast as filtering each window whole); False filters every window whole. Same
        values either way.
    tune_malloc : bool
        On glibc, keep freed large blocks in the heap (``mallopt``) instead of
        returning them to the OS: the per-step buffers (a few MB) are otherwise
        page-faulted back on every step. Process-wide (set by ``tune_process``).
    """

    device: str = "auto"
    feature_method: str | None = None
    max_batch: int = 256
    torch_threads: int | None = 1
    cpu_sub_batch: int = 4
    incremental_de: bool = True
    tune_malloc: bool = True

    def __post_init__(self) -> None:
        check_type(self.device, (str,), "device")
        if self.feature_method is not None:
            check_feature(self.feature_method, "feature_method")
        check_range(self.max_batch, "max_batch", 1, integer=True)
        if self.torch_threads is not None:
            check_range(self.torch_threads, "torch_threads", 1, integer=True)
        check_range(self.cpu_sub_batch, "cpu_sub_batch", 1, integer=True)


@dataclass(frozen=True)
class PipelineSettings:
    """Settings of the online pipeline (one frozen value shared by all streams).

    Composed of each component's own settings; build one with keywords for the parts
    you change, e.g. ``PipelineSettings(compute=ComputeSettings(device="cpu"),
    calibration=CalibrationSettings(seconds=30))``.

    Parameters
    ----------
    hop_s : float
        Step between successive 1-s DE windows (s).
    valence_average : int | None
        Valence is projected from the mean of this many most recent standardized DE
        vectors (1: the current one). None: the bundle's ``valence_average``.
    filter : FilterSettings
        The causal band-pass and mains notch, applied at the bundle's rate (the
        ``sfreq`` given here is replaced by it).
    stream : StreamSettings
        Channel labels, units, gaps and loss.
    calibration : CalibrationSettings
        The per-person standardization.
    quality : QualityThresholds
        Thresholds of the per-window quality flags.
    compute : ComputeSettings
        Device, feature method, batching and threads.
    """

    hop_s: float = 0.25
    valence_average: int | None = None
    filter: FilterSettings = field(default_factory=FilterSettings)
    stream: StreamSettings = field(default_factory=StreamSettings)
    calibration: CalibrationSettings = field(default_factory=CalibrationSettings)
    quality: QualityThresholds = field(default_factory=QualityThresholds)
    compute: ComputeSettings = field(default_factory=ComputeSettings)

    def __post_init__(self) -> None:
        check_range(self.hop_s, "hop_s", *HOP_RANGE_S, unit="s")
        if self.valence_average is not None:
            check_range(self.valence_average, "valence_average", 1, integer=True)
        check_value(float(self.filter.notch_hz or 0.0), NOTCH_CHOICES, "notch_hz (0 or None: no notch)")


def _safe_name(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name) or "stream"
