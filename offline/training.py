"""Offline training on FACED DE features: the EEG→V-axis projection and the residual ensemble.

Protocol
--------
* A sample is a 10-s window: 10 consecutive 1-s DE vectors (10 × 32 × 5); three
  non-overlapping windows per clip (seconds 0–9, 10–19, 20–29 of the clip's last 30 s);
  the clip's emotion is the label (9 classes).
* Per-subject standardization uses only the subject's own unlabeled features: every
  channel × band is z-scored with the mean and standard deviation over all of the
  subject's 1-s DE vectors (28 clips × 30 s).  Online, the same statistics come from a
  calibration period (:class:`bci_valence.signal.normalization.RunningStandardizer`).
* Published split: train sub000–sub079, validation sub080–sub099, test sub100–sub122.

Models
------
* Projection: ridge regression from one standardized (32, 5) DE vector to the V-axis
  coordinate of the sample's class, fitted on 10-s window means (a linear map, so it
  applies unchanged to one 1-s vector or to the mean of the last few); the
  regularization is chosen on validation subjects by per-stimulus r.
* Classifier: :class:`bci_valence.model.networks.DEClassifier` trained in cumulative stages
  (:data:`STAGES`): ``baseline`` → ``augment`` (time jitter within the clip, channel
  dropout, Gaussian noise) → ``distill`` (auxiliary loss pulling the embedding's
  V-axis projection toward the class's V-axis coordinate, plus soft targets from the
  V-axis class prototypes) → ``deep`` (doubled depth) → ``ensemble`` (mean of
  ``n_ensemble`` members from different seeds).
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from bci_valence.model.networks import ClassifierSettings

log = logging.getLogger(__name__)

__all__ = [
    "STAGES",
    "TrainSettings",
    "clip_projection_metrics",
    "classification_metrics",
    "evaluate_bundle",
    "fit_projection",
    "load_axis_coordinates",
    "make_windows",
    "run_training",
    "standardize_subjects",
    "train_classifier",
]

#: Cumulative stages of the classifier recipe, in order.
STAGES = ("baseline", "augment", "distill", "deep", "ensemble")

N_WINDOWS = 3
SEQ_LEN = 10
#: The shipped V-axis artifact (``bci-valence axis build`` output).
DEFAULT_AXIS_DIR = Path(__file__).resolve().parent / "data" / "axes" / "all-minilm-l6-v2"
CLIP_SECONDS = 30


@dataclass(frozen=True)
class TrainSettings:
    """Settings of the whole training recipe.

    Attributes
    ----------
    stages : tuple of str
        Stages of :data:`STAGES` switched on for the final model (cumulative recipe:
        every listed stage applies).
    ablation : bool
        Also train and report every cumulative prefix of the recipe on validation.
    epochs : int
        Passes over the training windows per member.
    batch_size, lr, weight_decay, label_smoothing : training hyper-parameters
        (AdamW, one-cycle cosine schedule).
    d_model, depth, dropout, input_dropout, kernel_size, pooling : architecture
        (``deep`` doubles ``depth``).
    jitter_s : int
        ``augment``: random shift (s) of each 10-s window within its 30-s clip.
    channel_dropout : float
        ``augment``: probability of zeroing a channel (all bands, all seconds).
    noise_std : float
        ``augment``: Gaussian noise added to the standardized features.
    subject_mix : float
        ``augment``: probability of mixing a window with the same clip and seconds of
        another training subject (random weight, variance-preserving).
    distill_weight : float
        ``distill``: weight of the V-axis regression loss of the embedding.
    distill_soft_weight : float
        ``distill``: weight of the KL loss toward soft targets built from the V-axis
        class prototypes (``softmax(-(c_k - c_y)^2 / distill_temperature)``).
    distill_temperature : float
        Width of those soft targets (in squared V-axis units).
    clip_aux_weight : float
        Weight of an auxiliary cross-entropy on the clip identity (28 FACED clips);
        0 = off.  The clip head is not used at inference (the output stays 9 classes).
    aux_target : {"clip", "clip_window"}
        Auxiliary labels: the 28 clips, or the 84 (clip, 10-s window position) pairs.
    n_ensemble : int
        ``ensemble``: number of members (different seeds).
    ensemble_mode : {"seeds", "snapshots"}
        ``ensemble``: independent members from different seeds, or checkpoints of
        one run (after the main schedule, then after each of ``n_ensemble - 1`` short
        cosine cycles of ``snapshot_epochs`` epochs restarted at
        ``lr * snapshot_lr_scale``).
    snapshot_epochs, snapshot_lr_scale : snapshot-ensemble cycle length and restart lr.
    ridge_alphas : tuple of float
        Candidate projection regularizations (fraction of the sample count).
    ridge_alpha : float or None
        Fixed projection regularization (used when there are no validation subjects).
    valence_average : int
        Written to the bundle: the live pipeline projects the mean of this many most
        recent standardized DE vectors (10 = the 10-s sample of ``sample_r``).
    seed : int
    device : str or None
        Torch device; None = CUDA when available, else CPU.
    threads : int
        Torch CPU threads (1 by default: on a shared 2-core machine two threads
        contend and run several times slower).
    jobs : int
        Processes that train ensemble members in parallel (one torch thread each;
        results are identical to sequential training).
    progress : bool
        tqdm progress bars.
    """

    stages: tuple[str, ...] = STAGES
    ablation: bool = True
    epochs: int = 40
    batch_size: int = 128
    lr: float = 1e-3
    weight_decay: float = 1e-2
    label_smoothing: float = 0.1
    # The architecture defaults are the model's own (one place to change them).
    d_model: int = ClassifierSettings.d_model
    depth: int = ClassifierSettings.depth
    dropout: float = ClassifierSettings.dropout
    input_dropout: float = ClassifierSettings.input_dropout
    kernel_size: int = ClassifierSettings.kernel_size
    pooling: str = ClassifierSettings.pooling
    jitter_s: int = 0
    channel_dropout: float = 0.0
    noise_std: float = 0.0
    subject_mix: float = 0.5
    distill_weight: float = 0.5
    distill_soft_weight: float = 0.5
    distill_temperature: float = 0.1
    clip_aux_weight: float = 1.0
    aux_target: str = "clip_window"
    n_ensemble: int = 10
    ensemble_mode: str = "seeds"
    snapshot_epochs: int = 4
    snapshot_lr_scale: float = 0.3
    ridge_alphas: tuple[float, ...] = (1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0)
    ridge_alpha: float | None = None
    valence_average: int = 10
    seed: int = 0
    device: str | None = None
    threads: int = 1
    jobs: int = 2
    progress: bool = True

    def __post_init__(self) -> None:
        unknown = [s for s in self.stages if s not in STAGES]
        if unknown:
            raise ValueError(f"unknown stage(s) {unknown}; choose from {list(STAGES)}")
        if self.ensemble_mode not in ("seeds", "snapshots"):
            raise ValueError(f"ensemble_mode must be 'seeds' or 'snapshots', got {self.ensemble_mode!r}")
        if self.epochs < 1 or self.n_ensemble < 1 or self.batch_size < 1:
            raise ValueError("epochs, n_ensemble and batch_size must be >= 1")

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        out = asdict(self)
        out["stages"] = list(self.stages)
        out["ridge_alphas"] = list(self.ridge_alphas)
        return out


def parse_stages(spec: str) -> tuple[str, ...]:
    """``"all"``, ``"baseline,augment"`` or a prefix name such as ``"upto:distill"``.

    A single stage name means every stage up to and including it (the cumulative recipe).
    """
    spec = spec.strip()
    if spec in ("all", ""):
        return STAGES
    names = [s.strip() for s in spec.split(",") if s.strip()]
    unknown = [s for s in names if s not in STAGES]
    if unknown:
        raise ValueError(f"unknown stage(s) {unknown}; choose from {list(STAGES)} or 'all'")
    if len(names) == 1:
        return STAGES[: STAGES.index(names[0]) + 1]
    return tuple(s for s in STAGES if s in names)


# ---------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------


def standardize_subjects(de: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Per-subject z-score from each subject's own unlabeled features.

    Parameters
    ----------
    de : ndarray, shape (n_sub, 28, 32, 30, 5)
        FACED DE as loaded (subject, clip, channel, second, band).
    eps : float
        Added to the standard deviation (as :class:`RunningStandardizer`).

    Returns
    -------
    ndarray, float32, shape (n_sub, 28, 30, 32, 5)
        (subject, clip, second, channel, band), each channel × band z-scored over all
        of the subject's 840 1-s vectors; equal to
        :class:`bci_valence.signal.normalization.RunningStandardizer` fed the same vectors.
    """
    de = np.asarray(de)
    if de.ndim != 5:
        raise ValueError(f"DE of shape {de.shape}, expected (n_sub, 28, 32, 30, 5)")
    x = np.ascontiguousarray(de.transpose(0, 1, 3, 2, 4), dtype=np.float64)
    mean = x.mean(axis=(1, 2), keepdims=True)
    std = x.std(axis=(1, 2), keepdims=True) + eps
    return ((x - mean) / std).astype(np.float32)


