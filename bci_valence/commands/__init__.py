"""Core subcommands of ``bci-valence``; one module per subcommand.

Each module defines ``add_parser(subparsers)`` which registers the subcommand and sets
``func`` to a callable taking the parsed namespace and returning an exit code. Heavy
imports (torch, MNE, LSL) happen inside that callable so ``--help`` stays fast.
Refused input is reported with :func:`fail`.
"""

import sys


def fail(message: str, code: int = 2) -> int:
    """Print ``error: message`` on stderr and return the exit code (2: refused input)."""
    print(f"error: {message}", file=sys.stderr)
    return code
