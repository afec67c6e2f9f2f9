"""The whole recipe: projection and classifier ensemble trained, ablated on validation
subjects, optionally refit, and saved as a model bundle.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
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

__all__ = ["choose_stage_set", "format_ablation", "run_training"]


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


def choose_stage_set(rows: Sequence[dict[str, Any]]) -> int:
    """Index of the ablation row whose stage set scores the highest validation BACC.

    Ties go to the shorter stage set (fewer stages), then to the earlier row.

    Raises
    ------
    ValueError
        When there is no row to choose from.
    """
    if not rows:
        raise ValueError("no stage set to choose from: the choice needs the ablation on validation subjects")
    return min(range(len(rows)), key=lambda i: (-float(rows[i]["bacc"]), len(rows[i]["stages"]), i))


def _stage_choice(rows: Sequence[dict[str, Any]], train: Sequence[int], val: Sequence[int]) -> dict[str, Any]:
    """The training metadata's ``stage_selection``: candidates' validation scores and the choice."""
    chosen = rows[choose_stage_set(rows)]
    return {
        "chosen": list(chosen["stages"]),
        "chosen_by": (f"highest validation BACC on sub {format_subjects(val)} among the cumulative "
                      f"stage sets (ties: the shorter), models trained on sub {format_subjects(train)}"),
        "candidates": [{"stages": list(r["stages"]), **{k: r[k] for k in ("bacc", "kappa", "weighted_f1")}}
                       for r in rows],
    }


def _apply_stage_choice(
    settings: TrainSettings, rows: Sequence[dict[str, Any]], subjects: _Subjects, summary: dict[str, Any],
    console: Any,
) -> TrainSettings:
    """With ``settings.choose_stages``: record the choice in ``summary["stage_selection"]`` and
    return the settings with the chosen stages (else ``settings`` as they are)."""
    if not settings.choose_stages:
        return settings
    summary["stage_selection"] = _stage_choice(rows, subjects.train, subjects.val)
    console(f"stages chosen on validation: {', '.join(summary['stage_selection']['chosen'])}")
    return replace(settings, stages=tuple(summary["stage_selection"]["chosen"]))


@dataclass(frozen=True)
class _Subjects:
    """Standardized DE of the loaded subjects, and which of them train, validate and refit."""

    z_all: np.ndarray
    pos: dict[int, int]
    train: list[int]
    val: list[int]

    def z(self, subjects: Sequence[int]) -> np.ndarray:
        """Standardized DE of ``subjects``, in their order."""
        return self.z_all[[self.pos[s] for s in subjects]]


def _load_subjects(
    faced_root: str | Path,
    train_subjects: Sequence[int],
    val_subjects: Sequence[int] | None,
    refit_subjects: Sequence[int] | None,
    settings: TrainSettings,
) -> tuple[_Subjects, np.ndarray | None]:
    """Load and standardize every subject the recipe uses; also the validation ratings.

    Raises
    ------
    ValueError
        When a subject is both a training and a validation subject, or the stages are
        to be chosen without validation subjects.
    """
    from bci_valence.io import faced as fd

    train = list(train_subjects)
    val = list(val_subjects or [])
    if settings.choose_stages and not val:
        raise ValueError("choosing the stages needs validation subjects (the ablation is measured on them)")
    overlap = sorted(set(train) & set(val))
    if overlap:
        raise ValueError(f"train and validation subjects overlap: sub {format_subjects(overlap)}")
    data = fd.load_faced(faced_root, sorted(set(train) | set(val) | set(refit_subjects or [])),
                         progress=settings.progress)
    pos = {s: i for i, s in enumerate(data.subjects)}
    subjects = _Subjects(standardize_subjects(data.de), pos, train, val)
    ratings_va = data.valence[[pos[s] for s in val]] if val else None
    return subjects, ratings_va


def _train_projection(
    z_tr: np.ndarray,
    z_va: np.ndarray | None,
    ratings_va: np.ndarray | None,
    coordinates: np.ndarray,
    labels: np.ndarray,
    settings: TrainSettings,
    console: Any,
) -> tuple[dict[str, Any], Readout, list[dict[str, Any]], dict[str, Any]]:
    """Choose the projection readout on validation (or take the fixed one) and fit it.

    Returns
    -------
    proj : dict
        :func:`fit_projection`'s result.
    readout : Readout
        The chosen readout.
    selection : list of dict
        The candidates' validation scores (empty when nothing was chosen).
    summary : dict
        The summary's ``projection`` entry.
    """
    from bci_valence.io import faced as fd

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
    release = np.asarray(fd.CLIP_MEAN_VALENCE)
    proj = fit_projection(z_tr, coordinates, labels, candidates, z_va, ratings_va, release)
    readout = Readout.of(proj["readout"])
    summary: dict[str, Any] = {"readout": proj["readout"], "selection": selection}
    if "val" in proj:
        pm = {k: v for k, v in proj["val"].items() if k != "clip_projection"}
        summary["val"] = pm
        console(
            f"projection: {readout.label}  val clip_r_axis={pm['clip_r_axis']:.3f}  "
            f"clip_r_ratings={pm['clip_r_ratings']:.3f}  sample_r={pm['sample_r']:.3f}"
        )
    return proj, readout, selection, summary


def _stage_sets(settings: TrainSettings, ablate: bool) -> list[tuple[str, ...]]:
    """The stage sets to train: the ablation's growing prefixes (when ``ablate``), then the final set."""
    final_stages = tuple(settings.stages)
    prefixes = (
        [STAGES[: i + 1] for i in range(len(STAGES)) if set(STAGES[: i + 1]) <= set(final_stages)]
        if settings.ablation and ablate else []
    )
    if final_stages not in [tuple(p) for p in prefixes]:
        prefixes.append(final_stages)
    return prefixes


