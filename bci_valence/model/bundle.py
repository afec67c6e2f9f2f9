"""Model bundle: ``bundle.json`` (config) plus safetensors weights, never pickle.

A bundle folder holds

``bundle.json``
    :class:`BundleConfig` (format version, channel order, bands, window, normalization,
    class names, V-axis coordinates, architecture, training data range, metrics,
    library versions).
``projection.safetensors``
    The EEG→V-axis projection: ``weight (32, 5)``, ``bias (1,)``.
``ensemble.safetensors``
    Every ensemble member's tensors, prefixed ``member{i:02d}.`` (absent when the
    bundle has no classifier).
``protocols.safetensors``
    Optional: the evaluation protocols' fold models (``seen-clips``, ``unseen-clips``;
    :mod:`bci_valence.model.fold_models`), described by ``bundle.json``'s
    ``protocols``; only ``bci-valence evaluate --protocol`` reads them.

:meth:`ModelBundle.load` checks the format version, the config and every tensor's
name and shape, and raises :class:`BundleError` naming the file and tensor on a
mismatch.

Inputs are DE features standardized per subject/session (z-score per channel × band
from the subject's own unlabeled data; online: :class:`~bci_valence.signal.normalization.RunningStandardizer`
over a calibration period), channels in :attr:`BundleConfig.channels` order.

Example
-------
>>> bundle = ModelBundle.load()                      # the shipped default
>>> bundle.project(de_z)                             # (batch, 32, 5) -> (batch,)
>>> bundle.predict_proba(seq_z)                      # (batch, 10, 32, 5) -> (batch, 9)
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import numpy as np

from ..constants import EMOTION_CLASSES, FACED_BANDS, FACED_CHANNELS, FACED_SFREQ
from ..device import resolve_device

__all__ = [
    "BUNDLE_FORMAT_VERSION",
    "BUNDLE_JSON",
    "ENSEMBLE_FILE",
    "PROJECTION_FILE",
    "CONFIG_RANGES",
    "BundleConfig",
    "BundleError",
    "ModelBundle",
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
        for key, (low, high, kind) in CONFIG_RANGES.items():
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise BundleError(f"{source}: {key} must be a finite number, got {value!r}")
            if kind is int and value != int(value):
                raise BundleError(f"{source}: {key} must be a whole number, got {value!r}")
            if not low <= value <= high:
                raise BundleError(f"{source}: {key} = {value!r} is outside its range [{low:g}, {high:g}]")
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
        if self.n_members < 0:
            raise BundleError(f"{source}: n_members must be >= 0, got {self.n_members}")
        if self.n_members and self.classifier is None:
            raise BundleError(f"{source}: n_members={self.n_members} but no classifier settings")
        if self.sequence_seconds < 1 or self.valence_average < 1:
            raise BundleError(f"{source}: sequence_seconds and valence_average must be >= 1")
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


def _check_state(
    module: Any, tensors: dict[str, Any], prefix: str, path: Path
) -> dict[str, Any]:
    """Pick ``prefix``-ed tensors for ``module``, checking names and shapes."""
    expected = module.state_dict()
    state = {}
    for name, ref in expected.items():
        key = prefix + name
        if key not in tensors:
            raise BundleError(f"{path}: missing tensor {key!r} (expected shape {tuple(ref.shape)})")
        value = tensors[key]
        if tuple(value.shape) != tuple(ref.shape):
            raise BundleError(
                f"{path}: tensor {key!r} has shape {tuple(value.shape)}, "
                f"the config's architecture expects {tuple(ref.shape)}"
            )
        if value.is_floating_point() and not bool(value.isfinite().all()):
            bad = int((~value.isfinite()).sum())
            raise BundleError(f"{path}: tensor {key!r} holds {bad} NaN or infinite value(s): the bundle is damaged")
        state[name] = value.to(ref.dtype)
    return state


class ModelBundle:
    """A trained projection plus (optionally) a classifier ensemble.

    Parameters
    ----------
    config : BundleConfig
    projection : bci_valence.model.networks.LinearProjection
    members : list of bci_valence.model.networks.DEClassifier
    path : Path or None
        Folder it was loaded from.
    fold_models : dict of str to list of FoldModel, or None
        The evaluation protocols' fold models (read from the folder on first use when
        None, see :meth:`fold_models`).
    """

    def __init__(self, config: BundleConfig, projection: Any, members: list | None = None,
                 path: Path | None = None, fold_models: dict[str, list] | None = None) -> None:
        members = list(members or [])
        if len(members) != config.n_members:
            config = replace(config, n_members=len(members))
        self.config = config
        self.projection = projection.eval()
        self.members = [m.eval() for m in members]
        self._stacked = _stack_members(self.members)
        self.path = path
        self._device = None
        self._fold_models: dict[str, list] = dict(fold_models or {})
        self._refresh_projection_cache()

    # ---------------------------------------------------------------- io
    @classmethod
    def load(cls, path: str | Path | None = None, device: Any = None) -> ModelBundle:
        """Load a bundle folder (None = :func:`default_bundle_path`).

        Parameters
        ----------
        path : str, Path or None
        device : str, torch.device or None
            Where to run the ensemble; None = CUDA when available, else CPU.

        Raises
        ------
        BundleError
            Missing files, wrong format version, bad config, missing tensors or tensors
            whose shape does not match the config; the message names file and tensor.
        """
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        from .networks import DEClassifier, LinearProjection

        folder = Path(path) if path is not None else default_bundle_path()
        if not folder.is_dir():
            raise BundleError(f"model bundle not found: {folder} is not a folder")
        meta = folder / BUNDLE_JSON
        if not meta.is_file():
            raise BundleError(f"not a model bundle: {meta} is missing")
        data = read_config_json(meta)
        config = BundleConfig.from_dict(data, source=str(meta))

        def read(p: Path) -> dict[str, Any]:
            if not p.is_file():
                raise BundleError(f"bundle file missing: {p}")
            try:
                return load_file(str(p))
            except (SafetensorError, OSError, ValueError) as err:
                raise BundleError(f"{p} is not a readable safetensors file: {err}") from err

        proj_path = folder / PROJECTION_FILE
        projection = LinearProjection(config.n_channels, config.n_bands)
        projection.load_state_dict(_check_state(projection, read(proj_path), "", proj_path))

        members = []
        if config.n_members:
            settings = config.classifier_settings()
            if (settings.n_channels, settings.n_bands, settings.seq_len, settings.n_classes) != (
                config.n_channels, config.n_bands, config.sequence_seconds, len(config.class_names)
            ):
                raise BundleError(
                    f"{meta}: classifier shape (channels {settings.n_channels}, bands "
                    f"{settings.n_bands}, seq_len {settings.seq_len}, classes "
                    f"{settings.n_classes}) does not match the config (channels "
                    f"{config.n_channels}, bands {config.n_bands}, sequence_seconds "
                    f"{config.sequence_seconds}, classes {len(config.class_names)})"
                )
            ens_path = folder / ENSEMBLE_FILE
            tensors = read(ens_path)
            for i in range(config.n_members):
                member = DEClassifier(settings)
                member.load_state_dict(_check_state(member, tensors, f"member{i:02d}.", ens_path))
                members.append(member)
            extra = sorted(
                k for k in tensors if not k.startswith(tuple(f"member{i:02d}." for i in range(len(members))))
            )
            if extra:
                raise BundleError(
                    f"{ens_path}: unexpected tensor(s) {extra[:5]} (config says "
                    f"n_members={config.n_members})"
                )
        bundle = cls(config, projection, members, path=folder)
        bundle.to(device)
        return bundle

    def save(self, path: str | Path) -> Path:
        """Write the bundle folder (created if needed); returns it."""
        from safetensors.torch import save_file

        folder = Path(path)
        folder.mkdir(parents=True, exist_ok=True)
        self.config.validate(str(folder / BUNDLE_JSON))
        save_file(
            {k: v.detach().cpu().contiguous() for k, v in self.projection.state_dict().items()},
            str(folder / PROJECTION_FILE),
            metadata={"format_version": str(BUNDLE_FORMAT_VERSION)},
        )
        ens = folder / ENSEMBLE_FILE
        if self.members:
            tensors = {}
            for i, member in enumerate(self.members):
                for k, v in member.state_dict().items():
                    tensors[f"member{i:02d}.{k}"] = v.detach().cpu().contiguous()
            save_file(tensors, str(ens), metadata={"format_version": str(BUNDLE_FORMAT_VERSION)})
        elif ens.exists():
            ens.unlink()
        from .fold_models import save_fold_models

        save_fold_models(folder, {p: self.fold_models(p) for p in self.config.protocols})
        (folder / BUNDLE_JSON).write_text(
            json.dumps(self.config.to_dict(), indent=2, sort_keys=False) + "\n", encoding="utf-8"
        )
        self.path = folder
        return folder

    def fold_models(self, protocol: str) -> list:
        """The fold models of an evaluation protocol (``seen-clips`` or ``unseen-clips``).

        Returns
        -------
        list of :class:`~bci_valence.model.fold_models.FoldModel`

        Raises
        ------
        BundleError
            When the bundle has none for ``protocol`` or its files are damaged.
        """
        if protocol not in self._fold_models:
            if self.path is None and protocol in self.config.protocols:
                raise BundleError(f"bundle config lists {protocol} models but none were given")
            self._fold_models[protocol] = _load_fold_models(self.path, self.config, protocol)
        return self._fold_models[protocol]

    # ---------------------------------------------------------------- device
    @property
    def device(self):
        """Torch device of the ensemble."""
        return self._device

    def to(self, device: Any = None) -> ModelBundle:
        """Move the ensemble to ``device`` (None/"auto" = CUDA when available); returns self."""
        dev = resolve_device(device)
        self.projection.to(dev)
        for member in self.members:
            member.to(dev)
        if self._stacked is not None:
            self._stacked.to(dev)
        self._device = dev
        return self

    # ---------------------------------------------------------------- inference
    def _refresh_projection_cache(self) -> None:
        self._w = self.projection.weight.detach().cpu().numpy().astype(np.float64)
        self._b = float(self.projection.bias.detach().cpu()[0])

    @property
    def projection_weights(self) -> np.ndarray:
        """Projection weights, shape (n_channels, n_bands) (channels × bands)."""
        return self._w.copy()

    @property
    def class_names(self) -> tuple[str, ...]:
        """Classifier output order."""
        return self.config.class_names

    @property
    def class_coordinates(self) -> np.ndarray:
        """V-axis coordinate per class, in :attr:`class_names` order."""
        return self.config.coordinates_array()

    @property
    def has_classifier(self) -> bool:
        """Whether the bundle has ensemble members."""
        return bool(self.members)

    def project(self, de: np.ndarray) -> np.ndarray:
        """V-axis coordinate of standardized DE vectors.

        Parameters
        ----------
        de : array (batch, n_channels, n_bands) or (n_channels, n_bands)
            Standardized DE (one 1-s vector, or the mean of the last few).

        Returns
        -------
        ndarray, float64, shape (batch,) (a 0-d array for a single vector)
        """
        x = np.asarray(de, dtype=np.float64)
        shape = (self.config.n_channels, self.config.n_bands)
        if x.shape[-2:] != shape:
            raise ValueError(f"project expects (..., {shape[0]}, {shape[1]}), got {x.shape}")
        return np.einsum("...cb,cb->...", x, self._w) + self._b

    def logits(self, seq: Any):
        """Per-member logits, torch tensor (n_members, batch, n_classes) on the device."""
        import torch

        if not self.members:
            raise RuntimeError(f"bundle {self.path} has no classifier (n_members=0)")
        x = torch.as_tensor(np.asarray(seq, dtype=np.float32) if not torch.is_tensor(seq) else seq)
        x = x.to(self._device, torch.float32)
        with torch.inference_mode():
            if self._stacked is not None:
                return self._stacked(x)
            return torch.stack([m(x) for m in self.members])

    def predict_proba(self, seq: np.ndarray, batch_size: int = 4096) -> np.ndarray:
        """Ensemble-mean class probabilities.

        Parameters
        ----------
        seq : array (batch, sequence_seconds, n_channels, n_bands) or without batch axis
            Standardized DE sequences, oldest first.
        batch_size : int
            Sequences per forward pass.

        Returns
        -------
        ndarray, float64, shape (batch, n_classes) (or (n_classes,) without batch axis);
        rows sum to 1.
        """
        import torch

        x = np.asarray(seq, dtype=np.float32)
        c = self.config
        shape = (c.sequence_seconds, c.n_channels, c.n_bands)
        single = x.ndim == 3
        if single:
            x = x[None]
        if x.ndim != 4 or x.shape[1:] != shape:
            raise ValueError(f"predict_proba expects (batch, {shape[0]}, {shape[1]}, {shape[2]}), got {np.shape(seq)}")
        out = np.empty((len(x), len(c.class_names)))
        for start in range(0, len(x), batch_size):
            logits = self.logits(x[start:start + batch_size])
            out[start:start + batch_size] = torch.softmax(logits.double(), -1).mean(0).cpu().numpy()
        return out[0] if single else out

    def predict(self, seq: np.ndarray) -> np.ndarray:
        """Most probable class index per sequence."""
        return np.argmax(self.predict_proba(seq), axis=-1)

    def __repr__(self) -> str:
        return (
            f"ModelBundle(path={self.path}, members={len(self.members)}, "
            f"channels={self.config.n_channels}, bands={self.config.n_bands}, device={self._device})"
        )


def _stack_members(members: list) -> Any:
    """One fused :class:`~.models.StackedEnsemble` when the members allow it, else None.

    Members trained later (``save`` after training) stay the source of truth; the fused
    copy is rebuilt whenever a bundle is constructed.
    """
    from .networks import DEClassifier, StackedEnsemble

    if len(members) < 2 or not all(type(m) is DEClassifier for m in members):
        return None
    if any(m.settings != members[0].settings for m in members):
        return None
    return StackedEnsemble(members).eval()


def _load_fold_models(folder: str | Path, config: Any, protocol: str) -> list:
    """Read one protocol's fold models of the bundle in ``folder``.

    Parameters
    ----------
    folder : str or Path
        The bundle folder.
    config : BundleConfig
        Its configuration (``protocols`` describes the folds).
    protocol : str
        One of :data:`PROTOCOLS`.

    Raises
    ------
    BundleError
        When the bundle has no models for ``protocol`` (naming those it has), when
        ``protocols.safetensors`` is missing or unreadable, or a tensor is missing or
        of the wrong shape.
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    from .fold_models import PROTOCOLS, PROTOCOLS_FILE, FoldModel
    from .networks import ClassifierSettings, DEClassifier, LinearProjection

    if protocol not in PROTOCOLS:
        raise ValueError(f"unknown protocol {protocol!r}; choose from {list(PROTOCOLS)}")
    spec = (config.protocols or {}).get(protocol)
    if not spec:
        have = sorted(config.protocols or {})
        raise BundleError(
            f"bundle {folder} has no {protocol} models (it has {have or 'none'}); "
            "train them with `bci-valence train --protocol unseen-clips`"
        )
    path = Path(folder) / PROTOCOLS_FILE
    if not path.is_file():
        raise BundleError(f"bundle file missing: {path} (bundle.json lists {protocol} models)")
    try:
        tensors = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as err:
        raise BundleError(f"{path} is not a readable safetensors file: {err}") from err
    arch = spec.get("classifier")
    n_members = int(spec.get("n_members", 0))
    out = []
    for k, clips in enumerate(spec["folds"]):
        prefix = f"{protocol}.fold{k}."
        projection = LinearProjection(config.n_channels, config.n_bands)
        projection.load_state_dict(_check_state(projection, tensors, prefix + "projection.", path))
        members = []
        for i in range(n_members):
            member = DEClassifier(ClassifierSettings.from_dict(arch))
            member.load_state_dict(_check_state(member, tensors, f"{prefix}member{i:02d}.", path))
            members.append(member.eval())
        out.append(FoldModel(tuple(int(c) for c in clips), projection.eval(), members))
    return out
