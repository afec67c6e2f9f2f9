"""User settings of the desktop app, persisted between runs with :class:`QSettings`."""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any

from bci_valence.device import DEVICE_CHOICES, resolve_device
from bci_valence.online.settings import CalibrationSettings, ComputeSettings, PipelineSettings
from bci_valence.signal.preprocessing import FilterSettings

#: QSettings organisation / application names.
ORGANISATION = "bci-valence"
APPLICATION = "gui"


#: The pipeline settings the window edits, by the key they are stored under:
#: (key, how to read it from PipelineSettings, how to put it back).
_PIPELINE_KEYS: dict[str, tuple[Any, Any]] = {
    "hop_s": (lambda p: p.hop_s, lambda p, v: replace(p, hop_s=float(v))),
    "notch": (
        lambda p: float(p.filter.notch_hz or 0.0),
        lambda p, v: replace(p, filter=replace(p.filter, notch_hz=float(v) or None)),
    ),
    "calibration_s": (
        lambda p: p.calibration.seconds,
        lambda p, v: replace(p, calibration=replace(p.calibration, seconds=float(v))),
    ),
    "device": (lambda p: p.compute.device, lambda p, v: replace(p, compute=replace(p.compute, device=str(v)))),
}


def _default_pipeline() -> PipelineSettings:
    return PipelineSettings(
        filter=FilterSettings(notch_hz=50.0),
        calibration=CalibrationSettings(seconds=60.0),
        compute=ComputeSettings(device="auto"),
    )


@dataclass(frozen=True)
class GuiSettings:
    """What the researcher sets in the window.

    Attributes
    ----------
    pipeline : PipelineSettings
        The settings the session runs with: the window edits this very object
        (hop, notch, calibration length, device); everything else keeps the
        pipeline's defaults.
    bundle_path : str
        Model bundle; empty = the shipped default.
    replay_speed : float
        Playback speed of recordings.
    last_source : str
        The source spec used last (``sim:``, ``lsl:name=X``, ``xdf:FILE`` ...).
    raw_seconds : float
        Seconds shown in the raw EEG traces.
    raw_scale_uv : float
        Vertical distance between raw traces in microvolts.
    """

    pipeline: PipelineSettings = field(default_factory=_default_pipeline)
    bundle_path: str = ""
    replay_speed: float = 1.0
    last_source: str = "sim:"
    raw_seconds: float = 10.0
    raw_scale_uv: float = 50.0

    def __post_init__(self) -> None:
        p = self.pipeline  # its hop and notch are checked by PipelineSettings itself
        if p.compute.device not in DEVICE_CHOICES:
            raise ValueError(f"device must be one of {DEVICE_CHOICES}, got {p.compute.device!r}")
        if self.replay_speed <= 0:
            raise ValueError(f"replay_speed must be > 0, got {self.replay_speed}")

    def resolved_device(self) -> str:
        """The device the session will use (``auto`` resolved)."""
        return resolve_device(self.pipeline.compute.device).type

    def stored(self) -> dict[str, Any]:
        """The values as stored: the pipeline's edited settings by key, then the app's own."""
        out = {key: get(self.pipeline) for key, (get, _put) in _PIPELINE_KEYS.items()}
        out.update({f.name: getattr(self, f.name) for f in fields(self) if f.name != "pipeline"})
        return out

    def with_stored(self, key: str, value: Any) -> GuiSettings:
        """A copy with one stored value replaced (raises ValueError when it is invalid)."""
        if key in _PIPELINE_KEYS:
            return replace(self, pipeline=_PIPELINE_KEYS[key][1](self.pipeline, value))
        return replace(self, **{key: value})


def _coerce(kind: type, value: Any, default: Any) -> Any:
    try:
        if kind is float:
            return float(value)
        if kind is str:
            return str(value)
    except (TypeError, ValueError):
        pass
    return default


def load_settings(qsettings: Any | None = None) -> GuiSettings:
    """Read :class:`GuiSettings` from ``qsettings`` (default: the user's QSettings).

    Unknown or invalid stored values fall back to the defaults value by value.
    """
    from PySide6.QtCore import QSettings

    store = qsettings if qsettings is not None else QSettings(ORGANISATION, APPLICATION)
    settings = GuiSettings()
    for key, default in settings.stored().items():
        value = _coerce(type(default), store.value(f"settings/{key}", default), default)
        try:
            settings = settings.with_stored(key, value)
        except (TypeError, ValueError):
            pass
    return settings


def persisted_note(qsettings: Any | None = None) -> str | None:
    """One line saying that settings saved by an earlier run are used, and where they
    are kept; None when there are none (the defaults are used)."""
    from PySide6.QtCore import QSettings

    store = qsettings if qsettings is not None else QSettings(ORGANISATION, APPLICATION)
    stored = [key for key in GuiSettings().stored() if store.contains(f"settings/{key}")]
    if not stored:
        return None
    return (
        f"using the app settings saved by an earlier run ({', '.join(stored[:4])}"
        f"{', ...' if len(stored) > 4 else ''}) from {store.fileName()}; --settings FILE.ini keeps "
        "another set, and removing that file starts from the defaults"
    )


def save_settings(settings: GuiSettings, qsettings: Any | None = None) -> None:
    """Write ``settings`` to ``qsettings`` (default: the user's QSettings) and sync."""
    from PySide6.QtCore import QSettings

    store = qsettings if qsettings is not None else QSettings(ORGANISATION, APPLICATION)
    for key, value in settings.stored().items():
        store.setValue(f"settings/{key}", value)
    store.sync()
