"""Settings of the training recipe: the classifier stages, :class:`TrainSettings` (which
composes the member architecture, :class:`~bci_valence.model.networks.ClassifierSettings`)
and :class:`FoldSettings` (the evaluation protocols' fold models).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from bci_valence.model.networks import ClassifierSettings

__all__ = ["STAGES", "FoldSettings", "TrainSettings", "parse_stages"]


#: Cumulative stages of the classifier recipe, in order.
STAGES = ("baseline", "augment", "distill", "deep", "ensemble")



@dataclass(frozen=True)
class FoldSettings:
    """Settings of the protocol models and their figures.

    Attributes
    ----------
    n_folds : int
        Clip folds of ``unseen-clips`` (2 or 3 with FACED's 3-4 clips per class).
    epochs : int
        Epochs of each fold's classifier member (short: the fold classifiers measure,
        they do not ship to users).
    stages : tuple of str
        Classifier stages of the fold members.
    n_members : int
        Classifier members per fold (0 = projection only).
    selection : str
        Figure of :func:`~offline.training.metrics.valence_figures` that chooses the
        projection's ridge alpha (highest on validation subjects under ``unseen-clips``).
    n_permutations : int
        Permutations for ``clip_r_ratings_p``.
    n_bootstrap : int
        Subject resamples for ``ci95``.
    """

    n_folds: int = 3
    epochs: int = 20
    stages: tuple[str, ...] = ("baseline", "augment", "distill")
    n_members: int = 1
    selection: str = "valence_auc_subject_clip"
    n_permutations: int = 10000
    n_bootstrap: int = 1000

    def __post_init__(self) -> None:
        if self.n_folds < 2:
            raise ValueError(f"n_folds must be >= 2, got {self.n_folds}")
        unknown = [s for s in self.stages if s not in STAGES]
        if unknown:
            raise ValueError(f"unknown fold stage(s) {unknown}; choose from {list(STAGES)}")
        if self.epochs < 1 or self.n_members < 0:
            raise ValueError(f"epochs must be >= 1 and n_members >= 0, got {self.epochs}, {self.n_members}")
        figures = ("valence_auc_window", "valence_auc_subject_clip", "clip_r_axis",
                   "clip_r_ratings", "subject_r_ratings")
        if self.selection not in figures:
            raise ValueError(f"selection must be one of {list(figures)}, got {self.selection!r}")


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
    choose_stages : bool
        Choose the final stage set among the ablation's cumulative prefixes of
        ``stages``: the one with the highest validation BACC (ties: the shorter). Needs
        validation subjects and ``ablation``.
    epochs : int
        Passes over the training windows per member.
    batch_size, lr, weight_decay, label_smoothing : training hyper-parameters
        (AdamW, one-cycle cosine schedule).
    classifier : ClassifierSettings
        Architecture of one member (``deep`` doubles its ``depth``; the auxiliary
        head's size follows ``clip_aux_weight`` and ``aux_target``).
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
    pls_components : tuple of int
        Candidate partial-least-squares readouts (component counts), chosen among with
        ``ridge_alphas`` on validation subjects under ``unseen-clips``.
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
    folds : FoldSettings
        The evaluation protocols' fold models (``bci-valence train --protocol
        unseen-clips``).
    """

    stages: tuple[str, ...] = STAGES
    ablation: bool = True
    choose_stages: bool = False
    epochs: int = 40
    batch_size: int = 128
    lr: float = 1e-3
    weight_decay: float = 1e-2
    label_smoothing: float = 0.1
    classifier: ClassifierSettings = field(default_factory=ClassifierSettings)
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
    pls_components: tuple[int, ...] = (2, 3, 5, 10)
    valence_average: int = 10
    seed: int = 0
    device: str | None = None
    threads: int = 1
    jobs: int = 2
    progress: bool = True
    folds: FoldSettings = field(default_factory=FoldSettings)

    def __post_init__(self) -> None:
        unknown = [s for s in self.stages if s not in STAGES]
        if unknown:
            raise ValueError(f"unknown stage(s) {unknown}; choose from {list(STAGES)}")
        if self.ensemble_mode not in ("seeds", "snapshots"):
            raise ValueError(f"ensemble_mode must be 'seeds' or 'snapshots', got {self.ensemble_mode!r}")
        if self.epochs < 1 or self.n_ensemble < 1 or self.batch_size < 1:
            raise ValueError("epochs, n_ensemble and batch_size must be >= 1")
        if self.choose_stages and not self.ablation:
            raise ValueError("choose_stages needs the ablation (the candidates are its stage sets)")

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        out = asdict(self)
        out["stages"] = list(self.stages)
        out["ridge_alphas"] = list(self.ridge_alphas)
        out["pls_components"] = list(self.pls_components)
        out["folds"]["stages"] = list(self.folds.stages)
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

