"""What the studies share: FACED data, the classifier population, training, evaluation.

Data
----
A study reads FACED DE features of a set of training and validation subjects,
standardized per subject (:func:`offline.training.standardize_subjects`); samples are
the project's 10-s windows, three per clip (:func:`offline.training.make_windows`),
labelled with the clip's emotion class (9 classes). The V-axis class coordinates and
the language model's class centroids come from a V-axis artifact
(:func:`offline.vaxis.load_axis`; default the shipped all-MiniLM-L6-v2 axis).

Networks
--------
:class:`StudyNet` wraps four architectures behind one interface, ``representation``
(the penultimate vector the head reads) and ``head``:

* ``linear``: the 10-s window mean (32 × 5) through a linear map to ``width`` units
  (no non-linearity), then the linear head: a rank-``width`` linear classifier;
* ``mlp``: the flattened window (10 × 32 × 5) through ``depth`` GELU layers of
  ``width`` units;
* ``denet``: the project's :class:`bci_valence.model.networks.DEClassifier`
  (``d_model = width``, ``depth`` residual temporal-convolution blocks, flatten
  pooling) -- its ``embedding`` is the representation;
* ``transformer``: per-second linear embedding, learned positions, ``depth``
  pre-norm transformer encoder layers (4 heads), mean over time.

Each also has an ``axis_head`` (a linear map of the representation to one number)
that the auxiliary V-axis losses train; it is never used to classify.

Training
--------
AdamW (lr 1e-3, weight decay 1e-2) with a one-cycle schedule, batch 128, label
smoothing 0.1, windows drawn at random from the training subjects' 3 windows per clip;
``epochs`` passes of ``n_windows // batch`` steps. An :class:`AuxLoss` adds one of the
auxiliary V-axis losses (see :mod:`offline.studies.saturation`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "ARCH_KINDS",
    "Arch",
    "AuxLoss",
    "StudyData",
    "TrainConfig",
    "balanced_accuracy",
    "load_study_data",
    "predict",
    "train_model",
]

#: Architectures of :class:`StudyNet`.
ARCH_KINDS = ("linear", "mlp", "denet", "transformer")

N_WINDOWS = 3
SEQ_LEN = 10


# ---------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class StudyData:
    """Standardized FACED windows and the V-axis of a study.

    Attributes
    ----------
    train_subjects, val_subjects : list of int
    z_train : ndarray float32 (n_train, 28, 30, 32, 5)
        Standardized 1-s DE vectors (subject, clip, second, channel, band).
    val_x : ndarray float32 (n_val · 84, 10, 32, 5)
        Validation windows.
    val_y, val_subject, val_clip : ndarray int (n_val · 84,)
        Class, subject position and clip of each validation window.
    val_rating : ndarray float (n_val · 84,)
        The subject's own valence rating of the window's clip.
    coordinates : ndarray (9,)
        V-axis coordinate per class.
    centroids : ndarray (9, dim)
    center : ndarray (dim,)
        The language model's class centroids and their center (random directions).
    axis_info : dict
        Which axis (source folder, model).
    """

    train_subjects: list[int]
    val_subjects: list[int]
    z_train: np.ndarray
    val_x: np.ndarray
    val_y: np.ndarray
    val_subject: np.ndarray
    val_clip: np.ndarray
    val_rating: np.ndarray
    coordinates: np.ndarray
    centroids: np.ndarray
    center: np.ndarray
    axis_info: dict[str, Any] = field(default_factory=dict)

    def train_windows(self) -> dict[str, np.ndarray]:
        """The training subjects' 3 fixed windows per clip (as :func:`make_windows`)."""
        from bci_valence.constants import CLIP_LABELS
        from offline.training import make_windows

        return make_windows(self.z_train, np.asarray(CLIP_LABELS))


def emit_json(record: dict[str, Any], out: str | Path | None) -> None:
    """Write a study's JSON record to ``out``, or print it when ``out`` is None.

    Paths of this machine inside the record are written relative to the working folder
    (:func:`bci_valence.provenance.portable_paths`).
    """
    import json
    import sys

    from bci_valence.provenance import portable_paths

    text = json.dumps(portable_paths(record), indent=1) + "\n"
    if out:
        Path(out).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)


