"""Encoding probe study: do classifiers never shown the V-axis rediscover it?

A population of classifiers is trained on the emotion labels alone (task loss only) on
the training subjects: configurations (architecture, capacity, training length) drawn
evenly from :data:`CONFIGURATIONS`, which runs from the least capacity and training to
the most so that the population spans low to high accuracy, each trained with at least
:data:`MIN_SEEDS` seeds (:func:`population`). For each classifier, on the validation
subjects:

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
percentile with a bootstrap 95 % interval (``percentile_mean``, ``percentile_ci95``).

Seeds of one configuration are not independent classifiers: the headline figures
(``r_encoding_bacc``, ``p_value``, ``specificity``, the verdict) are computed over
configurations, each the mean over its seeds of BACC, encoding, percentile and every
random direction's encoding (:func:`configuration_means`, ``configurations``); the
same figures over every classifier are reported as ``per_trial``.
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

__all__ = ["CONFIGURATIONS", "MIN_SEEDS", "POPULATION_ARCHS", "ProbeSettings", "across", "configuration_indices",
           "configuration_means", "population", "probe_specificity", "probe_trial", "probe_verdict", "run_probe"]

log = logging.getLogger(__name__)

#: The population's configurations (architecture, fraction of ``epochs`` trained), from
#: the least capacity and training to the most: a population drawn evenly along this list
#: spans low to high accuracy. Fixed a priori, not from any measured accuracy.
CONFIGURATIONS: tuple[tuple[Arch, float], ...] = (
    (Arch("linear", 8, 0), 0.2),
    (Arch("linear", 8, 0), 1.0),
    (Arch("linear", 32, 0), 0.4),
    (Arch("transformer", 32, 1), 0.4),
    (Arch("denet", 32, 1), 0.4),
    (Arch("mlp", 64, 1), 0.4),
    (Arch("linear", 32, 0), 1.0),
    (Arch("transformer", 32, 1), 1.0),
    (Arch("mlp", 64, 1), 1.0),
    (Arch("denet", 64, 2), 1.0),
    (Arch("mlp", 256, 2), 1.0),
    (Arch("denet", 96, 3), 1.0),
)

#: The architectures of :data:`CONFIGURATIONS`, in order of first appearance.
POPULATION_ARCHS: tuple[Arch, ...] = tuple(dict.fromkeys(a for a, _ in CONFIGURATIONS))

#: The fewest seeds per configuration.
MIN_SEEDS = 3


@dataclass(frozen=True)
class ProbeSettings:
    """Settings of the probe study (the CPU-sized default; ``paper()`` for the paper's size).

    Attributes
    ----------
    faced_root : str
    train, val : str
        Training and validation subjects.
    n : int
        Classifiers in the population: ``n // seeds`` configurations (see
        :func:`population`), each trained with ``seeds`` seeds.
    seeds : int
        Seeds per configuration (at least :data:`MIN_SEEDS`).
    epochs : int
        Epochs of the longest-trained classifiers (others train a fraction, see
        :data:`CONFIGURATIONS`).
    n_random : int
        Random directions of the encoding percentile.
    axis : str or None
        V-axis folder (None: the shipped axis).
    """

    faced_root: str
    train: str = "0-39"
    val: str = "80-99"
    n: int = 27
    seeds: int = 3
    epochs: int = 10
    n_random: int = 1000
    axis: str | None = None

    def __post_init__(self) -> None:
        if self.seeds < MIN_SEEDS:
            raise ValueError(f"seeds must be >= {MIN_SEEDS} per configuration, got {self.seeds}")
        if self.n % self.seeds or not 3 <= self.n // self.seeds <= len(CONFIGURATIONS):
            raise ValueError(f"n = {self.n} classifiers with {self.seeds} seeds each: expected a multiple of "
                             f"{self.seeds} giving 3 to {len(CONFIGURATIONS)} configurations")
        if self.epochs < 1:
            raise ValueError(f"epochs must be >= 1, got {self.epochs}")

    @property
    def n_configurations(self) -> int:
        """Configurations in the population."""
        return self.n // self.seeds

    @classmethod
    def paper(cls, faced_root: str, **kwargs: Any) -> ProbeSettings:
        """The paper's size: 36 classifiers (12 configurations x 3 seeds) on sub000-079, up to 40 epochs."""
        return cls(faced_root, **{"train": "0-79", "n": 36, "epochs": 40, **kwargs})


