"""The whole recipe: projection and classifier ensemble trained, ablated on validation
subjects, optionally refit, and saved as a model bundle.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC
from pathlib import Path
from typing import Any

import numpy as np

from bci_valence.device import resolve_device
from bci_valence.io.faced import format_subjects

from .axis import load_axis_coordinates
from .classifier import (
    _predict_members,
    classifier_settings_for,
    strip_aux_head,
    train_recipe,
)
from .metrics import pearson
from .projection import Readout, fit_projection
from .protocols import projection_candidates, select_projection
from .settings import STAGES, TrainSettings
from .windows import N_WINDOWS, make_windows, standardize_subjects

__all__ = ["format_ablation", "run_training"]


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
    settings: TrainSettings | None = None,
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
    settings : TrainSettings or None
        None: the defaults.
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

    settings = settings or TrainSettings()

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
        raise ValueError(f"train and validation subjects overlap: sub {format_subjects(overlap)}")
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
    candidates = projection_candidates(settings) if (z_va is not None and settings.ridge_alpha is None) else (
        [Readout("ridge", alpha=settings.ridge_alpha if settings.ridge_alpha is not None else 1e-3)]
    )
    selection: list[dict[str, Any]] = []
    if len(candidates) > 1:
        # the live readout must carry to new content: choose on validation subjects
        # under unseen-clips (clip folds), not on the clips the projection was fitted to
        best, selection = select_projection(
            z_tr, z_va, ratings_va, coordinates, labels, np.asarray(fd.CLIP_VALENCE_GROUP),
            candidates, settings.folds)
        candidates = [best]
    proj = fit_projection(z_tr, coordinates, labels, candidates, z_va, ratings_va, release)
    readout = Readout.of(proj["readout"])
    summary: dict[str, Any] = {"projection": {"readout": proj["readout"], "selection": selection}}
    if "val" in proj:
        pm = {k: v for k, v in proj["val"].items() if k != "clip_projection"}
        summary["projection"]["val"] = pm
        console(
            f"projection: {readout.label}  val clip_r_axis={pm['clip_r_axis']:.3f}  "
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
        final_metrics["ensemble_clip_r_axis"] = pearson(ev.mean(axis=(0, 2)), target)
        final_metrics["ensemble_sample_r"] = pearson(ev, np.broadcast_to(target[None, :, None], ev.shape))
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
        refit = fit_projection(z_rf, coordinates, labels, (readout,))
        proj_weight, proj_bias = refit["weight"], refit["bias"]
        t_refit = time.perf_counter()
        members, _ = train_recipe(z_rf, labels, coordinates, settings, final_stages, None, desc="refit")
        summary["refit_seconds"] = round(time.perf_counter() - t_refit, 1)
        trained_on = refit_subjects
        console(f"refit on sub {format_subjects(refit_subjects)}: {summary['refit_seconds']:.0f} s")

    members = [strip_aux_head(m) for m in members]
    projection = LinearProjection(z_tr.shape[3], z_tr.shape[4])
    with torch.no_grad():
        projection.weight.copy_(torch.as_tensor(proj_weight, dtype=torch.float32))
        projection.bias.fill_(float(proj_bias))
    metrics: dict[str, Any] = {}
    if val_windows is not None:
        metrics = {
            "validation_subjects": format_subjects(val_subjects),
            "measured_with_model_trained_on": format_subjects(train_subjects),
            "classifier": {k: final_metrics.get(k) for k in (
                "bacc", "kappa", "weighted_f1", "accuracy", "n_samples",
                "ensemble_clip_r_axis", "ensemble_sample_r")},
            "projection": summary["projection"].get("val", {}),
            "ablation": [{k: r[k] for k in ("stage", "n_members", "bacc", "kappa", "weighted_f1", "train_seconds")} for r in rows],
        }
    summary["total_seconds"] = round(time.perf_counter() - t_start, 1)
    from datetime import datetime

    config = BundleConfig(
        class_names=class_names,
        class_coordinates={c: float(coords_map[c]) for c in class_names},
        axis=axis_info,
        projection={
            "method": readout.method,
            "alpha": proj["alpha"],
            "n_components": readout.n_components if readout.method == "pls" else None,
            **({"alpha_scale": "times the number of training samples"} if readout.method == "ridge" else {}),
            "fit_on": "10-s window means of standardized 1-s DE vectors",
            "target": "V-axis coordinate of the sample's class",
            "chosen_by": (f"validation {settings.folds.selection} under unseen-clips "
                          f"({settings.folds.n_folds} clip folds)") if selection else "fixed",
        },
        classifier=replace(classifier_settings_for(settings, final_stages), n_aux_classes=0).to_dict(),
        valence_average=settings.valence_average,
        n_members=len(members),
        training={
            "dataset": "FACED DE features (official release)",
            "train_subjects": format_subjects(trained_on),
            "selection_train_subjects": format_subjects(train_subjects),
            "validation_subjects": format_subjects(val_subjects) if val_subjects else None,
            "stages": list(final_stages),
            "settings": settings.to_dict(),
            "recipe_seconds": summary["recipe_seconds"],
            "refit_seconds": summary.get("refit_seconds"),
            "total_seconds": summary["total_seconds"],
            "torch_threads": int(torch.get_num_threads()),
            "device": str(resolve_device(settings.device)),
        },
        metrics=metrics,
        versions=library_versions(),
        created=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    bundle = ModelBundle(config, projection, members)
    path = bundle.save(out)
    summary["bundle"] = str(path)
    console(f"bundle written to {path} ({summary['total_seconds']:.0f} s in all)")
    return summary
