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

Modules
-------
:mod:`~offline.training.settings` (TrainSettings, FoldSettings, stages),
:mod:`~offline.training.windows` (standardization, 10-s windows),
:mod:`~offline.training.axis` (V-axis coordinates),
:mod:`~offline.training.metrics`, :mod:`~offline.training.projection`,
:mod:`~offline.training.classifier`, :mod:`~offline.training.recipe` (``run_training``),
:mod:`~offline.training.evaluate` (``evaluate_bundle``),
:mod:`~offline.training.protocols` (``seen-clips`` / ``unseen-clips``) and
:mod:`~offline.training.protocol_training` (``run_protocol_training``).  Every public
name is importable from ``offline.training``.
"""

from __future__ import annotations

from .axis import DEFAULT_AXIS_DIR, load_axis_coordinates
from .classifier import classifier_settings_for, train_classifier, train_recipe
from .evaluate import evaluate_bundle
from .metrics import (
    PROTOCOL_FIGURES,
    binary_auc,
    classification_metrics,
    clip_projection_metrics,
    permutation_p,
    protocol_metrics,
    valence_figures,
)
from .projection import Readout, fit_projection
from .protocols import (
    PROTOCOLS,
    clip_folds,
    evaluate_protocol,
    fit_fold_projections,
    predict_folds,
    projection_candidates,
    protocol_figures,
    protocol_test_clips,
    select_projection,
    train_fold_models,
    valence_scale,
)
from .protocol_training import run_protocol_training
from .recipe import choose_stage_set, format_ablation, run_training
from .settings import STAGES, FoldSettings, TrainSettings, parse_stages
from .windows import (
    CLIP_SECONDS,
    N_WINDOWS,
    SEQ_LEN,
    make_windows,
    standardize_subjects,
)

__all__ = [
    "CLIP_SECONDS",
    "DEFAULT_AXIS_DIR",
    "N_WINDOWS",
    "PROTOCOLS",
    "PROTOCOL_FIGURES",
    "SEQ_LEN",
    "STAGES",
    "FoldSettings",
    "Readout",
    "TrainSettings",
    "binary_auc",
    "choose_stage_set",
    "classification_metrics",
    "classifier_settings_for",
    "clip_folds",
    "clip_projection_metrics",
    "evaluate_bundle",
    "evaluate_protocol",
    "fit_fold_projections",
    "fit_projection",
    "format_ablation",
    "load_axis_coordinates",
    "make_windows",
    "parse_stages",
    "permutation_p",
    "predict_folds",
    "projection_candidates",
    "protocol_figures",
    "protocol_metrics",
    "protocol_test_clips",
    "run_protocol_training",
    "run_training",
    "select_projection",
    "standardize_subjects",
    "train_classifier",
    "train_fold_models",
    "train_recipe",
    "valence_figures",
    "valence_scale",
]
