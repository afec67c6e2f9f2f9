"""``bci-valence simulate``: run the simulated FACED headset on LSL in the foreground."""

from __future__ import annotations

import argparse
import sys

from ..checks import arg_number
from ..constants import FACED_SFREQ


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register the ``simulate`` subcommand."""
    parser = subparsers.add_parser(
        "simulate",
        help="stream a SIMULATED 32-channel FACED-montage headset on LSL",
        description=(
            "Stream a simulated 32-channel FACED-montage EEG headset on LSL whose band "
            "powers follow FACED's class-conditional DE statistics, through a scripted "
            "sequence of emotion segments, with a marker stream carrying the true label. "
            "The data are SIMULATED: the stream says so (desc/simulated=true)."
        ),
    )
    parser.add_argument(
        "--duration", type=arg_number(0, low_inclusive=False), default=None,
        help="stop after S seconds (default: until Ctrl+C)",
    )
    parser.add_argument(
        "--script",
        default=None,
        help="emotion segments as CLASS:SECONDS,... (default: the nine FACED classes, 20 s each)",
    )
    parser.add_argument("--rate", type=arg_number(0, low_inclusive=False), default=FACED_SFREQ, help=f"sampling rate in Hz (default {FACED_SFREQ:g})")
    parser.add_argument("--name", default="bci-valence-sim", help="LSL stream name")
    parser.add_argument("--source-id", default=None, help="LSL source_id (default: unique)")
    parser.add_argument("--seed", type=int, default=None, help="random seed")
    parser.add_argument(
        "--contrast",
        type=arg_number(0),
        default=1.0,
        help="factor on the class differences (1 = FACED's effect sizes; e.g. 3 for a demo)",
    )
    parser.add_argument("--once", action="store_true", help="play the script once instead of looping")
    parser.set_defaults(func=run)
    return parser


BANNER = "=" * 64 + "\n  SIMULATED EEG - not a real headset (bci-valence simulate)\n" + "=" * 64


def run(args: argparse.Namespace) -> int:
    """Stream until the duration elapses or Ctrl+C; returns the exit code."""
    import time

    from ..streams.simulator import (
        SimulatedHeadset,
        SimulationSettings,
        parse_script,
    )

    try:
        settings = SimulationSettings(
            sfreq=args.rate,
            script=parse_script(args.script),
            loop=not args.once,
            duration=args.duration,
            name=args.name,
            source_id=args.source_id,
            seed=args.seed,
            contrast=args.contrast,
        )
        headset = SimulatedHeadset(settings)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(BANNER, flush=True)
    print(
        f"stream {headset.name!r} (source_id {headset.source_id}), {headset.synth.n_ch} ch @ "
        f"{settings.sfreq:g} Hz; markers on {headset.name + '-markers'!r}\n"
        f"script: {settings.script_text}{'' if settings.loop else ' (once)'}; "
        f"contrast {settings.contrast:g}",
        flush=True,
    )
    headset.start()
    last = None
    try:
        while not headset.finished:
            if headset.current_label != last:
                last = headset.current_label
                if last is not None:
                    print(f"[SIMULATED] segment: {last}", flush=True)
            time.sleep(0.2)
    except KeyboardInterrupt:
        print("stopping", flush=True)
    finally:
        headset.stop()
    print(f"[SIMULATED] done: {headset.n_pushed} samples", flush=True)
    return 0
