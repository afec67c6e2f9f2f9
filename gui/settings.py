"""User settings of the desktop app, persisted between runs with :class:`QSettings`."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from bci_valence.device import DEVICE_CHOICES

#: QSettings organisation / application names.
ORGANISATION = "bci-valence"
APPLICATION = "gui"

NOTCH_CHOICES = (50.0, 60.0, 0.0)  # 0 = off


@dataclass(frozen=True)
class GuiSettings:
    """What the researcher sets in the window.

    Attributes
    ----------
    hop_s : float
        Seconds between valence steps.
    notch : float
        Mains notch in Hz (50, 60, or 0 for none).
    calibration_s : float
        Seconds of calibration before valence is reported.
    device : str
        Torch device for features and models: ``auto``, ``cpu`` or ``cuda``.
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

    hop_s: float = 0.25
    notch: float = 50.0
    calibration_s: float = 60.0
    device: str = "auto"
    bundle_path: str = ""
    replay_speed: float = 1.0
    last_source: str = "sim:"
    raw_seconds: float = 10.0
    raw_scale_uv: float = 50.0

    def __post_init__(self) -> None:
        if not 0.02 <= self.hop_s <= 10.0:
            raise ValueError(f"hop_s must be in [0.02, 10] s, got {self.hop_s}")
        if self.notch not in NOTCH_CHOICES:
            raise ValueError(f"notch must be one of {NOTCH_CHOICES}, got {self.notch}")
        if self.calibration_s < 0:
            raise ValueError(f"calibration_s must be >= 0, got {self.calibration_s}")
        if self.device not in DEVICE_CHOICES:
            raise ValueError(f"device must be one of {DEVICE_CHOICES}, got {self.device!r}")
        if self.replay_speed <= 0:
            raise ValueError(f"replay_speed must be > 0, got {self.replay_speed}")

    def resolved_device(self) -> str:
        """``auto`` → ``cuda`` when available, else ``cpu``."""
        if self.device != "auto":
            return self.device
        try:
            import torch

            return "cuda" if torch.cuda.is_available() else "cpu"
        except Exception:  # pragma: no cover - torch is a dependency
            return "cpu"


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

    Unknown or invalid stored values fall back to the defaults field by field.
    """
    from PySide6.QtCore import QSettings

    store = qsettings if qsettings is not None else QSettings(ORGANISATION, APPLICATION)
    defaults = GuiSettings()
    values: dict[str, Any] = {}
    types = {"float": float, "str": str}
    for field in fields(GuiSettings):
        default = getattr(defaults, field.name)
        kind = types.get(field.type if isinstance(field.type, str) else field.type.__name__, str)
        raw = store.value(f"settings/{field.name}", default)
        values[field.name] = _coerce(kind, raw, default)
    try:
        return GuiSettings(**values)
    except ValueError:
        good = {}
        for name, value in values.items():
            try:
                replace(defaults, **{name: value})
                good[name] = value
            except ValueError:
                pass
        return replace(defaults, **good)


def save_settings(settings: GuiSettings, qsettings: Any | None = None) -> None:
    """Write ``settings`` to ``qsettings`` (default: the user's QSettings) and sync."""
    from PySide6.QtCore import QSettings

    store = qsettings if qsettings is not None else QSettings(ORGANISATION, APPLICATION)
    for name, value in asdict(settings).items():
        store.setValue(f"settings/{name}", value)
    store.sync()
