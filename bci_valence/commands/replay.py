"""``bci-valence replay FILE``: run the online pipeline over a recording.

``--speed X`` replays the file onto LSL at X times real time (the sources' player) and
reads it back like any live stream; ``--speed max`` feeds the same processors
directly from memory as fast as possible. Both give the same steps.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..checks import arg_number, check_range
from . import fail
from .run import (
    add_pipeline_options,
    check_outputs,
    run_session,
    segment_settings_from_args,
    session_settings_from_args,
    settings_from_args,
)


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register the ``replay`` subcommand."""
    parser = subparsers.add_parser(
        "replay",
        help="run the pipeline over a recording (XDF, EEGLAB, EDF, BDF, FIF...)",
        description=(
            "Replay a recording through the online pipeline: --speed X replays it on LSL "
            "at X times real time, --speed max processes it from memory as fast as "
            "possible (identical steps)."
        ),
    )
    parser.add_argument("file", help="recording file (.xdf or anything MNE reads)")
    parser.add_argument("--speed", default="max", help="replay speed factor or 'max' (default max)")
    parser.add_argument("--stream", default=None, help="XDF only: name of the EEG stream to use")
    parser.add_argument("--recorded-timestamps", action="store_true",
                        help="XDF only: keep the timestamps as recorded, jitter and all (no dejittering), "
                             "so the replay sees what the live run saw")  # fmt: skip
    parser.add_argument("--duration", type=arg_number(0, low_inclusive=False), default=None, metavar="S",
                        help="stop after S seconds of wall time")  # fmt: skip
    parser.add_argument("--record", default=None, metavar="XDF",
                        help="record the replayed stream and the outlet to this XDF file")  # fmt: skip
    add_pipeline_options(parser)
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Open the file as a source and run the session; returns the exit code."""
    from ..io.recordings import XDF_SUFFIXES, RecordingError
    from ..streams.factory import open_source
    from ..streams.spec import SourceSpecError

    speed = str(args.speed).strip().lower()
    if speed not in ("max", "inf"):
        try:
            check_range(float(speed), "--speed", 0, low_inclusive=False)
        except ValueError:
            return fail(f"--speed must be a number > 0 or 'max', got {args.speed!r}")
    path, _, options = str(args.file).partition("?")
    if options and Path(args.file).exists():  # a file whose name holds a '?'
        path, options = str(args.file), ""
    path = Path(path)
    kind = "xdf" if path.name.lower().endswith(XDF_SUFFIXES) else "file"
    query = f"speed={speed}"
    if options:  # FILE?allow_truncated=1&stream=EEG: the source spec's options, as with --source
        if "speed=" in options:
            return fail(f"{args.file!r}: give the speed with --speed, not in the file name")
        query += f"&{options}"
    if getattr(args, "allow_bad", False):
        query += "&allow_truncated=1"  # read what a cut-off file holds; its rows flagged
    if args.recorded_timestamps and kind == "xdf":
        query += "&dejitter=0"
    if args.stream and kind == "xdf":
        query += f"&stream={args.stream}"
    try:
        settings = settings_from_args(args)
        outputs = session_settings_from_args(args)
    except ValueError as err:
        return fail(str(err))
    problem = check_outputs(outputs)
    if problem:
        return fail(problem)
    try:
        segments = segment_settings_from_args(args, outputs)
    except (ValueError, FileExistsError) as err:
        return fail(str(err))
    try:
        source = open_source(f"{kind}:{path}?{query}")
    except (SourceSpecError, RecordingError, OSError) as err:
        return fail(str(err))
    except ValueError as err:
        return fail(f"cannot replay {path}: {err}")
    realtime = speed not in ("max", "inf")
    if not realtime:
        # an in-memory replay never goes stale
        from dataclasses import replace

        settings = replace(settings, stream=replace(settings.stream, stale_after_s=float("inf")))
    print(f"replaying {path} at speed {speed}", file=sys.stderr)
    short = _shorter_than_calibration(source, settings)
    if short:
        print(f"note: {short}", file=sys.stderr)
    return run_session(
        [source], settings, bundle=args.bundle, duration=args.duration, outputs=outputs,
        quiet=args.quiet, realtime=realtime, names=[path.name], allow_bad=getattr(args, "allow_bad", False),
        segments=segments,
    )  # fmt: skip


def _shorter_than_calibration(source, settings) -> str | None:
    """A note when the recording ends before the calibration can complete, else None."""
    recording = getattr(source, "recording", None)
    if recording is None:
        players = getattr(source, "players", None) or []
        recording = getattr(players[0], "recording", None) if players else None
    if recording is None or (settings.calibration.path and Path(settings.calibration.path).exists()):
        return None
    cal = float(settings.calibration.seconds)
    if cal <= 0 or recording.duration >= cal:
        return None
    return (
        f"the recording is {recording.duration:.1f} s long, shorter than the {cal:g} s calibration: "
        "every step will be flagged CALIBRATING (pass --calibration-s with a shorter period, "
        "or --calibration with a saved calibration)"
    )
