"""``bci-valence report``: a Markdown report with figures for a model bundle.

Figures (PNG, next to ``report.md``):

* ``confusion.png`` — row-normalized confusion matrix of the ensemble on the
  evaluated subjects' 10-s windows;
* ``clip_projection.png`` — mean projection of each of the 28 clips (over subjects and
  seconds) against its class's V-axis coordinate and against the subjects' mean rated
  valence of the clip;
* ``topomaps.png`` — scalp maps (MNE, standard 10-20 positions) of the projection
  weights, one per band.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from bci_valence.constants import FACED_SFREQ

__all__ = ["write_report"]


def _confusion_figure(y: np.ndarray, proba: np.ndarray, class_names: Sequence[str], path: Path) -> np.ndarray:
    import matplotlib.pyplot as plt
    from sklearn.metrics import confusion_matrix

    cm = confusion_matrix(y, proba.argmax(axis=1), labels=np.arange(len(class_names)))
    norm = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(6.5, 5.5))
    im = ax.imshow(norm, cmap="Blues", vmin=0, vmax=max(0.5, float(norm.max())))
    for i in range(len(class_names)):
        for j in range(len(class_names)):
            ax.text(j, i, f"{norm[i, j]:.2f}", ha="center", va="center", fontsize=7,
                    color="white" if norm[i, j] > 0.35 else "black")
    ax.set_xticks(range(len(class_names)), class_names, rotation=45, ha="right")
    ax.set_yticks(range(len(class_names)), class_names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title("Confusion matrix (row-normalized)")
    fig.colorbar(im, ax=ax, fraction=0.046)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return cm


def _clip_figure(clip_proj: np.ndarray, clip_coord: np.ndarray, clip_rated: np.ndarray,
                 labels: np.ndarray, class_names: Sequence[str], r_axis: float, r_ratings: float,
                 path: Path) -> None:
    import matplotlib.pyplot as plt

    cmap = plt.get_cmap("coolwarm")
    colors = [cmap(k / (len(class_names) - 1)) for k in range(len(class_names))]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.5))
    for ax, xs, xlabel, r in (
        (axes[0], clip_coord, "class V-axis coordinate", r_axis),
        (axes[1], clip_rated, "mean rated valence of the clip (0-7)", r_ratings),
    ):
        for k, name in enumerate(class_names):
            sel = labels == k
            ax.scatter(xs[sel], clip_proj[sel], color=colors[k], label=name, s=40, edgecolor="k", lw=0.4)
        for i in range(len(labels)):
            ax.annotate(str(i + 1), (xs[i], clip_proj[i]), fontsize=6, xytext=(3, 3), textcoords="offset points")
        coef = np.polyfit(xs, clip_proj, 1)
        grid = np.linspace(xs.min(), xs.max(), 10)
        ax.plot(grid, np.polyval(coef, grid), "k--", lw=1)
        ax.set_xlabel(xlabel)
        ax.set_ylabel("mean projection (V-axis units)")
        ax.set_title(f"per-clip projection, r = {r:+.3f}")
    axes[1].legend(fontsize=7, loc="best")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _montage_sphere(info: Any, margin: float = 1.06) -> np.ndarray:
    """The ``sphere`` for :func:`mne.viz.plot_topomap` that puts every electrode in the head.

    plot_topomap's default sphere (the origin, 95 mm) does not match the template's
    head (centred about 17 mm behind the origin): occipital and temporal electrodes land
    outside the outline. Here the sphere's centre is fitted to the electrodes (least
    squares), and its radius, which only sets the outline, reaches ``margin`` times the
    farthest projected electrode (the mastoids, below the head's equator), so that every
    electrode lies inside the head.

    Parameters
    ----------
    info : mne.Info
        With electrode positions.
    margin : float
        The outline's radius over the farthest projected electrode's distance.

    Returns
    -------
    ndarray (4,)
        ``(x, y, z, radius)`` in metres.
    """
    pos = np.array([ch["loc"][:3] for ch in info["chs"]], dtype=float)
    pos = pos[np.isfinite(pos).all(axis=1) & (np.abs(pos).sum(axis=1) > 0)]
    design = np.c_[2.0 * pos, np.ones(len(pos))]
    centre = np.linalg.lstsq(design, (pos**2).sum(axis=1), rcond=None)[0][:3]
    rel = pos - centre
    dist = np.linalg.norm(rel, axis=1)
    polar = np.arccos(np.clip(rel[:, 2] / dist, -1.0, 1.0))
    projected = polar * dist / (np.pi / 2)  # MNE's azimuthal-equidistant projection
    return np.array([*centre, margin * float(projected.max())])


def _topomap_figure(weights: np.ndarray, channels: Sequence[str], bands: Sequence[str], path: Path | None):
    """Topomaps of the projection weights per band, saved to ``path`` (the Figure when None).

    The head is the sphere fitted to the electrodes (:func:`_montage_sphere`), so every
    electrode is drawn inside it.
    """
    import matplotlib.pyplot as plt
    import mne

    try:
        from bci_valence.signal.montage import faced_info

        info = faced_info()
        if list(info.ch_names) != list(channels):
            info = info.copy().pick(list(channels))
    except Exception:  # noqa: BLE001 - fall back to MNE's template
        info = mne.create_info(list(channels), FACED_SFREQ, "eeg")
        info.set_montage(mne.channels.make_standard_montage("standard_1020"), match_case=False,
                         on_missing="ignore")
    lim = float(np.abs(weights).max()) or 1.0
    sphere = _montage_sphere(info)
    fig, axes = plt.subplots(1, len(bands), figsize=(2.6 * len(bands) + 0.8, 3))
    im = None
    for b, ax in enumerate(np.atleast_1d(axes)):
        im, _ = mne.viz.plot_topomap(weights[:, b], info, axes=ax, show=False, cmap="RdBu_r",
                                     vlim=(-lim, lim), contours=4, sensors=True, sphere=sphere)
        ax.set_title(bands[b])
    fig.colorbar(im, ax=list(np.atleast_1d(axes)), fraction=0.02, label="weight (V-axis units per z)")
    fig.suptitle("EEG -> V-axis projection weights")
    if path is None:
        return fig
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)
    return None


_METRIC_KEYS = ("bacc", "kappa", "weighted_f1", "accuracy", "clip_r_axis", "clip_r_ratings",
                "clip_r_release_valence", "sample_r", "second_r", "ensemble_clip_r_axis",
                "ensemble_clip_r_ratings", "ensemble_sample_r")


def _summary_lines(bundle: Any, res: dict[str, Any], subjects: Sequence[int]) -> list[str]:
    """The report's title, in-sample warning, bundle description and metrics table."""
    from bci_valence.io.faced import format_subjects

    cfg = bundle.config
    warn = []
    if res.get("in_sample_subjects"):
        warn = [f"> **In-sample:** the bundle was trained on sub {res['in_sample_subjects']} of "
                "the evaluated subjects; these figures do not measure generalization.", ""]
    lines = [
        "# bci-valence model report",
        "",
        *warn,
        f"- bundle: `{bundle.path}` (created {cfg.created or '?'})",
        f"- trained on FACED sub {cfg.training.get('train_subjects', '?')}; "
        f"evaluated here on sub {format_subjects(subjects)} ({res['n_samples']} windows of 10 s)",
        f"- V-axis: {cfg.axis.get('model', '?')} ({cfg.axis.get('method', '?')}, layer "
        f"{cfg.axis.get('layer', '?')})",
        f"- ensemble: {cfg.n_members} member(s); stages {', '.join(cfg.training.get('stages', []))}",
        "",
        "## Metrics",
        "",
        "| metric | value |",
        "|---|---:|",
    ]
    for key in _METRIC_KEYS:
        if key in res:
            lines.append(f"| {key} | {res[key]:.4f} |")
    lines.append("")
    return lines


def _figure_sections(bundle: Any, res: dict[str, Any], det: dict[str, Any], out: Path) -> list[str]:
    """Draw the confusion matrix (with a classifier), per-clip projection and topomaps into
    ``out``; return their report sections."""
    cfg = bundle.config
    labels = det["clip_labels"]
    lines: list[str] = []
    if bundle.has_classifier and det["proba"] is not None:
        _confusion_figure(det["y"], det["proba"], cfg.class_names, out / "confusion.png")
        lines += ["## Confusion matrix", "", "![confusion matrix](confusion.png)", ""]
    _clip_figure(det["clip_projection"], bundle.class_coordinates[labels], det["clip_rated_valence"], labels,
                 cfg.class_names, res["clip_r_axis"], res["clip_r_ratings"], out / "clip_projection.png")
    lines += [
        "## Per-clip projection",
        "",
        "Mean projection of each clip (over the evaluated subjects and the clip's 30 s) "
        "against its class's V-axis coordinate (left) and the same subjects' mean rated "
        "valence of the clip (right). Numbers are FACED clip indices (1-28).",
        "",
        "![per-clip projection](clip_projection.png)",
        "",
    ]
    _topomap_figure(bundle.projection_weights, cfg.channels, cfg.band_names, out / "topomaps.png")
    lines += [
        "## Projection weights",
        "",
        "Weight of each channel x band in the linear EEG -> V-axis map (inputs are "
        "per-subject z-scored DE, so weights are comparable across channels and bands).",
        "",
        "![topomaps](topomaps.png)",
        "",
    ]
    return lines


def _ablation_lines(ablation: Sequence[dict[str, Any]] | None) -> list[str]:
    """The training-time ablation table from the bundle's metrics (nothing without one)."""
    if not ablation:
        return []
    lines = ["## Training-time ablation (validation)", "",
             "| stage | members | BACC | kappa | weighted F1 |", "|---|---:|---:|---:|---:|"]
    for r in ablation:
        lines.append(f"| {r['stage']} | {r['n_members']} | {r['bacc']:.4f} | {r['kappa']:.4f} | "
                     f"{r['weighted_f1']:.4f} |")
    lines.append("")
    return lines


def write_report(
    out: str | Path,
    bundle_path: str | Path | None = None,
    faced_root: str | Path | None = None,
    subjects: Sequence[int] | None = None,
    device: Any = None,
    progress: bool = True,
) -> Path:
    """Evaluate a bundle and write ``out/report.md`` plus PNG figures.

    Parameters
    ----------
    out : path
        Output folder (created).
    bundle_path : path or None
        Bundle folder (None = the shipped default).
    faced_root : path or None
        FACED root (None = :func:`bci_valence.io.faced.default_faced_root`).
    subjects : sequence of int or None
        Subjects to evaluate (None = the bundle's validation subjects, else 80-99).
    device : torch device or None
    progress : bool

    Returns
    -------
    Path of ``report.md``.
    """
    import matplotlib

    matplotlib.use("Agg")
    import torch

    from bci_valence.io.faced import default_faced_root, parse_subjects
    from bci_valence.model.bundle import ModelBundle

    from .training import evaluate_bundle

    torch.set_num_threads(1)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    bundle = ModelBundle.load(bundle_path, device=device)
    cfg = bundle.config
    if faced_root is None:
        faced_root = default_faced_root()
    if subjects is None:
        subjects = parse_subjects(cfg.training.get("validation_subjects") or "80-99")
    res = evaluate_bundle(bundle, faced_root, subjects, progress=progress, return_details=True)
    det = res.pop("details")
    lines = _summary_lines(bundle, res, subjects)
    lines += _figure_sections(bundle, res, det, out)
    lines += _ablation_lines(cfg.metrics.get("ablation"))
    lines += ["## Raw result", "", "```json", json.dumps(res, indent=2), "```", ""]
    path = out / "report.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path
