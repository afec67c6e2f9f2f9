"""The bundle's description: :class:`BundleConfig` (``bundle.json``) and its checks.

Everything about a bundle except the weights: the file names, the format version, the
documented range of every numeric setting (:data:`CONFIG_RANGES`), the feature the
model was trained on, and :func:`read_config_json`, which refuses a description too
large or too deeply nested before it is parsed into a :class:`BundleConfig`. The
weights and the model itself are :mod:`bci_valence.model.bundle`'s.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from ..checks import check_range, check_type
from ..constants import EMOTION_CLASSES, FACED_BANDS, FACED_CHANNELS, FACED_SFREQ
from ..signal.features import DEFAULT_FEATURE

__all__ = [
    "BUNDLE_FORMAT_VERSION",
    "BUNDLE_JSON",
    "CONFIG_RANGES",
    "ENSEMBLE_FILE",
    "PROJECTION_FILE",
    "BundleConfig",
    "BundleError",
    "check_bundle_feature",
    "default_bundle_path",
    "library_versions",
    "read_config_json",
]

#: Version of the bundle layout; loading refuses any other.
BUNDLE_FORMAT_VERSION = 1
BUNDLE_JSON = "bundle.json"
#: Largest ``bundle.json`` read (bytes) and deepest nesting accepted.
MAX_CONFIG_BYTES = 4 * 1024 * 1024
MAX_CONFIG_DEPTH = 32
#: Most channels a bundle may name.
MAX_CHANNELS = 512
#: The documented range of each numeric setting of a bundle: (low, high, type).
CONFIG_RANGES: dict[str, tuple[float, float, type]] = {
    "sfreq": (64.0, 4096.0, float),
    "window_s": (0.25, 10.0, float),
    "sequence_seconds": (1, 120, int),
    "sequence_spacing_s": (0.1, 10.0, float),
    "valence_average": (1, 60, int),
    "n_members": (0, 1000, int),
}
PROJECTION_FILE = "projection.safetensors"
ENSEMBLE_FILE = "ensemble.safetensors"


class BundleError(ValueError):
    """A bundle folder is missing, malformed or inconsistent."""


def default_bundle_path() -> Path:
    """The bundle shipped with the package (``bci_valence/data/default_bundle``)."""
    return Path(__file__).resolve().parents[1] / "data" / "default_bundle"


def library_versions() -> dict[str, str]:
    """Versions of the libraries that matter for a bundle."""
    import platform

    out = {"python": platform.python_version(), "numpy": np.__version__}
    try:
        from .. import __version__

        out["bci_valence"] = __version__
    except ImportError:  # pragma: no cover
        pass
    for name in ("torch", "safetensors", "sklearn"):
        try:
            module = __import__(name)
            out[name] = str(getattr(module, "__version__", "?"))
        except ImportError:  # pragma: no cover
            pass
    return out


@dataclass(frozen=True)
class BundleConfig:
    """Everything about a bundle except the weights (serialised to ``bundle.json``).

    Numeric settings are checked against their ranges (:data:`CONFIG_RANGES`): ``sfreq``
    64-4096 Hz, ``window_s`` 0.25-10 s, ``sequence_seconds`` 1-120, ``sequence_spacing_s``
    0.1-10 s, ``valence_average`` 1-60, ``n_members`` 0-1000; bands below half of
    ``sfreq``; every weight finite; ``bundle.json`` at most 4 MiB and 32 levels deep.
    A ``bundle.json`` without ``feature_method`` was trained on
    :data:`~bci_valence.signal.features.DEFAULT_FEATURE`.

    Attributes
    ----------
    format_version : int
        :data:`BUNDLE_FORMAT_VERSION` at save time.
    channels : tuple of str
        Channel order of the DE features (FACED's, MNE case).
    bands : dict of str to (float, float)
        Frequency bands (Hz), in feature order.
    sfreq : float
        Sampling rate the DE features are computed at.
    window_s : float
        Length of one DE window (s).
    feature_method : str
        The feature method the model was trained on (a name of the
        ``bci_valence.features`` registry); the pipeline refuses to feed it another.
    sequence_seconds : int
        Number of consecutive DE vectors the classifier reads.
    sequence_spacing_s : float
        Spacing between those vectors (s).
    valence_average : int
        Suggested number of recent DE vectors to average before projecting.
    normalization : dict
        How features were standardized (method, statistics source).
    class_names : tuple of str
        Classifier output order.
    class_coordinates : dict of str to float
        V-axis coordinate of each class (the projection's target).
    axis : dict
        Provenance of the V-axis (model, layer, method, source folder).
    projection : dict
        How the projection was fitted (ridge alpha, input, subjects).
    classifier : dict or None
        :class:`~bci_valence.model.networks.ClassifierSettings` as a dict; None = no classifier.
    n_members : int
        Number of ensemble members (0 = projection only).
    training : dict
        Data range, seed, stages, epochs, time.
    metrics : dict
        Validation metrics measured at training time (``metrics["protocols"]``: the
        figures of both evaluation protocols).
    protocols : dict
        The evaluation protocols' fold models, per protocol: ``folds`` (the clips each
        fold held out), ``train_subjects``, ``n_members``, ``classifier`` (architecture),
        ``projection_alpha``, ``training``; empty when the bundle has none.
    versions : dict
        Library versions at training time.
    created : str
        ISO timestamp.
    """

    format_version: int = BUNDLE_FORMAT_VERSION
    channels: tuple[str, ...] = field(default_factory=lambda: tuple(FACED_CHANNELS))
    bands: dict[str, tuple[float, float]] = field(default_factory=lambda: dict(FACED_BANDS))
    sfreq: float = FACED_SFREQ
    window_s: float = 1.0
    feature_method: str = DEFAULT_FEATURE
    sequence_seconds: int = 10
    sequence_spacing_s: float = 1.0
    valence_average: int = 1
    normalization: dict[str, Any] = field(
        default_factory=lambda: {
            "method": "zscore",
            "per": "subject",
            "statistics": "mean and population std of each channel x band over all of "
            "the subject's own unlabeled 1-s DE vectors (online: a calibration period)",
        }
    )
    class_names: tuple[str, ...] = field(default_factory=lambda: tuple(EMOTION_CLASSES))
    class_coordinates: dict[str, float] = field(default_factory=dict)
    axis: dict[str, Any] = field(default_factory=dict)
    projection: dict[str, Any] = field(default_factory=dict)
    classifier: dict[str, Any] | None = None
    n_members: int = 0
    training: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    protocols: dict[str, Any] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=library_versions)
    created: str = ""

    @property
    def n_channels(self) -> int:
        """Number of channels."""
        return len(self.channels)

    @property
    def n_bands(self) -> int:
        """Number of bands."""
        return len(self.bands)

    @property
    def band_names(self) -> tuple[str, ...]:
        """Band names in feature order."""
        return tuple(self.bands)

    def coordinates_array(self) -> np.ndarray:
        """V-axis coordinates in :attr:`class_names` order, shape (n_classes,)."""
        return np.array([float(self.class_coordinates[c]) for c in self.class_names])

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        out = asdict(self)
        out["channels"] = list(self.channels)
        out["class_names"] = list(self.class_names)
        out["bands"] = {k: [float(v[0]), float(v[1])] for k, v in self.bands.items()}
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "<config>") -> BundleConfig:
        """Build from :meth:`to_dict`'s output, checking version and consistency.

        Raises
        ------
        BundleError
            Naming ``source`` and the offending key.
        """
        if not isinstance(data, dict):
            raise BundleError(f"{source}: expected a JSON object, got {type(data).__name__}")
        version = data.get("format_version")
        if version != BUNDLE_FORMAT_VERSION:
            raise BundleError(
                f"{source}: bundle format_version {version!r}, this bci_valence reads "
                f"version {BUNDLE_FORMAT_VERSION} (retrain or re-export the bundle)"
            )
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise BundleError(f"{source}: unknown key(s) {unknown}")
        kwargs = dict(data)
        try:
            if "channels" in kwargs:
                kwargs["channels"] = tuple(str(c) for c in kwargs["channels"])
            if "class_names" in kwargs:
                kwargs["class_names"] = tuple(str(c) for c in kwargs["class_names"])
            if "bands" in kwargs:
                kwargs["bands"] = {
                    str(k): (float(v[0]), float(v[1])) for k, v in kwargs["bands"].items()
                }
            if "class_coordinates" in kwargs:
                kwargs["class_coordinates"] = {
                    str(k): float(v) for k, v in kwargs["class_coordinates"].items()
                }
            config = cls(**kwargs)
        except (TypeError, ValueError, AttributeError, IndexError) as err:
            raise BundleError(f"{source}: malformed config: {err}") from err
        config.validate(source)
        return config

    def validate(self, source: str = "<config>") -> None:
        """Check every setting against :data:`CONFIG_RANGES` and the config's internal
        consistency; raises :class:`BundleError` naming ``source`` and the key."""
        try:
            for key, (low, high, kind) in CONFIG_RANGES.items():
                check_range(getattr(self, key), key, low, high, integer=kind is int)
            check_type(self.feature_method, (str,), "feature_method")
        except (TypeError, ValueError) as err:
            raise BundleError(f"{source}: {err}") from None
        if not self.feature_method.strip():
            raise BundleError(f"{source}: feature_method must name a feature method, got {self.feature_method!r}")
        if len(self.channels) > MAX_CHANNELS:
            raise BundleError(f"{source}: channels: {len(self.channels)} channels, at most {MAX_CHANNELS}")
        nyquist = self.sfreq / 2
        for name, (lo, hi) in self.bands.items():
            if not (math.isfinite(lo) and math.isfinite(hi) and 0 <= lo < hi < nyquist):
                raise BundleError(
                    f"{source}: bands[{name!r}] = ({lo!r}, {hi!r}) must satisfy 0 <= low < high < "
                    f"{nyquist:g} Hz (half of sfreq)"
                )
        bad = [k for k, v in self.class_coordinates.items() if not math.isfinite(v)]
        if bad:
            raise BundleError(f"{source}: class_coordinates of {bad} are not finite")
        if len(set(self.channels)) != len(self.channels) or not self.channels:
            raise BundleError(f"{source}: channels must be unique and non-empty")
        if not self.bands:
            raise BundleError(f"{source}: bands must be non-empty")
        missing = [c for c in self.class_names if c not in self.class_coordinates]
        if missing:
            raise BundleError(f"{source}: class_coordinates lacks class(es) {missing}")
        if self.n_members and self.classifier is None:
            raise BundleError(f"{source}: n_members={self.n_members} but no classifier settings")
        unknown = sorted(set(self.protocols) - {"seen-clips", "unseen-clips"})
        if unknown:
            raise BundleError(
                f"{source}: unknown protocol(s) {unknown} in 'protocols'; expected seen-clips, unseen-clips"
            )

    def classifier_settings(self):
        """The members' :class:`~bci_valence.model.networks.ClassifierSettings` (None if none)."""
        from .networks import ClassifierSettings

        if self.classifier is None:
            return None
        return ClassifierSettings.from_dict(self.classifier)


def read_config_json(path: Path) -> Any:
    """``bundle.json``'s content, refused when too large, too deep or not JSON.

    Raises
    ------
    BundleError
        Naming the file and what is wrong with it.
    """
    size = path.stat().st_size
    if size > MAX_CONFIG_BYTES:
        raise BundleError(f"{path} is {size} bytes; a bundle description is at most {MAX_CONFIG_BYTES} bytes")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except RecursionError:
        raise BundleError(f"{path} is nested too deeply (at most {MAX_CONFIG_DEPTH} levels)") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise BundleError(f"{path} is not valid JSON: {err}") from err
    stack = [(data, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_CONFIG_DEPTH:
            raise BundleError(f"{path} is nested too deeply (at most {MAX_CONFIG_DEPTH} levels)")
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
        stack.extend((child, depth + 1) for child in children)
    return data


def check_bundle_feature(config: Any, method: str | None = None) -> str:
    """The feature method to feed a model with ``config``: the one it was trained on.

    Parameters
    ----------
    config : BundleConfig or any object with the bundle config's attributes
        Without ``feature_method`` the model counts as trained on the default.
    method : str | None
        The method asked for (``ComputeSettings.feature_method``); None: the bundle's.

    Raises
    ------
    BundleError
        ``method`` is not the one the bundle was trained on.
    """
    trained = getattr(config, "feature_method", None) or DEFAULT_FEATURE
    if method is not None and method != trained:
        raise BundleError(
            f"the bundle was trained on {trained!r} features, the pipeline is set to compute "
            f"{method!r} (feature_method): its outputs would be meaningless; use "
            f"feature_method={trained!r} (or None: the bundle's) or a bundle trained on {method!r}"
        )
    return trained

