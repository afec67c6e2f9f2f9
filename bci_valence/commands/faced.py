"""``bci-valence faced ROOT``: check a FACED root and summarise what it holds."""

from __future__ import annotations

import argparse
import sys


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register the ``faced`` subcommand."""
    parser = subparsers.add_parser(
        "faced",
        help="load a FACED root (DE features + ratings) and print a summary",
        description=(
            "Load the official FACED DE features and ratings with the safe loader and "
            "print a summary. Exits non-zero on any missing, refused or malformed file."
        ),
    )
    parser.add_argument("root", help="FACED root (EEG_Features/DE, Data, Recording_info.csv)")
    parser.add_argument(
        "--subjects",
        default=None,
        help="subjects to load, e.g. '0-79', '80-99', '0-3,7,sub010' (default: all found)",
    )
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Load the selected subjects and print the summary; returns the exit code."""
    import numpy as np
    from rich.console import Console
    from rich.table import Table

    from ..io import faced

    console = Console()
    try:
        data = faced.load_faced(args.root, args.subjects, progress=not args.no_progress)
    except (OSError, ValueError) as err:  # FacedFormatError is a ValueError
        print(f"error: {err}", file=sys.stderr)
        return 1

    console.print(f"[bold]FACED root[/bold] {data.root}")
    console.print(
        f"subjects: {data.n_subjects} ({faced.format_subjects(data.subjects)})"
    )
    console.print(f"de: {data.de.shape} {data.de.dtype} (subject, clip, channel, second, band)")
    console.print(f"ratings: {data.ratings.shape} {data.ratings.dtype} (subject, clip, item)")
    cohorts, counts = np.unique(data.cohorts, return_counts=True)
    console.print(
        "cohorts: " + ", ".join(f"{c}: {n}" for c, n in zip(cohorts.tolist(), counts.tolist()))
    )
    rates = sorted({f"{r:g} Hz {u}" for r, u in zip(data.sample_rates, data.units)})
    console.print("recorded at: " + ", ".join(rates))
    console.print(
        f"DE mean {float(data.de.mean()):.3f}, std {float(data.de.std()):.3f}, "
        f"range {float(data.de.min()):.2f}..{float(data.de.max()):.2f}"
    )

    valence = faced.clip_mean_ratings(data)[:, faced.VALENCE_ITEM]
    table = Table(title=f"Mean rated valence per clip (0-7), {data.n_subjects} subjects")
    table.add_column("clip", justify="right")
    table.add_column("emotion")
    table.add_column("group", justify="right")
    table.add_column("valence", justify="right")
    table.add_column("README (123)", justify="right")
    for clip in range(faced.N_CLIPS):
        table.add_row(
            str(clip + 1),
            faced.EMOTION_CLASSES[faced.CLIP_LABELS[clip]],
            {-1: "-", 0: "0", 1: "+"}[int(faced.CLIP_VALENCE_GROUP[clip])],
            f"{valence[clip]:.2f}",
            f"{faced.CLIP_MEAN_VALENCE[clip]:.2f}",
        )
    console.print(table)
    r = float(np.corrcoef(valence, faced.CLIP_MEAN_VALENCE)[0, 1])
    console.print(f"correlation with the README's 123-subject means: r = {r:.3f}")
    return 0
