"""Several sources in one source text (one person each), without Qt: what the source
panel, the worker and the headless demo read from ``--source`` or the *Spec* page."""

from __future__ import annotations

__all__ = ["SPEC_SEPARATOR", "split_specs"]

#: Separates the specs of several sources (one person each) in one source text.
SPEC_SEPARATOR = ";"


def split_specs(text: str) -> tuple[str, ...]:
    """The source specs in ``text``: one, or several separated by ``;`` or new lines.

    Parameters
    ----------
    text : str
        E.g. ``"sim:seed=1;sim:seed=2"`` (two simulated people).

    Returns
    -------
    tuple of str
        The non-empty specs, stripped, in order.
    """
    parts = str(text or "").replace("\n", SPEC_SEPARATOR).split(SPEC_SEPARATOR)
    return tuple(part.strip() for part in parts if part.strip())
