"""Evaluation of a bundle's main models on any FACED root and subject range.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bci_valence.io.faced import format_subjects, parse_subjects

from .metrics import classification_metrics, clip_projection_metrics, frontal_alpha_asymmetry, pearson
from .windows import N_WINDOWS, make_windows, standardize_subjects

log = logging.getLogger(__name__)

__all__ = ["bundle_selection", "evaluate_bundle"]


def in_sample_subjects(trained: str | None, subjects: Sequence[int]) -> list[int]:
    """The evaluated subjects that were in a model's training data (``trained``: a range spec)."""
    if not trained:
        return []
    try:
        return sorted(set(parse_subjects(trained)) & set(subjects))
    except ValueError:  # an unreadable record: nothing known to overlap
        return []


def bundle_selection(bundle: Any) -> dict[str, Any]:
    """How a bundle's main models were chosen, from its ``bundle.json``: the subjects that
    trained and validated the choices, the final classifier stages (with the stage choice's
    candidates when ``--stages auto`` chose them), the readout and what chose it, the
    subjects the shipped models were refit on, and the protocol models' training subjects
    and stages (``protocol_models``, when the bundle has them)."""
    training, projection = bundle.config.training or {}, bundle.config.projection or {}
    out = {
        "selection_train_subjects": training.get("selection_train_subjects"),
        "validation_subjects": training.get("validation_subjects"),
        "train_subjects": training.get("train_subjects"),
        "stages": training.get("stages"),
        "readout": {k: projection.get(k) for k in ("method", "alpha", "n_components") if projection.get(k) is not None},
        "readout_chosen_by": projection.get("chosen_by"),
    }
    if training.get("stage_selection"):
        out["stage_selection"] = training["stage_selection"]
    protocols = bundle.config.protocols or {}
    if protocols:
        out["protocol_models"] = {p: {"train_subjects": c.get("train_subjects"), "stages": _get_stages(c)}
                                  for p, c in protocols.items()}
    return out


def _get_stages(protocol_config: dict[str, Any]) -> list[str] | None:
    """The classifier stages of a protocol's fold models, as the bundle records them."""
    stages = (protocol_config.get("training") or {}).get("stages")
    return list(stages) if stages else None


def _classifier_figures(
    bundle: Any, windows: dict[str, np.ndarray], valence: np.ndarray, labels: np.ndarray,
) -> tuple[dict[str, Any], np.ndarray | None]:
    """The classifier's metrics on ``windows`` and its probabilities (empty and None without one).

    Besides :func:`classification_metrics`, the valence read from the classifier (its
    expected V-axis coordinate) is correlated with the axis and with the ratings.
    """
    if not bundle.has_classifier:
        return {}, None
    proba = bundle.predict_proba(windows["x"])
    out: dict[str, Any] = dict(classification_metrics(windows["y"], proba))
    # valence read from the classifier: expected V-axis coordinate under its probabilities
    ens_val = (proba @ bundle.class_coordinates).reshape(len(valence), len(labels), N_WINDOWS)
    target = bundle.class_coordinates[labels]
    out["ensemble_clip_r_axis"] = pearson(ens_val.mean(axis=(0, 2)), target)
    out["ensemble_sample_r"] = pearson(ens_val, np.broadcast_to(target[None, :, None], ens_val.shape))
    out["ensemble_clip_r_ratings"] = pearson(ens_val.mean(axis=(0, 2)), valence.mean(axis=0))
    return out, proba


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
    the projection), ``baseline_fai`` (``clip_r_axis``, ``clip_r_ratings``,
    ``clip_r_release_valence``, ``sample_r``, ``second_r`` of frontal alpha asymmetry,
    the untrained incumbent, on the same subjects, clips and windows:
    :func:`~offline.training.metrics.frontal_alpha_asymmetry` in place of the
    projection), ``subjects``, ``in_sample_subjects`` (evaluated subjects the bundle
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
    windows = make_windows(z, labels)
    out, proba = _classifier_figures(bundle, windows, data.valence, labels)
    out["n_samples"] = len(windows["y"])
    keys = ("clip_r_axis", "clip_r_ratings", "clip_r_release_valence", "sample_r", "second_r")
    for k in keys:
        out[k] = pm[k]
    fai = clip_projection_metrics(frontal_alpha_asymmetry(data.de), bundle.class_coordinates, labels,
                                  data.valence, np.asarray(fd.CLIP_MEAN_VALENCE))
    out["baseline_fai"] = {k: fai[k] for k in keys}
    out["subjects"] = format_subjects(data.subjects)
    trained = bundle.config.training.get("train_subjects")
    overlap = in_sample_subjects(trained, data.subjects)
    out["in_sample_subjects"] = format_subjects(overlap) if overlap else None
    if overlap:
        log.warning(
            "bundle %s was trained on sub %s: %d of the %d evaluated subjects (sub %s) are "
            "NOT held out; these figures are in-sample", bundle.path, trained, len(overlap),
            len(data.subjects), format_subjects(overlap),
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
