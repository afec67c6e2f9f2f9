"""A bundle's figures on seen vs unseen clips, side by side (the results page's table).

Runs :func:`offline.training.evaluate_protocol` for both protocols (the same as
``bci-valence evaluate --protocol both``) and writes one JSON object with the two
results, a side-by-side table with the bootstrap intervals, and provenance.

Usage::

    python -m offline.studies.unseen_clips --subjects 80-99 --out docs/data/unseen_clips.json
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
    """A ``{"title", "columns", "rows"}`` table: one row per figure, seen | unseen with intervals."""
    rows = []
    for key, label in FIGURE_LABELS.items():
        row = [label]
        for protocol in ("seen-clips", "unseen-clips"):
            rec = results[protocol]
            ci = rec.get("ci95", {}).get(key)
            row += [_fmt(rec.get(key)), [_fmt(c) for c in ci] if ci else ""]
        rows.append(row)
    return {"title": "Seen vs unseen clips",
            "columns": ["figure", "seen clips", "95% CI", "unseen clips", "95% CI"], "rows": rows}


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
    record = {
        "title": f"Valence on clips the model never saw (FACED sub {unseen['subjects']})",
        "description": (
            "Held-out subjects; seen clips: a model trained on every FACED clip of the training subjects; "
            "unseen clips: 3 clip folds, every clip predicted by a model that never saw it "
            f"({unseen['models']}). Valence is the live readout (the projection of the 10-s mean "
            "standardized DE vector); balanced accuracy and kappa are the fold classifiers'. Intervals: "
            "bootstrap 95% over subjects."
        ),
        "tables": [side_by_side(results)],
        "protocols": list(PROTOCOLS),
        **results,
        "provenance": provenance(),
    }
    emit_json(record, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