def configuration_indices(n_configurations: int) -> list[int]:
    """Positions in :data:`CONFIGURATIONS` of a population of ``n_configurations``: evenly
    spaced from the first (least capacity and training) to the last (most)."""
    if not 1 <= n_configurations <= len(CONFIGURATIONS):
        raise ValueError(f"{n_configurations} configurations: expected 1 to {len(CONFIGURATIONS)}")
    if n_configurations == 1:
        return [len(CONFIGURATIONS) - 1]
    return [int(round(x)) for x in np.linspace(0, len(CONFIGURATIONS) - 1, n_configurations)]


def population(n_configurations: int, epochs: int, seeds: int = MIN_SEEDS) -> list[dict[str, Any]]:
    """The trials: ``seeds`` classifiers (seeds ``0 .. seeds - 1``) of each of ``n_configurations``
    configurations drawn evenly from :data:`CONFIGURATIONS` (:func:`configuration_indices`);
    configuration ``(arch, fraction)`` trains ``max(1, round(epochs * fraction))`` epochs.

    Returns
    -------
    list of dict
        ``id``, ``config`` (the configuration's label, shared by its seeds), ``arch`` (as a
        dict), ``epochs``, ``seed``; grouped by configuration.
    """
    if seeds < 1:
        raise ValueError(f"seeds must be >= 1, got {seeds}")
    trials = []
    for c in configuration_indices(n_configurations):
        arch, frac = CONFIGURATIONS[c]
        ep = max(1, round(epochs * frac))
        config = f"{arch.label()}-e{ep}"
        for seed in range(seeds):
            trials.append({"id": f"c{c:02d}-{config}-s{seed}", "config": config, "arch": asdict(arch),
                           "epochs": ep, "seed": seed})
    return trials


