"""Valence readouts aimed at stimuli the model never saw: every variant, seen vs unseen clips.

Each variant is trained on the training subjects (default sub000-079) and measured on the
validation subjects (default sub080-099) under both protocols
(:mod:`offline.training.protocols`): ``seen-clips`` (one model on every clip) and
``unseen-clips`` (3 clip folds; every clip predicted by a model that never saw it).
Variants are cheap linear models (ridge / logistic / PLS), feature transforms (per-subject
alignment, spatial centring, band subsets), stimulus-invariance methods (a penalty against
within-class clip differences, mixing the clips of a class), temporal smoothing of the
readout, a small MLP, and the bundle's own fold classifiers (the network) and their
combination with the projection.  The selection rule is the project's: the highest
``valence_auc_subject_clip`` under ``unseen-clips`` on validation subjects.

Usage::

    python -m offline.studies.unseen_variants --out docs/data/unseen_variants.json
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .common import emit_json

__all__ = ["TRANSFORMS", "VARIANTS", "VariantData", "main", "predict_held_out", "run_variants", "transform"]

N_WINDOWS, SEQ_LEN, N_FEATURES = 3, 10, 160


def _ridge(x: np.ndarray, y: np.ndarray, alpha: float, penalty: np.ndarray | None = None):
    mx, my = x.mean(axis=0), y.mean()
    xc = x - mx
    gram = xc.T @ xc + alpha * len(x) * np.eye(x.shape[1])
    if penalty is not None:
        gram = gram + penalty * len(x)
    w = np.linalg.solve(gram, xc.T @ (y - my))
    return w, float(my - mx @ w)


class VariantData:
    """What the fitters' targets come from: every subject's ratings and the clips' classes.

    Attributes
    ----------
    ratings : ndarray (n_sub, 28)
        Each subject's own valence rating of each clip (rows: the subjects of the
        feature array the fitters index).
    labels : ndarray (28,)
        Class of each clip.
    coords : ndarray (n_classes,)
        V-axis coordinate of each class.
    group : ndarray (28,)
        -1 / 0 / +1 valence group of each clip.
    """

    def __init__(self, ratings: np.ndarray, labels: np.ndarray, coords: np.ndarray, group: np.ndarray) -> None:
        self.ratings = ratings
        self.labels = labels
        self.coords = coords
        self.group = group


def _targets(d: VariantData, sub: np.ndarray, clips: np.ndarray, target: str) -> np.ndarray:
    shape = (len(sub), len(clips), N_WINDOWS)
    if target == "axis":
        t = d.coords[d.labels[clips]][None, :, None]
    elif target == "rating":
        t = d.ratings[sub][:, clips][:, :, None]
    elif target == "class_rating":
        clip_mean = d.ratings[sub].mean(axis=0)
        class_mean = np.array([clip_mean[d.labels == k].mean() for k in range(len(d.coords))])
        t = class_mean[d.labels[clips]][None, :, None]
    elif target == "group":
        t = d.group[clips][None, :, None].astype(float)
    else:  # pragma: no cover - the table below names only these
        raise ValueError(target)
    return np.broadcast_to(t, shape).reshape(-1).astype(np.float64)


# A fitter takes (windows (n_sub, n_clips, 3, F), data, train subjects, train clips) and
# returns predict(windows (n_sub, n_clips, n_win, F)) -> valence (n_sub, n_clips, n_win).
Fitter = Callable[[np.ndarray, VariantData, np.ndarray, np.ndarray], Callable[[np.ndarray], np.ndarray]]


def ridge_fitter(alpha: float, target: str = "axis", invariance: float = 0.0) -> Fitter:
    def fit(w: np.ndarray, d: VariantData, sub: np.ndarray, clips: np.ndarray):
        x = w[sub][:, clips].reshape(-1, w.shape[-1])
        penalty = None
        if invariance:
            # within-class differences between the training clips' mean features: the
            # directions that tell clips of one class apart (stimulus identity)
            means = w[sub][:, clips].mean(axis=(0, 2))
            dev = np.concatenate([means[d.labels[clips] == k] - means[d.labels[clips] == k].mean(axis=0)
                                  for k in np.unique(d.labels[clips])])
            penalty = invariance * dev.T @ dev / len(dev)
        coef, b = _ridge(x, _targets(d, sub, clips, target), alpha, penalty)
        return lambda q: q @ coef + b
    return fit


def class_mix_fitter(alpha: float) -> Fitter:
    """Ridge on the mean of a subject's training clips of each class (clips of a class mixed)."""
    def fit(w: np.ndarray, d: VariantData, sub: np.ndarray, clips: np.ndarray):
        xs, ys = [], []
        for k in np.unique(d.labels[clips]):
            mixed = w[sub][:, clips[d.labels[clips] == k]].mean(axis=1)  # (n_sub, 3, F)
            xs.append(mixed.reshape(-1, w.shape[-1]))
            ys.append(np.full(len(xs[-1]), d.coords[k]))
        coef, b = _ridge(np.concatenate(xs), np.concatenate(ys), alpha)
        return lambda q: q @ coef + b
    return fit


