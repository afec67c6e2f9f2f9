"""Residual-subspace study: what an auxiliary V-axis loss moves, and a residual-diverse ensemble.

Decomposition
-------------
For a trained classifier, the **V-axis direction** ``d`` of its representation is the
unit direction of a ridge probe (z-scored features, penalty ``0.1 · n``) fitted on the
training subjects' windows onto the class's V-axis coordinate. On the validation
subjects, each window's projection ``p = (h - mean_train) · d`` splits into a
**class-mean component** ``m`` (the mean of ``p`` over the validation windows of the
window's class) and a **within-class residual** ``e = p - m``. Per model:

* ``r_class_mean``: Pearson r between ``m`` and the class coordinate ``c[y]``;
* ``r_residual``: Pearson r between ``e`` and ``c[y]``. It is zero up to rounding for
  any model and any loss, by construction (``e`` has zero mean within every class and
  ``c[y]`` is constant within a class), so it is kept as a figure and never used as a
  check;
* ``r_residual_rating``: Pearson r between ``e`` and the within-class part of the
  subject's own valence rating of the clip (rating minus its class mean): whether
  the residual carries valence beyond the class;
* ``class_mean_share``: the share of the whole representation's variance that lies
  in the class means;
* ``delta_bacc_remove``: BACC with ``d`` projected out of the representation before
  the head, minus BACC (for models trained with the auxiliary loss also
  ``delta_bacc_remove_head``, removing the axis head's own direction).

The auxiliary loss is the project's ``distill`` stage (``kd_distill`` of
:mod:`.saturation`); ``task`` and ``kd`` models with the same seed are paired, and
``delta_abs_r_class_mean`` / ``delta_abs_r_residual`` are the kd − task differences of
``|r|``.

Checks (``checks``, :func:`residual_checks`), each a paired test over seeds:

* ``class_mean``: kd − task difference of ``|r_class_mean|``; the loss moves the
  class-mean component when its mean is > 0 with ``p < 0.05``;
* ``residual_rating``: kd − task difference of ``|r_residual_rating|``; the loss leaves
  the residual alone when that difference is not significant (``p >= 0.05``) and
  smaller in size than the class-mean one. This can fail: a loss that made the
  residual follow (or stop following) the person's own rating would move it;
* ``remove``: ``delta_bacc_remove`` of the distilled models; removing the direction
  costs BACC when its mean is < 0 with ``p < 0.05``.

Ensembles
---------
``seed``: ``members`` networks trained side by side on the same batches with
independent seeds (the shipped recipe's seed ensemble, batch order shared).
``diverse``: the same, plus a penalty ``diversity ·`` (mean pairwise Pearson r of the
members' within-class logit residuals: logits minus the batch mean logits of the
sample's class), so the members differ where the class does not decide. Each reports
the ensemble BACC and the members' mean pairwise residual correlation on validation,
and, with ``unseen_clips``, the BACC under the project's ``unseen-clips`` protocol
(:func:`offline.training.protocol_test_clips`: 3 clip folds, each ensemble trained on
the training subjects' other clips predicts the validation subjects' held-out clips;
every clip is predicted once).

``ensemble_test`` (:func:`ensemble_test`): per seed, the diverse minus the seed
ensemble's BACC, paired over seeds (t interval, t-test), and the relative gain
``mean(diverse) / mean(seed) − 1`` (the paper reports +10.5 %); the same for the
unseen-clips protocol.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from offline.stats import ALPHA, paired_test
from offline.training.metrics import pearson

from .common import (
    Arch,
    AuxLoss,
    StudyData,
    TrainConfig,
    balanced_accuracy,
    predict,
    train_model,
)
from .runner import RayOptions, StudyFolder, run_trials, write_json
from .saturation import STRATEGIES

__all__ = ["ResidualSettings", "decompose", "ensemble_test", "ensemble_verdict", "residual_checks",
           "residual_trial", "residual_verdict", "run_residual"]

#: Seeds the ensemble comparison needs before its verdict can be ``reproduced``.
MIN_ENSEMBLE_SEEDS = 5

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ResidualSettings:
    """Settings of the residual study (CPU-sized default; ``paper()`` for the paper's size).

    Attributes
    ----------
    faced_root : str
    train, val : str
    seeds : int
    epochs : int
    width, depth : int
        The project's DE network (``denet``) for every model.
    members : int
        Ensemble size.
    diversity : float
        Weight of the residual-diversity penalty.
    unseen_clips : bool
        Also compare the ensembles under the ``unseen-clips`` protocol.
    axis : str or None
    """

    faced_root: str
    train: str = "0-39"
    val: str = "80-99"
    seeds: int = 5
    epochs: int = 10
    width: int = 64
    depth: int = 2
    members: int = 3
    diversity: float = 0.5
    unseen_clips: bool = True
    axis: str | None = None

    def __post_init__(self) -> None:
        if self.seeds < 1 or self.epochs < 1 or self.members < 2:
            raise ValueError(
                f"seeds {self.seeds}, epochs {self.epochs}, members {self.members}: expected "
                "seeds >= 1, epochs >= 1, members >= 2"
            )

    @classmethod
    def paper(cls, faced_root: str, **kwargs: Any) -> ResidualSettings:
        """The paper's size: sub000-079, 10 seeds, 30 epochs, 5 members."""
        return cls(faced_root, **{"train": "0-79", "seeds": 10, "epochs": 30, "members": 5, **kwargs})


def _probe_direction(rep_train: np.ndarray, target: np.ndarray, alpha: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """Unit direction (raw representation space) of a ridge probe, and the centering mean."""
    mu, sd = rep_train.mean(axis=0), rep_train.std(axis=0)
    sd[sd < 1e-12] = 1.0
    x = (rep_train - mu) / sd
    n, d = x.shape
    w = np.linalg.solve(x.T @ x + alpha * n * np.eye(d), x.T @ (target - target.mean())) / sd
    return w / np.linalg.norm(w), mu


def decompose(rep: np.ndarray, direction: np.ndarray, mean: np.ndarray, labels: np.ndarray,
              coordinates: np.ndarray, rating: np.ndarray) -> dict[str, float]:
    """Class-mean / residual decomposition of ``rep`` along ``direction`` (module notes)."""
    labels = np.asarray(labels)
    p = (rep - mean) @ direction
    classes = np.unique(labels)
    m = np.zeros_like(p)
    rating_within = np.asarray(rating, float).copy()
    centered = rep - rep.mean(axis=0)
    class_means = np.zeros_like(rep)
    for k in classes:
        sel = labels == k
        m[sel] = p[sel].mean()
        rating_within[sel] -= rating_within[sel].mean()
        class_means[sel] = rep[sel].mean(axis=0)
    e = p - m
    target = np.asarray(coordinates, float)[labels]
    total = float((centered**2).sum())
    return {
        "r_class_mean": pearson(m, target),
        "r_residual": pearson(e, target),
        "r_residual_rating": pearson(e, rating_within),
        "class_mean_share": float(((class_means - rep.mean(axis=0)) ** 2).sum() / total) if total > 0 else float("nan"),
        "direction_class_mean_share": float(np.var(m) / np.var(p)) if np.var(p) > 0 else float("nan"),
    }


def residual_trials(settings: ResidualSettings) -> list[dict[str, Any]]:
    """Per seed: a task-only model, a distilled one, a seed ensemble, a diverse ensemble."""
    arch = asdict(Arch("denet", settings.width, settings.depth))
    trials = []
    for seed in range(settings.seeds):
        for kind in ("task", "kd"):
            trials.append({"id": f"{kind}-s{seed}", "kind": kind, "arch": arch,
                           "epochs": settings.epochs, "seed": seed})
        for kind, div in (("seed", 0.0), ("diverse", settings.diversity)):
            trials.append({"id": f"{kind}_ensemble-s{seed}", "kind": f"{kind}_ensemble", "arch": arch,
                           "epochs": settings.epochs, "seed": seed, "members": settings.members,
                           "diversity": div})
            if settings.unseen_clips:
                trials.append({"id": f"{kind}_ensemble_unseen-s{seed}", "kind": f"{kind}_ensemble_unseen",
                               "arch": arch, "epochs": settings.epochs, "seed": seed,
                               "members": settings.members, "diversity": div})
    return trials


def _residual_correlation(nets: list[Any], data: StudyData) -> float:
    """Mean pairwise Pearson r of members' within-class logit residuals on validation."""
    import torch

    x = torch.from_numpy(np.array(data.val_x, dtype=np.float32))
    res = []
    with torch.inference_mode():
        for net in nets:
            logits = net.head(net.representation(x)).numpy().astype(np.float64)
            for k in np.unique(data.val_y):
                sel = data.val_y == k
                logits[sel] -= logits[sel].mean(axis=0)
            res.append(logits.ravel())
    rs = [pearson(res[a], res[b]) for a in range(len(res)) for b in range(a + 1, len(res))]
    return float(np.mean(rs))


def residual_trial(trial: dict[str, Any], data: StudyData) -> dict[str, Any]:
    """Train one model or ensemble and measure it (module notes)."""
    import torch

    arch = Arch(**trial["arch"])
    config = TrainConfig(epochs=trial["epochs"], seed=trial["seed"])
    if trial["kind"].endswith("_ensemble_unseen"):
        from bci_valence.constants import CLIP_LABELS, N_CLIPS
        from offline.training import protocol_test_clips

        proba = np.full((len(data.val_y), 9), np.nan)
        for held_out in protocol_test_clips("unseen-clips", CLIP_LABELS):
            nets = train_model(data, arch, config, n_members=trial["members"], diversity=trial["diversity"],
                               train_clips=np.setdiff1d(np.arange(N_CLIPS), held_out))
            sel = np.isin(data.val_clip, held_out)
            proba[sel] = predict(nets, data.val_x[sel])[0]
        return {"bacc": balanced_accuracy(data.val_y, proba)}
    if trial["kind"].endswith("_ensemble"):
        nets = train_model(data, arch, config, n_members=trial["members"], diversity=trial["diversity"])
        proba, _ = predict(nets, data.val_x)
        return {"bacc": balanced_accuracy(data.val_y, proba),
                "member_bacc": [balanced_accuracy(data.val_y, predict([n], data.val_x)[0]) for n in nets],
                "residual_correlation": _residual_correlation(nets, data)}
    aux = STRATEGIES["kd_distill"][1] if trial["kind"] == "kd" else AuxLoss()
    net = train_model(data, arch, config, aux)[0]
    proba, (rep,) = predict([net], data.val_x)
    bacc = balanced_accuracy(data.val_y, proba)
    train = data.train_windows()
    rng = np.random.default_rng(trial["seed"])
    pick = rng.choice(len(train["x"]), size=min(len(train["x"]), 2520), replace=False)
    _, (rep_train,) = predict([net], train["x"][pick])
    direction, mean = _probe_direction(rep_train, data.coordinates[train["y"][pick]])
    out: dict[str, Any] = {"bacc": bacc, **decompose(rep, direction, mean, data.val_y, data.coordinates,
                                                    data.val_rating)}

    def remove(d: np.ndarray, mu: np.ndarray) -> Any:
        dt, mt = torch.from_numpy(d.astype(np.float32)), torch.from_numpy(mu.astype(np.float32))
        return lambda k, r: r - ((r - mt) @ dt)[:, None] * dt[None, :]

    out["delta_bacc_remove"] = balanced_accuracy(
        data.val_y, predict([net], data.val_x, edit=remove(direction, mean))[0]) - bacc
    if trial["kind"] == "kd":
        head = net.axis_head.weight.detach().numpy()[0].astype(np.float64)
        out["delta_bacc_remove_head"] = balanced_accuracy(
            data.val_y, predict([net], data.val_x, edit=remove(head / np.linalg.norm(head), mean))[0]) - bacc
    return out


def _by_seed(rows: list[dict[str, Any]], kind: str) -> dict[int, dict[str, Any]]:
    return {r["seed"]: r for r in rows if r["kind"] == kind}


def residual_checks(rows: list[dict[str, Any]], alpha: float = ALPHA) -> dict[str, Any]:
    """The decomposition's three checks from the trials (module notes, "Checks").

    Returns
    -------
    dict
        ``class_mean``, ``residual_rating``, ``remove``: each a paired test
        (:meth:`offline.stats.PairedResult.to_dict`) plus ``passed``; ``n_seeds``.
    """
    task, kd = _by_seed(rows, "task"), _by_seed(rows, "kd")
    seeds = sorted(set(task) & set(kd))
    cm = paired_test([abs(kd[s]["r_class_mean"]) for s in seeds], [abs(task[s]["r_class_mean"]) for s in seeds])
    rr = paired_test([abs(kd[s]["r_residual_rating"]) for s in seeds],
                     [abs(task[s]["r_residual_rating"]) for s in seeds])
    rm = paired_test([kd[s]["delta_bacc_remove"] for s in seeds])

    def sig(res: Any) -> bool:
        return res.n >= 2 and res.p == res.p and res.p < alpha

    return {
        "n_seeds": len(seeds),
        "class_mean": {**cm.to_dict(), "passed": bool(sig(cm) and cm.mean > 0)},
        "residual_rating": {**rr.to_dict(),
                            "passed": bool(rr.n >= 2 and not sig(rr) and abs(rr.mean) < abs(cm.mean))},
        "remove": {**rm.to_dict(), "passed": bool(sig(rm) and rm.mean < 0)},
        "alpha": alpha,
    }


def residual_verdict(checks: dict[str, Any]) -> str:
    """``reproduced``: all three checks pass; ``partly``: the class-mean or the removal
    check passes (the residual check alone is an absence of an effect and reproduces
    nothing by itself); ``not reproduced``: neither."""
    substantive = [checks["class_mean"]["passed"], checks["remove"]["passed"]]
    if all(substantive) and checks["residual_rating"]["passed"]:
        return "reproduced"
    return "partly" if any(substantive) else "not reproduced"


def ensemble_test(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Residual-diverse vs seed ensemble, paired over seeds (module notes).

    Returns
    -------
    dict
        ``validation`` and ``unseen_clips`` (absent without those trials): paired test
        of diverse − seed BACC (:meth:`offline.stats.PairedResult.to_dict`),
        ``seed_bacc``, ``diverse_bacc`` (means) and ``relative_gain``.
    """
    out: dict[str, Any] = {}
    for key, suffix in (("validation", ""), ("unseen_clips", "_unseen")):
        seed, div = _by_seed(rows, f"seed_ensemble{suffix}"), _by_seed(rows, f"diverse_ensemble{suffix}")
        seeds = sorted(set(seed) & set(div))
        if not seeds:
            continue
        a, b = [div[s]["bacc"] for s in seeds], [seed[s]["bacc"] for s in seeds]
        res = paired_test(a, b)
        out[key] = {**res.to_dict(), "seed_bacc": float(np.mean(b)), "diverse_bacc": float(np.mean(a)),
                    "relative_gain": float(np.mean(a) / np.mean(b) - 1.0)}
    return out


def ensemble_verdict(test: dict[str, Any], alpha: float = ALPHA, min_seeds: int = MIN_ENSEMBLE_SEEDS) -> str:
    """``reproduced``: the diverse ensemble beats the seed ensemble on the validation
    subjects (mean > 0, paired ``p < alpha``) over at least ``min_seeds`` seeds;
    ``partly``: it does so only under the unseen-clips protocol; ``not reproduced``:
    otherwise (including too few seeds)."""

    def wins(key: str) -> bool:
        t = test.get(key)
        return bool(t and t["n"] >= min_seeds and t["mean"] > 0 and t["p"] == t["p"] and t["p"] < alpha)

    if wins("validation"):
        return "reproduced"
    return "partly" if wins("unseen_clips") else "not reproduced"


def run_residual(settings: ResidualSettings, out: str | Path, options: RayOptions = RayOptions(),
                 progress: bool = True) -> dict[str, Any]:
    """Run (or resume) the study; write ``results.json``, ``summary.md``, ``residual.png``."""
    from scipy import stats

    from bci_valence.provenance import provenance

    from .common import load_study_data

    folder = StudyFolder(out, "residual", asdict(settings))
    data = load_study_data(settings.faced_root, settings.train, settings.val, settings.axis,
                           progress=progress)
    trials = residual_trials(settings)
    done = run_trials(folder, trials, residual_trial, data, options, progress)
    rows = [{**{k: v for k, v in d["trial"].items() if k != "arch"},
             "arch": Arch(**d["trial"]["arch"]).label(), **d["result"], "seconds": d["seconds"]}
            for d in done]
    by = {(r["kind"], r["seed"]): r for r in rows}
    seeds = sorted({r["seed"] for r in rows})
    pairs = [(by[("task", s)], by[("kd", s)]) for s in seeds if ("task", s) in by and ("kd", s) in by]
    ens = [(by[("seed_ensemble", s)], by[("diverse_ensemble", s)]) for s in seeds
           if ("seed_ensemble", s) in by and ("diverse_ensemble", s) in by]
    unseen = [(by[("seed_ensemble_unseen", s)], by[("diverse_ensemble_unseen", s)]) for s in seeds
              if ("seed_ensemble_unseen", s) in by and ("diverse_ensemble_unseen", s) in by]

    def mean(values: list[float]) -> float:
        return float(np.mean(values)) if values else float("nan")

    d_cm = [abs(k["r_class_mean"]) - abs(t["r_class_mean"]) for t, k in pairs]
    d_res = [abs(k["r_residual"]) - abs(t["r_residual"]) for t, k in pairs]
    d_ens = [d["bacc"] - s["bacc"] for s, d in ens]
    d_unseen = [d["bacc"] - s["bacc"] for s, d in unseen]

    def paired_p(d: list[float]) -> float:
        return float(stats.ttest_1samp(d, 0.0).pvalue) if len(d) >= 2 and np.std(d) > 0 else float("nan")

    p_ens, p_unseen = paired_p(d_ens), paired_p(d_unseen)
    result = {
        "study": "residual",
        "trials": rows,
        "delta_abs_r_class_mean": d_cm,
        "delta_abs_r_residual": d_res,
        "mean_delta_abs_r_class_mean": mean(d_cm),
        "mean_delta_abs_r_residual": mean(d_res),
        "delta_bacc_remove_task": mean([t["delta_bacc_remove"] for t, _ in pairs]),
        "delta_bacc_remove_kd": mean([k["delta_bacc_remove"] for _, k in pairs]),
        "delta_bacc_remove_kd_head": mean([k["delta_bacc_remove_head"] for _, k in pairs]),
        "ensemble": {
            "seed_bacc": mean([s["bacc"] for s, _ in ens]),
            "diverse_bacc": mean([d["bacc"] for _, d in ens]),
            "delta_bacc": mean(d_ens),
            "p": p_ens,
            "seed_residual_correlation": mean([s["residual_correlation"] for s, _ in ens]),
            "diverse_residual_correlation": mean([d["residual_correlation"] for _, d in ens]),
            "diverse_wins": bool(d_ens and mean(d_ens) > 0 and p_ens < 0.05),
            "unseen_clips_seed_bacc": mean([s["bacc"] for s, _ in unseen]),
            "unseen_clips_diverse_bacc": mean([d["bacc"] for _, d in unseen]),
            "unseen_clips_delta_bacc": mean(d_unseen),
            "unseen_clips_p": p_unseen,
        },
        "checks": residual_checks(rows),
        "ensemble_test": ensemble_test(rows),
        "n_trials": len(rows),
        "n_planned": len(trials),
        "axis": data.axis_info,
        "settings": asdict(settings),
        "definition": __doc__.strip(),
        "provenance": provenance(),
    }
    result["verdict"] = residual_verdict(result["checks"])
    result["ensemble_verdict"] = ensemble_verdict(result["ensemble_test"])
    write_json(folder.path / "results.json", result)
    _plot(pairs, ens, folder.path / "residual.png")
    (folder.path / "summary.md").write_text(summary_markdown(result), encoding="utf-8")
    return result


def _plot(pairs: list[tuple[dict, dict]], ens: list[tuple[dict, dict]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(8.4, 3.4))
    ax = axes[0]
    labels = ["|r| class mean", "|r| residual", "r residual–rating"]
    keys = ["r_class_mean", "r_residual", "r_residual_rating"]
    for j, (kind, color) in enumerate((("task", "tab:blue"), ("kd", "tab:orange"))):
        for i, key in enumerate(keys):
            vals = [abs(p[j][key]) if i < 2 else p[j][key] for p in pairs]
            ax.scatter(np.full(len(vals), i + (j - 0.5) * 0.25), vals, color=color, s=18,
                       label=kind if i == 0 else None)
    ax.set_xticks(range(3), labels, fontsize=8)
    ax.axhline(0, color="k", lw=0.6)
    ax.set_title("along the V-axis direction (validation)", fontsize=9)
    ax.legend(fontsize=8)
    ax = axes[1]
    for s, d in ens:
        ax.plot([0, 1], [s["bacc"], d["bacc"]], "o-", color="tab:grey")
    ax.set_xticks([0, 1], ["seed ensemble", "residual-diverse"], fontsize=8)
    ax.set_ylabel("validation BACC")
    ax.set_title("ensembles (one line per seed)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)


def summary_markdown(result: dict[str, Any]) -> str:
    """The study's Markdown summary."""
    s, e = result["settings"], result["ensemble"]
    lines = [
        "# Residual subspace: class-mean vs within-class residual",
        "",
        f"DE network {s['width']}×{s['depth']}, sub {s['train']} → sub {s['val']}, {s['seeds']} seeds, "
        f"{s['epochs']} epochs; {result['provenance']['date']}.",
        "",
        "| figure | value |",
        "|---|---|",
        f"| Δ\\|r\\| class-mean component (distilled − task-only) | {result['mean_delta_abs_r_class_mean']:+.4f} |",
        f"| Δ\\|r\\| within-class residual vs class coordinate (zero by construction, not a check) | "
        f"{result['mean_delta_abs_r_residual']:+.2e} |",
        f"| ΔBACC, V-axis direction removed at inference (task-only) | {result['delta_bacc_remove_task']:+.4f} |",
        f"| ΔBACC, V-axis direction removed at inference (distilled) | {result['delta_bacc_remove_kd']:+.4f} |",
        f"| ΔBACC, axis-head direction removed (distilled) | {result['delta_bacc_remove_kd_head']:+.4f} |",
        f"| seed ensemble BACC ({s['members']} members) | {e['seed_bacc']:.4f} |",
        f"| residual-diverse ensemble BACC | {e['diverse_bacc']:.4f} (Δ {e['delta_bacc']:+.4f}, p {e['p']:.3g}) |",
        f"| unseen-clips protocol: seed / residual-diverse ensemble BACC | {e['unseen_clips_seed_bacc']:.4f} / "
        f"{e['unseen_clips_diverse_bacc']:.4f} (Δ {e['unseen_clips_delta_bacc']:+.4f}, p {e['unseen_clips_p']:.3g}) |",
        f"| members' residual correlation: seed / diverse | {e['seed_residual_correlation']:.3f} / "
        f"{e['diverse_residual_correlation']:.3f} |",
        "",
        "Checks (paired over seeds): "
        + "; ".join(f"{name} {chk['mean']:+.4f} (p = {chk['p']:.3g}): {'passed' if chk['passed'] else 'failed'}"
                    for name, chk in ((k, result["checks"][k]) for k in ("class_mean", "residual_rating", "remove")))
        + f". Verdict: **{result['verdict']}**; residual-diverse ensemble: **{result['ensemble_verdict']}**.",
        "",
        "| trial | BACC | r class mean | r residual | r residual–rating | class-mean share | ΔBACC removed |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in result["trials"]:
        if r["kind"] in ("task", "kd"):
            lines.append(f"| {r['id']} | {r['bacc']:.4f} | {r['r_class_mean']:+.3f} | {r['r_residual']:+.1e} | "
                         f"{r['r_residual_rating']:+.3f} | {r['class_mean_share']:.3f} | {r['delta_bacc_remove']:+.4f} |")
    lines += ["", "![residual](residual.png)", "", f"Command: `{result['provenance']['command']}`", ""]
    return "\n".join(lines)
