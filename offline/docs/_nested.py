"""The nested cross-validation's section (:mod:`offline.studies.nested_unseen`'s record)."""

from __future__ import annotations

from typing import Any

from ._base import _get, fmt, table

NESTED_KINDS = {
    "nested": "readout chosen on the fold's other subjects",
    "ensemble": "readout ensemble chosen on the fold's other subjects",
    "shipped": "shipped readout ({shipped}), fitted per fold, no selection",
    "fai": "frontal alpha asymmetry (untrained)",
}
NESTED_MODES = {
    "disjoint": "from the other clips",
    "all": "over all seconds",
}


def _is_nested(rec: dict[str, Any]) -> bool:
    """A record of ``offline.studies.nested_unseen`` (the nested outer cross-validation)."""
    return rec.get("kind") == "nested_unseen" and isinstance(rec.get("results"), dict)


def _nested_modes(rec: dict[str, Any]) -> list[str]:
    """The record's standardisations, the headline one first."""
    modes = [m for m in (rec.get("standardisations") or []) if m in rec["results"]]
    head = rec.get("headline_standardisation")
    return sorted(modes, key=lambda m: m != head)


def _mean_sd(s: dict[str, Any] | None) -> str:
    if not s:
        return "–"
    return f"{fmt(s.get('mean'))} ({fmt(s.get('sd'))})"


def _interval(ci: Any) -> str:
    """An interval as ``low to high`` (readable where the ends are negative)."""
    if not isinstance(ci, (list, tuple)) or len(ci) != 2:
        return "–"
    return f"{fmt(ci[0])} to {fmt(ci[1])}"


def _with_ci(value: Any, ci: Any) -> str:
    return f"{fmt(value)} ({_interval(ci)})" if ci else fmt(value)


def _summary_lines(rec: dict[str, Any], modes: list[str], shipped: str) -> list[str]:
    """Across the outer folds: per readout and standardisation, mean (SD), range and intervals."""
    lines = ["", f"**Across the {fmt(rec.get('n_outer'))} outer folds**: mean of the folds (SD), range, and the "
             "95 % interval of the mean resampling subjects and clips together; pooled: the figure over every "
             "outer subject's predictions at once.", ""]
    rows = []
    for mode in modes:
        summ = rec["results"][mode].get("summary") or {}
        for kind, label in NESTED_KINDS.items():
            if kind not in summ:
                continue
            auc, axis_r, clip_r, subj_r = (summ[kind].get(k) or {} for k in (
                "valence_auc_subject_clip", "clip_r_axis", "clip_r_ratings", "subject_r_ratings"))
            rows.append((label.format(shipped=shipped), NESTED_MODES.get(mode, mode), _mean_sd(auc),
                         _interval([auc.get("min"), auc.get("max")]), _interval(auc.get("ci95")),
                         _mean_sd(axis_r), _interval([axis_r.get("min"), axis_r.get("max")]),
                         _interval(axis_r.get("ci95")), fmt(axis_r.get("pooled")),
                         _mean_sd(clip_r), _interval(clip_r.get("ci95")), _mean_sd(subj_r),
                         _interval(subj_r.get("ci95"))))  # fmt: skip
    return lines + table(["readout", "standardisation", "AUC subject × clip: mean (SD)", "range", "95 % CI",
                          "per-stimulus r vs V-axis coordinate: mean (SD)", "range", "95 % CI", "pooled",
                          "per-stimulus r vs rated valence: mean (SD)", "95 % CI", "per-subject r: mean (SD)",
                          "95 % CI"], rows, "llrrrrrrrrrrr")  # fmt: skip