def logistic_fitter(c: float, classes: int) -> Fitter:
    """Logistic regression: 2 = positive vs negative clips (decision value), 9 = the classes
    (expected V-axis coordinate under its probabilities)."""
    def fit(w: np.ndarray, d: VariantData, sub: np.ndarray, clips: np.ndarray):
        from sklearn.linear_model import LogisticRegression

        x = w[sub][:, clips].reshape(-1, w.shape[-1])
        if classes == 2:
            g = _targets(d, sub, clips, "group")
            m = LogisticRegression(C=c, max_iter=300).fit(x[g != 0], g[g != 0] > 0)
            return lambda q: m.decision_function(q.reshape(-1, q.shape[-1])).reshape(q.shape[:-1])
        y = np.broadcast_to(d.labels[clips][None, :, None], (len(sub), len(clips), N_WINDOWS)).reshape(-1)
        m = LogisticRegression(C=c, max_iter=300).fit(x, y)
        return lambda q: (m.predict_proba(q.reshape(-1, q.shape[-1])) @ d.coords).reshape(q.shape[:-1])
    return fit


def pls_fitter(n: int) -> Fitter:
    def fit(w: np.ndarray, d: VariantData, sub: np.ndarray, clips: np.ndarray):
        from sklearn.cross_decomposition import PLSRegression

        x = w[sub][:, clips].reshape(-1, w.shape[-1])
        m = PLSRegression(n_components=n, scale=False).fit(x, _targets(d, sub, clips, "axis"))
        return lambda q: m.predict(q.reshape(-1, q.shape[-1])).reshape(q.shape[:-1])
    return fit


def mlp_fitter(alpha: float) -> Fitter:
    def fit(w: np.ndarray, d: VariantData, sub: np.ndarray, clips: np.ndarray):
        import warnings

        from sklearn.exceptions import ConvergenceWarning
        from sklearn.neural_network import MLPRegressor

        x = w[sub][:, clips].reshape(-1, w.shape[-1])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            m = MLPRegressor(hidden_layer_sizes=(64,), alpha=alpha, max_iter=60, random_state=0,
                             batch_size=256).fit(x, _targets(d, sub, clips, "axis"))
        return lambda q: m.predict(q.reshape(-1, q.shape[-1])).reshape(q.shape[:-1])
    return fit


# ----------------------------------------------------------------------------- transforms


def _whiten(z: np.ndarray, shrink: float, clips: np.ndarray | None = None) -> np.ndarray:
    """Per-subject alignment: whiten each subject's 160-d vectors with its own (shrunk) covariance.

    The mean and covariance come from the seconds of ``clips`` (default: every clip).
    """
    x = z.reshape(z.shape[0], -1, N_FEATURES).astype(np.float64)
    stat = x if clips is None else z[:, np.asarray(clips)].reshape(z.shape[0], -1, N_FEATURES).astype(np.float64)
    out = np.empty_like(x)
    for i in range(len(x)):
        c = np.cov(stat[i], rowvar=False)
        c = (1 - shrink) * c + shrink * np.eye(N_FEATURES) * np.trace(c) / N_FEATURES
        e, v = np.linalg.eigh(c)
        out[i] = (x[i] - stat[i].mean(axis=0)) @ (v / np.sqrt(e)) @ v.T
    return out.reshape(z.shape).astype(np.float32)


