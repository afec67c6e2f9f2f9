"""Torch networks of the model bundle (inference side; training lives in ``offline``).

Two models read standardized DE features (channels × bands, z-scored per subject or
per calibrated session, see :mod:`bci_valence.signal.normalization`):

* :class:`LinearProjection` — the EEG→V-axis projection: one linear map from a
  ``(channels, bands)`` DE vector (FACED's 32 × 5) to a scalar valence coordinate.
  It works on a single 1-s vector (or the mean of the last few), so live valence is
  available from the first window.
* :class:`DEClassifier` — one member of the residual ensemble: a network on a
  ``(seq_len, channels, bands)`` sequence of 1-s DE vectors that outputs one logit per
  class (FACED's nine) and a pooled embedding (used by the V-axis distillation loss
  while training).

The default shapes come from :mod:`bci_valence.constants`, never written here.

Both are rebuilt from plain JSON-able settings (:class:`ClassifierSettings`), so that a
bundle stores architecture in ``bundle.json`` and weights in safetensors only.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np
import torch
from torch import nn

from ..checks import check_range, check_value
from ..constants import EMOTION_CLASSES, FACED_BANDS, FACED_CHANNELS

#: The shape the shipped models read and write: FACED's channels, bands and classes.
N_CHANNELS = len(FACED_CHANNELS)
N_BANDS = len(FACED_BANDS)
N_CLASSES = len(EMOTION_CLASSES)
#: How a member pools its per-second states (see :class:`ClassifierSettings`).
POOLING_CHOICES: tuple[str, ...] = ("flatten", "mean")

__all__ = [
    "N_BANDS",
    "N_CHANNELS",
    "N_CLASSES",
    "ClassifierSettings",
    "DEClassifier",
    "LinearProjection",
    "ResidualBlock",
]


@dataclass(frozen=True)
class ClassifierSettings:
    """Architecture of one ensemble member.

    Attributes
    ----------
    n_channels, n_bands : int
        Shape of one DE vector (default: FACED's channels × bands, from
        :mod:`bci_valence.constants`).
    seq_len : int
        Number of consecutive 1-s DE vectors in a sample (10).
    n_classes : int
        Output classes (default: FACED's emotion classes).
    d_model : int
        Width of the per-second embedding.
    depth : int
        Number of residual blocks (the "doubled depth" stage doubles it).
    kernel_size : int
        Temporal kernel of each block's convolution (odd).
    dropout : float
        Dropout inside the blocks and before the head.
    input_dropout : float
        Dropout on the input features.
    pooling : {"flatten", "mean"}
        How the per-second states become one vector: concatenated in time order (keeps
        where in the 10 s something happened) or averaged.
    n_aux_classes : int
        Size of an auxiliary training head (e.g. the 28 FACED clips, 0 = none); it is
        not used at inference.
    """

    n_channels: int = N_CHANNELS
    n_bands: int = N_BANDS
    seq_len: int = 10
    n_classes: int = N_CLASSES
    d_model: int = 64
    depth: int = 2
    kernel_size: int = 3
    dropout: float = 0.3
    input_dropout: float = 0.1
    pooling: str = "flatten"
    n_aux_classes: int = 0

    def __post_init__(self) -> None:
        check_value(self.pooling, POOLING_CHOICES, "pooling")
        for name in ("n_channels", "n_bands", "seq_len", "n_classes", "d_model", "kernel_size"):
            check_range(getattr(self, name), name, 1, integer=True)
        if self.kernel_size % 2 != 1:
            raise ValueError(f"kernel_size must be odd, got {self.kernel_size}")
        check_range(self.depth, "depth", 0, integer=True)
        check_range(self.n_aux_classes, "n_aux_classes", 0, integer=True)
        check_range(self.dropout, "dropout", 0, 1, high_inclusive=False)
        check_range(self.input_dropout, "input_dropout", 0, 1, high_inclusive=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ClassifierSettings:
        """Inverse of :meth:`to_dict`; unknown keys raise ``ValueError`` naming them."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown classifier setting(s) {unknown}; known: {sorted(known)}")
        return cls(**data)


class LinearProjection(nn.Module):
    """The EEG→V-axis projection: ``valence = <weight, de> + bias``.

    Parameters
    ----------
    n_channels, n_bands : int
        Shape of the DE vector.
    """

    def __init__(self, n_channels: int = N_CHANNELS, n_bands: int = N_BANDS) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(n_channels, n_bands))
        self.bias = nn.Parameter(torch.zeros(1))

    def forward(self, de: torch.Tensor) -> torch.Tensor:
        """Project ``de (..., n_channels, n_bands)`` to ``(...)``."""
        return (de * self.weight).sum(dim=(-2, -1)) + self.bias[0]