def load_study_data(
    faced_root: str | Path,
    train: str,
    val: str,
    axis_dir: str | Path | None = None,
    progress: bool = True,
) -> StudyData:
    """Load and standardize FACED subjects and the V-axis for a study.

    Parameters
    ----------
    faced_root : str or Path
    train, val : str
        Subject specs (:func:`bci_valence.io.faced.parse_subjects`), e.g. ``"0-39"``.
    axis_dir : str, Path or None
        V-axis folder (None: the shipped axis).
    progress : bool

    Raises
    ------
    ValueError
        If the two subject sets overlap (validation must be held out).
    """
    from bci_valence.constants import CLIP_LABELS
    from bci_valence.io.faced import load_faced, parse_subjects
    from offline.training import make_windows, standardize_subjects
    from offline.vaxis import load_axis

    train_s, val_s = parse_subjects(train), parse_subjects(val)
    overlap = sorted(set(train_s) & set(val_s))
    if overlap:
        raise ValueError(
            f"training subjects {train!r} and validation subjects {val!r} share {overlap}: "
            "validation subjects must be held out"
        )
    axis = load_axis(axis_dir)
    data_t = load_faced(faced_root, train_s, progress=progress)
    data_v = load_faced(faced_root, val_s, progress=progress)
    labels = np.asarray(CLIP_LABELS)
    win = make_windows(standardize_subjects(data_v.de), labels)
    rating = np.asarray(data_v.valence, dtype=np.float64)[win["subject"], win["clip"]]
    return StudyData(
        train_subjects=train_s,
        val_subjects=val_s,
        z_train=standardize_subjects(data_t.de),
        val_x=np.ascontiguousarray(win["x"], dtype=np.float32),
        val_y=np.asarray(win["y"], dtype=np.int64),
        val_subject=np.asarray(win["subject"]),
        val_clip=np.asarray(win["clip"]),
        val_rating=rating,
        coordinates=axis.coordinates_array(),
        centroids=np.asarray(axis.centroids, dtype=np.float64),
        center=np.asarray(axis.center, dtype=np.float64),
        axis_info={"source": str(axis.path.name if axis_dir is None else axis.path),
                   "model": axis.model, "method": axis.method},
    )


# ---------------------------------------------------------------------------
# Networks
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Arch:
    """Architecture of one classifier (see the module notes).

    Attributes
    ----------
    kind : {"linear", "mlp", "denet", "transformer"}
    width : int
        Units of the representation (``d_model`` of denet/transformer).
    depth : int
        Layers (mlp), residual blocks (denet) or encoder layers (transformer).
    dropout : float
    """

    kind: str = "denet"
    width: int = 64
    depth: int = 2
    dropout: float = 0.3

    def __post_init__(self) -> None:
        if self.kind not in ARCH_KINDS:
            raise ValueError(f"architecture kind {self.kind!r}: expected one of {list(ARCH_KINDS)}")
        if self.width < 1:
            raise ValueError(f"width must be >= 1, got {self.width}")
        if self.depth < (1 if self.kind in ("mlp", "transformer") else 0):
            raise ValueError(f"depth {self.depth} is too small for a {self.kind} network")
        if self.kind == "transformer" and self.width % 4:
            raise ValueError(f"a transformer's width must be a multiple of its 4 heads, got {self.width}")

    def label(self) -> str:
        """Short name, e.g. ``denet-64x2``."""
        return f"{self.kind}-{self.width}x{self.depth}" if self.kind != "linear" else f"linear-{self.width}"


