"""The errors of specs and sources, below every module that raises them."""

from __future__ import annotations

__all__ = ["SourceError", "SourceSpecError"]


class SourceSpecError(ValueError):
    """A source spec that cannot be parsed; the message names it and the expected form."""


class SourceError(RuntimeError):
    """A source that cannot be opened or read (stream not found, board not answering...)."""