def _bands(z: np.ndarray, keep: Sequence[int]) -> np.ndarray:
    """Zero every band but ``keep`` (a band subset in the same 160-d layout)."""
    out = np.zeros_like(z)
    out[..., list(keep)] = z[..., list(keep)]
    return out


TRANSFORMS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "none": lambda z: z,
    "spatial-centred": lambda z: z - z.mean(axis=3, keepdims=True),
    "aligned (whitened per subject, shrink 0.5)": lambda z: _whiten(z, 0.5),
    "delta+theta+alpha": lambda z: _bands(z, (0, 1, 2)),
    "beta+gamma": lambda z: _bands(z, (3, 4)),
    "gamma": lambda z: _bands(z, (4,)),
}

#: Transforms that estimate statistics from a subject's seconds (the rest act on each vector alone).
_STAT_TRANSFORMS = {"aligned (whitened per subject, shrink 0.5)": 0.5}


def transform(name: str, z: np.ndarray, clips: np.ndarray | None = None) -> np.ndarray:
    """:data:`TRANSFORMS` ``[name]`` of ``z`` (n_sub, 28, 30, 32, 5).

    ``clips``: the clips whose seconds a transform's per-subject statistics come from
    (the whitening's mean and covariance); None: every clip, as :data:`TRANSFORMS` does.
    Transforms of single vectors ignore it.
    """
    if clips is not None and name in _STAT_TRANSFORMS:
        return _whiten(z, _STAT_TRANSFORMS[name], clips)
    return TRANSFORMS[name](z)

#: Every variant: (name, family, transform, fitter, readout seconds).  Readout seconds:
#: the valence is read from the mean of that many seconds (10 = the live default).
VARIANTS: list[tuple[str, str, str, Fitter, int]] = [
    *[(f"ridge -> V-axis coordinate, alpha {a:g}", "target", "none", ridge_fitter(a), 10)
      for a in (1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0)],
    *[(f"ridge -> own rated valence, alpha {a:g}", "target", "none", ridge_fitter(a, "rating"), 10)
      for a in (1e-2, 1e-1, 1.0)],
    *[(f"ridge -> class-mean rated valence, alpha {a:g}", "target", "none", ridge_fitter(a, "class_rating"), 10)
      for a in (1e-2, 1e-1, 1.0)],
    *[(f"ridge -> valence group (-1/0/+1), alpha {a:g}", "target", "none", ridge_fitter(a, "group"), 10)
      for a in (1e-2, 1e-1, 1.0)],
    *[(f"logistic, positive vs negative clips, C {c:g}", "target", "none", logistic_fitter(c, 2), 10)
      for c in (1e-3, 1e-2)],
    *[(f"logistic, 9 classes -> expected V-axis coordinate, C {c:g}", "target", "none",
       logistic_fitter(c, 9), 10) for c in (1e-3, 1e-2)],
    *[(f"ridge + clip-invariance penalty {lam:g}, alpha 0.1", "stimulus invariance", "none",
       ridge_fitter(0.1, invariance=lam), 10) for lam in (1.0, 10.0, 100.0)],
    *[(f"ridge on mixed clips of a class, alpha {a:g}", "stimulus invariance", "none", class_mix_fitter(a), 10)
      for a in (1e-2, 1e-1)],
    *[(f"ridge, alpha 0.1, features: {t}", "features", t, ridge_fitter(0.1), 10)
      for t in TRANSFORMS if t != "none"],
    *[(f"PLS, {n} components", "low rank", "none", pls_fitter(n), 10) for n in (2, 3, 5, 10)],
    ("MLP (64 units) -> V-axis coordinate", "non-linear", "none", mlp_fitter(1.0), 10),
    *[(f"ridge, alpha 0.1, readout over {s} s", "temporal smoothing", "none", ridge_fitter(0.1), s)
      for s in (1, 30)],
]


def _readout(z: np.ndarray, seconds: int) -> np.ndarray:
    """Mean of each ``seconds``-long segment of each clip: (n_sub, n_clips, 30 // seconds, 160)."""
    n = 30 // seconds
    return z.reshape(z.shape[0], z.shape[1], n, seconds, N_FEATURES).mean(axis=3)