def _build_net(arch: Arch, n_classes: int = 9) -> Any:
    import torch
    from torch import nn

    from bci_valence.model.networks import ClassifierSettings, DEClassifier

    n_ch, n_bands = 32, 5

    class StudyNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.arch = arch
            self.input_drop = nn.Dropout(0.1)
            if arch.kind == "denet":
                self.body = DEClassifier(ClassifierSettings(d_model=arch.width, depth=arch.depth,
                                                            dropout=arch.dropout, input_dropout=0.1))
                self.rep_dim = self.body.embedding_dim
                # the body's own axis head is unused: one axis head for every kind
                self.body.axis_head = None
            elif arch.kind == "linear":
                self.body = nn.Linear(n_ch * n_bands, arch.width)
                self.rep_dim = arch.width
            elif arch.kind == "mlp":
                layers: list[nn.Module] = []
                n_in = SEQ_LEN * n_ch * n_bands
                for _ in range(arch.depth):
                    layers += [nn.Linear(n_in, arch.width), nn.GELU(), nn.Dropout(arch.dropout)]
                    n_in = arch.width
                self.body = nn.Sequential(*layers)
                self.rep_dim = arch.width
            else:
                self.embed = nn.Linear(n_ch * n_bands, arch.width)
                self.position = nn.Parameter(torch.zeros(SEQ_LEN, arch.width))
                layer = nn.TransformerEncoderLayer(arch.width, 4, 2 * arch.width, arch.dropout,
                                                   activation="gelu", batch_first=True, norm_first=True)
                self.body = nn.TransformerEncoder(layer, arch.depth, enable_nested_tensor=False)
                self.norm = nn.LayerNorm(arch.width)
                self.rep_dim = arch.width
            self.head_drop = nn.Dropout(arch.dropout if arch.kind != "linear" else 0.0)
            self.head = nn.Linear(self.rep_dim, n_classes)
            self.axis_head = nn.Linear(self.rep_dim, 1)

        def representation(self, x: torch.Tensor) -> torch.Tensor:
            if arch.kind == "denet":
                return self.body.embedding(x)
            x = self.input_drop(x)
            if arch.kind == "linear":
                return self.body(x.mean(dim=1).flatten(1))
            if arch.kind == "mlp":
                return self.body(x.flatten(1))
            h = self.embed(x.flatten(2)) + self.position
            return self.norm(self.body(h)).mean(dim=1)

        def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            rep = self.representation(x)
            return self.head(self.head_drop(rep)), rep

    return StudyNet()


# ---------------------------------------------------------------------------
# Training
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class TrainConfig:
    """Optimization of one classifier (see the module notes)."""

    epochs: int = 5
    batch_size: int = 128
    lr: float = 1e-3
    weight_decay: float = 1e-2
    label_smoothing: float = 0.1
    seed: int = 0

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.batch_size < 1 or self.lr <= 0:
            raise ValueError(
                f"epochs {self.epochs}, batch_size {self.batch_size}, lr {self.lr}: "
                "expected epochs >= 1, batch_size >= 1, lr > 0"
            )


@dataclass(frozen=True)
class AuxLoss:
    """An auxiliary V-axis loss added to the task loss (see :mod:`.saturation`).

    Attributes
    ----------
    kind : str
        ``none``, ``kd`` (axis-head regression onto the class coordinate plus a KL term
        toward soft targets built from the coordinates: the project's ``distill``
        stage), ``kd_weighted`` (the regression with per-class sample weights),
        ``rsa`` (representational similarity alignment), ``supcon`` (V-axis-weighted
        supervised contrastive), ``lora`` (low-rank adapter trained with the
        regression after task-only training), ``curriculum`` (the regression with a
        weight annealed from ``2 · weight`` to 0), ``channel`` (the regression on the
        representation of the posterior channels alone).
    weight : float
        Weight of the loss (of the regression term for ``kd``).
    soft_weight : float
        ``kd``: weight of the soft-target KL term.
    temperature : float
        ``kd``: soft-target width; ``supcon``: similarity temperature.
    class_weights : tuple of float
        ``kd_weighted``: weight of each class's samples.
    rank, extra_epochs : int
        ``lora``: adapter rank and its training epochs.
    direction : {"vaxis", "random"}
        Target: the V-axis coordinates or a random direction's (the control).
    direction_seed : int
        Seed of the random direction.
    """

    kind: str = "none"
    weight: float = 0.5
    soft_weight: float = 0.0
    temperature: float = 0.1
    class_weights: tuple[float, ...] = ()
    rank: int = 4
    extra_epochs: int = 2
    direction: str = "vaxis"
    direction_seed: int = 0

    KINDS = ("none", "kd", "kd_weighted", "rsa", "supcon", "lora", "curriculum", "channel")

    def __post_init__(self) -> None:
        if self.kind not in self.KINDS:
            raise ValueError(f"auxiliary loss {self.kind!r}: expected one of {list(self.KINDS)}")
        if self.direction not in ("vaxis", "random"):
            raise ValueError(f"direction must be 'vaxis' or 'random', got {self.direction!r}")
        if self.kind == "kd_weighted" and len(self.class_weights) != 9:
            raise ValueError(f"kd_weighted needs 9 class weights, got {len(self.class_weights)}")

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        out = asdict(self)
        out["class_weights"] = list(self.class_weights)
        return out


