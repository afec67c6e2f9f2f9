"""A bundle's evaluation-protocol models: the recipe retrained without some FACED clips.

Besides its main models (what the live pipeline runs), a bundle may carry the models of
an evaluation protocol, trained on the selection training subjects only so that the
validation subjects stay held out:

``unseen-clips``
    One model per clip fold, each trained without the fold's clips, so that every FACED
    clip is predicted by a model that never saw it (new content, as a user watches).
``seen-clips``
    One model trained on every clip of the same subjects (new people, known content).

``bci-valence evaluate --protocol`` runs them; the live pipeline never loads them.
They are stored in ``bundle.json`` (key ``protocols``: per protocol the held-out clips
of each fold, the training subjects, the classifier architecture and the validation
figures) and ``protocols.safetensors`` (tensors ``{protocol}.fold{k}.projection.*`` and
``{protocol}.fold{k}.member{i:02d}.*``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["PROTOCOLS", "PROTOCOLS_FILE", "FoldModel", "save_fold_models"]

#: Evaluation protocols, in the order they are reported.
PROTOCOLS: tuple[str, ...] = ("seen-clips", "unseen-clips")
#: Weights of every protocol's fold models.
PROTOCOLS_FILE = "protocols.safetensors"


@dataclass
class FoldModel:
    """The models of one fold: a valence projection and (optionally) classifier members.

    Attributes
    ----------
    test_clips : tuple of int
        0-based FACED clips the fold's models never saw (all clips for ``seen-clips``).
    projection : bci_valence.model.networks.LinearProjection
    members : list of bci_valence.model.networks.DEClassifier
    """

    test_clips: tuple[int, ...]
    projection: Any
    members: list = field(default_factory=list)

    def project(self, de: np.ndarray) -> np.ndarray:
        """Valence of standardized DE vectors ``(..., n_channels, n_bands)``."""
        w = self.projection.weight.detach().cpu().numpy().astype(np.float64)
        b = float(self.projection.bias.detach().cpu()[0])
        x = np.asarray(de, dtype=np.float64)
        if x.shape[-2:] != w.shape:
            raise ValueError(f"project expects (..., {w.shape[0]}, {w.shape[1]}), got {x.shape}")
        return np.einsum("...cb,cb->...", x, w) + b

    def predict_proba(self, seq: np.ndarray, batch_size: int = 4096) -> np.ndarray:
        """Member-mean class probabilities of sequences ``(batch, seq_len, n_channels, n_bands)``."""
        import torch

        if not self.members:
            raise RuntimeError("this fold has no classifier members")
        x = torch.from_numpy(np.ascontiguousarray(seq, dtype=np.float32))
        out = np.zeros((len(x), self.members[0].settings.n_classes))
        with torch.inference_mode():
            for m in self.members:
                m.eval()
                dev = next(m.parameters()).device
                for s in range(0, len(x), batch_size):
                    logits = m(x[s:s + batch_size].to(dev)).double()
                    out[s:s + batch_size] += torch.softmax(logits, -1).cpu().numpy()
        return out / len(self.members)


def save_fold_models(folder: str | Path, models: dict[str, list[FoldModel]]) -> Path | None:
    """Write every protocol's fold weights to ``folder/protocols.safetensors``.

    Returns the file, or None (and removes a stale file) when ``models`` is empty.
    """
    from safetensors.torch import save_file

    path = Path(folder) / PROTOCOLS_FILE
    tensors = {}
    for protocol, folds in models.items():
        for k, fold in enumerate(folds):
            prefix = f"{protocol}.fold{k}."
            for name, v in fold.projection.state_dict().items():
                tensors[prefix + "projection." + name] = v.detach().cpu().contiguous()
            for i, member in enumerate(fold.members):
                for name, v in member.state_dict().items():
                    tensors[f"{prefix}member{i:02d}.{name}"] = v.detach().cpu().contiguous()
    if not tensors:
        if path.exists():
            path.unlink()
        return None
    save_file(tensors, str(path))
    return path
