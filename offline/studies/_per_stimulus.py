"""The per-stimulus r claim: valence decoded from EEG against the stimuli's V-axis coordinate.

Judged on the nested cross-validation (:mod:`offline.studies.nested_unseen`,
``docs/data/unseen_nested.json``): unseen clips of unseen subjects, every clip
predicted by a model that never saw it, the readout chosen on each outer fold's other
subjects only. The figure is the mean over the outer folds of the per-stimulus r
(``clip_r_axis``) with its 95 % interval resampling subjects and clips together, the
spread across folds, and each fold's permutation p. The single-split evaluation record
(``unseen_clips.json``: sub080-099, whose readout was chosen on those same subjects) is
shown beside it for the seen clips only, as context, and is not judged.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["PAPER_PER_STIMULUS_R", "is_nested", "nested_clip_r", "per_stimulus", "per_stimulus_verdict"]

#: The paper's per-stimulus r (lower and upper figure).
PAPER_PER_STIMULUS_R = (0.80, 0.87)

#: The figure judged.
FIGURE = "clip_r_axis"


def _f(value: Any, spec: str = "+.3f") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return format(value, spec)


def _p(value: Any) -> str:
    return _f(value, ".2g")


def is_nested(rec: dict[str, Any]) -> bool:
    """Whether ``rec`` is a nested cross-validation record (:mod:`offline.studies.nested_unseen`)."""
    return rec.get("kind") == "nested_unseen" and isinstance(rec.get("results"), dict) and bool(rec["results"])


def nested_clip_r(rec: dict[str, Any]) -> dict[str, Any] | None:
    """The nested choice's per-stimulus r under the record's headline standardisation.

    Returns
    -------
    dict or None
        ``standardisation``, ``mean``, ``sd``, ``min``, ``max``, ``ci95``, ``folds`` (per
        fold r), ``pooled`` (over every outer subject's predictions at once; None in records
        without it), ``fold_p`` (per fold permutation p), ``ensemble``, ``fai`` and ``shipped`` (their means of
        the folds, None when absent); None when the record has no such figure.
    """
    if not is_nested(rec):
        return None
    mode = rec.get("headline_standardisation")
    if mode not in rec["results"]:
        mode = next(iter(rec["results"]))
    res = rec["results"][mode]
    summ = res.get("summary") or {}
    s = (summ.get("nested") or {}).get(FIGURE)
    if not s:
        return None
    fold_p = [(f.get("nested") or {}).get(f"{FIGURE}_p") for f in res.get("folds") or []]
    return {"standardisation": mode, **{k: s.get(k) for k in ("mean", "sd", "min", "max", "ci95", "folds", "pooled")},
            "fold_p": fold_p,
            "ensemble": ((summ.get("ensemble") or {}).get(FIGURE) or {}).get("mean"),
            "fai": ((summ.get("fai") or {}).get(FIGURE) or {}).get("mean"),
            "shipped": ((summ.get("shipped") or {}).get(FIGURE) or {}).get("mean")}


def per_stimulus_verdict(rec: dict[str, Any], alpha: float = 0.05) -> str:
    """The verdict on the paper's per-stimulus r (the rule in :data:`offline.studies.claims.RULES`).

    A nested record: its mean of the folds with the interval and every fold's permutation p.
    An unseen-clips evaluation record (``unseen-clips``: one split): its r, interval and p.
    """
    nested = nested_clip_r(rec)
    if nested is not None:
        r, ci = nested["mean"], nested["ci95"] or [float("nan")] * 2
        ps = [p for p in nested["fold_p"] if p is not None]
        beyond = ci[0] == ci[0] and ci[0] > 0 and all(p < alpha for p in ps)
    else:
        unseen = rec.get("unseen-clips")
        if not isinstance(unseen, dict) or FIGURE not in unseen:
            return "not tested"
        r = unseen[FIGURE]
        low = (unseen.get("ci95") or {}).get(FIGURE, [float("nan")])[0]
        p = unseen.get(f"{FIGURE}_p")
        beyond = low == low and low > 0 and (p is None or p < alpha)
    if beyond and r >= PAPER_PER_STIMULUS_R[0]:
        return "reproduced"
    return "partly" if beyond else "not reproduced"


def _protocol_text(r: dict[str, Any], label: str) -> str:
    ci = (r.get("ci95") or {}).get(FIGURE)
    over = " and ".join(r.get("ci95_over") or ["subjects only"])
    text = f"{label} r = {_f(r[FIGURE])}"
    if ci:
        text += f" (95 % interval {_f(ci[0])} to {_f(ci[1])}, resampling {over}"
        text += f"; p = {_p(r[f'{FIGURE}_p'])})" if f"{FIGURE}_p" in r else ")"
    base = r.get("baseline_fai")
    if isinstance(base, dict) and FIGURE in base:
        text += f"; frontal alpha asymmetry, untrained, {_f(base[FIGURE])}"
    return text


def _nested_text(rec: dict[str, Any], n: dict[str, Any]) -> str:
    ci = n["ci95"] or [None, None]
    over = " and ".join(rec.get("ci95_over") or ["subjects"])
    ps = [p for p in n["fold_p"] if p is not None]
    text = (f"unseen clips of unseen subjects, nested ({rec.get('n_outer')} outer folds over sub "
            f"{rec.get('subjects')}, readout chosen on each fold's other subjects only, standardisation "
            f"'{n['standardisation']}'): r = {_f(n['mean'])}, the mean of the folds (SD {_f(n['sd'], '.3f')}, "
            f"folds {_f(n['min'])} to {_f(n['max'])}; 95 % interval {_f(ci[0])} to {_f(ci[1])}, resampling "
            f"{over})")
    if n.get("pooled") is not None:
        text += f"; pooled over the outer folds' {rec.get('n_subjects', '')} subjects r = {_f(n['pooled'])}"
    if ps:
        text += f"; permutation p per fold {_p(min(ps))} to {_p(max(ps))}"
    if n["ensemble"] is not None:
        text += f"; readout ensemble chosen the same way {_f(n['ensemble'])}"
    if n["shipped"] is not None:
        text += f"; shipped readout fitted per fold {_f(n['shipped'])}"
    if n["fai"] is not None:
        text += f"; frontal alpha asymmetry, untrained, {_f(n['fai'])}"
    return text


def per_stimulus(rec: dict[str, Any], seen: dict[str, Any] | None = None) -> tuple[str, str, str]:
    """``(our figures, verdict, the p-value text)`` of the per-stimulus claim.

    Parameters
    ----------
    rec : dict
        The nested record (or, without one, an unseen-clips evaluation record).
    seen : dict or None
        An evaluation record whose ``seen-clips`` r is shown for context (not judged).
    """
    nested = nested_clip_r(rec)
    parts = []
    if nested is not None:
        parts.append(_nested_text(rec, nested))
        sc = (seen or {}).get("seen-clips")
        if isinstance(sc, dict) and FIGURE in sc:
            parts.append(_protocol_text(sc, f"for context, seen clips of sub {sc.get('subjects', '?')} (one split, "
                                            "readout chosen on those subjects; not judged):"))
        r = nested["mean"]
    else:
        for name, label in (("seen-clips", "seen clips"), ("unseen-clips", "unseen clips")):
            if isinstance(rec.get(name), dict) and FIGURE in rec[name]:
                parts.append(_protocol_text(rec[name], label))
        if parts:
            parts[-1] += f"; sub {rec.get('unseen-clips', {}).get('subjects', '?')}"
        r = (rec.get("unseen-clips") or {}).get(FIGURE)
    if not parts:
        return "no per-stimulus r in the record", "not tested", "no test"
    ours = "; ".join(parts)
    v = per_stimulus_verdict(rec)
    if v != "reproduced" and r is not None:
        ours += (f". Where ours differs: on unseen clips r = {_f(r)}, below the paper's "
                 f"+{PAPER_PER_STIMULUS_R[0]:.2f} to +{PAPER_PER_STIMULUS_R[1]:.2f}"
                 if r < PAPER_PER_STIMULUS_R[0] else ". Where ours differs: the interval reaches 0")
    if nested is not None:
        ps = [p for p in nested["fold_p"] if p is not None]
        ci = nested["ci95"]
        p_text = (f"largest fold p = {_p(max(ps))}" if ps else
                  f"interval {_f(ci[0])} to {_f(ci[1])}" if ci else "no test")
        return ours, v, p_text
    unseen = rec.get("unseen-clips") or {}
    p = unseen.get(f"{FIGURE}_p")
    ci = (unseen.get("ci95") or {}).get(FIGURE)
    return ours, v, (f"p = {_p(p)}" if p is not None else
                     f"interval {_f(ci[0])} to {_f(ci[1])}" if ci else "no test")
