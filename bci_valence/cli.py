"""The ``bci-valence`` command.

Core subcommands live in :mod:`bci_valence.commands`; the ``offline`` and ``gui``
applications add theirs through the ``bci_valence.commands`` entry-point group, so
this package never imports them by name.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from importlib.metadata import entry_points

from . import __version__

#: Core subcommand modules; each defines ``add_parser(subparsers)``.
CORE_COMMANDS = (
    "faced",
    "features",
    "run",
    "replay",
    "streams",
    "simulate",
)

ENTRY_POINT_GROUP = "bci_valence.commands"


def build_parser() -> argparse.ArgumentParser:
    """Build the top-level parser with every core and plugin subcommand."""
    parser = argparse.ArgumentParser(
        prog="bci-valence",
        description="Real-time EEG valence decoding on a language-model valence axis.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in CORE_COMMANDS:
        module = importlib.import_module(f"bci_valence.commands.{name}")
        module.add_parser(subparsers)
    for entry in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        try:
            add_parser = entry.load()
        except ImportError as err:  # an application whose extra is not installed
            logging.getLogger(__name__).debug("command %r unavailable: %s", entry.name, err)
            continue
        add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if getattr(args, "func", None) is None:
        parser.print_help()
        return 1
    return int(args.func(args) or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
