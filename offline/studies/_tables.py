"""The tables of each study's section in ``docs/results.md``, computed from its record.

:func:`study_tables` dispatches on the record's ``study``; one function per study builds
its tables (each ``{"title", "columns", "rows"}``).
"""

from __future__ import annotations

from typing import Any

from .regions import REGIONS

__all__ = ["study_tables"]

Table = dict[str, Any]


def _specificity_rows(spec: dict[str, Any] | None, over: str) -> list[list[Any]]:
    if not spec:
        return []
    return [["r(median random-direction encoding, BACC)", spec["r_random_median"]],
            ["median over random directions of r(encoding, BACC)", spec.get("r_random_directions_median")],
            ["95th percentile over random directions", spec["r_random_p95"]],
            ["rank p of the V-axis among them", spec["p_rank"]],
            ["random directions", spec["n_random"]],
            [f"mean encoding percentile, 95 % interval over {over}", spec["percentile_ci95"]]]


def probe_tables(rec: dict[str, Any]) -> list[Table]:
    """Per configuration (mean over seeds), per classifier, and the figures across both."""
    configs = rec.get("configurations")
    over = "configurations" if configs else "classifiers"
    across = [["r(encoding, BACC)", rec["r_encoding_bacc"]], ["p", rec["p_value"]],
              ["Spearman", rec["spearman_encoding_bacc"]],
              ["mean encoding percentile", rec["mean_encoding_percentile"]],
              *_specificity_rows(rec.get("specificity"), over)]
    if rec.get("verdict"):
        across.append(["verdict on the paper's claim", rec["verdict"]])
    tables: list[Table] = []
    if configs:
        tables.append({"title": "configurations (mean over seeds)",
                       "columns": ["configuration", "seeds", "BACC", "BACC SD", "encoding", "encoding SD",
                                   "percentile"],
                       "rows": [[c["config"], c["n_seeds"], c["bacc"], c["bacc_sd"], c["encoding"],
                                 c["encoding_sd"], c["encoding_percentile"]] for c in configs]})
    tables.append({"title": "classifiers", "columns": ["architecture", "epochs", "seed", "BACC", "encoding",
                                                        "percentile"],
                   "rows": [[t["arch"], t["epochs"], t["seed"], t["bacc"], t["encoding"],
                             t["encoding_percentile"]] for t in rec["trials"]]})
    tables.append({"title": f"across {over}" + (" (each the mean over its seeds)" if configs else ""),
                   "columns": ["figure", "value"], "rows": across})
    per_trial = rec.get("per_trial")
    if configs and per_trial:
        rows = [["classifiers", per_trial["n"]], ["r(encoding, BACC)", per_trial["r_encoding_bacc"]],
                ["p", per_trial["p_value"]], ["Spearman", per_trial["spearman_encoding_bacc"]],
                ["mean encoding percentile", per_trial["mean_encoding_percentile"]],
                *_specificity_rows(per_trial.get("specificity"), "classifiers")]
        tables.append({"title": "across classifiers (every seed its own point)", "columns": ["figure", "value"],
                       "rows": rows})
    return tables


def topography_tables(rec: dict[str, Any]) -> list[Table]:
    """Region means with permutation p, the strongest channel × band, the ordering."""
    rp, rh = rec.get("region_p") or {}, rec.get("region_p_holm") or {}
    ordering = rec.get("ordering") or {}
    tables = [{"title": "mean |r| per region (p: permutations of the class coordinates)",
               "columns": ["region", "mean \\|r\\|", "p", "p (Holm)"],
               "rows": [[k, rec["regions"][k], rp.get(k), rh.get(k)] for k in REGIONS if k in rec["regions"]]},
              {"title": "strongest channel × band", "columns": ["channel", "band", "r", "family-wise p",
                                                              "r high arousal", "r other clips", "p (difference)"],
               "rows": [[rec["top"]["channel"], rec["top"]["band"], rec["top"]["r"], rec.get("top_p"),
                         rec["arousal_split"]["high"], rec["arousal_split"]["rest"],
                         rec.get("arousal_split_p")]]}]
    if ordering:
        tables.append({"title": "the paper's ordering and the verdict", "columns": ["figure", "value"],
                       "rows": [["occipital highest and frontal lowest", ordering["holds"]],
                                ["margin", ordering["margin"]], ["p of the margin", ordering["p"]],
                                ["share of permutations where it holds", ordering.get("null_holds_share")],
                                ["permutations", rec.get("n_permutations")],
                                ["verdict", rec.get("verdict")]]})
    return tables


