"""The studies' training loop: batches, the task and auxiliary losses, the LoRA phase.

:func:`offline.studies.common.train_model` builds the networks and calls these; they
take everything as arguments (the settings objects of :mod:`offline.studies.common` are
read by attribute only).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from offline.training.windows import N_WINDOWS, SEQ_LEN

__all__ = ["Batches", "aux_term", "diversity_penalty", "lora_phase", "merge_adapter", "run_phase"]


class Batches:
    """Random training windows: a clip of a training subject and one of its 3 windows.

    Parameters
    ----------
    z_train : ndarray (n_sub, n_clips, 30, 32, 5)
        Standardized DE of the training subjects.
    clip_labels : ndarray (n_clips,)
        Class of each clip.
    config : TrainConfig
        ``batch_size`` and ``seed`` (of the batch generator) are read.
    device : torch.device
    train_clips : sequence of int or None
        Train only on these clips (0-based), else all.
    """

    def __init__(self, z_train: np.ndarray, clip_labels: np.ndarray, config: Any, device: Any,
                 train_clips: Any = None) -> None:
        import torch

        self.config, self.device = config, device
        self.gen = torch.Generator().manual_seed(config.seed)
        n_sub, n_clips = z_train.shape[:2]
        # a copy: arrays from Ray's object store are read-only
        clips = torch.from_numpy(np.array(z_train.reshape(n_sub * n_clips, *z_train.shape[2:]),
                                          dtype=np.float32)).to(device)
        clip_y = torch.from_numpy(np.tile(np.asarray(clip_labels), n_sub)).long().to(device)
        if train_clips is not None:
            keep = np.isin(np.tile(np.arange(n_clips), n_sub), np.asarray(train_clips))
            if not keep.any():
                raise ValueError(f"train_clips {list(train_clips)} selects none of the {n_clips} clips")
            clips, clip_y = clips[torch.from_numpy(keep)], clip_y[torch.from_numpy(keep)]
        self.clips, self.clip_y = clips, clip_y
        self.steps = max(1, len(clips) * N_WINDOWS // config.batch_size)
        self.offsets = torch.arange(SEQ_LEN, device=device)
        from .regions import region_channels

        regions = region_channels()
        self.posterior = torch.zeros(1, 1, 32, 1, device=device)
        self.posterior[0, 0, regions["parietal"] + regions["occipital"]] = 1.0

    def draw(self) -> tuple[Any, Any]:
        """One batch: windows (batch, 10, 32, 5) and their classes."""
        import torch

        n = self.config.batch_size
        idx = torch.randint(0, len(self.clips), (n,), generator=self.gen).to(self.device)
        start = torch.randint(0, N_WINDOWS, (n,), generator=self.gen).to(self.device) * SEQ_LEN
        return self.clips[idx[:, None], start[:, None] + self.offsets[None, :]], self.clip_y[idx]


def aux_term(net: Any, aux: Any, xb: Any, yb: Any, logits: Any, rep: Any,
              coords: Any, progress: float, posterior: Any) -> Any:
    """One batch's auxiliary loss (without the task loss)."""
    import torch
    import torch.nn.functional as F

    if aux.kind in ("kd", "curriculum", "lora"):
        loss = F.mse_loss(net.axis_head(net.head_drop(rep)).squeeze(-1), coords[yb])
        weight = aux.weight * (2.0 * (1.0 - progress) if aux.kind == "curriculum" else 1.0)
        total = weight * loss
        if aux.kind == "kd" and aux.soft_weight > 0:
            d2 = (coords[None, :] - coords[:, None]) ** 2
            soft = torch.softmax(-d2 / aux.temperature, dim=1)
            total = total + aux.soft_weight * F.kl_div(F.log_softmax(logits, 1), soft[yb],
                                                       reduction="batchmean")
        return total
    if aux.kind == "kd_weighted":
        w = torch.as_tensor(aux.class_weights, dtype=rep.dtype, device=rep.device)[yb]
        err = (net.axis_head(net.head_drop(rep)).squeeze(-1) - coords[yb]) ** 2
        return aux.weight * (w * err).sum() / w.sum()
    if aux.kind == "channel":
        masked = xb * posterior
        rep_p = net.representation(masked)
        return aux.weight * F.mse_loss(net.axis_head(net.head_drop(rep_p)).squeeze(-1), coords[yb])
    if aux.kind == "rsa":
        zr = F.normalize(rep - rep.mean(0, keepdim=True), dim=1)
        dist = 1.0 - zr @ zr.T
        target = (coords[yb][:, None] - coords[yb][None, :]).abs()
        iu = torch.triu_indices(len(yb), len(yb), 1, device=rep.device)
        a, b = dist[iu[0], iu[1]], target[iu[0], iu[1]]
        a, b = a - a.mean(), b - b.mean()
        corr = (a * b).sum() / (a.norm() * b.norm() + 1e-8)
        return aux.weight * (1.0 - corr)
    if aux.kind == "supcon":
        zr = F.normalize(rep, dim=1)
        sim = zr @ zr.T / aux.temperature
        eye = torch.eye(len(yb), device=rep.device, dtype=torch.bool)
        sim = sim.masked_fill(eye, -1e9)
        cy = coords[yb]
        w = torch.exp(-((cy[:, None] - cy[None, :]) ** 2) / 0.1).masked_fill(eye, 0.0)
        w = w / w.sum(1, keepdim=True).clamp_min(1e-8)
        return aux.weight * -(w * F.log_softmax(sim, dim=1)).sum(1).mean()
    raise ValueError(f"no auxiliary term for {aux.kind!r}")  # pragma: no cover


