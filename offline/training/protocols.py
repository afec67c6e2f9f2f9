"""Evaluation protocols: ``seen-clips`` (new people, the training clips) and ``unseen-clips``
(new people and new clips).

FACED has 28 clips; cross-subject figures measured on the clips the model was trained
on largely reflect which clip is playing.  ``unseen-clips`` splits the clips into
``n_folds`` folds (:func:`clip_folds`: the ``j``-th clip of every class goes to fold
``j mod n_folds``, so with 3 folds each fold holds out one clip of every class and
neutral's fourth clip joins the first fold), trains one model per fold on the
training subjects' other clips, and predicts each held-out subject's clips with the
model that never saw them; every clip gets exactly one out-of-fold prediction.
``seen-clips`` is the same with one model trained on every clip.

The figures (:func:`~offline.training.metrics.protocol_metrics`) are those of the live
valence readout (the linear projection of the 10-s mean of standardized DE vectors)
and, for ``bacc``/``kappa``, of the classifier.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from bci_valence.io.faced import format_subjects
from bci_valence.model.fold_models import PROTOCOLS, FoldModel

from .classifier import strip_aux_head, train_classifier
from .evaluate import bundle_selection, in_sample_subjects
from .metrics import frontal_alpha_asymmetry, protocol_metrics, valence_figures
from .projection import Readout
from .settings import FoldSettings
from .windows import N_WINDOWS, SEQ_LEN, make_windows, standardize_subjects

__all__ = [
    "PROTOCOLS",
    "clip_folds",
    "evaluate_protocol",
    "fai_figures",
    "fit_fold_projections",
    "predict_folds",
    "projection_candidates",
    "protocol_figures",
    "protocol_test_clips",
    "select_projection",
    "train_fold_models",
    "valence_scale",
]


def clip_folds(labels: Sequence[int], n_folds: int = 3) -> np.ndarray:
    """Fold of every clip for ``unseen-clips``.

    The ``j``-th clip of each class (in clip order) goes to fold ``j mod n_folds``: with
    3 folds and FACED's 3 clips per class (4 for neutral) every fold holds out one clip
    of every class, and neutral's fourth clip joins fold 0.

    Parameters
    ----------
    labels : sequence of int (n_clips,)
        Class of each clip.
    n_folds : int
        At least 2 and at most the smallest number of clips of a class, so that every
        fold holds out every class.

    Returns
    -------
    ndarray of int, shape (n_clips,)

    Raises
    ------
    ValueError
        If ``n_folds`` is out of that range.
    """
    labels = np.asarray(labels)
    classes, counts = np.unique(labels, return_counts=True)
    if not 2 <= n_folds <= counts.min():
        raise ValueError(
            f"n_folds={n_folds}: expected 2 to {counts.min()} (each fold must hold out a clip of "
            f"every class; the smallest class has {counts.min()} clips)"
        )
    fold = np.empty(len(labels), dtype=int)
    for k in classes:
        idx = np.flatnonzero(labels == k)
        fold[idx] = np.arange(len(idx)) % n_folds
    return fold


def protocol_test_clips(protocol: str, labels: Sequence[int], n_folds: int = 3) -> list[np.ndarray]:
    """Held-out clips of each fold of ``protocol`` (one fold of every clip for ``seen-clips``)."""
    labels = np.asarray(labels)
    if protocol == "seen-clips":
        return [np.arange(len(labels))]
    if protocol == "unseen-clips":
        fold = clip_folds(labels, n_folds)
        return [np.flatnonzero(fold == f) for f in range(n_folds)]
    raise ValueError(f"unknown protocol {protocol!r}; choose from {list(PROTOCOLS)}")


def _train_clips(test_clips: np.ndarray, n_clips: int, protocol: str) -> np.ndarray:
    if protocol == "seen-clips":
        return np.arange(n_clips)
    return np.setdiff1d(np.arange(n_clips), test_clips)


def _window_means(z: np.ndarray) -> np.ndarray:
    """(n_sub, n_clips, 30, C, B) -> (n_sub, n_clips, N_WINDOWS, C * B)."""
    n_sub, n_clips = z.shape[:2]
    return z.reshape(n_sub, n_clips, N_WINDOWS, SEQ_LEN, -1).mean(axis=3)


def fit_fold_projections(
    z_train: np.ndarray,
    coordinates: np.ndarray,
    labels: np.ndarray,
    protocol: str,
    readout: float | Readout,
    n_folds: int = 3,
) -> list[tuple[np.ndarray, np.ndarray, float]]:
    """The projection of every fold, fitted on the fold's training clips.

    Parameters
    ----------
    z_train : ndarray (n_sub, n_clips, 30, C, B)
    coordinates : ndarray (n_classes,)
    labels : ndarray (n_clips,)
    protocol : str
    readout : float or Readout
        The readout recipe (a number is a ridge alpha).
    n_folds : int

    Returns
    -------
    list of (test_clips, weight (C, B), bias)
    """
    labels = np.asarray(labels)
    readout = Readout.of(readout)
    xw = _window_means(z_train)
    shape = z_train.shape[3:]
    out = []
    for test in protocol_test_clips(protocol, labels, n_folds):
        train = _train_clips(test, len(labels), protocol)
        x = xw[:, train]
        y = np.broadcast_to(np.asarray(coordinates)[labels[train]][None, :, None], x.shape[:3])
        w, b = readout.fit(x.reshape(-1, x.shape[-1]), np.asarray(y, np.float64).reshape(-1))
        out.append((test, w.reshape(shape), b))
    return out


def _check_coverage(test_sets: Sequence[Sequence[int]], n_clips: int) -> None:
    count = np.zeros(n_clips, dtype=int)
    for clips in test_sets:
        np.add.at(count, np.asarray(clips, dtype=int), 1)
    if not np.all(count == 1):
        missing = np.flatnonzero(count == 0).tolist()
        repeated = np.flatnonzero(count > 1).tolist()
        raise ValueError(
            f"fold models must predict every clip exactly once: clips {missing} in no fold, "
            f"clips {repeated} in several"
        )


def projection_candidates(settings: Any) -> list[Readout]:
    """The readouts a recipe chooses among: ``settings.ridge_alphas`` then ``settings.pls_components``."""
    return ([Readout("ridge", alpha=float(a)) for a in settings.ridge_alphas]
            + [Readout("pls", n_components=int(n)) for n in settings.pls_components])


def select_projection(
    z_train: np.ndarray,
    z_val: np.ndarray,
    val_ratings: np.ndarray,
    coordinates: np.ndarray,
    labels: np.ndarray,
    valence_group: np.ndarray,
    candidates: Sequence[float | Readout],
    settings: FoldSettings | None = None,
) -> tuple[Readout, list[dict[str, Any]]]:
    """The readout whose ``unseen-clips`` projections score best on validation subjects.

    Each candidate is fitted per clip fold on the training subjects and predicts the
    validation subjects' held-out clips; the highest ``settings.selection`` wins (ties:
    the first candidate).

    Returns
    -------
    (readout, rows)
        ``rows``: per candidate, its ``readout`` label and validation figures
        (:func:`valence_figures`).
    """
    if not candidates:
        raise ValueError("no projection candidates to choose from")
    settings = settings or FoldSettings()
    rows = []
    readouts = [Readout.of(c) for c in candidates]
    xv = _window_means(z_val)
    for readout in readouts:
        valence = np.zeros(xv.shape[:3])
        for test, w, b in fit_fold_projections(z_train, coordinates, labels, "unseen-clips",
                                               readout, settings.n_folds):
            valence[:, test] = xv[:, test] @ w.reshape(-1) + b
        figures = valence_figures(valence, val_ratings, labels, coordinates, valence_group)
        rows.append({"readout": readout.label, **readout.to_dict(), **figures})
    scores = [np.nan_to_num(r[settings.selection], nan=-np.inf) for r in rows]
    return readouts[int(np.argmax(scores))], rows


def train_fold_models(
    z_train: np.ndarray,
    labels: np.ndarray,
    coordinates: np.ndarray,
    protocol: str,
    readout: float | Readout,
    settings: Any,
    desc: str = "",
) -> list[FoldModel]:
    """Train every fold's projection (``readout``) and classifier members.

    Parameters
    ----------
    z_train : ndarray (n_sub, n_clips, 30, C, B)
        Standardized training subjects.
    labels : ndarray (n_clips,)
    coordinates : ndarray (n_classes,)
    protocol : str
    readout : float or Readout
        The projection's recipe (a number is a ridge alpha).
    settings : TrainSettings
        ``settings.folds`` (:class:`FoldSettings`) sets folds, epochs, stages, members;
        the rest of the recipe (architecture, augmentation) is ``settings``'s.
    desc : str
        Progress label.
    """
    import torch

    from bci_valence.model.networks import LinearProjection

    fs: FoldSettings = settings.folds
    member_settings = replace(settings, epochs=fs.epochs, jobs=1)
    labels = np.asarray(labels)
    out = []
    projections = fit_fold_projections(z_train, coordinates, labels, protocol, readout, fs.n_folds)
    for k, (test, w, b) in enumerate(projections):
        projection = LinearProjection(*w.shape)
        with torch.no_grad():
            projection.weight.copy_(torch.as_tensor(w, dtype=torch.float32))
            projection.bias.fill_(float(b))
        train = _train_clips(test, len(labels), protocol)
        members = []
        for i in range(fs.n_members):
            label = f"{desc or protocol} fold {k + 1}/{len(projections)}"
            m = train_classifier(z_train[:, train], labels[train], coordinates, member_settings,
                                 fs.stages, seed=settings.seed + 1000 * i, desc=label)[0]
            members.append(strip_aux_head(m))
        out.append(FoldModel(tuple(int(c) for c in test), projection.eval(), members))
    return out


def predict_folds(
    folds: Sequence[FoldModel], z: np.ndarray, labels: np.ndarray
) -> tuple[np.ndarray, np.ndarray | None]:
    """Every clip's valence (and class probabilities) from the fold that held it out.

    Parameters
    ----------
    folds : sequence of FoldModel
        Their ``test_clips`` must cover every clip exactly once.
    z : ndarray (n_sub, n_clips, 30, C, B)
    labels : ndarray (n_clips,)

    Returns
    -------
    valence : ndarray (n_sub, n_clips, N_WINDOWS)
        Projection of each 10-s window's mean standardized DE vector.
    proba : ndarray (n_sub, n_clips, N_WINDOWS, n_classes) or None
        None when the folds have no classifier members.
    """
    labels = np.asarray(labels)
    n_sub, n_clips = z.shape[:2]
    _check_coverage([f.test_clips for f in folds], n_clips)
    valence = np.zeros((n_sub, n_clips, N_WINDOWS))
    has_members = all(f.members for f in folds)
    proba = None
    for fold in folds:
        clips = np.asarray(fold.test_clips, dtype=int)
        zc = z[:, clips]
        means = zc.reshape(n_sub, len(clips), N_WINDOWS, SEQ_LEN, *z.shape[3:]).mean(axis=3)
        valence[:, clips] = fold.project(means)
        if has_members:
            p = fold.predict_proba(make_windows(zc, labels[clips])["x"])
            if proba is None:
                proba = np.zeros((n_sub, n_clips, N_WINDOWS, p.shape[-1]))
            proba[:, clips] = p.reshape(n_sub, len(clips), N_WINDOWS, -1)
    return valence, proba


def valence_scale(valence: np.ndarray, valence_group: np.ndarray) -> dict[str, float]:
    """How large a meaningful change of the valence readout is, in its own units.

    Parameters
    ----------
    valence : ndarray (n_sub, n_clips, n_windows)
        10-s window valence.
    valence_group : ndarray (n_clips,)
        -1 / 0 / +1 per clip.

    Returns
    -------
    dict
        ``window_noise_sd``: standard deviation of the 10-s readout around each subject's
        clip mean (how much the trace moves while the content's valence stays the same);
        ``positive_minus_negative``: mean readout of positive clips minus that of negative
        clips (the expected swing between clearly positive and negative content).
    """
    valence = np.asarray(valence, dtype=np.float64)
    group = np.asarray(valence_group)
    per_clip = valence.mean(axis=2, keepdims=True)
    n_win = valence.shape[2]
    noise = float(np.sqrt(((valence - per_clip) ** 2).sum() / (valence[..., 0].size * max(n_win - 1, 1))))
    swing = float(per_clip[:, group > 0].mean() - per_clip[:, group < 0].mean())
    return {"window_noise_sd": noise, "positive_minus_negative": swing}


def protocol_figures(
    folds: Sequence[FoldModel],
    z: np.ndarray,
    ratings: np.ndarray,
    labels: np.ndarray,
    coordinates: np.ndarray,
    valence_group: np.ndarray,
    n_permutations: int = 10000,
    n_bootstrap: int = 1000,
    seed: int = 0,
) -> dict[str, Any]:
    """:func:`~offline.training.metrics.protocol_metrics` of the folds' predictions.

    Adds :func:`valence_scale`'s ``window_noise_sd`` and ``positive_minus_negative``, and
    ``classifier_valence``: the same valence figures for the classifier's expected V-axis
    coordinate (``proba @ coordinates``) when the folds have members.
    """
    valence, proba = predict_folds(folds, z, labels)
    out = protocol_metrics(valence, ratings, labels, coordinates, valence_group, proba,
                           n_permutations=n_permutations, n_bootstrap=n_bootstrap, seed=seed)
    out.update(valence_scale(valence, valence_group))
    if proba is not None:
        out["classifier_valence"] = valence_figures(proba @ np.asarray(coordinates), ratings, labels,
                                                    coordinates, valence_group)
    return out


def fai_figures(
    de: np.ndarray,
    ratings: np.ndarray,
    labels: np.ndarray,
    coordinates: np.ndarray,
    valence_group: np.ndarray,
    n_permutations: int = 10000,
    n_bootstrap: int = 1000,
    seed: int = 0,
) -> dict[str, Any]:
    """The protocols' valence figures of frontal alpha asymmetry (no training, no folds).

    Valence of a 10-s window is the mean over its seconds of
    :func:`~offline.training.metrics.frontal_alpha_asymmetry` (``2 · (DE_alpha(F4) −
    DE_alpha(F3))`` = ln alpha power F4 − ln alpha power F3, centred per subject); the
    figures, permutation p-value and intervals are :func:`protocol_metrics`' on the same
    subjects, clips, windows and resamples as the model's, plus :func:`valence_scale`.
    Having no classifier it has no ``bacc``/``kappa``; having no training it is the
    same under both protocols.

    Parameters
    ----------
    de : ndarray (n_sub, n_clips, 32, 30, 5)
        DE as loaded (not standardized).
    ratings, labels, coordinates, valence_group, n_permutations, n_bootstrap, seed
        As :func:`protocol_figures`.
    """
    fai = frontal_alpha_asymmetry(de)
    n_sub, n_clips, n_sec = fai.shape
    windows = fai.reshape(n_sub, n_clips, N_WINDOWS, n_sec // N_WINDOWS).mean(axis=3)
    out = protocol_metrics(windows, ratings, labels, coordinates, valence_group, None,
                           n_permutations=n_permutations, n_bootstrap=n_bootstrap, seed=seed)
    out.update(valence_scale(windows, valence_group))
    return out


def _protocol_models(bundle: Any, protocol: str) -> tuple[list[FoldModel], Any, str]:
    """The models a bundle runs under ``protocol``, their training subjects and a description.

    Raises
    ------
    ValueError
        For an unknown protocol, or a bundle whose classes are not FACED's.
    BundleError
        When the bundle has no models for ``unseen-clips``.
    """
    from bci_valence.constants import CLIP_LABELS, EMOTION_CLASSES

    if protocol not in PROTOCOLS:
        raise ValueError(f"unknown protocol {protocol!r}; choose from {list(PROTOCOLS)}")
    if tuple(bundle.config.class_names) != tuple(EMOTION_CLASSES):
        raise ValueError(
            f"bundle classes {list(bundle.config.class_names)} differ from FACED's {list(EMOTION_CLASSES)}"
        )
    if protocol in (bundle.config.protocols or {}):
        folds = bundle.fold_models(protocol)
        trained = bundle.config.protocols[protocol].get("train_subjects")
        return folds, trained, f"{protocol} fold models ({len(folds)}), trained on sub {trained}"
    if protocol == "seen-clips":
        folds = [FoldModel(tuple(range(len(CLIP_LABELS))), bundle.projection, list(bundle.members))]
        trained = bundle.config.training.get("train_subjects")
        return folds, trained, f"main models, trained on sub {trained}"
    # the bundle has no unseen-clips models: this raises BundleError naming what it has
    return bundle.fold_models(protocol), None, f"{protocol} fold models"


def _in_sample_warning(protocol: str, trained: Any, evaluated: Sequence[int]) -> list[int]:
    """The evaluated subjects the models were trained on; logs a warning when there are any."""
    import logging

    overlap = in_sample_subjects(trained, evaluated)
    if overlap:
        logging.getLogger(__name__).warning(
            "the %s models were trained on sub %s: %d of the %d evaluated subjects (sub %s) are "
            "NOT held out; these figures are in-sample", protocol, trained, len(overlap),
            len(evaluated), format_subjects(overlap),
        )
    return overlap


def evaluate_protocol(
    bundle: Any,
    faced_root: str | Path,
    subjects: Sequence[int],
    protocol: str,
    n_permutations: int = 10000,
    n_bootstrap: int = 1000,
    seed: int = 0,
    progress: bool = True,
    aggregation: bool = False,
) -> dict[str, Any]:
    """A bundle's figures under ``protocol`` on FACED subjects (any root, any range).

    With ``aggregation``, the result gains ``aggregation``: the positive-vs-negative AUC
    by seconds per stimulus and people per group (:func:`~offline.training.aggregation.
    aggregation_curve`), with the live product's segment and group code.

    ``unseen-clips`` runs the bundle's fold models; ``seen-clips`` its seen-clips
    protocol model, or its main models when it has none.

    Returns
    -------
    dict
        ``protocol``, the figures of :func:`protocol_figures` (``bacc``, ``kappa``,
        ``valence_auc_window``, ``valence_auc_subject_clip``, ``clip_r_axis``,
        ``clip_r_ratings``, ``clip_r_ratings_p``, ``subject_r_ratings``, ``ci95``,
        ``ci95_over``, ``classifier_valence``), ``baseline_fai`` (the same valence figures,
        intervals and p-value for frontal alpha asymmetry, the untrained incumbent:
        :func:`fai_figures`), ``n_folds``, ``subjects``, ``n_subjects``, ``models`` (which
        models ran, trained on which subjects), ``in_sample_subjects`` (evaluated
        subjects those models were trained on, None when all are held out), ``bundle``,
        ``selection`` (how the main models were chosen: :func:`bundle_selection`).
    """
    from bci_valence.constants import CLIP_LABELS, CLIP_VALENCE_GROUP
    from bci_valence.io import faced as fd

    folds, trained, models = _protocol_models(bundle, protocol)
    data = fd.load_faced(faced_root, list(subjects), progress=progress)
    z = standardize_subjects(data.de)
    figures = protocol_figures(folds, z, data.valence, np.asarray(CLIP_LABELS), bundle.class_coordinates,
                               np.asarray(CLIP_VALENCE_GROUP), n_permutations, n_bootstrap, seed)
    baseline = fai_figures(data.de, data.valence, np.asarray(CLIP_LABELS), bundle.class_coordinates,
                           np.asarray(CLIP_VALENCE_GROUP), n_permutations, n_bootstrap, seed)
    extra: dict[str, Any] = {}
    if aggregation:
        from .aggregation import aggregation_curve

        valence, _ = predict_folds(folds, z, np.asarray(CLIP_LABELS))
        extra["aggregation"] = aggregation_curve(valence, np.asarray(CLIP_VALENCE_GROUP), seed=seed)
    overlap = _in_sample_warning(protocol, trained, data.subjects)
    return {
        "protocol": protocol,
        **figures,
        "baseline_fai": baseline,
        "n_folds": len(folds),
        "subjects": format_subjects(data.subjects),
        "n_subjects": len(data.subjects),
        "models": models,
        "in_sample_subjects": format_subjects(overlap) if overlap else None,
        "bundle": str(bundle.path) if bundle.path is not None else None,
        "selection": bundle_selection(bundle),
        **extra,
    }