def saturation_tables(rec: dict[str, Any]) -> list[Table]:
    """ΔBACC per strategy, each V-axis strategy minus its control, and the counts."""
    from .saturation import saturation_summary, saturation_verdict

    summ = saturation_summary(rec["trials"]) if rec.get("trials") else rec
    tables = [{"title": "ΔBACC per strategy (paired over seeds; Holm over the strategy × baseline pairs)",
               "columns": ["baseline", "strategy", "family", "ΔBACC", "CI low", "CI high", "p", "p (Holm)"],
               "rows": [[e["baseline"], e["strategy"], e["family"], e["delta"], e["ci_low"], e["ci_high"],
                         e["p"], e.get("p_holm")] for e in summ["effects"]]}]
    if summ["vaxis_minus_control"]:
        tables.append({"title": "V-axis strategy minus its matched random-direction control",
                       "columns": ["baseline", "strategy", "control", "Δ", "CI low", "CI high", "p", "p (Holm)"],
                       "rows": [[c["baseline"], c["strategy"], c["control"], c["delta"], c["ci_low"],
                                 c["ci_high"], c["p"], c["p_holm"]] for c in summ["vaxis_minus_control"]]})
    tables.append({"title": "counts", "columns": ["figure", "value"],
                   "rows": [["strategy × baseline pairs", summ["n_strategies"]],
                            ["helped (Holm)", summ["n_helped"]], ["hurt (Holm)", summ["n_hurt"]],
                            ["hurt (uncorrected)", summ["n_hurt_uncorrected"]],
                            ["hurt beyond the matched control (Holm)", summ["n_specific_harm"]],
                            ["families without a matched control", ", ".join(summ["families_without_control"])
                             or "none"],
                            ["max |Δ| of controls", summ["max_abs_control_delta"]],
                            *[[f"{b} baseline BACC", v] for b, v in rec["baseline_bacc"].items()],
                            ["verdict", saturation_verdict(summ)]]})
    return tables


def residual_tables(rec: dict[str, Any]) -> list[Table]:
    """The decomposition's checks and the ensembles' comparison."""
    from .residual import ensemble_test, ensemble_verdict, residual_checks, residual_verdict

    ens = rec["ensemble"]
    chk = residual_checks(rec["trials"])
    test = ensemble_test(rec["trials"])
    rows = [["mean Δ|r| class-mean component (p)", f"{chk['class_mean']['mean']:+.4f} ({chk['class_mean']['p']:.3g})"],
            ["mean Δ|r| residual vs own within-class rating (p)",
             f"{chk['residual_rating']['mean']:+.4f} ({chk['residual_rating']['p']:.3g})"],
            ["mean Δ|r| residual vs class coordinate (0 by construction)", rec["mean_delta_abs_r_residual"]],
            ["ΔBACC removing the V-axis direction, task-only", rec["delta_bacc_remove_task"]],
            ["ΔBACC removing the V-axis direction, distilled (p)",
             f"{chk['remove']['mean']:+.4f} ({chk['remove']['p']:.3g})"],
            ["verdict (decomposition)", residual_verdict(chk)],
            ["seed ensemble BACC", ens["seed_bacc"]],
            ["residual-diverse ensemble BACC", ens["diverse_bacc"]]]
    for key, label in (("validation", "validation"), ("unseen_clips", "unseen clips")):
        t = test.get(key)
        if t:
            rows.append([f"{label}: ΔBACC diverse − seed (relative; paired p over {t['n']} seeds)",
                         f"{t['mean']:+.4f} ({100 * t['relative_gain']:+.1f} %; p {t['p']:.3g})"])
    rows += [["unseen clips: seed ensemble BACC", ens.get("unseen_clips_seed_bacc")],
             ["unseen clips: residual-diverse ensemble BACC", ens.get("unseen_clips_diverse_bacc")],
             ["members' residual correlation, seed / diverse",
              f"{ens['seed_residual_correlation']:.3f} / {ens['diverse_residual_correlation']:.3f}"],
             ["verdict (ensemble)", ensemble_verdict(test)]]
    return [{"title": "decomposition and ensembles", "columns": ["figure", "value"], "rows": rows}]


_TABLES = {"probe": probe_tables, "topography": topography_tables, "saturation": saturation_tables,
           "residual": residual_tables}


def study_tables(rec: dict[str, Any]) -> list[Table]:
    """The tables of a study's section in ``docs/results.md``, computed from its record."""
    name = rec.get("study")
    if name not in _TABLES:
        raise ValueError(f"no tables for study {name!r}; expected one of {list(_TABLES)}")
    return _TABLES[name](rec)
