"""Feature methods as an extension point: the protocol and the entry-point registry.

A feature method turns EEG windows ``(..., n_channels, n_input)`` into one band
variance per channel and band ``(..., n_channels, n_bands)``; the DE is then
:func:`~bci_valence.signal.de.variance_to_de` of it. Methods are found through the
``bci_valence.features`` entry-point group, the built-in ``fir`` and ``fft`` included
(``pyproject.toml``), so a third-party package adds one the same way::

    [project.entry-points."bci_valence.features"]
    welch = "my_package.welch:WelchBandVariance"

The entry point names a factory called as ``factory(settings, device)`` (usually the
class itself) that returns a :class:`FeatureExtractor`. Its name is the value of
``FeatureSettings.method``, ``ComputeSettings.feature_method``, ``--method`` and of a
bundle's ``feature_method``; the list of choices is :func:`feature_names`, nowhere
else.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from importlib.metadata import EntryPoint, entry_points
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

from ..checks import check_value

if TYPE_CHECKING:
    import numpy as np
    import torch

    from .filter_design import FeatureSettings

__all__ = [
    "DEFAULT_FEATURE",
    "ENTRY_POINT_GROUP",
    "FeatureExtractor",
    "FeatureRegistryError",
    "build_feature",
    "check_feature",
    "feature_factory",
    "feature_names",
    "refresh",
]

#: Entry-point group the feature methods register under.
ENTRY_POINT_GROUP = "bci_valence.features"
#: The method FACED's released DE follows (band-pass, then variance); a bundle that
#: does not name its feature was trained on it.
DEFAULT_FEATURE = "fir"


class FeatureRegistryError(LookupError):
    """The registry cannot give a method: none registered, or one failed to load."""


@runtime_checkable
class FeatureExtractor(Protocol):
    """What a band feature provides, built for one ``FeatureSettings`` on one device.

    Attributes
    ----------
    name : str
        The registry name (``"fir"``), recorded in outputs and bundles.
    summary : str
        One line for ``--help``.
    incremental : bool
        True when its values are the variance of the signal band-passed by
        :func:`~bci_valence.signal.filter_design.design_band_filters`, so the online
        :class:`~bci_valence.signal.streaming_de.StreamingBandVariance` (each sample
        filtered once) may compute it instead.
    n_bands : int
        Features per channel (one per band of the settings).
    taps : ndarray | None
        Its filter design: zero-phase FIR taps per band, shape (n_bands, n_taps),
        which :class:`~bci_valence.signal.de.BandFilterBank` applies (once per span of
        overlapping windows) before taking the variance over each window; None when
        the method reads the bare window through :meth:`band_variance`.
    context_samples : int
        Samples around the window the filter needs (``n_taps - 1``; 0 without taps).
    """

    name: ClassVar[str]
    summary: ClassVar[str]
    incremental: ClassVar[bool]
    n_bands: int
    taps: np.ndarray | None
    context_samples: int

    def band_variance(self, x: torch.Tensor) -> torch.Tensor:
        """Band variance of windows without filter context.

        Parameters
        ----------
        x : Tensor, shape (..., n_channels, window_samples)

        Returns
        -------
        Tensor, shape (..., n_channels, n_bands)
        """
        ...


FeatureFactory = Callable[["FeatureSettings", "torch.device"], FeatureExtractor]


@lru_cache(maxsize=1)
def _entry_points() -> dict[str, EntryPoint]:
    """The group's entry points by name (read once per process; see :func:`refresh`)."""
    found: dict[str, EntryPoint] = {}
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        if entry.name in found and found[entry.name].value != entry.value:
            raise FeatureRegistryError(
                f"feature method {entry.name!r} is registered twice under {ENTRY_POINT_GROUP!r}: "
                f"{found[entry.name].value} and {entry.value}"
            )
        found[entry.name] = entry
    return found


#: Factories loaded so far, by name (an entry point is imported on first use only).
_factories: dict[str, Any] = {}


def refresh() -> None:
    """Forget the entry points read so far (after installing a plugin in a running process)."""
    _entry_points.cache_clear()
    _factories.clear()


def feature_names() -> tuple[str, ...]:
    """Every registered feature method: :data:`DEFAULT_FEATURE` first, then by name.

    Raises
    ------
    FeatureRegistryError
        When nothing is registered (bci-valence's own metadata is missing: reinstall it).
    """
    names = sorted(_entry_points())
    if not names:
        raise FeatureRegistryError(
            f"no feature methods are registered under the entry-point group {ENTRY_POINT_GROUP!r}: "
            "bci-valence's package metadata is missing (reinstall it, e.g. pip install -e .)"
        )
    return tuple(sorted(names, key=lambda n: (n != DEFAULT_FEATURE, n)))


def check_feature(name: Any, arg: str = "method") -> str:
    """``name`` when it is a registered method, else a ``ValueError`` naming ``arg`` and the choices."""
    return check_value(name, feature_names(), arg)


def feature_factory(name: str) -> FeatureFactory:
    """The factory registered as ``name`` (loaded on first use).

    Raises
    ------
    ValueError
        ``name`` is not registered (the message lists those that are).
    FeatureRegistryError
        Its entry point fails to load.
    """
    check_feature(name)
    if name not in _factories:
        entry = _entry_points()[name]
        try:
            _factories[name] = entry.load()
        except (ImportError, AttributeError) as err:
            raise FeatureRegistryError(f"feature method {name!r} ({entry.value}) failed to load: {err}") from err
    return _factories[name]


def build_feature(settings: FeatureSettings, device: torch.device) -> FeatureExtractor:
    """The extractor of ``settings.method`` for these settings on ``device``."""
    extractor = feature_factory(settings.method)(settings, device)
    if not isinstance(extractor, FeatureExtractor):
        raise FeatureRegistryError(
            f"feature method {settings.method!r} built a {type(extractor).__name__}, which lacks "
            "the FeatureExtractor attributes (name, summary, incremental, n_bands, taps, "
            "context_samples, band_variance)"
        )
    taps = extractor.taps
    if taps is not None:
        shape = getattr(taps, "shape", ())
        if len(shape) != 2 or shape[0] != extractor.n_bands or extractor.context_samples != shape[1] - 1:
            raise FeatureRegistryError(
                f"feature method {settings.method!r}: taps must have shape (n_bands={extractor.n_bands}, "
                f"context_samples + 1={extractor.context_samples + 1}), got {tuple(shape)}"
            )
    return extractor