def predict_held_out(fitter: Fitter, d: VariantData, z_folds: Sequence[np.ndarray], train: np.ndarray,
                     val: np.ndarray, test_sets: Sequence[np.ndarray], seconds: int = 10,
                     seen: bool = False) -> np.ndarray:
    """Valence of the ``val`` subjects' clips, each clip from the fold model that held it out.

    Parameters
    ----------
    fitter : Fitter
        One of :data:`VARIANTS`' fitters.
    d : VariantData
    z_folds : sequence of ndarray (n_sub, 28, 30, 32, 5)
        The features each fold fits and predicts on, one per entry of ``test_sets`` (the
        same array for every fold, or each fold's own, e.g. standardized from the fold's
        training clips only).
    train, val : ndarray of int
        Rows of the feature arrays: the subjects a fold fits on and those it predicts.
    test_sets : sequence of ndarray of int
        Each fold's predicted clips; it fits on the others (on every clip with ``seen``).
    seconds : int
        Readout seconds (each prediction is of the mean of that many seconds).
    seen : bool
        Fit every fold on all 28 clips (the ``seen-clips`` protocol).

    Returns
    -------
    ndarray (len(val), 28, 30 // seconds)
    """
    if len(z_folds) != len(test_sets):
        raise ValueError(f"{len(z_folds)} feature arrays for {len(test_sets)} folds")
    out = np.zeros((len(val), 28, 30 // seconds))
    for z, test in zip(z_folds, test_sets):
        w = z.reshape(z.shape[0], 28, N_WINDOWS, SEQ_LEN, N_FEATURES).mean(axis=3)
        clips = np.arange(28) if seen else np.setdiff1d(np.arange(28), test)
        predict = fitter(w, d, train, clips)
        out[:, test] = predict(_readout(z[val][:, test], seconds))
    return out


def _predict(fitter: Fitter, d: VariantData, z: np.ndarray, train: np.ndarray, val: np.ndarray, protocol: str,
             seconds: int) -> np.ndarray:
    from offline.training import protocol_test_clips

    tests = protocol_test_clips(protocol, d.labels)
    return predict_held_out(fitter, d, [z] * len(tests), train, val, tests, seconds,
                            seen=protocol == "seen-clips")


def _network_rows(bundle: Any, z_val: np.ndarray, d: VariantData,
                  figures: Callable[..., dict[str, Any]]) -> list[dict[str, Any]]:
    """The bundle's own fold models (trained on its protocol subjects): the network's expected
    V-axis coordinate, and its mean with the projection (each z-scored over the windows)."""
    from offline.training import PROTOCOLS, predict_folds

    row_net: dict[str, Any] = {"variant": "network, 1 member per fold (the bundle's fold classifiers) "
                                          "-> expected V-axis coordinate", "family": "network"}
    row_mix: dict[str, Any] = {"variant": "mean of projection and network valence (z-scored)",
                               "family": "ensemble"}
    for protocol in PROTOCOLS:
        valence, proba = predict_folds(bundle.fold_models(protocol), z_val, d.labels)
        net = proba @ d.coords
        row_net[protocol] = figures(net, proba)
        mix = (valence - valence.mean()) / valence.std() + (net - net.mean()) / net.std()
        row_mix[protocol] = figures(mix)
    return [row_net, row_mix]


def run_variants(
    faced_root: str | Path,
    train: Sequence[int],
    val: Sequence[int],
    bundle_path: str | Path | None = None,
    n_permutations: int = 2000,
    n_bootstrap: int = 200,
    progress: bool = True,
) -> dict[str, Any]:
    """Measure every variant of :data:`VARIANTS` (plus the bundle's fold classifiers).

    Returns
    -------
    dict
        ``rows`` (per variant: ``variant``, ``family``, ``kept``, and the figures of
        both protocols), ``selected`` (the variant the selection rule picks),
        ``train_subjects``, ``validation_subjects``.
    """
    from tqdm.auto import tqdm

    from bci_valence.constants import CLIP_LABELS, CLIP_VALENCE_GROUP
    from bci_valence.io import faced as fd
    from bci_valence.io.faced import format_subjects
    from bci_valence.model.bundle import ModelBundle
    from offline.training import PROTOCOLS, protocol_metrics, standardize_subjects

    bundle = ModelBundle.load(bundle_path, device="cpu")
    train, val = list(train), list(val)
    data = fd.load_faced(faced_root, sorted(set(train) | set(val)), progress=progress)
    pos = {s: i for i, s in enumerate(data.subjects)}
    z0 = standardize_subjects(data.de)
    tr = np.array([pos[s] for s in train])
    va = np.array([pos[s] for s in val])
    d = VariantData(data.valence.astype(np.float64), np.asarray(CLIP_LABELS), bundle.class_coordinates,
                    np.asarray(CLIP_VALENCE_GROUP))
    ratings_va = d.ratings[va]

    def figures(valence: np.ndarray, proba: np.ndarray | None = None) -> dict[str, Any]:
        return protocol_metrics(valence, ratings_va, d.labels, d.coords, d.group, proba,
                                n_permutations=n_permutations, n_bootstrap=n_bootstrap)

    rows: list[dict[str, Any]] = []
    transformed: dict[str, np.ndarray] = {}
    for name, family, transform, fitter, seconds in tqdm(VARIANTS, desc="variants", disable=not progress):
        if transform not in transformed:
            transformed[transform] = TRANSFORMS[transform](z0)
        t0 = time.perf_counter()
        row: dict[str, Any] = {"variant": name, "family": family}
        for protocol in PROTOCOLS:
            row[protocol] = figures(_predict(fitter, d, transformed[transform], tr, va, protocol, seconds))
        row["seconds"] = round(time.perf_counter() - t0, 2)
        rows.append(row)
    if bundle.config.protocols:
        rows += _network_rows(bundle, z0[va], d, figures)
    key = "valence_auc_subject_clip"
    best = max(rows, key=lambda r: r["unseen-clips"][key])
    for r in rows:
        r["kept"] = r is best
    return {
        "train_subjects": format_subjects(train),
        "validation_subjects": format_subjects(val),
        "selection": f"highest unseen-clips {key} on the validation subjects",
        "selected": best["variant"],
        "rows": rows,
    }


def _table(result: dict[str, Any]) -> dict[str, Any]:
    cols = ["variant", "family", "kept",
            "unseen: valence AUC subject x clip", "unseen: valence AUC window", "unseen: clip r ratings",
            "unseen: clip r axis", "unseen: subject r ratings",
            "seen: valence AUC subject x clip", "seen: clip r ratings"]
    rows = []
    for r in result["rows"]:
        u, s = r["unseen-clips"], r["seen-clips"]
        rows.append([r["variant"], r["family"], "yes" if r["kept"] else "no",
                     u["valence_auc_subject_clip"], u["valence_auc_window"], u["clip_r_ratings"],
                     u["clip_r_axis"], u["subject_r_ratings"],
                     s["valence_auc_subject_clip"], s["clip_r_ratings"]])
    return {"title": "Every readout variant, seen vs unseen clips (validation subjects)", "columns": cols,
            "rows": rows}


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: run the variants and write their JSON (with provenance)."""
    from bci_valence.io.faced import parse_subjects
    from bci_valence.provenance import provenance

    p = argparse.ArgumentParser(prog="python -m offline.studies.unseen_variants", description=__doc__.split("\n")[0])
    p.add_argument("--faced-root", default=str(Path.cwd().parent / "shared" / "data" / "faced"))
    p.add_argument("--train", default="0-79")
    p.add_argument("--val", default="80-99")
    p.add_argument("--bundle", default=None, help="bundle whose fold classifiers are a variant (default: shipped)")
    p.add_argument("--permutations", type=int, default=2000)
    p.add_argument("--bootstrap", type=int, default=200)
    p.add_argument("--out", default=None, help="JSON file to write (default: print)")
    p.add_argument("--no-progress", action="store_true")
    args = p.parse_args(argv)
    result = run_variants(args.faced_root, parse_subjects(args.train), parse_subjects(args.val), args.bundle,
                          args.permutations, args.bootstrap, progress=not args.no_progress)
    record = {
        "title": "Valence on stimuli the model never saw: every variant tried",
        "description": (
            f"Trained on sub {result['train_subjects']}, measured on the validation subjects sub "
            f"{result['validation_subjects']} under seen-clips (one model on every clip) and unseen-clips "
            "(3 clip folds, each clip predicted by a model that never saw it). Selection: "
            f"{result['selection']}. Chosen on these same subjects, so the kept variant's figure is "
            "optimistic by the selection."
        ),
        "tables": [_table(result)],
        **result,
        "provenance": provenance(),
    }
    emit_json(record, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
