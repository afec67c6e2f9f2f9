"""Core subcommands of ``bci-valence``; one module per subcommand.

Each module defines ``add_parser(subparsers)`` which registers the subcommand and sets
``func`` to a callable taking the parsed namespace and returning an exit code. Heavy
imports (torch, MNE, LSL) happen inside that callable so ``--help`` stays fast.
"""