def make_windows(z: np.ndarray, labels: np.ndarray) -> dict[str, np.ndarray]:
    """The evaluation samples: three non-overlapping 10-s windows per clip.

    Parameters
    ----------
    z : ndarray (n_sub, 28, 30, 32, 5)
        Standardized features from :func:`standardize_subjects`.
    labels : ndarray (28,)
        Class index per clip.

    Returns
    -------
    dict with ``x (n, 10, 32, 5)``, ``y (n,)``, ``clip (n,)``, ``subject (n,)``
    (subject = position in ``z``), ``window (n,)``.
    """
    n_sub, n_clips = z.shape[:2]
    x = z.reshape(n_sub, n_clips, N_WINDOWS, SEQ_LEN, *z.shape[3:]).reshape(-1, SEQ_LEN, *z.shape[3:])
    grid = np.meshgrid(np.arange(n_sub), np.arange(n_clips), np.arange(N_WINDOWS), indexing="ij")
    subject, clip, window = (g.reshape(-1) for g in grid)
    return {
        "x": x,
        "y": np.asarray(labels)[clip],
        "clip": clip,
        "subject": subject,
        "window": window,
    }


def load_axis_coordinates(axis_dir: str | Path | None = None) -> tuple[dict[str, float], dict[str, Any]]:
    """Class coordinates and provenance of a V-axis artifact.

    Reads ``axis.json`` (key ``class_coordinates``) of a folder written by
    ``bci-valence axis build``; only the JSON is needed, not the language model.

    Parameters
    ----------
    axis_dir : str, Path or None
        Axis folder (None = the shipped default, ``offline/data/axes/all-minilm-l6-v2``).

    Returns
    -------
    (coordinates, info)

    Raises
    ------
    FileNotFoundError
        If ``axis.json`` is absent.
    ValueError
        If it is not valid JSON or lacks a coordinate for a FACED class.
    """
    import json

    from bci_valence.constants import EMOTION_CLASSES

    folder = Path(axis_dir) if axis_dir is not None else DEFAULT_AXIS_DIR
    meta_path = folder / "axis.json"
    if not meta_path.is_file():
        raise FileNotFoundError(
            f"V-axis artifact not found: {meta_path} (build one with `bci-valence axis build --out DIR`)"
        )
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ValueError(f"{meta_path} is not valid JSON: {err}") from err
    coords = meta.get("class_coordinates")
    if not isinstance(coords, dict):
        raise ValueError(f"{meta_path} lacks an object 'class_coordinates'")
    missing = [c for c in EMOTION_CLASSES if c not in coords]
    if missing:
        raise ValueError(f"{meta_path}: class_coordinates lacks class(es) {missing}")
    try:
        out = {c: float(coords[c]) for c in EMOTION_CLASSES}
    except (TypeError, ValueError) as err:
        raise ValueError(f"{meta_path}: non-numeric class coordinate: {err}") from err
    info = {
        "source": folder.name if axis_dir is None else str(folder),
        **{k: meta.get(k) for k in ("model", "layer", "pooling", "method", "created", "stories_sha256")},
    }
    return out, info