def diversity_penalty(residuals: list[Any]) -> tuple[Any, int]:
    """The sum over member pairs of the Pearson correlation between their flattened
    within-class residuals, and the number of pairs."""
    pen = 0.0
    pairs = 0
    for a in range(len(residuals)):
        for b in range(a + 1, len(residuals)):
            ra, rb = residuals[a] - residuals[a].mean(), residuals[b] - residuals[b].mean()
            pen = pen + (ra * rb).sum() / (ra.norm() * rb.norm() + 1e-8)
            pairs += 1
    return pen, pairs


def _batch_loss(nets: list[Any], xb: Any, yb: Any, phase_aux: Any, adapters: list[Any] | None, coords: Any,
                progress: float, batches: Batches, diversity: float) -> Any:
    """Task loss of every member, its auxiliary term, and the diversity penalty."""
    import torch.nn.functional as F

    loss = 0.0
    residuals = []
    for m, net in enumerate(nets):
        if adapters is None:
            logits, rep = net(xb)
        else:
            rep = net.representation(xb)
            rep = rep + adapters[m](rep)
            logits = net.head(net.head_drop(rep))
        loss = loss + F.cross_entropy(logits, yb, label_smoothing=batches.config.label_smoothing)
        if phase_aux.kind != "none":
            loss = loss + aux_term(net, phase_aux, xb, yb, logits, rep, coords, progress, batches.posterior)
        if diversity > 0:
            onehot = F.one_hot(yb, 9).float()
            means = (onehot.T @ logits) / onehot.sum(0).clamp_min(1)[:, None]
            residuals.append((logits - means[yb]).flatten())
    if diversity > 0 and len(residuals) > 1:
        pen, pairs = diversity_penalty(residuals)
        loss = loss + diversity * pen / pairs
    return loss


def run_phase(nets: list[Any], params: list[Any], epochs: int, phase_aux: Any, adapters: list[Any] | None,
              batches: Batches, coords: Any, diversity: float = 0.0) -> None:
    """Train ``params`` for ``epochs`` passes: AdamW with a one-cycle schedule.

    Parameters
    ----------
    nets : list of StudyNet
    params : list of tensors
        What the optimizer updates.
    epochs : int
    phase_aux : AuxLoss
        Auxiliary loss of this phase (``kind == "none"``: task only).
    adapters : list or None
        Per-member LoRA adapters added to the representation (None: none).
    batches : Batches
    coords : tensor (9,)
        Class coordinates the auxiliary loss pulls toward.
    diversity : float
        Weight of the residual-diversity penalty.
    """
    import torch

    config = batches.config
    opt = torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)
    total = epochs * batches.steps
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=config.lr, total_steps=total, pct_start=0.1)
    for net in nets:
        net.train()
    for i in range(total):
        xb, yb = batches.draw()
        loss = _batch_loss(nets, xb, yb, phase_aux, adapters, coords, i / max(total - 1, 1), batches, diversity)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()


def lora_phase(nets: list[Any], aux: Any, batches: Batches, coords: Any, diversity: float = 0.0) -> None:
    """The ``lora`` strategy's second phase: the networks frozen, a rank-``aux.rank`` adapter of
    the representation and the axis head trained with the auxiliary loss, then the adapters merged."""
    from torch import nn

    adapters = []
    for net in nets:
        for p in net.parameters():
            p.requires_grad_(False)
        down = nn.Linear(net.rep_dim, aux.rank, bias=False)
        up = nn.Linear(aux.rank, net.rep_dim, bias=False)
        nn.init.zeros_(up.weight)
        adapters.append(nn.Sequential(down, up).to(batches.device))
        net.axis_head.requires_grad_(True)
    params = [p for a in adapters for p in a.parameters()] + [p for net in nets for p in net.axis_head.parameters()]
    run_phase(nets, params, aux.extra_epochs, aux, adapters, batches, coords, diversity)
    for net, adapter in zip(nets, adapters):
        merge_adapter(net, adapter)
        for p in net.parameters():
            p.requires_grad_(True)


def merge_adapter(net: Any, adapter: Any) -> None:
    """Fold ``rep + up(down(rep))`` into the network's representation."""
    import torch

    rep_fn = net.representation

    def representation(x: torch.Tensor) -> torch.Tensor:
        rep = rep_fn(x)
        return rep + adapter.to(rep.device)(rep)

    net.representation = representation
    net.adapter = adapter
