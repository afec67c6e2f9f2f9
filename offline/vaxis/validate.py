"""Validate V-axes against human data this project did not write.

* FACED: Pearson and Spearman r between the nine class coordinates and the mean
  self-reported valence of each class's clips (the subjects' ratings when the FACED
  folder is present, else the per-clip means printed in its README).
* VADER: zero-shot word valence.  Every entry of VADER's ``vader_lexicon.txt``
  (about 7,500 tokens, each rated by ten people from -4 to +4) is encoded alone and
  projected on the axis; reported are Spearman r with the human mean and the ROC AUC
  of positive (mean > 0) versus negative (mean < 0) entries.
* Cross-model agreement between axes: correlation of their class coordinates.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bci_valence.constants import NEGATIVE_CLASSES, POSITIVE_CLASSES
from bci_valence.io.faced import default_faced_root

from .axis import Axis
from .encoder import TextEncoder
from .settings import CLASS_NAMES, VAxisError
from .storage import load_axis

log = logging.getLogger(__name__)


VADER_RULE = (
    "positive: lexicon mean > 0, negative: mean < 0; entries with mean 0 are kept for "
    "Spearman r and left out of the AUC"
)

@dataclass(frozen=True)
class FacedValence:
    """Mean self-reported valence per FACED class (0-7 scale)."""

    class_valence: dict[str, float]
    source: str
    n_subjects: int | None
    root: str | None


def _readme_class_valence() -> np.ndarray:
    """Class means of the FACED README's per-clip mean valence (all 123 subjects)."""
    from bci_valence.constants import CLIP_MEAN_VALENCE
    from bci_valence.io.faced import class_mean_valence

    return np.asarray(class_mean_valence(CLIP_MEAN_VALENCE), dtype=float)


def faced_class_valence(
    root: str | Path | None = None, *, use_ratings: bool = True, progress: bool = False
) -> FacedValence:
    """FACED's mean valence rating of each class.

    Parameters
    ----------
    root : path or None
        FACED root; None = :func:`bci_valence.io.faced.default_faced_root`.
    use_ratings : bool
        Read every available subject's ``After_remarks.mat`` (via
        :mod:`bci_valence.io.faced`); False uses the README's per-clip means (all
        123 subjects) instead.

    Returns
    -------
    FacedValence
        ``source`` is ``"ratings"`` (per-subject files; clip means over subjects,
        then the mean of each class's clips) or ``"readme"``.

    Raises
    ------
    VAxisError
        ``use_ratings`` and the root is absent or holds no ratings (never a silent
        fall back to the README means).
    """
    root = Path(root) if root is not None else default_faced_root()
    if use_ratings:
        hint = "pass --faced-root ROOT, or --readme-ratings for the FACED README's per-clip means"
        if not root.is_dir():
            raise VAxisError(f"no FACED root at {root} to read the valence ratings from: {hint}")
        from bci_valence.constants import EMOTION_CLASSES
        from bci_valence.io.faced import (
            VALENCE_ITEM,
            available_subjects,
            class_mean_valence,
            load_ratings,
            ratings_path,
        )

        if tuple(EMOTION_CLASSES) != CLASS_NAMES:  # pragma: no cover - contract check
            raise VAxisError(f"FACED classes {EMOTION_CLASSES} differ from {CLASS_NAMES}")
        subjects = [s for s in available_subjects(root) if ratings_path(root, s).is_file()]
        if not subjects:
            raise VAxisError(f"no FACED ratings (Data/subXXX/After_remarks.mat) under {root}: {hint}")
        from tqdm.auto import tqdm

        clip = np.stack(
            [
                load_ratings(ratings_path(root, s))[:, VALENCE_ITEM]
                for s in tqdm(subjects, desc="FACED ratings", disable=not progress)
            ]
        ).mean(axis=0)
        values = class_mean_valence(clip)
        return FacedValence(
            class_valence={c: float(v) for c, v in zip(CLASS_NAMES, values)},
            source="ratings",
            n_subjects=len(subjects),
            root=str(root),
        )
    values = _readme_class_valence()
    return FacedValence(
        class_valence={c: float(v) for c, v in zip(CLASS_NAMES, values)},
        source="readme",
        n_subjects=123,
        root=None,
    )


def vader_lexicon_path() -> Path:
    """``vader_lexicon.txt`` inside the installed ``vaderSentiment`` package.

    Raises
    ------
    ModuleNotFoundError
        vaderSentiment is not installed (the ``offline`` extra installs it).
    VAxisError
        The package holds no lexicon.
    """
    import importlib.util

    spec = importlib.util.find_spec("vaderSentiment")
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError("No module named 'vaderSentiment' (the VADER lexicon's package)",
                                  name="vaderSentiment")
    path = Path(spec.origin).resolve().parent / "vader_lexicon.txt"
    if not path.is_file():
        raise VAxisError(f"VADER lexicon not found: {path}")
    return path