# ---------------------------------------------------------------------------
# Metrics
# ---------------------------------------------------------------------------


def _pearson(a: np.ndarray, b: np.ndarray) -> float:
    a = np.asarray(a, float).ravel()
    b = np.asarray(b, float).ravel()
    if a.std() == 0 or b.std() == 0:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])


def classification_metrics(y: np.ndarray, proba: np.ndarray) -> dict[str, float]:
    """BACC, Cohen's kappa, weighted F1 and accuracy of ``argmax(proba)``."""
    from sklearn.metrics import (
        accuracy_score,
        balanced_accuracy_score,
        cohen_kappa_score,
        f1_score,
    )

    pred = np.argmax(proba, axis=1)
    return {
        "bacc": float(balanced_accuracy_score(y, pred)),
        "kappa": float(cohen_kappa_score(y, pred)),
        "weighted_f1": float(f1_score(y, pred, average="weighted")),
        "accuracy": float(accuracy_score(y, pred)),
    }


def clip_projection_metrics(
    proj_seconds: np.ndarray,
    coordinates: np.ndarray,
    labels: np.ndarray,
    rated_valence: np.ndarray | None = None,
    release_valence: np.ndarray | None = None,
) -> dict[str, Any]:
    """Per-stimulus and sample-level r of the projection.

    Parameters
    ----------
    proj_seconds : ndarray (n_sub, 28, 30)
        Projection of every standardized 1-s DE vector.
    coordinates : ndarray (9,)
        V-axis coordinate per class.
    labels : ndarray (28,)
    rated_valence : ndarray (n_sub, 28) or None
        The evaluated subjects' own valence ratings.
    release_valence : ndarray (28,) or None
        FACED's mean self-reported valence per clip (all 123 subjects).

    Returns
    -------
    dict with ``clip_r_axis`` (mean projection of each clip over subjects vs its class's
    coordinate), ``clip_r_ratings`` (vs the subjects' mean rated valence of the clip),
    ``clip_r_release_valence``, ``sample_r`` (10-s window mean projection vs class
    coordinate), ``second_r`` (single 1-s vectors), ``clip_projection`` (28,).
    """
    n_sub = proj_seconds.shape[0]
    clip_proj = proj_seconds.mean(axis=(0, 2))
    target = np.asarray(coordinates)[labels]
    windows = proj_seconds.reshape(n_sub, len(labels), N_WINDOWS, SEQ_LEN).mean(axis=3)
    out: dict[str, Any] = {
        "clip_r_axis": _pearson(clip_proj, target),
        "sample_r": _pearson(windows, np.broadcast_to(target[None, :, None], windows.shape)),
        "second_r": _pearson(proj_seconds, np.broadcast_to(target[None, :, None], proj_seconds.shape)),
    }
    if rated_valence is not None:
        out["clip_r_ratings"] = _pearson(clip_proj, np.asarray(rated_valence).mean(axis=0))
    if release_valence is not None:
        out["clip_r_release_valence"] = _pearson(clip_proj, release_valence)
    out["clip_projection"] = [float(v) for v in clip_proj]
    return out