def target_coordinates(data: StudyData, aux: AuxLoss) -> np.ndarray:
    """The class coordinates an auxiliary loss pulls toward.

    ``vaxis``: the V-axis coordinates. ``random``: those of a random unit direction in
    the language model's space (:func:`.encoding.random_axis_coordinates`), rescaled
    to the V-axis coordinates' standard deviation so the loss has the same size.
    """
    if aux.direction == "vaxis":
        return np.asarray(data.coordinates, dtype=np.float64)
    from .encoding import random_axis_coordinates

    c = random_axis_coordinates(data.centroids, data.center, 1, seed=1_000_003 + aux.direction_seed)[:, 0]
    return (c - c.mean()) / c.std() * data.coordinates.std() + data.coordinates.mean()


def train_model(
    data: StudyData,
    arch: Arch,
    config: TrainConfig,
    aux: AuxLoss = AuxLoss(),
    n_members: int = 1,
    diversity: float = 0.0,
    train_clips: Any = None,
) -> list[Any]:
    """Train one classifier (or ``n_members`` trained side by side) on the training subjects.

    Parameters
    ----------
    data : StudyData
    arch : Arch
    config : TrainConfig
    aux : AuxLoss
        Auxiliary V-axis loss (``none``: task only).
    n_members : int
        Members trained together on the same batches, member ``k`` seeded with
        ``config.seed + 1000 k``. Without ``diversity`` they do not interact.
    diversity : float
        Weight of the residual-diversity penalty: the mean pairwise Pearson
        correlation between members' within-class logit residuals (each member's
        logits minus the batch mean logits of the sample's class).
    train_clips : sequence of int or None
        Train only on these clips (0-based; the ``unseen-clips`` protocol), else all 28.

    Returns
    -------
    list of StudyNet (eval mode, CPU)
    """
    import torch

    from bci_valence.constants import CLIP_LABELS
    from bci_valence.device import resolve_device

    from ._training_loop import Batches, lora_phase, run_phase

    device = resolve_device("auto")
    nets = []
    for k in range(n_members):
        torch.manual_seed(config.seed + 1000 * k)
        nets.append(_build_net(arch).to(device))
    batches = Batches(data.z_train, np.asarray(CLIP_LABELS), config, device, train_clips)
    coords = torch.tensor(np.array(target_coordinates(data, aux)), dtype=torch.float32, device=device)
    main_aux = AuxLoss() if aux.kind == "lora" else aux
    run_phase(nets, [p for net in nets for p in net.parameters()], config.epochs, main_aux, None, batches, coords,
              diversity)
    if aux.kind == "lora":
        lora_phase(nets, aux, batches, coords, diversity)
    return [net.cpu().eval() for net in nets]


# ---------------------------------------------------------------------------
# Evaluation
# ---------------------------------------------------------------------------


def predict(nets: list[Any], x: np.ndarray, batch: int = 2048,
            edit: Any = None) -> tuple[np.ndarray, list[np.ndarray]]:
    """Mean softmax of ``nets`` on windows ``x`` and each net's representation.

    ``edit(k, rep) -> rep`` changes member ``k``'s representation before its head
    (e.g. projecting a direction out).
    """
    import torch

    xt = torch.from_numpy(np.array(x, dtype=np.float32))  # a copy: x may be read-only
    proba = np.zeros((len(x), 9))
    reps: list[np.ndarray] = []
    with torch.inference_mode():
        for k, net in enumerate(nets):
            net.eval()
            chunks = []
            for s in range(0, len(x), batch):
                rep = net.representation(xt[s:s + batch])
                if edit is not None:
                    rep = edit(k, rep)
                chunks.append(rep.numpy().astype(np.float64))
                proba[s:s + batch] += torch.softmax(net.head(rep).double(), -1).numpy()
            reps.append(np.concatenate(chunks))
    return proba / len(nets), reps


def balanced_accuracy(y: np.ndarray, proba_or_pred: np.ndarray) -> float:
    """Balanced accuracy (mean per-class recall) of ``argmax`` predictions."""
    pred = np.argmax(proba_or_pred, axis=1) if np.ndim(proba_or_pred) == 2 else np.asarray(proba_or_pred)
    y = np.asarray(y)
    recalls = [np.mean(pred[y == k] == k) for k in np.unique(y)]
    return float(np.mean(recalls))