def load_vader_lexicon(path: str | Path | None = None) -> tuple[list[str], np.ndarray]:
    """Tokens and mean human valence (-4..+4) of VADER's lexicon."""
    path = Path(path) if path is not None else vader_lexicon_path()
    words: list[str] = []
    means: list[float] = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split("\t")
        if len(parts) < 2:
            raise VAxisError(f"{path}, line {n}: expected TOKEN<TAB>MEAN<TAB>..., got {line!r}")
        try:
            means.append(float(parts[1]))
        except ValueError as err:
            raise VAxisError(f"{path}, line {n}: mean {parts[1]!r} is not a number") from err
        words.append(parts[0])
    return words, np.asarray(means)


def _corr(x: np.ndarray, y: np.ndarray) -> dict[str, float]:
    from scipy.stats import pearsonr, spearmanr

    pr = pearsonr(x, y)
    sr = spearmanr(x, y)
    return {
        "pearson_r": float(pr.statistic),
        "pearson_p": float(pr.pvalue),
        "spearman_r": float(sr.statistic),
        "spearman_p": float(sr.pvalue),
    }


def faced_check(axis: Axis, faced: FacedValence) -> dict[str, Any]:
    """Correlate the axis's class coordinates with FACED's class mean valence."""
    coords = np.array([axis.class_coordinates[c] for c in CLASS_NAMES])
    valence = np.array([faced.class_valence[c] for c in CLASS_NAMES])
    return {
        **_corr(coords, valence),
        "n_classes": len(CLASS_NAMES),
        "source": faced.source,
        "n_subjects": faced.n_subjects,
        "root": faced.root,
        "class_mean_valence": faced.class_valence,
    }


