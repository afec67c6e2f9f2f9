"""A bundle's figures on seen vs unseen clips, side by side (the results page's table).

Runs :func:`offline.training.evaluate_protocol` for both protocols (the same as
``bci-valence evaluate --protocol both``) and writes one JSON object with the two
results, a side-by-side table with the bootstrap intervals (resampling subjects and
clips together, as each result's ``ci95_over`` says) and frontal alpha asymmetry (the
untrained baseline, ``baseline_fai``) beside them, and provenance.

The bundle's readout was chosen on its validation subjects (``readout_chosen_on``);
where those are the evaluated subjects the unseen-clips figures are optimistic by that
choice. :mod:`offline.studies.nested_unseen` gives the figure whose folds chose nothing
on the subjects they report.

Usage::

    python -m offline.studies.unseen_clips --faced-root ../shared/data/faced --subjects 80-99 \
        --out docs/data/unseen_clips.json --no-progress
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .common import emit_json

__all__ = ["FIGURE_LABELS", "main", "side_by_side"]

#: Row labels of the table, in order.
FIGURE_LABELS = {
    "bacc": "9-class balanced accuracy (chance 0.111)",
    "kappa": "Cohen's kappa",
    "valence_auc_window": "valence AUC, positive vs negative, per 10-s window",
    "valence_auc_subject_clip": "valence AUC, positive vs negative, per subject x clip",
    "clip_r_axis": "per-stimulus r, valence vs V-axis coordinate (28 clips)",
    "clip_r_ratings": "per-stimulus r, valence vs mean rated valence (28 clips)",
    "clip_r_ratings_p": "permutation p of that r (one-sided)",
    "subject_r_ratings": "per-subject r vs own valence ratings (mean)",
    "window_noise_sd": "10-s readout SD within a clip (valence units)",
    "positive_minus_negative": "mean valence, positive minus negative clips",
}


def _fmt(value: Any) -> Any:
    return round(value, 4) if isinstance(value, float) else value


def side_by_side(results: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """A ``{"title", "columns", "rows"}`` table: one row per figure, seen | unseen | frontal alpha
    asymmetry (``baseline_fai``, the same under both protocols: it has no training), with intervals."""
    columns = [("seen-clips", "seen clips"), ("unseen-clips", "unseen clips")]
    fai = results["unseen-clips"].get("baseline_fai")
    rows = []
    for key, label in FIGURE_LABELS.items():
        row = [label]
        for rec in [results[p] for p, _ in columns] + ([fai] if fai else []):
            ci = rec.get("ci95", {}).get(key)
            row += [_fmt(rec.get(key, "")), [_fmt(c) for c in ci] if ci else ""]
        rows.append(row)
    over = " x ".join(results["unseen-clips"].get("ci95_over") or ["subjects"])
    names = [name for _, name in columns] + (["frontal alpha asymmetry"] if fai else [])
    return {"title": "Seen vs unseen clips, and frontal alpha asymmetry (untrained)",
            "columns": ["figure"] + [c for name in names for c in (name, f"95% CI ({over})")], "rows": rows}


def _readout_label(bundle: Any) -> str:
    """The bundle's live readout in words (its projection recipe)."""
    proj = bundle.config.projection or {}
    if proj.get("method") == "pls":
        return f"PLS, {proj.get('n_components')} components"
    if proj.get("method") == "ridge":
        return f"ridge, alpha {proj.get('alpha')}"
    return str(proj.get("method", "unknown"))


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: evaluate both protocols and write the JSON (with provenance)."""
    import torch

    from bci_valence.io.faced import parse_subjects
    from bci_valence.model.bundle import ModelBundle
    from bci_valence.provenance import provenance
    from offline.training import PROTOCOLS, evaluate_protocol

    p = argparse.ArgumentParser(prog="python -m offline.studies.unseen_clips", description=__doc__.split("\n")[0])
    p.add_argument("--faced-root", default=str(Path.cwd().parent / "shared" / "data" / "faced"))
    p.add_argument("--subjects", default="80-99")
    p.add_argument("--bundle", default=None, help="bundle folder (default: the shipped bundle)")
    p.add_argument("--permutations", type=int, default=10000)
    p.add_argument("--bootstrap", type=int, default=1000)
    p.add_argument("--out", default=None, help="JSON file to write (default: print)")
    p.add_argument("--no-progress", action="store_true")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    bundle = ModelBundle.load(args.bundle, device="cpu")
    subjects = parse_subjects(args.subjects)
    results = {name: evaluate_protocol(bundle, args.faced_root, subjects, name, args.permutations,
                                       args.bootstrap, progress=not args.no_progress) for name in PROTOCOLS}
    unseen = results["unseen-clips"]
    chosen_on = (bundle.config.metrics.get("protocols") or {}).get("validation_subjects")
    optimistic = bool(chosen_on) and bool(set(parse_subjects(chosen_on)) & set(parse_subjects(unseen["subjects"])))
    over = " and ".join(unseen.get("ci95_over") or ["subjects"])
    record = {
        "title": f"Valence on clips the model never saw (FACED sub {unseen['subjects']})",
        "description": (
            "Subjects no model was trained on; seen clips: a model trained on every FACED clip of the training "
            "subjects; "
            "unseen clips: 3 clip folds, every clip predicted by a model that never saw it "
            f"({unseen['models']}). Valence is the live readout (the projection of the 10-s mean "
            "standardized DE vector); balanced accuracy and kappa are the fold classifiers'; frontal alpha "
            "asymmetry (F4 minus F3 log alpha power, no training) is read on the same subjects, clips and "
            f"windows. Intervals: 95% bootstrap resampling {over} together (clips within their valence "
            f"group), {args.bootstrap} resamples. "
            + (f"The readout ({_readout_label(bundle)}) was chosen on sub {chosen_on}, these same subjects, by "
               "the highest unseen-clips valence AUC among the readouts tried there, so the unseen-clips valence "
               "figures are optimistic by that choice; the nested cross-validation "
               "(docs/data/unseen_nested.json), whose folds chose nothing on the subjects they report, gives "
               "the unseen-clips figure."
               if optimistic else f"The readout was chosen on sub {chosen_on or 'unknown subjects'}.")
        ),
        "readout_chosen_on": chosen_on,
        "readout_chosen_on_evaluated_subjects": optimistic,
        "tables": [side_by_side(results)],
        "protocols": list(PROTOCOLS),
        **results,
        "provenance": provenance(),
    }
    emit_json(record, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
