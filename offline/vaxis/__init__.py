"""The V-axis: a valence axis in a language model's hidden-state space.

Following Radwan et al. (2026), one short emotion-evoking story per FACED class and
its paraphrases are encoded with a language model (hidden states of one layer,
pooled over tokens); the nine class centroids define the axis and each class's
coordinate on it:

* ``method="pca"`` (the paper's): PC1 of the nine centroids.
* ``method="contrast"``: mean of the positive-class centroids (amusement,
  inspiration, joy, tenderness) minus the mean of the negative-class centroids
  (anger, disgust, fear, sadness).

Either way the axis is a unit vector through the mean of the nine centroids, and its
sign is fixed so that joy has a positive coordinate.  Artifacts are a folder with
``axis.json`` (metadata and ``class_coordinates``) and ``axis.safetensors`` (axis
vector, centre and centroids); see :func:`save_axis` and :func:`load_axis`.

Modules: :mod:`.settings` (names, errors, :class:`AxisSettings`), :mod:`.stories`,
:mod:`.encoder` (language models as text encoders), :mod:`.axis` (centroids to axis),
:mod:`.build`, :mod:`.storage` (axis folders on disk), :mod:`.validate` (checks against
human ratings: FACED, VADER) and :mod:`.paraphrase` (paraphrases from a causal LM).
Heavy libraries (torch, transformers) are imported inside the functions that need them.
"""

from __future__ import annotations

from bci_valence.constants import NEGATIVE_CLASSES, POSITIVE_CLASSES

from .axis import Axis, class_centroids, compute_axis, orient_axis
from .build import build_axis, default_axis_dir, encoder_from_settings
from .encoder import (
    TextEncoder,
    default_model_dir,
    default_model_dir_or_none,
    load_language_model,
    pool_hidden,
    resolve_model,
)
from .settings import (
    ANCHOR_CLASS,
    AXIS_FORMAT_VERSION,
    AXIS_JSON,
    AXIS_TENSORS,
    CLASS_NAMES,
    DEFAULT_MODEL,
    DEFAULT_MODEL_PACKAGE,
    METHODS,
    POOLINGS,
    AxisSettings,
    ModelNotFoundError,
    StoriesError,
    VAxisError,
)
from .storage import check_output_dir, load_axis, save_axis
from .stories import default_stories_path, load_stories, parse_stories, stories_texts

__all__ = [
    "ANCHOR_CLASS",
    "AXIS_FORMAT_VERSION",
    "AXIS_JSON",
    "AXIS_TENSORS",
    "Axis",
    "AxisSettings",
    "CLASS_NAMES",
    "DEFAULT_MODEL",
    "DEFAULT_MODEL_PACKAGE",
    "METHODS",
    "ModelNotFoundError",
    "NEGATIVE_CLASSES",
    "POOLINGS",
    "POSITIVE_CLASSES",
    "StoriesError",
    "TextEncoder",
    "VAxisError",
    "build_axis",
    "check_output_dir",
    "class_centroids",
    "compute_axis",
    "default_axis_dir",
    "default_model_dir",
    "default_model_dir_or_none",
    "default_stories_path",
    "encoder_from_settings",
    "load_axis",
    "load_language_model",
    "load_stories",
    "orient_axis",
    "parse_stories",
    "pool_hidden",
    "resolve_model",
    "save_axis",
    "stories_texts",
]
