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

The study's claim is the correlation across classifiers, ``r_encoding_bacc`` (Pearson,
with its two-sided ``p_value``): classifiers that classify better encode the V-axis
more strongly.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .common import Arch, StudyData, TrainConfig, balanced_accuracy, predict, train_model
from .encoding import EncodingSettings, encoding_strength, random_axis_coordinates
from .runner import RayOptions, StudyFolder, run_trials, write_json

__all__ = ["POPULATION_ARCHS", "ProbeSettings", "population", "probe_trial", "run_probe"]

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
                            EncodingSettings(n_random=n_random))
    return {
        "bacc": balanced_accuracy(data.val_y, proba),
        **enc,
        "rep_dim": int(reps[0].shape[1]),
        "n_params": int(sum(p.numel() for p in nets[0].parameters())),
    }


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
        "n_trials": len(rows),
        "n_planned": len(trials),
        "train_subjects": settings.train,
        "val_subjects": settings.val,
        "axis": data.axis_info,
        "settings": asdict(settings),
        "definition": __doc__.strip(),
        "provenance": provenance(),
    }
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
        "| # | architecture | epochs | BACC | encoding | percentile |",
        "|---|---|---|---|---|---|",
    ]
    for r in result["trials"]:
        lines.append(f"| {r['seed']} | {r['arch']} | {r['epochs']} | {r['bacc']:.3f} | "
                     f"{r['encoding']:.3f} | {r['encoding_percentile']:.1f} |")
    lines += ["", "![scatter](scatter.png)", "", f"Command: `{result['provenance']['command']}`", ""]
    return "\n".join(lines)
