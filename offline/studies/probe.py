"""Encoding probe study: do classifiers never shown the V-axis rediscover it?

A population of classifiers (architectures, capacities, seeds, training lengths; see
:func:`population`) is trained on the emotion labels alone (task loss only) on the
training subjects. For each one, on the validation subjects:

* ``bacc``: balanced accuracy over the 9 classes (3 windows of 10 s per clip);
* ``encoding``: the V-axis encoding strength of its penultimate representation,
  the held-out r of a linear probe onto the class's V-axis coordinate
  (:mod:`offline.studies.encoding` gives the exact procedure);
* ``encoding_percentile``: that r's percentile among the same probe's r for
  ``n_random`` random directions of the language model's space.

The paper's claim is the correlation across classifiers, ``r_encoding_bacc`` (Pearson,
with its two-sided ``p_value``): classifiers that classify better encode the V-axis
more strongly. That correlation alone is not about the V-axis: a classifier that
separates the classes better also encodes *any* class-level ordering better. The
headline is therefore its **specificity** (``specificity``, :func:`probe_specificity`):
the same correlation for each random direction of the language model's space (the
``random_encoding`` of every classifier, the random directions' probe r), the
correlation of BACC with each classifier's median random-direction encoding
(``r_random_median``), and the rank of the V-axis's correlation among the random
directions' own (``p_rank`` = (1 + #{random r >= V-axis r}) / (1 + n_random)); and the mean encoding
percentile over classifiers with a bootstrap 95 % interval over classifiers
(``percentile_mean``, ``percentile_ci95``).
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from offline.stats import ALPHA, mean_ci, rank_p
from offline.training.metrics import pearson

from .common import Arch, StudyData, TrainConfig, balanced_accuracy, predict, train_model
from .encoding import EncodingSettings, encoding_strength, random_axis_coordinates
from .runner import RayOptions, StudyFolder, run_trials, write_json

__all__ = ["POPULATION_ARCHS", "ProbeSettings", "population", "probe_specificity", "probe_trial", "probe_verdict",
           "run_probe"]

log = logging.getLogger(__name__)

#: Architectures of the population, cycled in this order.
POPULATION_ARCHS: tuple[Arch, ...] = (
    Arch("linear", 32, 0),
    Arch("mlp", 64, 1),
    Arch("denet", 32, 1),
    Arch("transformer", 32, 1),
    Arch("mlp", 256, 2),
    Arch("denet", 64, 2),
    Arch("linear", 8, 0),
    Arch("transformer", 64, 2),
    Arch("denet", 96, 3),
)

#: Training-length fraction of each successive pass over :data:`POPULATION_ARCHS`.
EPOCH_FRACTIONS = (1.0, 0.4, 0.7, 0.2)


@dataclass(frozen=True)
class ProbeSettings:
    """Settings of the probe study (the CPU-sized default; ``paper()`` for the paper's size).

    Attributes
    ----------
    faced_root : str
    train, val : str
        Training and validation subjects.
    n : int
        Classifiers in the population.
    epochs : int
        Epochs of the longest-trained classifiers (others train a fraction, see
        :func:`population`).
    n_random : int
        Random directions of the encoding percentile.
    axis : str or None
        V-axis folder (None: the shipped axis).
    """

    faced_root: str
    train: str = "0-39"
    val: str = "80-99"
    n: int = 18
    epochs: int = 10
    n_random: int = 1000
    axis: str | None = None

    def __post_init__(self) -> None:
        if self.n < 3:
            raise ValueError(f"n must be >= 3 classifiers for a correlation, got {self.n}")
        if self.epochs < 1:
            raise ValueError(f"epochs must be >= 1, got {self.epochs}")

    @classmethod
    def paper(cls, faced_root: str, **kwargs: Any) -> ProbeSettings:
        """The paper's size: 36 classifiers on sub000-079, up to 40 epochs."""
        return cls(faced_root, **{"train": "0-79", "n": 36, "epochs": 40, **kwargs})


def population(n: int, epochs: int) -> list[dict[str, Any]]:
    """The trials: classifier ``i`` has architecture ``POPULATION_ARCHS[i % 9]``,
    ``max(1, round(epochs · EPOCH_FRACTIONS[i // 9 % 4]))`` epochs and seed ``i``."""
    trials = []
    for i in range(n):
        arch = POPULATION_ARCHS[i % len(POPULATION_ARCHS)]
        frac = EPOCH_FRACTIONS[(i // len(POPULATION_ARCHS)) % len(EPOCH_FRACTIONS)]
        ep = max(1, round(epochs * frac))
        trials.append({"id": f"{i:03d}-{arch.label()}-e{ep}", "arch": asdict(arch),
                       "epochs": ep, "seed": i})
    return trials


def probe_trial(trial: dict[str, Any], context: tuple[StudyData, int]) -> dict[str, Any]:
    """Train one classifier and measure its BACC and V-axis encoding."""
    data, n_random = context
    arch = Arch(**trial["arch"])
    nets = train_model(data, arch, TrainConfig(epochs=trial["epochs"], seed=trial["seed"]))
    proba, reps = predict(nets, data.val_x)
    rand = random_axis_coordinates(data.centroids, data.center, n_random, seed=0)
    enc = encoding_strength(reps[0], data.val_y, data.coordinates, data.val_subject, rand,
                            EncodingSettings(n_random=n_random), return_null=True)
    random_r = enc.pop("random_r")
    return {
        "bacc": balanced_accuracy(data.val_y, proba),
        **enc,
        "random_encoding": [round(v, 6) for v in random_r],
        "rep_dim": int(reps[0].shape[1]),
        "n_params": int(sum(p.numel() for p in nets[0].parameters())),
    }


def probe_specificity(
    bacc: np.ndarray, encoding: np.ndarray, random_encoding: np.ndarray, percentiles: np.ndarray,
    seed: int = 0,
) -> dict[str, Any]:
    """How specific to the V-axis the encoding–BACC correlation is (module notes).

    Parameters
    ----------
    bacc, encoding, percentiles : array (n_classifiers,)
        Each classifier's BACC, V-axis encoding r and encoding percentile.
    random_encoding : array (n_classifiers, n_random)
        Each classifier's probe r for every random direction (the same directions, in
        the same order, for every classifier).
    seed : int
        Seed of the bootstrap over classifiers.

    Returns
    -------
    dict
        ``r_vaxis`` (r of the V-axis encoding with BACC), ``r_random_median`` (r of each
        classifier's median random-direction encoding with BACC: how much a typical
        direction's encoding follows BACC), ``r_random_directions_median`` and
        ``r_random_p95`` (median and 95th percentile over directions of each direction's
        own r with BACC), ``p_rank`` (the V-axis's r among those), ``n_random``,
        ``percentile_mean``, ``percentile_ci95``.
    """
    bacc = np.asarray(bacc, dtype=np.float64)
    rand = np.asarray(random_encoding, dtype=np.float64)
    if rand.ndim != 2 or rand.shape[0] != len(bacc):
        raise ValueError(f"random encodings of shape {rand.shape} for {len(bacc)} classifiers")
    r_vaxis = pearson(encoding, bacc)
    r_random = np.array([pearson(rand[:, j], bacc) for j in range(rand.shape[1])])
    finite = r_random[np.isfinite(r_random)]
    pct = np.asarray(percentiles, dtype=np.float64)
    return {
        "r_vaxis": r_vaxis,
        "r_random_median": pearson(np.nanmedian(rand, axis=1), bacc),
        "r_random_directions_median": float(np.median(finite)) if len(finite) else float("nan"),
        "r_random_p95": float(np.percentile(finite, 95)) if len(finite) else float("nan"),
        "p_rank": rank_p(r_vaxis, finite),
        "n_random": int(len(finite)),
        "percentile_mean": float(pct.mean()),
        "percentile_ci95": list(mean_ci(pct, seed=seed)),
    }


def probe_verdict(rec: dict[str, Any], alpha: float = ALPHA) -> str:
    """The verdict on the paper's probe claim from a results record.

    ``reproduced``: encoding correlates with BACC (r > 0, ``p_value < alpha``), more than
    for random directions (``specificity.p_rank < alpha``), and the mean encoding
    percentile is at least 90 with its 95 % interval above 50; ``partly``: the
    correlation beats random directions, or the percentile's interval lies above 50,
    but not all of the above; ``not reproduced``: neither (a correlation that random
    directions share is not evidence about the V-axis). Without ``specificity``:
    ``not tested``.
    """
    spec = rec.get("specificity")
    if not spec:
        return "not tested"
    r, p = rec["r_encoding_bacc"], rec["p_value"]
    correlated = r == r and r > 0 and p == p and p < alpha
    specific = spec["p_rank"] == spec["p_rank"] and spec["p_rank"] < alpha
    above_random = spec["percentile_ci95"][0] > 50
    if correlated and specific and above_random and spec["percentile_mean"] >= 90:
        return "reproduced"
    return "partly" if specific or above_random else "not reproduced"


def run_probe(settings: ProbeSettings, out: str | Path, options: RayOptions = RayOptions(),
              progress: bool = True) -> dict[str, Any]:
    """Run (or resume) the study; write ``results.json``, ``summary.md``, ``scatter.png``."""
    from scipy import stats

    from bci_valence.provenance import provenance

    from .common import load_study_data

    folder = StudyFolder(out, "probe", asdict(settings))
    data = load_study_data(settings.faced_root, settings.train, settings.val, settings.axis,
                           progress=progress)
    trials = population(settings.n, settings.epochs)
    done = run_trials(folder, trials, probe_trial, (data, settings.n_random), options, progress)
    rows = [{**d["trial"], "arch": Arch(**d["trial"]["arch"]).label(), **d["result"],
             "seconds": d["seconds"]} for d in done]
    bacc = np.array([r["bacc"] for r in rows])
    enc = np.array([r["encoding"] for r in rows])
    if len(rows) >= 3 and bacc.std() > 0 and enc.std() > 0:
        pr = stats.pearsonr(enc, bacc)
        r_val, p_val = float(pr.statistic), float(pr.pvalue)
        rho = float(stats.spearmanr(enc, bacc).statistic)
    else:
        r_val = p_val = rho = float("nan")
    result = {
        "study": "probe",
        "trials": rows,
        "r_encoding_bacc": r_val,
        "p_value": p_val,
        "spearman_encoding_bacc": rho,
        "mean_encoding_percentile": float(np.mean([r["encoding_percentile"] for r in rows])),
        "specificity": (probe_specificity(bacc, enc, np.array([r["random_encoding"] for r in rows]),
                                          np.array([r["encoding_percentile"] for r in rows]))
                        if len(rows) >= 3 and all("random_encoding" in r for r in rows) else None),
        "n_trials": len(rows),
        "n_planned": len(trials),
        "train_subjects": settings.train,
        "val_subjects": settings.val,
        "axis": data.axis_info,
        "settings": asdict(settings),
        "definition": __doc__.strip(),
        "provenance": provenance(),
    }
    result["verdict"] = probe_verdict(result)
    write_json(folder.path / "results.json", result)
    _scatter(rows, result, folder.path / "scatter.png")
    (folder.path / "summary.md").write_text(summary_markdown(result), encoding="utf-8")
    return result


def _scatter(rows: list[dict[str, Any]], result: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.2, 4))
    kinds = sorted({r["arch"].split("-")[0] for r in rows})
    for kind in kinds:
        sel = [r for r in rows if r["arch"].startswith(kind)]
        ax.scatter([r["encoding"] for r in sel], [r["bacc"] for r in sel], label=kind, s=28)
    ax.axhline(1 / 9, color="grey", lw=0.8, ls=":", label="chance")
    ax.set_xlabel("V-axis encoding (held-out probe r)")
    ax.set_ylabel("validation BACC")
    ax.set_title(f"{len(rows)} classifiers: r = {result['r_encoding_bacc']:+.3f}, "
                 f"p = {result['p_value']:.2g}", fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)


def summary_markdown(result: dict[str, Any]) -> str:
    """The study's Markdown summary."""
    lines = [
        "# Encoding probe: V-axis encoding vs BACC across classifiers",
        "",
        f"{result['n_trials']} classifiers trained on the emotion labels only (sub "
        f"{result['train_subjects']}), measured on sub {result['val_subjects']}; "
        f"{result['provenance']['date']}.",
        "",
        "**Encoding** = cross-validated (by subject, 2 folds) Pearson r of a ridge probe "
        "from the classifier's penultimate representation onto the V-axis coordinate of "
        "each window's class; **percentile** = its rank among the same probe's r for "
        f"{result['settings']['n_random']} random unit directions of the language model's "
        "space (50 = no more than class identity alone gives).",
        "",
        f"Correlation of encoding with BACC across classifiers: r = {result['r_encoding_bacc']:+.3f} "
        f"(p = {result['p_value']:.2g}; Spearman {result['spearman_encoding_bacc']:+.3f}); "
        f"mean encoding percentile {result['mean_encoding_percentile']:.1f}.",
        "",
    ]
    spec = result.get("specificity")
    if spec:
        lines += [
            f"Specificity: each classifier's median random-direction encoding correlates with BACC at r = "
            f"{spec['r_random_median']:+.3f}, the V-axis encoding at {spec['r_vaxis']:+.3f}; among "
            f"{spec['n_random']} random directions' own correlations with BACC (median "
            f"{spec['r_random_directions_median']:+.3f}) the V-axis's ranks with p = {spec['p_rank']:.3g}. "
            "Mean encoding percentile "
            f"{spec['percentile_mean']:.1f} (95 % interval over classifiers {spec['percentile_ci95'][0]:.1f}–"
            f"{spec['percentile_ci95'][1]:.1f}).",
            "",
        ]
    lines += [
        "| # | architecture | epochs | BACC | encoding | percentile |",
        "|---|---|---|---|---|---|",
    ]
    for r in result["trials"]:
        lines.append(f"| {r['seed']} | {r['arch']} | {r['epochs']} | {r['bacc']:.3f} | "
                     f"{r['encoding']:.3f} | {r['encoding_percentile']:.1f} |")
    lines += ["", "![scatter](scatter.png)", "", f"Command: `{result['provenance']['command']}`", ""]
    return "\n".join(lines)
