"""What the online pipeline needs from a model: the :class:`ValenceModel` protocol.

:class:`~bci_valence.model.bundle.ModelBundle` is the implementation the project ships;
anything with the same attributes (a research model, a test double) plugs in as well.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

if TYPE_CHECKING:
    from .bundle_config import BundleConfig

__all__ = ["ValenceModel"]


@runtime_checkable
class ValenceModel(Protocol):
    """A model that reads standardized DE and gives valence and class probabilities.

    Attributes
    ----------
    config : BundleConfig
        Channels, bands, sampling rate, window and sequence lengths, class names.
    has_classifier : bool
        Whether :meth:`predict_proba` is available (a projection-only model has none).
    """

    config: BundleConfig

    @property
    def has_classifier(self) -> bool: ...

    def project(self, de: np.ndarray) -> np.ndarray:
        """Valence of standardized DE of shape (..., n_channels, n_bands)."""

    def predict_proba(self, seq: np.ndarray) -> np.ndarray:
        """Class probabilities of DE sequences (batch, seconds, n_channels, n_bands)."""

    def to(self, device: Any) -> Any:
        """Move the model's tensors to a torch device."""
