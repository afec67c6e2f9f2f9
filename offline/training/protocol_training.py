"""Training a bundle's protocol models: the ``seen-clips`` model and the ``unseen-clips``
fold models (:mod:`~offline.training.protocols`), measured on validation subjects and
written into a copy of a base bundle with a refitted live projection.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from bci_valence.constants import CLIP_LABELS, CLIP_VALENCE_GROUP
from bci_valence.io.faced import format_subjects
from bci_valence.model.fold_models import PROTOCOLS, FoldModel

from .projection import Readout, fit_projection
from .protocols import projection_candidates, protocol_figures, select_projection, train_fold_models
from .settings import FoldSettings
from .windows import standardize_subjects

__all__ = ["run_protocol_training"]


def _load_standardized(
    faced_root: str | Path,
    train_subjects: list[int],
    val_subjects: list[int],
    refit: list[int],
    progress: bool,
) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray] | None, np.ndarray]:
    """Standardized DE of the training subjects, of the validation subjects (with their
    ratings; None without validation) and of the refit subjects.

    Raises
    ------
    ValueError
        When a subject is both a training and a validation subject.
    """
    from bci_valence.io import faced as fd

    overlap = sorted(set(train_subjects) & set(val_subjects))
    if overlap:
        raise ValueError(f"train and validation subjects overlap: sub {format_subjects(overlap)}")
    data = fd.load_faced(faced_root, sorted(set(train_subjects) | set(val_subjects) | set(refit)),
                         progress=progress)
    pos = {s: i for i, s in enumerate(data.subjects)}
    z_all = standardize_subjects(data.de)
    validation = None
    if val_subjects:
        rows = [pos[s] for s in val_subjects]
        validation = (z_all[rows], data.valence[rows])
    return z_all[[pos[s] for s in train_subjects]], validation, z_all[[pos[s] for s in refit]]


def _choose_readout(
    z_tr: np.ndarray,
    validation: tuple[np.ndarray, np.ndarray] | None,
    coordinates: np.ndarray,
    settings: Any,
    val_subjects: list[int],
    summary: dict[str, Any],
    console: Any,
) -> Readout:
    """The projection's readout: the best candidate on validation under ``unseen-clips``,
    or fixed ridge when there is no validation; the candidates' rows go to ``summary``.

    Raises
    ------
    ValueError
        Without validation subjects and without ``settings.ridge_alpha``.
    """
    fs: FoldSettings = settings.folds
    if validation is not None:
        z_va, ratings_va = validation
        readout, rows = select_projection(z_tr, z_va, ratings_va, coordinates, np.asarray(CLIP_LABELS),
                                          np.asarray(CLIP_VALENCE_GROUP), projection_candidates(settings), fs)
        summary["selection"] = rows
        console(f"projection: {readout.label} (best unseen-clips {fs.selection} on sub {format_subjects(val_subjects)})")
        return readout
    if settings.ridge_alpha is not None:
        return Readout("ridge", alpha=float(settings.ridge_alpha))
    raise ValueError("without validation subjects the projection alpha must be fixed (ridge_alpha)")


def _validation_figures(
    folds: dict[str, list[FoldModel]],
    validation: tuple[np.ndarray, np.ndarray],
    coordinates: np.ndarray,
    settings: Any,
    console: Any,
) -> dict[str, Any]:
    """Both protocols' figures on the validation subjects, one console line each."""
    fs: FoldSettings = settings.folds
    z_va, ratings_va = validation
    figures: dict[str, Any] = {}
    for p in PROTOCOLS:
        figures[p] = protocol_figures(folds[p], z_va, ratings_va, np.asarray(CLIP_LABELS), coordinates,
                                      np.asarray(CLIP_VALENCE_GROUP), fs.n_permutations, fs.n_bootstrap,
                                      settings.seed)
        f = figures[p]
        console(
            f"{p:>12}: BACC={f.get('bacc', float('nan')):.3f}  valence AUC window/subject-clip="
            f"{f['valence_auc_window']:.3f}/{f['valence_auc_subject_clip']:.3f}  clip r axis/ratings="
            f"{f['clip_r_axis']:.3f}/{f['clip_r_ratings']:.3f} (p={f['clip_r_ratings_p']:.4f})  "
            f"subject r={f['subject_r_ratings']:.3f}"
        )
    return figures


def _live_projection(z: np.ndarray, coordinates: np.ndarray, readout: Readout) -> Any:
    """The main (live) projection: ``readout`` fitted on ``z``, as a :class:`LinearProjection`."""
    import torch

    from bci_valence.model.networks import LinearProjection

    main = fit_projection(z, coordinates, np.asarray(CLIP_LABELS), (readout,))
    projection = LinearProjection(*main["weight"].shape)
    with torch.no_grad():
        projection.weight.copy_(torch.as_tensor(main["weight"], dtype=torch.float32))
        projection.bias.fill_(float(main["bias"]))
    return projection


def _protocols_config(
    folds: dict[str, list[FoldModel]], readout: Readout, settings: Any, train_subjects: list[int],
) -> dict[str, Any]:
    """The bundle's ``protocols``: per protocol, its folds, subjects, members and training."""
    fs: FoldSettings = settings.folds
    arch = folds["unseen-clips"][0].members[0].settings.to_dict() if fs.n_members else None
    return {
        p: {
            "folds": [list(f.test_clips) for f in folds[p]],
            "train_subjects": format_subjects(train_subjects),
            "n_members": fs.n_members,
            "classifier": arch,
            "projection": readout.to_dict(),
            "training": {"epochs": fs.epochs, "stages": list(fs.stages), "seed": settings.seed},
        }
        for p in PROTOCOLS
    }