def _stage_names(stages: Sequence[str]) -> tuple[str, str]:
    """Progress name and ablation-row label of a stage set."""
    if tuple(stages) == STAGES[: len(stages)]:
        name = stages[-1]
        return name, ("baseline" if len(stages) == 1 else f"+ {name}")
    name = "+".join(stages)
    return name, name


def _train_classifiers(
    z_tr: np.ndarray,
    labels: np.ndarray,
    coordinates: np.ndarray,
    settings: TrainSettings,
    val_windows: dict[str, Any] | None,
    console: Any,
) -> tuple[list[dict[str, Any]], list[Any], dict[str, Any]]:
    """Train the ablation's stage sets and the final one; the ensemble members of the final one.

    With ``settings.choose_stages`` the final one is the stage set
    :func:`choose_stage_set` picks from the ablation rows. The final ensemble's valence
    correlations join its metrics, and the ablation table goes to ``console``. When
    ``ensemble`` is added to the previous stage set with seed ensembles, the previous
    stage's model is reused as the first member.

    Returns
    -------
    rows : list of dict
        One ablation row per stage set measured on validation.
    members : list
        The final stage set's ensemble members.
    final_metrics : dict
        The final stage set's validation metrics.
    """
    final_stages = tuple(settings.stages)
    choose = settings.choose_stages and val_windows is not None
    rows: list[dict[str, Any]] = []
    members: list[Any] = []
    final_metrics: dict[str, Any] = {}
    trained: dict[tuple[str, ...], tuple[list[Any], dict[str, Any]]] = {}
    prev: tuple[Any, ...] | None = None
    for p in _stage_sets(settings, val_windows is not None):
        name, stage_label = _stage_names(p)
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
        if choose:
            trained[tuple(p)] = (members_p, metrics)
        if tuple(p) == final_stages:
            members, final_metrics = members_p, metrics
    if choose and rows:
        members, final_metrics = trained[tuple(rows[choose_stage_set(rows)]["stages"])]
    if val_windows is not None and members:
        final_metrics.update(_ensemble_valence_metrics(members, val_windows, coordinates, labels, settings.device))
    if rows:
        console(format_ablation(rows))
    return rows, members, final_metrics