# ---------------------------------------------------------------------------
# Projection
# ---------------------------------------------------------------------------


def _ridge(x: np.ndarray, y: np.ndarray, alpha: float) -> tuple[np.ndarray, float]:
    """Ridge with intercept; ``alpha`` scaled by the sample count."""
    x = np.asarray(x, np.float64)
    y = np.asarray(y, np.float64)
    mx, my = x.mean(axis=0), y.mean()
    xc = x - mx
    gram = xc.T @ xc + alpha * len(x) * np.eye(x.shape[1])
    w = np.linalg.solve(gram, xc.T @ (y - my))
    return w, float(my - mx @ w)


def fit_projection(
    z_train: np.ndarray,
    coordinates: np.ndarray,
    labels: np.ndarray,
    alphas: Sequence[float],
    z_val: np.ndarray | None = None,
    val_ratings: np.ndarray | None = None,
    release_valence: np.ndarray | None = None,
) -> dict[str, Any]:
    """Ridge from one standardized (32, 5) vector to the class's V-axis coordinate.

    Fitted on 10-s window means of the training subjects.  With ``z_val`` the alpha
    with the highest validation per-stimulus r (against the V-axis coordinates) is
    kept, else ``alphas`` must hold exactly one value.

    Returns
    -------
    dict with ``weight (32, 5)``, ``bias``, ``alpha``, ``selection`` (per-alpha
    validation metrics) and ``val`` (metrics of the chosen alpha) when validated.
    """
    n_sub, n_clips, _, n_ch, n_bands = z_train.shape
    xw = z_train.reshape(n_sub, n_clips, N_WINDOWS, SEQ_LEN, n_ch * n_bands).mean(axis=3)
    target = np.asarray(coordinates)[labels]
    yw = np.broadcast_to(target[None, :, None], xw.shape[:3]).reshape(-1)
    xw = xw.reshape(-1, n_ch * n_bands)
    if z_val is None and len(alphas) != 1:
        raise ValueError("fit_projection needs validation data to choose among several alphas")
    best: dict[str, Any] | None = None
    selection = []
    for alpha in alphas:
        w, b = _ridge(xw, yw, float(alpha))
        cand: dict[str, Any] = {"weight": w.reshape(n_ch, n_bands), "bias": b, "alpha": float(alpha)}
        if z_val is not None:
            proj = z_val.reshape(*z_val.shape[:3], -1) @ w + b
            metrics = clip_projection_metrics(proj, coordinates, labels, val_ratings, release_valence)
            cand["val"] = metrics
            selection.append({"alpha": float(alpha), **{k: v for k, v in metrics.items() if k != "clip_projection"}})
            if best is None or metrics["clip_r_axis"] > best["val"]["clip_r_axis"]:
                best = cand
        else:
            best = cand
    assert best is not None
    best["selection"] = selection
    return best


# ---------------------------------------------------------------------------
# Classifier
# ---------------------------------------------------------------------------


def _stage_flags(stages: Sequence[str]) -> dict[str, bool]:
    return {s: (s in stages) for s in STAGES}