def _fold_lines(rec: dict[str, Any], mode: str) -> list[str]:
    """Per outer fold under one standardisation: the choices and the figures."""
    res, n = rec["results"][mode], rec.get("n_outer")
    counts = res.get("chosen_counts") or {}
    lines = ["", f"**Per outer fold, standardisation {NESTED_MODES.get(mode, mode)}** "
             f"({fmt(res.get('standardisation'))}). Chosen: "
             + "; ".join(f"{k} ({v} of {fmt(n)})" for k, v in counts.items()) + "."]  # fmt: skip
    if res.get("ensemble_counts"):
        lines[-1] += (" Readout ensemble chosen: "
                      + "; ".join(f"{k} ({v} of {fmt(n)})" for k, v in res["ensemble_counts"].items()) + ".")
    lines.append("")
    rows = []
    for f in res.get("folds") or []:
        nested, fai = f.get("nested") or {}, f.get("fai") or {}
        ci, fci = nested.get("ci95") or {}, fai.get("ci95") or {}
        rows.append((
            f.get("fold"), f.get("test_subjects"), f.get("chosen"), f.get("chosen_inner_score"),
            _with_ci(nested.get("valence_auc_subject_clip"), ci.get("valence_auc_subject_clip")),
            _with_ci(nested.get("clip_r_axis"), ci.get("clip_r_axis")), nested.get("clip_r_axis_p"),
            _with_ci(nested.get("clip_r_ratings"), ci.get("clip_r_ratings")),
            nested.get("subject_r_ratings"),
            _get(f, "ensemble_choice", "setting", default="–"),
            _get(f, "ensemble", "valence_auc_subject_clip"), _get(f, "ensemble", "clip_r_axis"),
            _get(f, "shipped", "valence_auc_subject_clip"), f.get("shipped_inner_rank"),
            _with_ci(fai.get("valence_auc_subject_clip"), fci.get("valence_auc_subject_clip")),
            fai.get("clip_r_ratings"),
        ))  # fmt: skip
    return lines + table(["fold", "test subjects", "readout chosen on the other subjects", "its inner AUC",
                          "AUC subject × clip (95 % CI)", "per-stimulus r vs V-axis coordinate (95 % CI)",
                          "its permutation p", "per-stimulus r vs rated valence (95 % CI)", "per-subject r",
                          "readout ensemble chosen", "ensemble AUC", "ensemble per-stimulus r vs V-axis",
                          "shipped readout AUC", "shipped readout's inner rank", "asymmetry AUC (95 % CI)",
                          "asymmetry per-stimulus r"], rows, "rllrrrrrrlrrrrrr")  # fmt: skip


def _difference_lines(rec: dict[str, Any], shipped: str) -> list[str]:
    """The standardisation from the other clips minus the one over all seconds."""
    diff = rec.get("difference") or {}
    lines = ["", "**Standardisation from the other clips minus over all seconds** (means of the folds; "
             "the interval resamples subjects and clips, the same resamples for both):", ""]  # fmt: skip
    rows = []
    for kind, label in NESTED_KINDS.items():
        if kind not in diff:
            continue
        row: list[Any] = [label.format(shipped=shipped)]
        for fig in ("valence_auc_subject_clip", "clip_r_ratings"):
            row += [_get(rec, "results", "disjoint", "summary", kind, fig, "mean"),
                    _get(rec, "results", "all", "summary", kind, fig, "mean"),
                    _with_ci(_get(diff, kind, fig, "mean"), _get(diff, kind, fig, "ci95"))]
        rows.append(row)
    return lines + table(["readout", "AUC: other clips", "AUC: all seconds", "difference (95 % CI)",
                          "per-stimulus r: other clips", "per-stimulus r: all seconds", "difference (95 % CI)"],
                         rows, "lrrrrrr")  # fmt: skip


def section_nested(name: str, rec: dict[str, Any]) -> list[str]:
    """``offline.studies.nested_unseen``: the summary across outer folds, the per-fold figures, the
    two standardisations side by side."""
    modes = _nested_modes(rec)
    shipped = rec.get("shipped") or "none"
    lines = _summary_lines(rec, modes, shipped)
    for mode in modes:
        lines += _fold_lines(rec, mode)
    if rec.get("difference") and {"all", "disjoint"} <= set(modes):
        lines += _difference_lines(rec, shipped)
    return lines
