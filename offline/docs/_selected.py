"""A bundle whose classifier stages and readout were chosen inside its training subjects,
reported on other subjects (``bci-valence evaluate --protocol`` on a ``train --stages auto``
bundle; :mod:`offline.docs`)."""

from __future__ import annotations

from typing import Any

from bci_valence.io.faced import format_subjects, parse_subjects

from ._base import _get, fmt, table
from ._nested import _interval

#: Figures of the evaluated subjects, in the section's order.
SELECTED_FIGURES = {
    "bacc": "9-class balanced accuracy (chance 0.111)",
    "kappa": "Cohen's kappa",
    "valence_auc_subject_clip": "valence AUC, positive vs negative clips, per subject × clip",
    "valence_auc_window": "valence AUC, positive vs negative clips, per 10-s window",
    "clip_r_axis": "per-stimulus r, valence vs V-axis coordinate (28 clips)",
    "clip_r_ratings": "per-stimulus r, valence vs mean rated valence (28 clips)",
    "subject_r_ratings": "per-subject r vs own valence ratings (mean)",
}


def _is_selected_inside(rec: dict[str, Any]) -> bool:
    """A protocol evaluation of a bundle whose stages were chosen on validation (``--stages auto``)."""
    return (rec.get("protocol") in ("seen-clips", "unseen-clips") and "bacc" in rec
            and isinstance(_get(rec, "selection", "stage_selection"), dict))


def chosen_inside(rec: dict[str, Any]) -> str:
    """The subjects the choices were made on: the selection's training and validation subjects."""
    sel = rec["selection"]
    subjects: set[int] = set()
    for key in ("selection_train_subjects", "validation_subjects"):
        if sel.get(key):
            subjects |= set(parse_subjects(str(sel[key])))
    return format_subjects(sorted(subjects))


def selected_title(rec: dict[str, Any]) -> str:
    """The section's heading: where the choices were made, where the figures come from."""
    title = f"Classifier and readout chosen inside sub {chosen_inside(rec)}, reported on sub {rec.get('subjects')}"
    return title if rec["protocol"] == "seen-clips" else f"{title}, on clips the models never saw"


def _readout(sel: dict[str, Any]) -> str:
    r = sel.get("readout") or {}
    if r.get("method") == "pls":
        return f"PLS, {fmt(r.get('n_components'))} components"
    if r.get("method") == "ridge":
        return f"ridge, alpha {fmt(r.get('alpha'))}"
    return fmt(r.get("method"))


def _with_ci(rec: dict[str, Any], key: str) -> tuple[Any, str]:
    return rec.get(key), _interval((rec.get("ci95") or {}).get(key))


def _fold_stages(rec: dict[str, Any]) -> str:
    """Under a protocol with its own fold models: their classifier stages (fixed, not the choice)."""
    stages = _get(rec, "selection", "protocol_models", rec["protocol"], "stages")
    if not stages:
        return ""
    return (f"The fold models' classifiers have the fold settings' stages ({', '.join(stages)}), not the "
            "choice below; their readout is the chosen one. ")


def section_selected(name: str, rec: dict[str, Any]) -> list[str]:
    """The choices (stage candidates' validation scores, the readout) and the figures on the
    evaluated subjects with their intervals, frontal alpha asymmetry beside them."""
    sel, stage = rec["selection"], rec["selection"]["stage_selection"]
    overlap = set(parse_subjects(chosen_inside(rec))) & set(parse_subjects(str(rec.get("subjects"))))
    lines = ["", (
        f"This run's choices were made on sub {chosen_inside(rec)} only: the classifier's stages by "
        f"{fmt(stage.get('chosen_by'))}; the readout ({_readout(sel)}) by {fmt(sel.get('readout_chosen_by'))} "
        f"on sub {fmt(sel.get('validation_subjects'))}. The chosen stages and readout were then refit on sub "
        f"{fmt(sel.get('train_subjects'))}. The recipe's other settings (architecture, epochs, augmentation "
        "and distillation weights, ensemble size, the readout candidates) are the defaults, not chosen by this "
        f"run. Models evaluated: {fmt(rec.get('models'))} (bundle "
        f"`{fmt(rec.get('bundle'))}`; its commands: [training.md](training.md#commands)). "
        + _fold_stages(rec)
        + (f"Sub {format_subjects(sorted(overlap))} took part in a choice: these figures are optimistic."
           if overlap else f"Nothing in this run was chosen or trained on sub {fmt(rec.get('subjects'))}.")
    ), "", "**The stage sets tried** (trained on sub "
        f"{fmt(sel.get('selection_train_subjects'))}, measured on sub {fmt(sel.get('validation_subjects'))}):", ""]
    rows = [(", ".join(c.get("stages") or []), c.get("bacc"), c.get("kappa"), c.get("weighted_f1"),
             "chosen" if c.get("stages") == stage.get("chosen") else "")
            for c in stage.get("candidates") or []]  # fmt: skip
    lines += table(["stages", "validation BACC", "kappa", "weighted F1", ""], rows, "lrrrl")
    over = " and ".join(rec.get("ci95_over") or ["subjects"])
    fai = rec.get("baseline_fai") or {}
    lines += ["", f"**On sub {fmt(rec.get('subjects'))}** ({fmt(rec.get('protocol'))}; valence is the live "
              "readout, the projection of the 10-s mean standardized DE vector, unless read from the classifier; "
              f"95 % bootstrap intervals resampling {over} together):", ""]
    rows = [(label, *_with_ci(rec, key), *(_with_ci(fai, key) if key in fai else ("", "")))
            for key, label in SELECTED_FIGURES.items() if key in rec]
    ens = rec.get("classifier_valence") or {}
    rows += [(f"{SELECTED_FIGURES[key]}, valence read from the classifier (its expected V-axis coordinate)",
              ens[key], "–", "", "") for key in ("valence_auc_subject_clip", "clip_r_axis") if key in ens]
    return lines + table(["figure", "value", "95 % CI", "frontal alpha asymmetry (untrained)", "95 % CI"],
                         rows, "lrrrr")


def selected_row(rec: dict[str, Any]) -> tuple[str, str]:
    """The README's row: what, and the measured BACC / kappa and valence AUC with their intervals."""
    stages = ", ".join(rec["selection"]["stage_selection"].get("chosen") or [])
    over = " and ".join(rec.get("ci95_over") or ["subjects"])
    models = (f"stages chosen: {stages}" if rec["protocol"] == "seen-clips"
              else f"{rec.get('models')}, each clip predicted by a model that never saw it")
    what = (f"{selected_title(rec)}: 9-class BACC / kappa; valence AUC, positive vs negative clips (per "
            f"subject and clip); 95 % intervals over {over} ({models})")
    bacc, kappa, auc = (_with_ci(rec, k) for k in ("bacc", "kappa", "valence_auc_subject_clip"))
    measured = (f"{fmt(bacc[0])} ({bacc[1]}) / {fmt(kappa[0])} ({kappa[1]}); "
                f"{fmt(auc[0])} ({auc[1]})")
    return what, measured
