"""The ``session-report`` subcommand."""

from __future__ import annotations

import argparse
from typing import Any

from ._session import SessionReportError
from ._write import write_session_report


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register the ``session-report`` subcommand."""
    p = subparsers.add_parser(
        "session-report",
        help="a Markdown page with figures for one session (XDF recording or step CSV)",
        description=(
            "Write DIR/report.md with figures: the valence trace with the segments shaded, per-segment "
            "means with 95% intervals, the quality timeline, and scalp maps of each segment against the "
            "baseline. A recording (XDF from `run --record`, or anything `replay` reads) is replayed "
            "through the pipeline first; a step CSV (`run --out`) is read as it is and has no scalp maps "
            "(it holds no DE)."
        ),
    )
    p.add_argument("session", help="SESSION.xdf (or another recording) or SESSION.csv (a `run --out` log)")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder (report.md and PNG figures)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing DIR/report.md and its figures")
    p.add_argument("--segments", default=None, metavar="CSV",
                   help="segment schedule (label,onset_s,duration_s; seconds from the first sample); default: "
                        "the recording's markers, or a CSV's true_label column")  # fmt: skip
    p.add_argument("--baseline", default=None, metavar="LABEL",
                   help="label of the baseline segment: differences and scalp maps are against it")  # fmt: skip
    p.add_argument("--band", default="alpha",
                   help="band of the scalp maps (delta ... gamma) or 'all' (default alpha)")  # fmt: skip
    p.add_argument("--stream", default=None, help="an XDF's EEG stream (name or type), or a CSV's stream")
    p.add_argument("--bundle", default=None, help="model bundle folder (default: the shipped one)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument("--allow-bad", action="store_true",
                   help="read what a truncated recording holds (its rows flagged) instead of refusing it")  # fmt: skip
    g = p.add_argument_group("replay (recordings only; a CSV's own settings are read from its description)")
    g.add_argument("--calibration-s", type=float, default=60.0,
                   help="calibration period in seconds (default 60: give the live run's)")  # fmt: skip
    g.add_argument("--hop", type=float, default=0.25, help="seconds between steps (default 0.25)")
    g.add_argument("--notch", type=float, default=50.0, choices=(0.0, 50.0, 60.0),
                   help="mains notch in Hz, 0 for none (default 50)")  # fmt: skip
    g.add_argument("--channels", default=None, help="relabel the stream: 'Fp1,Fp2,...' or an MNE montage name")
    g.add_argument("--min-channels", type=int, default=8, help="fewest placed channels (default 8)")
    g.add_argument("--units", default="auto", choices=("auto", "uV", "V"),
                   help="units of the stream when it does not say (default auto)")  # fmt: skip
    g.add_argument("--device", default="auto", help="torch device: auto, cpu, cuda (default auto)")
    p.set_defaults(func=_run, calibration=None)
    return p



def _run(args: argparse.Namespace) -> int:
    """Write the report; returns the exit code (2 refused input, 3 a session with no step)."""
    from bci_valence.commands import fail
    from bci_valence.commands.run import settings_from_args
    from bci_valence.model.bundle import BundleError

    try:
        settings = settings_from_args(args)
    except ValueError as err:
        return fail(str(err))
    try:
        report = write_session_report(
            args.session, args.out, bundle=args.bundle, settings=settings, schedule=args.segments,
            baseline=args.baseline, band=args.band, stream=args.stream, overwrite=args.overwrite,
            allow_truncated=args.allow_bad, progress=not args.no_progress,
        )  # fmt: skip
    except SessionReportError as err:
        return fail(str(err), err.code)
    except (FileExistsError, BundleError) as err:
        return fail(str(err))
    except OSError as err:
        return fail(f"cannot write the report in {args.out}: {err}")
    print(report)
    return 0