def classifier_settings_for(settings: TrainSettings, stages: Sequence[str]):
    """Architecture for a stage set (``deep`` doubles the depth)."""
    depth = settings.depth * (2 if "deep" in stages else 1)
    return ClassifierSettings(
        d_model=settings.d_model,
        depth=depth,
        kernel_size=settings.kernel_size,
        dropout=settings.dropout,
        input_dropout=settings.input_dropout,
        pooling=settings.pooling,
        n_aux_classes=(28 * (N_WINDOWS if settings.aux_target == "clip_window" else 1)
                       if settings.clip_aux_weight > 0 else 0),
    )


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
    import torch
    import torch.nn.functional as F
    from tqdm.auto import tqdm

    from bci_valence.model.networks import DEClassifier

    flags = _stage_flags(stages)
    device = torch.device(settings.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    model = DEClassifier(classifier_settings_for(settings, stages)).to(device)

    n_sub, n_clips = z_train.shape[:2]
    clips = torch.from_numpy(np.ascontiguousarray(z_train.reshape(n_sub * n_clips, *z_train.shape[2:])))
    clips = clips.to(device)
    clip_y = torch.from_numpy(np.tile(np.asarray(labels), n_sub)).long().to(device)
    clip_id = torch.from_numpy(np.tile(np.arange(n_clips), n_sub)).long().to(device)
    coords = torch.as_tensor(np.asarray(coordinates), dtype=torch.float32, device=device)
    soft = None
    if flags["distill"] and settings.distill_soft_weight > 0:
        d2 = (coords[None, :] - coords[:, None]) ** 2
        soft = torch.softmax(-d2 / settings.distill_temperature, dim=1)  # (9, 9) row = true class
    n_windows = n_sub * n_clips * N_WINDOWS
    steps_per_epoch = max(1, n_windows // settings.batch_size)
    opt = torch.optim.AdamW(model.parameters(), lr=settings.lr, weight_decay=settings.weight_decay)
    offsets = torch.arange(SEQ_LEN, device=device)
    max_start = clips.shape[1] - SEQ_LEN

    def step() -> float:
        idx = torch.randint(0, len(clips), (settings.batch_size,), generator=gen).to(device)
        start = torch.randint(0, N_WINDOWS, (settings.batch_size,), generator=gen).to(device) * SEQ_LEN
        if flags["augment"] and settings.jitter_s > 0:
            shift = torch.randint(-settings.jitter_s, settings.jitter_s + 1, start.shape, generator=gen)
            start = (start + shift.to(device)).clamp(0, max_start)
        xb = clips[idx[:, None], start[:, None] + offsets[None, :]]  # (B, 10, 32, 5)
        if flags["augment"] and settings.subject_mix > 0:
            # mix with another subject watching the same clip at the same time
            other = torch.randint(0, n_sub, idx.shape, generator=gen).to(device) * n_clips + idx % n_clips
            lam = torch.rand(idx.shape[0], 1, 1, 1, generator=gen).to(device)
            use = (torch.rand(idx.shape[0], 1, 1, 1, generator=gen).to(device) < settings.subject_mix)
            lam = torch.where(use, lam, torch.ones_like(lam))
            xo = clips[other[:, None], start[:, None] + offsets[None, :]]
            xb = (lam * xb + (1 - lam) * xo) / torch.sqrt(lam**2 + (1 - lam) ** 2)
        if flags["augment"]:
            if settings.channel_dropout > 0:
                keep = torch.rand(xb.shape[0], 1, xb.shape[2], 1, generator=gen).to(device)
                xb = xb * (keep >= settings.channel_dropout)
            if settings.noise_std > 0:
                xb = xb + settings.noise_std * torch.randn(xb.shape, generator=gen).to(device)
        yb = clip_y[idx]
        logits, axis_pred, aux = model.forward_train(xb)
        loss = F.cross_entropy(logits, yb, label_smoothing=settings.label_smoothing)
        if aux is not None:
            aux_y = clip_id[idx]
            if settings.aux_target == "clip_window":
                aux_y = aux_y * N_WINDOWS + torch.div(start + SEQ_LEN // 2, SEQ_LEN, rounding_mode="floor").clamp(0, N_WINDOWS - 1)
            loss = loss + settings.clip_aux_weight * F.cross_entropy(
                aux, aux_y, label_smoothing=settings.label_smoothing)
        if flags["distill"]:
            if settings.distill_weight > 0:
                loss = loss + settings.distill_weight * F.mse_loss(axis_pred, coords[yb])
            if soft is not None:
                loss = loss + settings.distill_soft_weight * F.kl_div(
                    F.log_softmax(logits, dim=1), soft[yb], reduction="batchmean"
                )
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return float(loss.detach())

    def run_phase(epochs: int, sched: Any, label: str) -> None:
        bar = tqdm(range(epochs), desc=label, unit="epoch", disable=not settings.progress, leave=False)
        for _ in bar:
            model.train()
            total = 0.0
            for _ in range(steps_per_epoch):
                total += step()
                sched.step()
            bar.set_postfix(loss=f"{total / steps_per_epoch:.3f}")
        bar.close()

    def snapshot() -> Any:
        clone = DEClassifier(model.settings)
        clone.load_state_dict({k: v.detach().cpu().clone() for k, v in model.state_dict().items()})
        return clone.eval()

    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=settings.lr, total_steps=settings.epochs * steps_per_epoch, pct_start=0.1
    )
    run_phase(settings.epochs, sched, desc)
    snapshots = [snapshot()]
    # Snapshot ensemble: further short cosine cycles from a lower learning rate, one
    # checkpoint at the end of each.
    for k in range(1, n_snapshots):
        for group in opt.param_groups:
            group["lr"] = settings.lr * settings.snapshot_lr_scale
            group["initial_lr"] = group["lr"]
        cyc = torch.optim.lr_scheduler.CosineAnnealingLR(
            opt, T_max=settings.snapshot_epochs * steps_per_epoch, eta_min=settings.lr * 1e-3
        )
        run_phase(settings.snapshot_epochs, cyc, f"{desc} snapshot {k + 1}/{n_snapshots}")
        snapshots.append(snapshot())
    return snapshots


def _strip_aux(model: Any) -> Any:
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
        metrics["n_samples"] = int(len(proba))
    return members, metrics


# ---------------------------------------------------------------------------
# Whole recipe
# ---------------------------------------------------------------------------


def _fmt_subjects(subjects: Sequence[int]) -> str:
    from bci_valence.io.faced import format_subjects

    return format_subjects(subjects)


def format_ablation(rows: Sequence[dict[str, Any]]) -> str:
    """Markdown table of the ablation rows (stage, BACC, kappa, weighted F1, time)."""
    lines = [
        "| stage | members | BACC | kappa | weighted F1 | train time (s) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['stage']} | {r['n_members']} | {r['bacc']:.4f} | {r['kappa']:.4f} | "
            f"{r['weighted_f1']:.4f} | {r['train_seconds']:.0f} |"
        )
    return "\n".join(lines)


def run_training(
    faced_root: str | Path,
    train_subjects: Sequence[int],
    val_subjects: Sequence[int] | None,
    out: str | Path,
    settings: TrainSettings = TrainSettings(),
    axis_dir: str | Path | None = None,
    refit_subjects: Sequence[int] | None = None,
    console: Any = print,
) -> dict[str, Any]:
    """Train a bundle (projection + classifier ensemble) and save it to ``out``.

    Parameters
    ----------
    faced_root : path
        FACED root in the release's layout.
    train_subjects, val_subjects : sequences of int
        Training and validation subjects (validation may be None/empty: then the
        projection alpha must be fixed by ``settings.ridge_alpha``).
    out : path
        Bundle folder to write.
    settings : TrainSettings
    axis_dir : path or None
        V-axis artifact folder (None = the shipped default).
    refit_subjects : sequence of int or None
        After choosing settings on validation, retrain the final bundle on these
        subjects (e.g. train + validation); the bundle's metrics stay the validation
        ones measured before the refit.
    console : callable
        Where summary lines go.

    Returns
    -------
    dict summary (ablation rows, projection metrics, times, bundle path).
    """
    import torch

    from bci_valence.io import faced as fd
    from bci_valence.model.bundle import BundleConfig, ModelBundle, library_versions
    from bci_valence.model.networks import LinearProjection

    t_start = time.perf_counter()
    torch.set_num_threads(max(1, int(settings.threads)))
    coords_map, axis_info = load_axis_coordinates(axis_dir)
    class_names = tuple(fd.EMOTION_CLASSES)
    coordinates = np.array([coords_map[c] for c in class_names])
    labels = np.asarray(fd.CLIP_LABELS)

    train_subjects = list(train_subjects)
    val_subjects = list(val_subjects or [])
    overlap = sorted(set(train_subjects) & set(val_subjects))
    if overlap:
        raise ValueError(f"train and validation subjects overlap: sub {_fmt_subjects(overlap)}")
    data = fd.load_faced(faced_root, sorted(set(train_subjects) | set(val_subjects)
                                            | set(refit_subjects or [])),
                         progress=settings.progress)
    pos = {s: i for i, s in enumerate(data.subjects)}
    z_all = standardize_subjects(data.de)
    z_tr = z_all[[pos[s] for s in train_subjects]]
    z_va = z_all[[pos[s] for s in val_subjects]] if val_subjects else None
    ratings_va = data.valence[[pos[s] for s in val_subjects]] if val_subjects else None
    release = np.asarray(fd.CLIP_MEAN_VALENCE)

    # ---- projection
    alphas = settings.ridge_alphas if (z_va is not None and settings.ridge_alpha is None) else (
        (settings.ridge_alpha,) if settings.ridge_alpha is not None else (1e-3,)
    )
    proj = fit_projection(z_tr, coordinates, labels, alphas, z_va, ratings_va, release)
    summary: dict[str, Any] = {"projection": {"alpha": proj["alpha"], "selection": proj["selection"]}}
    if "val" in proj:
        pm = {k: v for k, v in proj["val"].items() if k != "clip_projection"}
        summary["projection"]["val"] = pm
        console(
            f"projection: alpha={proj['alpha']:g}  val clip_r_axis={pm['clip_r_axis']:.3f}  "
            f"clip_r_ratings={pm['clip_r_ratings']:.3f}  sample_r={pm['sample_r']:.3f}"
        )

    # ---- classifier (ablation on validation, then the final stage set)
    val_windows = make_windows(z_va, labels) if z_va is not None else None
    final_stages = tuple(settings.stages)
    rows = []
    prefixes = (
        [STAGES[: i + 1] for i in range(len(STAGES)) if set(STAGES[: i + 1]) <= set(final_stages)]
        if settings.ablation and val_windows is not None else []
    )
    if final_stages not in [tuple(p) for p in prefixes]:
        prefixes.append(final_stages)
    members: list[Any] = []
    final_metrics: dict[str, Any] = {}
    prev: tuple[Any, ...] | None = None
    for p in prefixes:
        if tuple(p) == STAGES[: len(p)]:
            name = p[-1]
            stage_label = "baseline" if len(p) == 1 else f"+ {name}"
        else:
            name = stage_label = "+".join(p)
        reuse = None
        if (prev is not None and "ensemble" in p and settings.ensemble_mode == "seeds"
                and tuple(prev[0]) == tuple(x for x in p if x != "ensemble")):
            reuse = (prev[1][0], prev[2])
        members_p, metrics = train_recipe(z_tr, labels, coordinates, settings, p, val_windows,
                                          desc=name, first_member=reuse)
        prev = (tuple(p), members_p, metrics["train_seconds"])
        row = {"stage": stage_label, "stages": list(p), **metrics}
        if val_windows is not None:
            rows.append(row)
            console(
                f"{stage_label:>12}: BACC={metrics['bacc']:.4f} kappa={metrics['kappa']:.4f} "
                f"wF1={metrics['weighted_f1']:.4f} ({metrics['n_members']} member(s), "
                f"{metrics['train_seconds']:.0f} s)"
            )
        if tuple(p) == final_stages:
            members, final_metrics = members_p, metrics
    if val_windows is not None and members:
        proba = _predict_members(members, val_windows["x"], settings.device)
        ev = (proba @ coordinates).reshape(len(val_subjects), len(labels), N_WINDOWS)
        target = coordinates[labels]
        final_metrics["ensemble_clip_r_axis"] = _pearson(ev.mean(axis=(0, 2)), target)
        final_metrics["ensemble_sample_r"] = _pearson(ev, np.broadcast_to(target[None, :, None], ev.shape))
    if rows:
        console(format_ablation(rows))
    summary["ablation"] = rows
    summary["recipe_seconds"] = round(time.perf_counter() - t_start, 1)

    # ---- optional refit on train + validation with the chosen settings
    trained_on = train_subjects
    proj_weight, proj_bias = proj["weight"], proj["bias"]
    if refit_subjects:
        refit_subjects = list(refit_subjects)
        z_rf = z_all[[pos[s] for s in refit_subjects]]
        refit = fit_projection(z_rf, coordinates, labels, (proj["alpha"],))
        proj_weight, proj_bias = refit["weight"], refit["bias"]
        t_refit = time.perf_counter()
        members, _ = train_recipe(z_rf, labels, coordinates, settings, final_stages, None, desc="refit")
        summary["refit_seconds"] = round(time.perf_counter() - t_refit, 1)
        trained_on = refit_subjects
        console(f"refit on sub {_fmt_subjects(refit_subjects)}: {summary['refit_seconds']:.0f} s")

    members = [_strip_aux(m) for m in members]
    projection = LinearProjection(z_tr.shape[3], z_tr.shape[4])
    with torch.no_grad():
        projection.weight.copy_(torch.as_tensor(proj_weight, dtype=torch.float32))
        projection.bias.fill_(float(proj_bias))
    metrics: dict[str, Any] = {}
    if val_windows is not None:
        metrics = {
            "validation_subjects": _fmt_subjects(val_subjects),
            "measured_with_model_trained_on": _fmt_subjects(train_subjects),
            "classifier": {k: final_metrics.get(k) for k in (
                "bacc", "kappa", "weighted_f1", "accuracy", "n_samples",
                "ensemble_clip_r_axis", "ensemble_sample_r")},
            "projection": summary["projection"].get("val", {}),
            "ablation": [{k: r[k] for k in ("stage", "n_members", "bacc", "kappa", "weighted_f1", "train_seconds")} for r in rows],
        }
    summary["total_seconds"] = round(time.perf_counter() - t_start, 1)
    from datetime import datetime, timezone

    config = BundleConfig(
        class_names=class_names,
        class_coordinates={c: float(coords_map[c]) for c in class_names},
        axis=axis_info,
        projection={
            "method": "ridge",
            "alpha": proj["alpha"],
            "alpha_scale": "times the number of training samples",
            "fit_on": "10-s window means of standardized 1-s DE vectors",
            "target": "V-axis coordinate of the sample's class",
            "chosen_by": "validation per-stimulus r against the V-axis" if val_windows is not None else "fixed",
        },
        classifier=replace(classifier_settings_for(settings, final_stages), n_aux_classes=0).to_dict(),
        valence_average=settings.valence_average,
        n_members=len(members),
        training={
            "dataset": "FACED DE features (official release)",
            "train_subjects": _fmt_subjects(trained_on),
            "selection_train_subjects": _fmt_subjects(train_subjects),
            "validation_subjects": _fmt_subjects(val_subjects) if val_subjects else None,
            "stages": list(final_stages),
            "settings": settings.to_dict(),
            "recipe_seconds": summary["recipe_seconds"],
            "refit_seconds": summary.get("refit_seconds"),
            "total_seconds": summary["total_seconds"],
            "torch_threads": int(torch.get_num_threads()),
            "device": str(settings.device or ("cuda" if torch.cuda.is_available() else "cpu")),
        },
        metrics=metrics,
        versions=library_versions(),
        created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
    )
    bundle = ModelBundle(config, projection, members)
    path = bundle.save(out)
    summary["bundle"] = str(path)
    console(f"bundle written to {path} ({summary['total_seconds']:.0f} s in all)")
    return summary


def evaluate_bundle(
    bundle: Any,
    faced_root: str | Path,
    subjects: Sequence[int],
    progress: bool = True,
    return_details: bool = False,
) -> dict[str, Any]:
    """Evaluate a bundle on FACED subjects (any root, any range).

    Returns
    -------
    dict with ``bacc``, ``kappa``, ``weighted_f1``, ``accuracy``, ``n_samples``,
    ``clip_r_axis``, ``clip_r_ratings``, ``clip_r_release_valence``, ``sample_r``,
    ``second_r``, ``ensemble_clip_r_axis`` / ``ensemble_sample_r`` /
    ``ensemble_clip_r_ratings`` (the classifier's expected V-axis coordinate instead of
    the projection), ``subjects``, ``in_sample_subjects`` (evaluated subjects the bundle
    was trained on, None when all are held out; a warning is logged), ``bundle``; with ``return_details`` also the
    per-sample labels/probabilities and per-clip projections under ``details``.

    Raises
    ------
    FileNotFoundError
        Naming every missing subject/file (from :func:`bci_valence.io.faced.load_faced`).
    """
    from bci_valence.io import faced as fd

    data = fd.load_faced(faced_root, list(subjects), progress=progress)
    z = standardize_subjects(data.de)
    labels = np.asarray(fd.CLIP_LABELS)
    class_names = tuple(fd.EMOTION_CLASSES)
    if tuple(bundle.config.class_names) != class_names:
        raise ValueError(
            f"bundle classes {list(bundle.config.class_names)} differ from FACED's {list(class_names)}"
        )
    proj = bundle.project(z)  # (n_sub, 28, 30)
    pm = clip_projection_metrics(proj, bundle.class_coordinates, labels, data.valence,
                                 np.asarray(fd.CLIP_MEAN_VALENCE))
    out: dict[str, Any] = {}
    windows = make_windows(z, labels)
    if bundle.has_classifier:
        proba = bundle.predict_proba(windows["x"])
        out.update(classification_metrics(windows["y"], proba))
        # valence read from the classifier: expected V-axis coordinate under its probabilities
        ens_val = (proba @ bundle.class_coordinates).reshape(len(data.subjects), len(labels), N_WINDOWS)
        target = bundle.class_coordinates[labels]
        out["ensemble_clip_r_axis"] = _pearson(ens_val.mean(axis=(0, 2)), target)
        out["ensemble_sample_r"] = _pearson(ens_val, np.broadcast_to(target[None, :, None], ens_val.shape))
        out["ensemble_clip_r_ratings"] = _pearson(ens_val.mean(axis=(0, 2)), data.valence.mean(axis=0))
    else:
        proba = None
    out["n_samples"] = int(len(windows["y"]))
    for k in ("clip_r_axis", "clip_r_ratings", "clip_r_release_valence", "sample_r", "second_r"):
        out[k] = pm[k]
    out["subjects"] = _fmt_subjects(data.subjects)
    trained = bundle.config.training.get("train_subjects")
    overlap: list[int] = []
    if trained:
        try:
            overlap = sorted(set(fd.parse_subjects(trained)) & set(data.subjects))
        except ValueError:
            overlap = []
    out["in_sample_subjects"] = _fmt_subjects(overlap) if overlap else None
    if overlap:
        log.warning(
            "bundle %s was trained on sub %s: %d of the %d evaluated subjects (sub %s) are "
            "NOT held out; these figures are in-sample", bundle.path, trained, len(overlap),
            len(data.subjects), _fmt_subjects(overlap),
        )
    out["n_subjects"] = len(data.subjects)
    out["bundle"] = str(bundle.path) if bundle.path is not None else None
    if return_details:
        out["details"] = {
            "y": windows["y"],
            "proba": proba,
            "clip_projection": np.asarray(pm["clip_projection"]),
            "clip_rated_valence": data.valence.mean(axis=0),
            "clip_labels": labels,
        }
    return out