def _ensemble_valence_metrics(
    members: list[Any], val_windows: dict[str, Any], coordinates: np.ndarray, labels: np.ndarray, device: str,
) -> dict[str, float]:
    """Clip-level and sample-level correlation of the ensemble's expected valence with the axis."""
    proba = _predict_members(members, val_windows["x"], device)
    ev = (proba @ coordinates).reshape(-1, len(labels), N_WINDOWS)  # subject x clip x window
    target = coordinates[labels]
    return {
        "ensemble_clip_r_axis": pearson(ev.mean(axis=(0, 2)), target),
        "ensemble_sample_r": pearson(ev, np.broadcast_to(target[None, :, None], ev.shape)),
    }


def _refit(
    subjects: _Subjects,
    refit_subjects: Sequence[int],
    labels: np.ndarray,
    coordinates: np.ndarray,
    readout: Readout,
    settings: TrainSettings,
    summary: dict[str, Any],
    console: Any,
) -> tuple[dict[str, Any], list[Any]]:
    """Refit the chosen projection and the final stage set on ``refit_subjects``.

    Writes ``refit_seconds`` into ``summary``; returns the refit projection and members.
    """
    z_rf = subjects.z(refit_subjects)
    refit = fit_projection(z_rf, coordinates, labels, (readout,))
    t_refit = time.perf_counter()
    members, _ = train_recipe(z_rf, labels, coordinates, settings, tuple(settings.stages), None,
                              desc="refit")
    summary["refit_seconds"] = round(time.perf_counter() - t_refit, 1)
    console(f"refit on sub {format_subjects(refit_subjects)}: {summary['refit_seconds']:.0f} s")
    return refit, members


def _projection_module(weight: np.ndarray, bias: float, n_channels: int, n_bands: int) -> Any:
    """The fitted projection as the bundle's :class:`LinearProjection`."""
    import torch

    from bci_valence.model.networks import LinearProjection

    projection = LinearProjection(n_channels, n_bands)
    with torch.no_grad():
        projection.weight.copy_(torch.as_tensor(weight, dtype=torch.float32))
        projection.bias.fill_(float(bias))
    return projection


def _validation_metrics(
    subjects: _Subjects, final_metrics: dict[str, Any], summary: dict[str, Any], rows: list[dict[str, Any]],
) -> dict[str, Any]:
    """The bundle's ``metrics``: what the selection-time model scored on the validation subjects."""
    return {
        "validation_subjects": format_subjects(subjects.val),
        "measured_with_model_trained_on": format_subjects(subjects.train),
        "classifier": {k: final_metrics.get(k) for k in (
            "bacc", "kappa", "weighted_f1", "accuracy", "n_samples",
            "ensemble_clip_r_axis", "ensemble_sample_r")},
        "projection": summary["projection"].get("val", {}),
        "ablation": [{k: r[k] for k in ("stage", "n_members", "bacc", "kappa", "weighted_f1", "train_seconds")} for r in rows],
    }


def _projection_config(proj: dict[str, Any], readout: Readout, settings: TrainSettings, chosen: bool) -> dict[str, Any]:
    """The bundle's ``projection`` description."""
    return {
        "method": readout.method,
        "alpha": proj["alpha"],
        "n_components": readout.n_components if readout.method == "pls" else None,
        **({"alpha_scale": "times the number of training samples"} if readout.method == "ridge" else {}),
        "fit_on": "10-s window means of standardized 1-s DE vectors",
        "target": "V-axis coordinate of the sample's class",
        "chosen_by": (f"validation {settings.folds.selection} under unseen-clips "
                      f"({settings.folds.n_folds} clip folds)") if chosen else "fixed",
    }


