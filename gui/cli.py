"""``bci-valence gui`` and ``bci-valence demo`` (entry points ``gui.cli:add_gui_parser``,
``gui.cli:add_demo_parser``); Qt and the pipeline are imported inside the handlers."""

from __future__ import annotations

import argparse
import os
import sys

#: The gui extra's packages the window needs (the headless demo needs neither).
QT_MODULES = ("PySide6", "pyqtgraph")


def add_gui_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``gui``."""
    p = subparsers.add_parser(
        "gui",
        help="the desktop app: live valence, emotion probabilities, scalp maps, raw EEG",
        description="Open the desktop app. With --source the session starts at once; with "
        "--screenshot the window is saved as a PNG after --after seconds and the app exits.",
    )
    from bci_valence.streams.kinds import describe_kinds  # the registered kinds, plugins included

    p.add_argument("--source", metavar="SPEC", help=f"source spec to start at once: {describe_kinds()}")
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
    p.add_argument("--source", default="sim:", metavar="SPEC",
                   help="source spec, or several separated by ';' (one person each; default sim:)")
    p.add_argument("--group", type=int, default=None, metavar="N",
                   help="simulate N people, each with their own seed, on one script (instead of --source)")
    p.add_argument("--contrast", type=float, default=1.0,
                   help="with --group: the simulator's effect size (1 = FACED's, the default)")
    p.set_defaults(func=_run_demo)
    return p


def _import_qt() -> str | None:
    """Import the window's packages before any other work.

    A missing one raises :class:`ModuleNotFoundError`, which ``bci-valence`` turns into
    the line naming the gui extra.

    Returns
    -------
    str | None
        Why Qt's libraries cannot load although PySide6 is installed (a system library
        missing), or None.
    """
    import PySide6  # noqa: F401

    try:
        import pyqtgraph  # noqa: F401  (loads QtCore, QtGui, QtWidgets)
    except ModuleNotFoundError:
        raise
    except ImportError as err:  # a shared library of Qt's that the system lacks
        from .app import qt_library_problem

        return qt_library_problem() or f"Qt cannot load: {err}"
    return None


def _run_gui(args: argparse.Namespace) -> int:
    from .app import display_problem, is_headless, run_gui

    problem = _import_qt()
    if problem is not None:
        print(f"bci-valence gui: {problem}.", file=sys.stderr)
        return 2
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


def headless_reason(args: argparse.Namespace) -> str | None:
    """Why ``demo`` cannot open the window here, or None when it can (or was told
    ``--headless``, which needs no reason)."""
    from bci_valence.cli import install_command, unavailable_extra

    from .app import display_problem, is_headless

    if args.headless:
        return None
    platform = os.environ.get("QT_QPA_PLATFORM", "")
    if platform.startswith(("offscreen", "minimal")):
        return f"QT_QPA_PLATFORM={platform} asks for no window"
    extra = None if is_headless() else unavailable_extra(*QT_MODULES)
    if extra is not None:
        return f"the window needs the {extra} extra ({install_command(extra)})"
    return display_problem()


def _run_demo(args: argparse.Namespace) -> int:
    if args.group is not None:
        if args.group < 1:
            print(f"error: --group takes a number of people >= 1, got {args.group}", file=sys.stderr)
            return 2
        from .headless import group_spec

        args.source = group_spec(args.group, contrast=args.contrast)
    reason = headless_reason(args)
    if reason is not None:
        print(f"bci-valence demo: {reason}; running headless instead ({args.duration:g} s, CSV and PNG "
              f"in {args.out_dir})", file=sys.stderr)
    if args.headless or reason is not None:
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
