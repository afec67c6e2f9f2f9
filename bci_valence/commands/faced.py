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


_UNIT_NAMES = {"V": "volts", "uV": "microvolts", "mV": "millivolts"}


def _subject_runs(subjects) -> str:
    """``sub000-sub002, sub070`` for subjects 0, 1, 2 and 70 (FACED's folder names)."""
    runs: list[list[int]] = []
    for s in sorted(int(x) for x in subjects):
        if runs and s == runs[-1][1] + 1:
            runs[-1][1] = s
        else:
            runs.append([s, s])
    return ", ".join(f"sub{a:03d}" if a == b else f"sub{a:03d}-sub{b:03d}" for a, b in runs)


def run(args: argparse.Namespace) -> int:
    """Load the selected subjects and print the summary; returns the exit code."""
    import numpy as np
    from rich.console import Console
    from rich.table import Table

    from ..io import faced

    console = Console(soft_wrap=True)  # lines are not cut at 80 columns when piped
    try:
        data = faced.load_faced(args.root, args.subjects, progress=not args.no_progress)
    except (OSError, ValueError) as err:  # FacedFormatError is a ValueError
        print(f"error: {err}", file=sys.stderr)
        return 1

    n = data.n_subjects
    console.print(f"[bold]FACED root[/bold] {data.root}")
    console.print(f"subjects: {n} ({_subject_runs(data.subjects)})")
    console.print(f"de: {data.de.shape} {data.de.dtype} (subject, clip, channel, second, band)")
    console.print(f"ratings: {data.ratings.shape} {data.ratings.dtype} (subject, clip, item)")
    cohorts, counts = np.unique(data.cohorts, return_counts=True)
    console.print(
        "recording cohorts (Recording_info.csv): "
        + ", ".join(f"cohort {c}: {k} subject{'s' if k != 1 else ''}" for c, k in zip(cohorts.tolist(), counts.tolist()))
    )
    setups: dict[str, int] = {}
    for rate, unit in zip(data.sample_rates, data.units):
        key = f"{rate:g} Hz in {_UNIT_NAMES.get(unit, unit)}"
        setups[key] = setups.get(key, 0) + 1
    console.print(
        "original recordings: " + ", ".join(f"{k} ({v} subject{'s' if v != 1 else ''})" for k, v in setups.items())
    )
    console.print(
        f"DE (differential entropy, FACED's, of signals in microvolts): mean {float(data.de.mean()):.3f}, "
        f"std {float(data.de.std()):.3f}, range {float(data.de.min()):.2f} to {float(data.de.max()):.2f}"
    )

    valence = faced.clip_mean_ratings(data)[:, faced.VALENCE_ITEM]
    table = Table(title="Mean rated valence per clip (scale 0-7)")
    table.add_column("clip", justify="right")
    table.add_column("emotion")
    table.add_column("valence group")
    table.add_column(f"these {n} subjects", justify="right")
    table.add_column("all 123 subjects (FACED's README)", justify="right")
    for clip in range(faced.N_CLIPS):
        table.add_row(
            str(clip + 1),
            faced.EMOTION_CLASSES[faced.CLIP_LABELS[clip]],
            {-1: "negative", 0: "neutral", 1: "positive"}[int(faced.CLIP_VALENCE_GROUP[clip])],
            f"{valence[clip]:.2f}",
            f"{faced.CLIP_MEAN_VALENCE[clip]:.2f}",
        )
    console.print(table)
    r = float(np.corrcoef(valence, faced.CLIP_MEAN_VALENCE)[0, 1])
    console.print(
        f"agreement of these {n} subjects' clip means with all 123 subjects' (Pearson r over the 28 clips): {r:.3f}"
    )
    return 0