def _training_config(
    subjects: _Subjects, trained_on: Sequence[int], settings: TrainSettings, summary: dict[str, Any],
    recorded: TrainSettings | None = None,
) -> dict[str, Any]:
    """The bundle's ``training`` description: data, subjects, stages, settings, times, device.

    ``settings`` carry the final stages; ``recorded`` (default ``settings``) are the
    settings as given, written so that the run can be repeated (with ``choose_stages``
    their ``stages`` are the candidates' stages, not the chosen ones).
    """
    import torch

    recorded = recorded or settings
    return {
        "dataset": "FACED DE features (official release)",
        "train_subjects": format_subjects(trained_on),
        "selection_train_subjects": format_subjects(subjects.train),
        "validation_subjects": format_subjects(subjects.val) if subjects.val else None,
        "stages": list(settings.stages),
        **({"stage_selection": summary["stage_selection"]} if "stage_selection" in summary else {}),
        "settings": recorded.to_dict(),
        "recipe_seconds": summary["recipe_seconds"],
        "refit_seconds": summary.get("refit_seconds"),
        "total_seconds": summary["total_seconds"],
        "torch_threads": int(torch.get_num_threads()),
        "device": str(resolve_device(settings.device)),
    }


def _bundle_config(
    coords_map: dict[str, float],
    axis_info: dict[str, Any],
    projection: dict[str, Any],
    settings: TrainSettings,
    n_members: int,
    training: dict[str, Any],
    metrics: dict[str, Any],
) -> Any:
    """The bundle's :class:`BundleConfig` (classes in FACED's order, their axis coordinates)."""
    from bci_valence.io import faced as fd
    from bci_valence.model.bundle import BundleConfig, library_versions

    class_names = tuple(fd.EMOTION_CLASSES)
    return BundleConfig(
        class_names=class_names,
        class_coordinates={c: float(coords_map[c]) for c in class_names},
        axis=axis_info,
        projection=projection,
        classifier=replace(classifier_settings_for(settings, tuple(settings.stages)), n_aux_classes=0).to_dict(),
        valence_average=settings.valence_average,
        n_members=n_members,
        training=training,
        metrics=metrics,
        versions=library_versions(),
        created=datetime.now(UTC).isoformat(timespec="seconds"),
    )


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
        None: the defaults (``choose_stages``: chosen as :func:`choose_stage_set` says).
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
    from bci_valence.model.bundle import ModelBundle

    settings = settings or TrainSettings()
    t_start = time.perf_counter()
    torch.set_num_threads(max(1, int(settings.threads)))
    coords_map, axis_info = load_axis_coordinates(axis_dir)
    coordinates = np.array([coords_map[c] for c in fd.EMOTION_CLASSES])
    labels = np.asarray(fd.CLIP_LABELS)
    subjects, ratings_va = _load_subjects(faced_root, train_subjects, val_subjects, refit_subjects, settings)
    z_tr = subjects.z(subjects.train)
    z_va = subjects.z(subjects.val) if subjects.val else None

    proj, readout, selection, proj_summary = _train_projection(
        z_tr, z_va, ratings_va, coordinates, labels, settings, console)
    summary: dict[str, Any] = {"projection": proj_summary}

    val_windows = make_windows(z_va, labels) if z_va is not None else None
    rows, members, final_metrics = _train_classifiers(z_tr, labels, coordinates, settings, val_windows, console)
    summary["ablation"] = rows
    recorded, settings = settings, _apply_stage_choice(settings, rows, subjects, summary, console)
    summary["recipe_seconds"] = round(time.perf_counter() - t_start, 1)

    trained_on: Sequence[int] = subjects.train
    proj_weight, proj_bias = proj["weight"], proj["bias"]
    if refit_subjects:
        trained_on = list(refit_subjects)
        refit, members = _refit(subjects, trained_on, labels, coordinates, readout, settings, summary, console)
        proj_weight, proj_bias = refit["weight"], refit["bias"]

    members = [strip_aux_head(m) for m in members]
    projection = _projection_module(proj_weight, proj_bias, z_tr.shape[3], z_tr.shape[4])
    metrics = _validation_metrics(subjects, final_metrics, summary, rows) if val_windows is not None else {}
    summary["total_seconds"] = round(time.perf_counter() - t_start, 1)

    config = _bundle_config(
        coords_map, axis_info, _projection_config(proj, readout, settings, bool(selection)), settings,
        len(members), _training_config(subjects, trained_on, settings, summary, recorded), metrics)
    path = ModelBundle(config, projection, members).save(out)
    summary["bundle"] = str(path)
    console(f"bundle written to {path} ({summary['total_seconds']:.0f} s in all)")
    return summary