class ResidualBlock(nn.Module):
    """Pre-norm residual block: temporal convolution, then a position-wise MLP."""

    def __init__(self, d_model: int, kernel_size: int, dropout: float) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(d_model)
        self.conv = nn.Conv1d(d_model, d_model, kernel_size, padding=kernel_size // 2)
        self.drop1 = nn.Dropout(dropout)
        self.norm2 = nn.LayerNorm(d_model)
        self.mlp = nn.Sequential(
            nn.Linear(d_model, 2 * d_model),
            nn.GELU(),
            nn.Dropout(dropout),
            nn.Linear(2 * d_model, d_model),
        )

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        """``h (batch, time, d_model)`` → same shape."""
        h = h + self.drop1(self.conv(self.norm1(h).transpose(1, 2)).transpose(1, 2))
        return h + self.mlp(self.norm2(h))


class DEClassifier(nn.Module):
    """One ensemble member: DE sequence → class logits.

    Each 1-s DE vector (channels × bands) is embedded by a linear map plus a learned
    position embedding, passed through ``depth`` residual blocks (temporal conv +
    MLP), pooled (see :attr:`ClassifierSettings.pooling`) and classified.

    Parameters
    ----------
    settings : ClassifierSettings
    """

    def __init__(self, settings: ClassifierSettings | None = None) -> None:
        super().__init__()
        s = settings or ClassifierSettings()
        self.settings = s
        n_in = s.n_channels * s.n_bands
        self.input_drop = nn.Dropout(s.input_dropout)
        self.embed = nn.Linear(n_in, s.d_model)
        self.position = nn.Parameter(torch.zeros(s.seq_len, s.d_model))
        self.blocks = nn.ModuleList(
            [ResidualBlock(s.d_model, s.kernel_size, s.dropout) for _ in range(s.depth)]
        )
        self.norm = nn.LayerNorm(s.d_model)
        self.embedding_dim = s.d_model * (s.seq_len if s.pooling == "flatten" else 1)
        self.head_drop = nn.Dropout(s.dropout)
        self.head = nn.Linear(self.embedding_dim, s.n_classes)
        # V-axis head: the embedding's projection onto the valence axis; trained by the
        # distillation stage (pulled toward the class's V-axis coordinate).
        self.axis_head = nn.Linear(self.embedding_dim, 1)
        self.aux_head = nn.Linear(self.embedding_dim, s.n_aux_classes) if s.n_aux_classes else None

    def embedding(self, seq: torch.Tensor) -> torch.Tensor:
        """Pooled embedding of ``seq (batch, seq_len, n_channels, n_bands)``."""
        s = self.settings
        if seq.shape[-3:] != (s.seq_len, s.n_channels, s.n_bands):
            raise ValueError(
                f"classifier expects (batch, {s.seq_len}, {s.n_channels}, {s.n_bands}), "
                f"got {tuple(seq.shape)}"
            )
        h = self.embed(self.input_drop(seq.flatten(-2))) + self.position
        for block in self.blocks:
            h = block(h)
        h = self.norm(h)
        return h.flatten(1) if s.pooling == "flatten" else h.mean(dim=1)

    def forward(self, seq: torch.Tensor) -> torch.Tensor:
        """Class logits ``(batch, n_classes)``."""
        return self.head(self.head_drop(self.embedding(seq)))

    def forward_train(self, seq: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """Class logits, V-axis coordinate and auxiliary logits (None without aux head)."""
        emb = self.head_drop(self.embedding(seq))
        aux = self.aux_head(emb) if self.aux_head is not None else None
        return self.head(emb), self.axis_head(emb).squeeze(-1), aux


class StackedEnsemble(nn.Module):
    """Inference-only fusion of identically shaped :class:`DEClassifier` members.

    Every layer's weights are stacked along a member axis so that the whole ensemble
    runs as a few batched matrix products (``bmm``) instead of ~20 operations per
    member: the live pipeline asks for probabilities four times a second, where
    per-member overhead, not arithmetic, is the cost. Three exact rewrites cut the
    remaining operations:

    * the input embedding is one matrix product shared by all members, with the
      position embedding folded into its bias;
    * each layer norm's scale and shift are folded into the product that follows it
      (the temporal convolution, the MLP's first layer, the head), so a norm is a plain
      normalization; at the sequence edges, where the convolution sees zero padding,
      the folded shift enters only through the taps that see real positions;
    * the temporal convolution is one product with every tap's weights side by side
      (``D × K·D``), whose per-tap outputs are added at their time shifts.

    On CPU (outside autograd) the forward pass runs in numpy: its BLAS products and
    ufuncs cost a few microseconds per call against ~10 for torch's CPU operations at
    these sizes (10 rows per member), which is most of the time here.

    Parameters
    ----------
    members : sequence of DEClassifier
        Members with equal settings (``pooling="flatten"`` or ``"mean"``).
    """

    def __init__(self, members: list[DEClassifier]) -> None:
        super().__init__()
        first = members[0].settings
        if any(m.settings != first for m in members):
            raise ValueError("stacked members must share their settings")
        self.settings = first
        self.n_members = len(members)
        s = first
        steps, width, k_size = s.seq_len, s.d_model, s.kernel_size
        pad = k_size // 2

        def stack(get) -> torch.Tensor:
            return torch.stack([get(m).detach().float() for m in members])

        # Embedding: (C, M·D) so that one product serves every member.
        embed_w = stack(lambda m: m.embed.weight.T)  # (M, C, D)
        tensors = {
            "embed_w": embed_w.permute(1, 0, 2).reshape(embed_w.shape[1], -1),
            "embed_bias": stack(lambda m: m.embed.bias[None] + m.position),  # (M, T, D)
        }
        for i in range(s.depth):
            block = lambda m, i=i: m.blocks[i]  # noqa: E731
            n1_w = stack(lambda m: block(m).norm1.weight)  # (M, D)
            n1_b = stack(lambda m: block(m).norm1.bias)
            # conv1d: out[o, t] = sum_{j, k} w[o, j, k] in[j, t + k - pad]; rows of tap k
            # multiply the input shifted by k - pad.
            taps = stack(lambda m: block(m).conv.weight.permute(2, 1, 0))  # (M, K, D_in, D_out)
            shift = torch.einsum("mj,mkjo->mko", n1_b, taps)  # the norm's shift, per tap
            conv_bias = stack(lambda m: block(m).conv.bias)[:, None, :].repeat(1, steps, 1)
            for t in range(steps):
                for k in range(k_size):
                    if 0 <= t + k - pad < steps:
                        conv_bias[:, t] += shift[:, k]
            n2_w = stack(lambda m: block(m).norm2.weight)
            n2_b = stack(lambda m: block(m).norm2.bias)
            fc1_w = stack(lambda m: block(m).mlp[0].weight.T)  # (M, D, 2D)
            fc1_b = stack(lambda m: block(m).mlp[0].bias)
            tensors.update(
                {
                    # (M, D_in, K·D_out): column block k is tap k
                    f"b{i}_tap_w": (taps * n1_w[:, None, :, None]).permute(0, 2, 1, 3).reshape(
                        self.n_members, width, k_size * width
                    ),
                    f"b{i}_conv_b": conv_bias,  # (M, T, D)
                    f"b{i}_fc1_w": fc1_w * n2_w[:, :, None],
                    f"b{i}_fc1_b": (fc1_b + torch.einsum("mj,mjo->mo", n2_b, fc1_w))[:, None],
                    f"b{i}_fc2_w": stack(lambda m: block(m).mlp[3].weight.T),
                    f"b{i}_fc2_b": stack(lambda m: block(m).mlp[3].bias)[:, None, :],
                }
            )
        norm_w = stack(lambda m: m.norm.weight)  # (M, D)
        norm_b = stack(lambda m: m.norm.bias)
        head_w = stack(lambda m: m.head.weight.T)  # (M, E, K)
        head_b = stack(lambda m: m.head.bias)
        if s.pooling == "flatten":  # E = T·D, position-major
            per_step = head_w.view(self.n_members, steps, width, -1)
            tensors["head_w"] = (per_step * norm_w[:, None, :, None]).reshape(head_w.shape)
            tensors["head_b"] = (head_b + torch.einsum("md,mtdk->mk", norm_b, per_step))[:, None]
        else:  # mean pooling: E = D
            tensors["head_w"] = head_w * norm_w[:, :, None]
            tensors["head_b"] = (head_b + torch.einsum("md,mdk->mk", norm_b, head_w))[:, None]
        for name, value in tensors.items():
            self.register_buffer(name, value.contiguous())
        self.eps = members[0].norm.eps
        #: Run the CPU forward pass in numpy (see the class notes); False: torch.
        self.use_numpy = True
        self._numpy_cache: dict | None = None

    def _norm(self, h: torch.Tensor) -> torch.Tensor:
        return nn.functional.layer_norm(h, (self.settings.d_model,), eps=self.eps)

    def _blocks(self) -> list[tuple[torch.Tensor, ...]]:
        names = ("tap_w", "conv_b", "fc1_w", "fc1_b", "fc2_w", "fc2_b")
        return [tuple(getattr(self, f"b{i}_{n}") for n in names) for i in range(self.settings.depth)]

    def forward(self, seq: torch.Tensor) -> torch.Tensor:
        """Per-member logits ``(n_members, batch, n_classes)`` of ``seq (batch, T, C, B)``."""
        s = self.settings
        if seq.shape[-3:] != (s.seq_len, s.n_channels, s.n_bands):
            raise ValueError(
                f"classifier expects (batch, {s.seq_len}, {s.n_channels}, {s.n_bands}), "
                f"got {tuple(seq.shape)}"
            )
        if self.use_numpy and seq.device.type == "cpu" and not torch.is_grad_enabled():
            return torch.from_numpy(self._forward_numpy(seq.detach().float().numpy()))
        m, batch, steps, d = self.n_members, seq.shape[0], s.seq_len, s.d_model
        rows, k_size = batch * steps, s.kernel_size
        h = (seq.reshape(rows, -1) @ self.embed_w).view(batch, steps, m, d).permute(2, 0, 1, 3)
        h = h + self.embed_bias[:, None]  # (M, batch, T, D)
        for tap_w, conv_b, fc1_w, fc1_b, fc2_w, fc2_b in self._blocks():
            per_tap = torch.bmm(self._norm(h).reshape(m, rows, d), tap_w).view(m, batch, steps, k_size, d)
            h = h + conv_b[:, None]
            _add_taps(h, per_tap)
            z = nn.functional.gelu(torch.baddbmm(fc1_b, self._norm(h).reshape(m, rows, d), fc1_w))
            h = h + torch.baddbmm(fc2_b, z, fc2_w).view(m, batch, steps, d)
        h = self._norm(h)
        emb = h.flatten(2) if s.pooling == "flatten" else h.mean(dim=2)
        return torch.baddbmm(self.head_b, emb, self.head_w)

    def _forward_numpy(self, seq: np.ndarray) -> np.ndarray:
        """:meth:`forward` in numpy (float32), the same operations in the same order."""
        s = self.settings
        m, batch, steps, d = self.n_members, seq.shape[0], s.seq_len, s.d_model
        rows, k_size = batch * steps, s.kernel_size
        shape = (d,)

        def norm(x: np.ndarray) -> np.ndarray:  # torch's kernel: fastest at this size
            return torch.layer_norm(torch.from_numpy(x), shape, None, None, self.eps).numpy()

        arrays = self._numpy_buffers()
        h = (seq.reshape(rows, -1) @ arrays["embed_w"]).reshape(batch, steps, m, d).transpose(2, 0, 1, 3)
        h = np.add(h, arrays["embed_bias"][:, None], order="C")  # (M, batch, T, D)
        for tap_w, conv_b, fc1_w, fc1_b, fc2_w, fc2_b in arrays["blocks"]:
            per_tap = np.matmul(norm(h).reshape(m, rows, d), tap_w).reshape(m, batch, steps, k_size, d)
            h += conv_b[:, None]
            _add_taps(h, per_tap)
            z = np.matmul(norm(h).reshape(m, rows, d), fc1_w)
            z += fc1_b
            z = nn.functional.gelu(torch.from_numpy(z)).numpy()  # numpy has no vector erf
            out = np.matmul(z, fc2_w)
            out += fc2_b
            h += out.reshape(m, batch, steps, d)
        h = norm(h)
        emb = h.reshape(m, batch, -1) if s.pooling == "flatten" else h.mean(axis=2)
        logits = np.matmul(emb, arrays["head_w"])
        logits += arrays["head_b"]
        return logits

    def _numpy_buffers(self) -> dict:
        """numpy views of the CPU buffers (dropped by :meth:`_apply`, i.e. ``.to()``...)."""
        if self._numpy_cache is None:
            self._numpy_cache = {
                "embed_w": self.embed_w.numpy(),
                "embed_bias": self.embed_bias.numpy(),
                "head_w": self.head_w.numpy(),
                "head_b": self.head_b.numpy(),
                "blocks": [tuple(t.numpy() for t in block) for block in self._blocks()],
            }
        return self._numpy_cache

    def _apply(self, *args: Any, **kwargs: Any) -> StackedEnsemble:
        self._numpy_cache = None
        return super()._apply(*args, **kwargs)


def _add_taps(h: Any, per_tap: Any) -> None:
    """Add a temporal convolution's per-tap products at their time shifts, in place.

    ``h``: (M, batch, T, D); ``per_tap``: (M, batch, T, K, D), tap ``k`` of output ``t``
    reads input ``t + k - K // 2`` (zero outside the sequence). Torch tensors or numpy
    arrays alike.
    """
    steps, k_size = per_tap.shape[2], per_tap.shape[3]
    pad = k_size // 2
    for k in range(k_size):
        shift = k - pad
        if shift < 0:
            h[:, :, -shift:] += per_tap[:, :, : steps + shift, k]
        elif shift > 0:
            h[:, :, : steps - shift] += per_tap[:, :, shift:, k]
        else:
            h += per_tap[:, :, :, k]