def vader_check(
    axis: Axis,
    encoder: TextEncoder,
    *,
    lexicon: str | Path | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Zero-shot word valence: project VADER's lexicon on the axis."""
    from scipy.stats import spearmanr
    from sklearn.metrics import roc_auc_score

    words, means = load_vader_lexicon(lexicon)
    embeddings = encoder.encode(words, progress=progress, desc="VADER words")
    scores = axis.project(embeddings)
    polar = means != 0
    auc = float(roc_auc_score(means[polar] > 0, scores[polar]))
    sr = spearmanr(scores, means)
    order = np.argsort(scores)
    return {
        "n_words": len(words),
        "n_positive": int((means > 0).sum()),
        "n_negative": int((means < 0).sum()),
        "spearman_r": float(sr.statistic),
        "spearman_p": float(sr.pvalue),
        "roc_auc": auc,
        "rule": VADER_RULE,
        "lexicon": "vaderSentiment/vader_lexicon.txt",
        "most_positive": [words[i] for i in order[::-1][:10]],
        "most_negative": [words[i] for i in order[:10]],
    }


def plot_validation(axis: Axis, faced: FacedValence, result: dict[str, Any], path: Path) -> Path:
    """Figure: the nine classes on the axis, and against FACED's mean valence."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    coords = np.array([axis.class_coordinates[c] for c in CLASS_NAMES])
    valence = np.array([faced.class_valence[c] for c in CLASS_NAMES])
    colours = {
        **{c: "tab:red" for c in NEGATIVE_CLASSES},
        "neutral": "tab:gray",
        **{c: "tab:green" for c in POSITIVE_CLASSES},
    }
    fig, (ax0, ax1) = plt.subplots(
        1, 2, figsize=(11, 4.2), gridspec_kw={"width_ratios": [1.1, 1]}
    )
    ax0.axhline(0, color="0.6", lw=1)
    for i, (c, x) in enumerate(sorted(zip(CLASS_NAMES, coords), key=lambda t: t[1])):
        ax0.plot([x], [0], "o", color=colours[c], ms=9)
        ax0.annotate(
            c, (x, 0), xytext=(0, 14 if i % 2 else -20), textcoords="offset points",
            ha="center", fontsize=9, color=colours[c],
        )
    ax0.set_yticks([])
    ax0.set_ylim(-1, 1)
    ax0.set_xlabel("coordinate on the V-axis")
    ax0.set_title(f"{axis.model}\nlayer {axis.layer}, {axis.pooling} pooling, {axis.method}",
                  fontsize=10)
    for side in ("left", "right", "top"):
        ax0.spines[side].set_visible(False)

    for c, x, y in zip(CLASS_NAMES, coords, valence):
        ax1.plot([x], [y], "o", color=colours[c], ms=8)
        ax1.annotate(c, (x, y), xytext=(5, 4), textcoords="offset points", fontsize=8)
    slope, intercept = np.polyfit(coords, valence, 1)
    xs = np.linspace(coords.min(), coords.max(), 10)
    ax1.plot(xs, slope * xs + intercept, "--", color="0.5", lw=1)
    f = result["faced"]
    ax1.set_xlabel("V-axis coordinate")
    ax1.set_ylabel(f"FACED mean valence rating (0-7, {faced.source})")
    title = f"FACED: Pearson r = {f['pearson_r']:.2f}, Spearman r = {f['spearman_r']:.2f}"
    if "vader" in result:
        v = result["vader"]
        title += f"\nVADER words: Spearman r = {v['spearman_r']:.2f}, AUC = {v['roc_auc']:.2f}"
    ax1.set_title(title, fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def validate_axis(
    axis: Axis | str | Path,
    *,
    faced_root: str | Path | None = None,
    use_ratings: bool = True,
    vader: bool = True,
    lexicon: str | Path | None = None,
    encoder: TextEncoder | None = None,
    batch_size: int = 512,
    device: str | None = None,
    figure: str | Path | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Validate an axis against FACED ratings and the VADER lexicon.

    Parameters
    ----------
    axis : Axis or path of an axis folder
    faced_root : path, optional
        FACED root (default :func:`bci_valence.io.faced.default_faced_root`).
    use_ratings : bool
        False forces the README per-clip means.
    vader : bool
        Run the word check (needs the axis's model).
    lexicon : path, optional
        A VADER-format lexicon instead of the packaged one.
    encoder : TextEncoder, optional
        Reuse a loaded model (it must match the axis's model, layer and pooling).
    batch_size : int
        Words per forward pass.
    figure : path, optional
        Where to write the figure (None: no figure).

    Returns
    -------
    dict, JSON-able: ``axis`` (folder, model, layer, pooling, method),
    ``class_coordinates``, ``pc1_explained_variance``, ``faced`` and ``vader``
    results, ``figure`` and ``seconds``.
    """
    t0 = time.perf_counter()
    if not isinstance(axis, Axis):
        axis = load_axis(axis)
    faced = faced_class_valence(faced_root, use_ratings=use_ratings, progress=progress)
    result: dict[str, Any] = {
        "axis": {
            "path": str(axis.path) if axis.path is not None else None,
            "model": axis.model,
            "layer": axis.layer,
            "pooling": axis.pooling,
            "method": axis.method,
        },
        "class_coordinates": axis.class_coordinates,
        "pc1_explained_variance": axis.pc1_explained_variance,
        "faced": faced_check(axis, faced),
    }
    if vader:
        if lexicon is None:
            vader_lexicon_path()  # a missing package is named before the model loads
        if encoder is None:
            encoder = axis.encoder(batch_size=batch_size, device=device)
        elif (encoder.layer, encoder.pooling) != (axis.layer, axis.pooling):
            raise VAxisError(
                f"encoder (layer {encoder.layer}, {encoder.pooling}) does not match the axis "
                f"(layer {axis.layer}, {axis.pooling})"
            )
        result["vader"] = vader_check(axis, encoder, lexicon=lexicon, progress=progress)
    if figure is not None:
        try:
            result["figure"] = str(plot_validation(axis, faced, result, Path(figure)))
        except OSError as err:  # e.g. a read-only installed axis folder
            log.warning("figure not written to %s: %s", figure, err)
            result["figure"] = None
            result["figure_error"] = f"{figure}: {err}"
    result["seconds"] = round(time.perf_counter() - t0, 2)
    return result


def compare_axes(axes: Sequence[Axis | str | Path]) -> dict[str, Any]:
    """Cross-model agreement: correlations of class coordinates between axes.

    Returns
    -------
    dict with ``axes`` (model, layer, pooling, method, path of each) and ``pairs``
    (Pearson and Spearman r for every pair), and ``mean_pearson_r``.
    """
    if len(axes) < 2:
        raise VAxisError("compare needs at least two axis folders")
    loaded = [a if isinstance(a, Axis) else load_axis(a) for a in axes]
    info = [
        {
            "path": str(a.path) if a.path is not None else None,
            "model": a.model,
            "layer": a.layer,
            "pooling": a.pooling,
            "method": a.method,
        }
        for a in loaded
    ]
    pairs = []
    for i, j in itertools.combinations(range(len(loaded)), 2):
        shared = [c for c in loaded[i].class_names if c in loaded[j].class_coordinates]
        if len(shared) < 3:
            raise VAxisError(f"axes {i} and {j} share fewer than three classes")
        x = np.array([loaded[i].class_coordinates[c] for c in shared])
        y = np.array([loaded[j].class_coordinates[c] for c in shared])
        corr = _corr(x, y)
        pairs.append(
            {
                "a": i,
                "b": j,
                "pearson_r": corr["pearson_r"],
                "spearman_r": corr["spearman_r"],
                "n_classes": len(shared),
            }
        )
    return {
        "axes": info,
        "pairs": pairs,
        "mean_pearson_r": float(np.mean([p["pearson_r"] for p in pairs])),
        "mean_spearman_r": float(np.mean([p["spearman_r"] for p in pairs])),
    }
