"""``bci-valence gui`` and ``bci-valence demo`` (entry points ``gui.cli:add_gui_parser``,
``gui.cli:add_demo_parser``); Qt and the pipeline are imported inside the handlers."""

from __future__ import annotations

import argparse
import sys


def add_gui_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``gui``."""
    p = subparsers.add_parser(
        "gui",
        help="the desktop app: live valence, emotion probabilities, scalp maps, raw EEG",
        description="Open the desktop app. With --source the session starts at once; with "
        "--screenshot the window is saved as a PNG after --after seconds and the app exits.",
    )
    p.add_argument("--source", metavar="SPEC", help="source spec to start at once: sim:, lsl:name=X, "
                   "brainflow:synthetic, xdf:FILE?speed=2, file:FILE.set ...")
    p.add_argument("--bundle", metavar="PATH", help="model bundle folder (default: the shipped one)")
    p.add_argument("--calibration", type=float, metavar="S", help="calibration length in seconds")
    p.add_argument("--screenshot", metavar="FILE.png", help="save a screenshot of the running window and exit")
    p.add_argument("--after", type=float, default=20.0, metavar="S",
                   help="seconds before the screenshot (default 20)")
    p.add_argument("--settings", metavar="FILE.ini", help="keep settings in this INI file instead of the user's")
    p.set_defaults(func=_run_gui)
    return p


def add_demo_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``demo``."""
    p = subparsers.add_parser(
        "demo",
        help="the app on the simulated headset (headless: a 1-min run writing CSV + PNG)",
        description="Open the app on the simulated headset with the default bundle. Without a "
        "display (or with --headless) run the same pipeline for --duration seconds and write "
        "valence.csv and valence.png to --out-dir.",
    )
    p.add_argument("--headless", action="store_true", help="run without a window even if a display exists")
    p.add_argument("--duration", type=float, default=60.0, metavar="S", help="headless run length (default 60)")
    p.add_argument("--out-dir", default="bci-valence-demo", metavar="DIR",
                   help="headless output folder (default ./bci-valence-demo)")
    p.add_argument("--calibration", type=float, default=20.0, metavar="S",
                   help="calibration length in seconds (default 20)")
    p.add_argument("--bundle", metavar="PATH", help="model bundle folder (default: the shipped one)")
    p.add_argument("--source", default="sim:", metavar="SPEC", help="source spec (default sim:)")
    p.set_defaults(func=_run_demo)
    return p


def _run_gui(args: argparse.Namespace) -> int:
    import os

    from .app import display_problem, is_headless, run_gui

    if args.screenshot and is_headless() and not os.environ.get("QT_QPA_PLATFORM"):
        os.environ["QT_QPA_PLATFORM"] = "offscreen"  # a screenshot needs no screen
    problem = display_problem()
    if problem is not None:
        print(f"bci-valence gui: {problem}.\nUse `bci-valence demo` for a headless run (CSV + PNG), "
              "run the app under xvfb-run, or pass --screenshot FILE.png to render it offscreen.",
              file=sys.stderr)
        return 2
    return run_gui(source=args.source, bundle=args.bundle, calibration_s=args.calibration,
                   screenshot=args.screenshot, after=args.after, settings_file=args.settings)


def _run_demo(args: argparse.Namespace) -> int:
    from .app import display_problem, is_headless

    problem = None if args.headless or is_headless() else display_problem()
    if problem is not None:
        print(f"bci-valence demo: {problem}; running headless instead.", file=sys.stderr)
    if args.headless or is_headless() or problem is not None:
        from .headless import HeadlessDemoSettings, run_headless_demo

        settings = HeadlessDemoSettings(duration_s=args.duration, out_dir=args.out_dir, source=args.source,
                                        calibration_s=args.calibration, bundle=args.bundle or "")
        try:
            result = run_headless_demo(settings)
        except Exception as err:  # noqa: BLE001 - a readable message, not a traceback
            print(f"bci-valence demo failed: {type(err).__name__}: {err}", file=sys.stderr)
            return 1
        print(f"{result.steps} steps, mean latency {result.mean_latency_ms:.0f} ms")
        print(f"CSV: {result.csv}")
        print(f"PNG: {result.png}")
        return 0
    from .app import run_gui

    return run_gui(source=args.source, bundle=args.bundle, calibration_s=args.calibration, autostart=True)
