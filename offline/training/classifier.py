"""The residual classifier: :class:`~bci_valence.model.networks.DEClassifier` members
trained in cumulative stages (:data:`~offline.training.settings.STAGES`): ``baseline`` →
``augment`` (time jitter within the clip, channel dropout, Gaussian noise, subject
mixing) → ``distill`` (auxiliary loss pulling the embedding's V-axis projection toward
the class's V-axis coordinate, plus soft targets from the V-axis class prototypes) →
``deep`` (doubled depth) → ``ensemble`` (mean of ``n_ensemble`` members).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from bci_valence.device import resolve_device
from bci_valence.model.networks import ClassifierSettings

from .metrics import classification_metrics
from .settings import STAGES, TrainSettings
from .windows import N_WINDOWS, SEQ_LEN

__all__ = ["classifier_settings_for", "train_classifier", "train_recipe"]


def _stage_flags(stages: Sequence[str]) -> dict[str, bool]:
    return {s: (s in stages) for s in STAGES}


def classifier_settings_for(settings: TrainSettings, stages: Sequence[str]) -> ClassifierSettings:
    """Architecture for a stage set: ``settings.classifier`` with ``deep`` doubling the depth
    and the auxiliary head sized by ``clip_aux_weight`` / ``aux_target``."""
    base = settings.classifier
    return replace(
        base,
        depth=base.depth * (2 if "deep" in stages else 1),
        n_aux_classes=(28 * (N_WINDOWS if settings.aux_target == "clip_window" else 1)
                       if settings.clip_aux_weight > 0 else 0),
    )


class _MemberTrainer:
    """Training state of one member: the clips on the device, the model, its optimizer and RNG.

    Batches are drawn from a seeded :class:`torch.Generator` in a fixed order, so a
    member is the same whatever trains it (this process or a worker).
    """

    def __init__(
        self,
        z_train: np.ndarray,
        labels: np.ndarray,
        coordinates: np.ndarray,
        settings: TrainSettings,
        stages: Sequence[str],
        seed: int,
    ) -> None:
        import torch

        from bci_valence.model.networks import DEClassifier

        self.settings = settings
        self.flags = _stage_flags(stages)
        self.device = device = resolve_device(settings.device)
        torch.manual_seed(seed)
        self.gen = torch.Generator().manual_seed(seed)
        self.model = DEClassifier(classifier_settings_for(settings, stages)).to(device)

        self.n_sub, self.n_clips = n_sub, n_clips = z_train.shape[:2]
        clips = torch.from_numpy(np.ascontiguousarray(z_train.reshape(n_sub * n_clips, *z_train.shape[2:])))
        self.clips = clips.to(device)
        self.clip_y = torch.from_numpy(np.tile(np.asarray(labels), n_sub)).long().to(device)
        self.clip_id = torch.from_numpy(np.tile(np.arange(n_clips), n_sub)).long().to(device)
        self.coords = torch.as_tensor(np.asarray(coordinates), dtype=torch.float32, device=device)
        self.soft = None
        if self.flags["distill"] and settings.distill_soft_weight > 0:
            d2 = (self.coords[None, :] - self.coords[:, None]) ** 2
            self.soft = torch.softmax(-d2 / settings.distill_temperature, dim=1)  # (9, 9) row = true class
        n_windows = n_sub * n_clips * N_WINDOWS
        self.steps_per_epoch = max(1, n_windows // settings.batch_size)
        self.opt = torch.optim.AdamW(self.model.parameters(), lr=settings.lr, weight_decay=settings.weight_decay)
        self.offsets = torch.arange(SEQ_LEN, device=device)
        self.max_start = self.clips.shape[1] - SEQ_LEN

    def _sample(self) -> tuple[Any, Any, Any]:
        """A batch: clip indices, window starts (jittered) and windows (subject-mixed), before noise."""
        import torch

        s, batch = self.settings, self.settings.batch_size
        gen, device = self.gen, self.device
        idx = torch.randint(0, len(self.clips), (batch,), generator=gen).to(device)
        start = torch.randint(0, N_WINDOWS, (batch,), generator=gen).to(device) * SEQ_LEN
        if self.flags["augment"] and s.jitter_s > 0:
            shift = torch.randint(-s.jitter_s, s.jitter_s + 1, start.shape, generator=gen)
            start = (start + shift.to(device)).clamp(0, self.max_start)
        xb = self.clips[idx[:, None], start[:, None] + self.offsets[None, :]]  # (B, 10, 32, 5)
        if self.flags["augment"] and s.subject_mix > 0:
            # mix with another subject watching the same clip at the same time
            other = torch.randint(0, self.n_sub, idx.shape, generator=gen).to(device) * self.n_clips
            other = other + idx % self.n_clips
            lam = torch.rand(idx.shape[0], 1, 1, 1, generator=gen).to(device)
            use = (torch.rand(idx.shape[0], 1, 1, 1, generator=gen).to(device) < s.subject_mix)
            lam = torch.where(use, lam, torch.ones_like(lam))
            xo = self.clips[other[:, None], start[:, None] + self.offsets[None, :]]
            xb = (lam * xb + (1 - lam) * xo) / torch.sqrt(lam**2 + (1 - lam) ** 2)
        return idx, start, xb

    def _corrupt(self, xb: Any) -> Any:
        """Channel dropout and Gaussian noise (``augment`` stage)."""
        import torch

        s, gen = self.settings, self.gen
        if s.channel_dropout > 0:
            keep = torch.rand(xb.shape[0], 1, xb.shape[2], 1, generator=gen).to(self.device)
            xb = xb * (keep >= s.channel_dropout)
        if s.noise_std > 0:
            xb = xb + s.noise_std * torch.randn(xb.shape, generator=gen).to(self.device)
        return xb

    def _loss(self, xb: Any, idx: Any, start: Any) -> Any:
        """Cross-entropy, plus the auxiliary clip loss and the ``distill`` losses when on."""
        import torch
        import torch.nn.functional as F

        s = self.settings
        yb = self.clip_y[idx]
        logits, axis_pred, aux = self.model.forward_train(xb)
        loss = F.cross_entropy(logits, yb, label_smoothing=s.label_smoothing)
        if aux is not None:
            aux_y = self.clip_id[idx]
            if s.aux_target == "clip_window":
                window = torch.div(start + SEQ_LEN // 2, SEQ_LEN, rounding_mode="floor").clamp(0, N_WINDOWS - 1)
                aux_y = aux_y * N_WINDOWS + window
            loss = loss + s.clip_aux_weight * F.cross_entropy(aux, aux_y, label_smoothing=s.label_smoothing)
        if self.flags["distill"]:
            if s.distill_weight > 0:
                loss = loss + s.distill_weight * F.mse_loss(axis_pred, self.coords[yb])
            if self.soft is not None:
                loss = loss + s.distill_soft_weight * F.kl_div(
                    F.log_softmax(logits, dim=1), self.soft[yb], reduction="batchmean"
                )
        return loss

    def step(self) -> float:
        """One optimizer step on a fresh batch; returns its loss."""
        idx, start, xb = self._sample()
        if self.flags["augment"]:
            xb = self._corrupt(xb)
        loss = self._loss(xb, idx, start)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        return float(loss.detach())

    def run_phase(self, epochs: int, sched: Any, label: str) -> None:
        """``epochs`` epochs of steps, stepping ``sched`` after each, with a progress bar."""
        from tqdm.auto import tqdm

        bar = tqdm(range(epochs), desc=label, unit="epoch", disable=not self.settings.progress, leave=False)
        for _ in bar:
            self.model.train()
            total = 0.0
            for _ in range(self.steps_per_epoch):
                total += self.step()
                sched.step()
            bar.set_postfix(loss=f"{total / self.steps_per_epoch:.3f}")
        bar.close()

    def snapshot(self) -> Any:
        """A CPU copy of the model as it is now, in eval mode."""
        from bci_valence.model.networks import DEClassifier

        clone = DEClassifier(self.model.settings)
        clone.load_state_dict({k: v.detach().cpu().clone() for k, v in self.model.state_dict().items()})
        return clone.eval()

    def train(self, desc: str, n_snapshots: int) -> list[Any]:
        """The main one-cycle schedule, then ``n_snapshots - 1`` cosine cycles; one checkpoint after each."""
        import torch

        s = self.settings
        sched = torch.optim.lr_scheduler.OneCycleLR(
            self.opt, max_lr=s.lr, total_steps=s.epochs * self.steps_per_epoch, pct_start=0.1
        )
        self.run_phase(s.epochs, sched, desc)
        snapshots = [self.snapshot()]
        # Snapshot ensemble: further short cosine cycles from a lower learning rate, one
        # checkpoint at the end of each.
        for k in range(1, n_snapshots):
            for group in self.opt.param_groups:
                group["lr"] = s.lr * s.snapshot_lr_scale
                group["initial_lr"] = group["lr"]
            cyc = torch.optim.lr_scheduler.CosineAnnealingLR(
                self.opt, T_max=s.snapshot_epochs * self.steps_per_epoch, eta_min=s.lr * 1e-3
            )
            self.run_phase(s.snapshot_epochs, cyc, f"{desc} snapshot {k + 1}/{n_snapshots}")
            snapshots.append(self.snapshot())
        return snapshots


def train_classifier(
    z_train: np.ndarray,
    labels: np.ndarray,
    coordinates: np.ndarray,
    settings: TrainSettings,
    stages: Sequence[str],
    seed: int,
    desc: str = "member",
    n_snapshots: int = 1,
) -> list[Any]:
    """Train one :class:`bci_valence.model.networks.DEClassifier` (and optional snapshots).

    Parameters
    ----------
    z_train : ndarray (n_sub, 28, 30, 32, 5)
        Standardized training features.
    labels : ndarray (28,)
    coordinates : ndarray (9,)
        V-axis class coordinates (``distill`` stage).
    settings : TrainSettings
    stages : sequence of str
        Which stages are on (``ensemble`` is handled by the caller).
    seed : int
    desc : str
        Progress-bar label.
    n_snapshots : int
        Checkpoints to return: the model after the main one-cycle schedule, then one
        after each of ``n_snapshots - 1`` further cosine cycles of
        ``settings.snapshot_epochs`` epochs restarted at
        ``settings.lr * settings.snapshot_lr_scale``.

    Returns
    -------
    list of DEClassifier (eval mode, on CPU), ``n_snapshots`` long
    """
    return _MemberTrainer(z_train, labels, coordinates, settings, stages, seed).train(desc, n_snapshots)


def strip_aux_head(model: Any) -> Any:
    """Copy of a member without its auxiliary (training-only) head."""
    from bci_valence.model.networks import DEClassifier

    if model.aux_head is None:
        return model
    clone = DEClassifier(replace(model.settings, n_aux_classes=0))
    clone.load_state_dict({k: v for k, v in model.state_dict().items() if not k.startswith("aux_head.")})
    return clone.eval()


def _predict_members(members: Sequence[Any], x: np.ndarray, device: Any = None) -> np.ndarray:
    """Mean softmax of ``members`` on windows ``x (n, 10, 32, 5)``."""
    import torch

    dev = torch.device(device or "cpu")
    xt = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
    out = np.zeros((len(x), members[0].settings.n_classes))
    with torch.inference_mode():
        for m in members:
            m = m.to(dev).eval()
            for s in range(0, len(x), 4096):
                out[s:s + 4096] += torch.softmax(m(xt[s:s + 4096].to(dev)).double(), -1).cpu().numpy()
            m.cpu()
    return out / len(members)


_WORKER: dict[str, Any] = {}


def _init_worker(z_train, labels, coordinates, settings, stages) -> None:  # pragma: no cover - subprocess
    import torch

    torch.set_num_threads(1)
    _WORKER.update(z=z_train, labels=labels, coords=coordinates,
                   settings=replace(settings, progress=False), stages=stages)


def _worker_train(seed: int) -> dict[str, Any]:  # pragma: no cover - subprocess
    w = _WORKER
    model = train_classifier(w["z"], w["labels"], w["coords"], w["settings"], w["stages"], seed=seed)[0]
    return {k: v.numpy() for k, v in model.state_dict().items()}


def _train_parallel(z_train, labels, coordinates, settings, stages, todo, desc) -> list[Any]:
    """Train members ``todo`` (seed = seed + 1000 k) in ``settings.jobs`` processes.

    Each process runs one torch thread; results are identical to training them one
    after the other.
    """
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    import torch
    from tqdm.auto import tqdm

    from bci_valence.model.networks import DEClassifier

    arch = classifier_settings_for(settings, stages)
    seeds = [settings.seed + 1000 * k for k in todo]
    out: list[Any] = []
    with ProcessPoolExecutor(
        max_workers=min(settings.jobs, len(seeds)), mp_context=mp.get_context("spawn"),
        initializer=_init_worker, initargs=(z_train, labels, coordinates, settings, tuple(stages)),
    ) as pool:
        for state in tqdm(pool.map(_worker_train, seeds), total=len(seeds), desc=f"{desc} members",
                          unit="member", disable=not settings.progress, leave=False):
            model = DEClassifier(arch)
            model.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()})
            out.append(model.eval())
    return out


def train_recipe(
    z_train: np.ndarray,
    labels: np.ndarray,
    coordinates: np.ndarray,
    settings: TrainSettings,
    stages: Sequence[str],
    val_windows: dict[str, np.ndarray] | None = None,
    desc: str = "",
    first_member: tuple[Any, float] | None = None,
) -> tuple[list[Any], dict[str, Any]]:
    """Train the members of one stage set; returns (members, validation metrics).

    ``first_member`` = (model, seconds) reuses an already trained member with seed
    ``settings.seed`` and the same stages minus ``ensemble`` (bit-identical to what
    this function would train first in ``seeds`` mode); its time is counted.
    """
    n_members = settings.n_ensemble if "ensemble" in stages else 1
    members: list[Any] = []
    extra = 0.0
    t0 = time.perf_counter()
    if settings.ensemble_mode == "snapshots" and n_members > 1:
        members = train_classifier(z_train, labels, coordinates, settings, stages,
                                   seed=settings.seed, desc=desc.strip() or "member",
                                   n_snapshots=n_members)
    else:
        extra = 0.0
        if first_member is not None:
            members.append(first_member[0])
            extra = first_member[1]
        todo = list(range(len(members), n_members))
        if settings.jobs > 1 and len(todo) > 1:
            members += _train_parallel(z_train, labels, coordinates, settings, stages, todo, desc)
        for k in todo if not (settings.jobs > 1 and len(todo) > 1) else []:
            label = f"{desc} {k + 1}/{n_members}" if n_members > 1 else desc
            members += train_classifier(z_train, labels, coordinates, settings, stages,
                                        seed=settings.seed + 1000 * k, desc=label.strip() or "member")
    seconds = time.perf_counter() - t0 + (extra if settings.ensemble_mode != "snapshots" or n_members == 1 else 0.0)
    metrics: dict[str, Any] = {"train_seconds": round(seconds, 1), "n_members": n_members}
    if val_windows is not None:
        proba = _predict_members(members, val_windows["x"], settings.device)
        metrics.update(classification_metrics(val_windows["y"], proba))
        metrics["n_samples"] = len(proba)
    return members, metrics