def configuration_means(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each configuration's mean over its seeds (in the order configurations first appear).

    Parameters
    ----------
    rows : list of dict
        Per trial: ``config``, ``arch``, ``epochs``, ``seed``, ``bacc``, ``encoding``,
        ``encoding_percentile`` and optionally ``random_encoding`` (list of floats).

    Returns
    -------
    list of dict
        ``config``, ``arch``, ``epochs``, ``seeds`` (list), ``n_seeds``, ``bacc`` /
        ``encoding`` / ``encoding_percentile`` (means over seeds), ``bacc_sd`` and
        ``encoding_sd`` (SD over seeds, ddof 1; NaN for one seed), and
        ``random_encoding`` (the mean over seeds of each random direction's r) where
        every seed has it.
    """
    groups: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault(r["config"], []).append(r)
    out = []
    for config, members in groups.items():
        b = np.array([m["bacc"] for m in members], dtype=np.float64)
        e = np.array([m["encoding"] for m in members], dtype=np.float64)
        row = {"config": config, "arch": members[0]["arch"], "epochs": members[0]["epochs"],
               "seeds": [m["seed"] for m in members], "n_seeds": len(members),
               "bacc": float(b.mean()), "encoding": float(e.mean()),
               "encoding_percentile": float(np.mean([m["encoding_percentile"] for m in members])),
               "bacc_sd": float(b.std(ddof=1)) if len(b) > 1 else float("nan"),
               "encoding_sd": float(e.std(ddof=1)) if len(e) > 1 else float("nan")}
        if all("random_encoding" in m for m in members):
            row["random_encoding"] = np.mean([m["random_encoding"] for m in members], axis=0).tolist()
        out.append(row)
    return out


def across(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The correlation of encoding with BACC over ``rows`` (trials or configurations), and
    its specificity (:func:`probe_specificity`) where every row has ``random_encoding``.

    Returns
    -------
    dict
        ``n``, ``r_encoding_bacc``, ``p_value`` (two-sided), ``spearman_encoding_bacc``,
        ``mean_encoding_percentile``, ``specificity`` (None without random encodings).
    """
    from scipy import stats

    bacc = np.array([r["bacc"] for r in rows], dtype=np.float64)
    enc = np.array([r["encoding"] for r in rows], dtype=np.float64)
    pct = np.array([r["encoding_percentile"] for r in rows], dtype=np.float64)
    if len(rows) >= 3 and bacc.std() > 0 and enc.std() > 0:
        pr = stats.pearsonr(enc, bacc)
        r_val, p_val = float(pr.statistic), float(pr.pvalue)
        rho = float(stats.spearmanr(enc, bacc).statistic)
    else:
        r_val = p_val = rho = float("nan")
    spec = None
    if len(rows) >= 3 and all("random_encoding" in r for r in rows):
        spec = probe_specificity(bacc, enc, np.array([r["random_encoding"] for r in rows]), pct)
    return {"n": len(rows), "r_encoding_bacc": r_val, "p_value": p_val, "spearman_encoding_bacc": rho,
            "mean_encoding_percentile": float(pct.mean()) if len(pct) else float("nan"),
            "specificity": spec}


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
    """Run (or resume) the study; write ``results.json``, ``summary.md``, ``scatter.png``.

    Returns
    -------
    dict
        ``trials`` (one row per classifier), ``configurations`` (:func:`configuration_means`),
        the headline figures over configurations (``r_encoding_bacc``, ``p_value``,
        ``spearman_encoding_bacc``, ``mean_encoding_percentile``, ``specificity``: see
        :func:`across`), ``per_trial`` (the same over every classifier), counts,
        settings, ``verdict`` and ``provenance``.
    """
    from bci_valence.provenance import provenance

    from .common import load_study_data

    folder = StudyFolder(out, "probe", asdict(settings))
    data = load_study_data(settings.faced_root, settings.train, settings.val, settings.axis,
                           progress=progress)
    trials = population(settings.n_configurations, settings.epochs, settings.seeds)
    done = run_trials(folder, trials, probe_trial, (data, settings.n_random), options, progress)
    rows = [{**d["trial"], "arch": Arch(**d["trial"]["arch"]).label(), **d["result"],
             "seconds": d["seconds"]} for d in done]
    configs = configuration_means(rows)
    over_configs, per_trial = across(configs), across(rows)
    result = {
        "study": "probe",
        "trials": rows,
        "configurations": configs,
        **{k: v for k, v in over_configs.items() if k != "n"},
        "correlation_over": "configurations, each the mean over its seeds",
        "per_trial": per_trial,
        "n_trials": len(rows),
        "n_planned": len(trials),
        "n_configurations": len(configs),
        "seeds_per_configuration": settings.seeds,
        "train_subjects": settings.train,
        "val_subjects": settings.val,
        "axis": data.axis_info,
        "settings": asdict(settings),
        "definition": __doc__.strip(),
        "provenance": provenance(),
    }
    result["verdict"] = probe_verdict(result)
    write_json(folder.path / "results.json", result)
    _scatter(rows, configs, result, folder.path / "scatter.png")
    (folder.path / "summary.md").write_text(summary_markdown(result), encoding="utf-8")
    return result


def _scatter(rows: list[dict[str, Any]], configs: list[dict[str, Any]], result: dict[str, Any],
             path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.2, 4))
    kinds = sorted({r["arch"].split("-")[0] for r in rows})
    for i, kind in enumerate(kinds):
        color = f"C{i}"
        sel = [r for r in rows if r["arch"].startswith(kind)]
        ax.scatter([r["encoding"] for r in sel], [r["bacc"] for r in sel], s=12, alpha=0.4, color=color)
        mean = [c for c in configs if c["arch"].startswith(kind)]
        ax.scatter([c["encoding"] for c in mean], [c["bacc"] for c in mean], label=kind, s=40, color=color,
                   edgecolor="black", linewidth=0.6)
    ax.axhline(1 / 9, color="grey", lw=0.8, ls=":", label="chance")
    ax.set_xlabel("V-axis encoding (held-out probe r)")
    ax.set_ylabel("validation BACC")
    ax.set_title(f"{len(configs)} configurations (large: mean over seeds; small: {len(rows)} classifiers)\n"
                 f"r = {result['r_encoding_bacc']:+.3f}, p = {result['p_value']:.2g}", fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)


def _specificity_text(spec: dict[str, Any], over: str) -> str:
    return (f"each {over}'s median random-direction encoding correlates with BACC at r = "
            f"{spec['r_random_median']:+.3f}, the V-axis encoding at {spec['r_vaxis']:+.3f}; among "
            f"{spec['n_random']} random directions' own correlations with BACC (median "
            f"{spec['r_random_directions_median']:+.3f}) the V-axis's ranks with p = {spec['p_rank']:.3g}; mean "
            f"encoding percentile {spec['percentile_mean']:.1f} (95 % interval over {over}s "
            f"{spec['percentile_ci95'][0]:.1f}–{spec['percentile_ci95'][1]:.1f}).")


def summary_markdown(result: dict[str, Any]) -> str:
    """The study's Markdown summary."""
    per_trial = result.get("per_trial") or {}
    lines = [
        "# Encoding probe: V-axis encoding vs BACC across classifiers",
        "",
        f"{result['n_trials']} classifiers ({result.get('n_configurations', '?')} configurations × "
        f"{result.get('seeds_per_configuration', '?')} seeds) trained on the emotion labels only (sub "
        f"{result['train_subjects']}), measured on sub {result['val_subjects']}; "
        f"{result['provenance']['date']}.",
        "",
        "**Encoding** = cross-validated (by subject, 2 folds) Pearson r of a ridge probe "
        "from the classifier's penultimate representation onto the V-axis coordinate of "
        "each window's class; **percentile** = its rank among the same probe's r for "
        f"{result['settings']['n_random']} random unit directions of the language model's "
        "space (50 = no more than class identity alone gives).",
        "",
        f"Across configurations (each the mean over its seeds): r = {result['r_encoding_bacc']:+.3f} "
        f"(p = {result['p_value']:.2g}; Spearman {result['spearman_encoding_bacc']:+.3f}); "
        f"mean encoding percentile {result['mean_encoding_percentile']:.1f}.",
        "",
    ]
    if result.get("specificity"):
        lines += ["Specificity over configurations: " + _specificity_text(result["specificity"], "configuration"),
                  ""]
    if per_trial:
        lines += [f"Across the {per_trial['n']} classifiers: r = {per_trial['r_encoding_bacc']:+.3f} "
                  f"(p = {per_trial['p_value']:.2g})"
                  + ("; " + _specificity_text(per_trial["specificity"], "classifier")
                     if per_trial.get("specificity") else "."), ""]
    lines += [
        "| configuration | seeds | BACC (SD) | encoding (SD) | percentile |",
        "|---|---|---|---|---|",
    ]
    for c in result.get("configurations", []):
        lines.append(f"| {c['config']} | {c['n_seeds']} | {c['bacc']:.3f} ({c['bacc_sd']:.3f}) | "
                     f"{c['encoding']:.3f} ({c['encoding_sd']:.3f}) | {c['encoding_percentile']:.1f} |")
    lines += ["", "| configuration | seed | BACC | encoding | percentile |", "|---|---|---|---|---|"]
    for r in result["trials"]:
        lines.append(f"| {r.get('config', r['arch'])} | {r['seed']} | {r['bacc']:.3f} | "
                     f"{r['encoding']:.3f} | {r['encoding_percentile']:.1f} |")
    lines += ["", "![scatter](scatter.png)", "", f"Command: `{result['provenance']['command']}`", ""]
    return "\n".join(lines)