def _bundle_metrics(
    base_metrics: dict[str, Any],
    z_tr: np.ndarray,
    validation: tuple[np.ndarray, np.ndarray] | None,
    coordinates: np.ndarray,
    readout: Readout,
    figures: dict[str, Any],
    subjects: tuple[list[int], list[int]],
) -> dict[str, Any]:
    """The base bundle's metrics with the new projection's and the protocols' validation figures.

    ``subjects`` is (training subjects, validation subjects).
    """
    from bci_valence.io import faced as fd

    train_subjects, val_subjects = subjects
    metrics = dict(base_metrics)
    if validation is not None:
        # the live projection changed: its validation figures are the chosen readout's
        # (fitted on the training subjects, as the base bundle's were)
        chosen = fit_projection(z_tr, coordinates, np.asarray(CLIP_LABELS), (readout,), *validation,
                                np.asarray(fd.CLIP_MEAN_VALENCE))
        metrics["projection"] = {k: v for k, v in chosen["val"].items() if k != "clip_projection"}
    if figures:
        metrics["protocols"] = {
            "validation_subjects": format_subjects(val_subjects),
            "measured_with_models_trained_on": format_subjects(train_subjects),
            "readout": "valence = projection of the 10-s mean standardized DE vector; bacc/kappa "
                       "from the fold classifiers",
            **figures,
        }
    return metrics


def _projection_config(
    base_projection: dict[str, Any], readout: Readout, fs: FoldSettings, validated: bool, refit: list[int],
) -> dict[str, Any]:
    """The bundle's ``projection`` description: the base one, updated to the chosen readout."""
    return {
        **{k: v for k, v in base_projection.items() if k not in ("alpha_scale", "n_components")},
        **({"alpha_scale": "times the number of training samples"} if readout.method == "ridge" else {}),
        "method": readout.method,
        "alpha": readout.alpha if readout.method == "ridge" else None,
        "n_components": readout.n_components if readout.method == "pls" else None,
        "chosen_by": (f"validation {fs.selection} under unseen-clips ({fs.n_folds} clip folds)"
                      if validated else "fixed"),
        "fit_subjects": format_subjects(refit),
    }


def run_protocol_training(
    faced_root: str | Path,
    train_subjects: Sequence[int],
    val_subjects: Sequence[int] | None,
    out: str | Path,
    settings: Any,
    base_bundle: str | Path | None = None,
    refit_subjects: Sequence[int] | None = None,
    console: Any = print,
) -> dict[str, Any]:
    """Train a bundle's protocol models and write the bundle with them to ``out``.

    1. choose the projection's readout (ridge alphas, PLS component counts) on
       validation subjects under ``unseen-clips`` (``settings.folds.selection``;
       ridge with ``settings.ridge_alpha`` when there is no validation);
    2. train the ``seen-clips`` model and the ``unseen-clips`` fold models on
       ``train_subjects``;
    3. measure both protocols on the validation subjects;
    4. refit the main (live) projection with that readout on ``refit_subjects`` (default:
       the training subjects);
    5. write ``out``: the base bundle's classifier, the new projection, the protocol
       models, and the validation figures under ``metrics["protocols"]``.

    Parameters
    ----------
    faced_root : path
    train_subjects, val_subjects : sequences of int
    out : path
        Bundle folder to write.
    settings : TrainSettings
    base_bundle : path or None
        The bundle whose classifier ensemble and V-axis coordinates are kept (None: the
        shipped default).
    refit_subjects : sequence of int or None
    console : callable

    Returns
    -------
    dict
        ``readout`` (the chosen one), ``selection`` (per-candidate validation figures), ``protocols`` (the
        validation figures), ``seconds`` (training time of the protocol models),
        ``bundle``.
    """
    import torch

    from bci_valence.model.bundle import ModelBundle

    t_start = time.perf_counter()
    torch.set_num_threads(max(1, int(settings.threads)))
    base = ModelBundle.load(base_bundle, device="cpu")
    coordinates = base.class_coordinates
    train_subjects, val_subjects = list(train_subjects), list(val_subjects or [])
    refit = list(refit_subjects) if refit_subjects else train_subjects
    z_tr, validation, z_refit = _load_standardized(faced_root, train_subjects, val_subjects, refit,
                                                   settings.progress)
    summary: dict[str, Any] = {}
    readout = _choose_readout(z_tr, validation, coordinates, settings, val_subjects, summary, console)
    summary["readout"] = readout.to_dict()

    t_models = time.perf_counter()
    folds = {p: train_fold_models(z_tr, np.asarray(CLIP_LABELS), coordinates, p, readout, settings) for p in PROTOCOLS}
    summary["seconds"] = round(time.perf_counter() - t_models, 1)
    figures = _validation_figures(folds, validation, coordinates, settings, console) if validation else {}
    summary["protocols"] = figures

    projection = _live_projection(z_refit, coordinates, readout)
    config = replace(
        base.config,
        projection=_projection_config(base.config.projection, readout, settings.folds, bool(val_subjects), refit),
        protocols=_protocols_config(folds, readout, settings, train_subjects),
        metrics=_bundle_metrics(base.config.metrics, z_tr, validation, coordinates, readout, figures,
                                (train_subjects, val_subjects)),
        created=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    path = ModelBundle(config, projection, base.members, fold_models=folds).save(out)
    summary["bundle"] = str(path)
    summary["total_seconds"] = round(time.perf_counter() - t_start, 1)
    console(f"bundle written to {path} (protocol models {summary['seconds']:.0f} s, "
            f"{summary['total_seconds']:.0f} s in all)")
    return summary
