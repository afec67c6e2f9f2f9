"""Model bundle: ``bundle.json`` (config) plus safetensors weights, never pickle.

A bundle folder holds

``bundle.json``
    :class:`~bci_valence.model.bundle_config.BundleConfig` (format version, channel
    order, bands, window, feature method, normalization,
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
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from ..device import resolve_device
from .bundle_config import (  # re-exported: bci_valence.model.bundle is the public path
    BUNDLE_FORMAT_VERSION,
    BUNDLE_JSON,
    CONFIG_RANGES,
    ENSEMBLE_FILE,
    PROJECTION_FILE,
    BundleConfig,
    BundleError,
    check_bundle_feature,
    default_bundle_path,
    library_versions,
    read_config_json,
)

__all__ = [
    "BUNDLE_FORMAT_VERSION",
    "BUNDLE_JSON",
    "ENSEMBLE_FILE",
    "PROJECTION_FILE",
    "CONFIG_RANGES",
    "BundleConfig",
    "BundleError",
    "ModelBundle",
    "check_bundle_feature",
    "default_bundle_path",
    "library_versions",
    "read_config_json",
]


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
        from .networks import LinearProjection

        folder = Path(path) if path is not None else default_bundle_path()
        if not folder.is_dir():
            raise BundleError(f"model bundle not found: {folder} is not a folder")
        meta = folder / BUNDLE_JSON
        if not meta.is_file():
            raise BundleError(f"not a model bundle: {meta} is missing")
        config = BundleConfig.from_dict(read_config_json(meta), source=str(meta))
        proj_path = folder / PROJECTION_FILE
        projection = LinearProjection(config.n_channels, config.n_bands)
        projection.load_state_dict(_check_state(projection, _read_tensors(proj_path), "", proj_path))
        members = _load_members(folder, config) if config.n_members else []
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


def _read_tensors(path: Path) -> dict[str, Any]:
    """Every tensor of a safetensors file; a missing or unreadable file is a :class:`BundleError`."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    if not path.is_file():
        raise BundleError(f"bundle file missing: {path}")
    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError) as err:
        raise BundleError(f"{path} is not a readable safetensors file: {err}") from err


def _load_members(folder: Path, config: BundleConfig) -> list:
    """The ensemble members of the bundle in ``folder``, checked against ``config``.

    Raises
    ------
    BundleError
        The classifier's shape disagrees with the config, a tensor is missing or of
        the wrong shape, or ``ensemble.safetensors`` holds tensors of other members.
    """
    from .networks import DEClassifier

    settings = config.classifier_settings()
    got = (settings.n_channels, settings.n_bands, settings.seq_len, settings.n_classes)
    want = (config.n_channels, config.n_bands, config.sequence_seconds, len(config.class_names))
    if got != want:
        raise BundleError(
            f"{folder / BUNDLE_JSON}: classifier shape (channels {got[0]}, bands {got[1]}, "
            f"seq_len {got[2]}, classes {got[3]}) does not match the config (channels "
            f"{want[0]}, bands {want[1]}, sequence_seconds {want[2]}, classes {want[3]})"
        )
    ens_path = folder / ENSEMBLE_FILE
    tensors = _read_tensors(ens_path)
    members = []
    for i in range(config.n_members):
        member = DEClassifier(settings)
        member.load_state_dict(_check_state(member, tensors, f"member{i:02d}.", ens_path))
        members.append(member)
    prefixes = tuple(f"member{i:02d}." for i in range(len(members)))
    extra = sorted(k for k in tensors if not k.startswith(prefixes))
    if extra:
        raise BundleError(f"{ens_path}: unexpected tensor(s) {extra[:5]} (config says n_members={config.n_members})")
    return members


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
    tensors = _read_tensors(path)
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
