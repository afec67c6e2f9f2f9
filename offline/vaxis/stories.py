"""The emotion stories and their paraphrases: one story per FACED class."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from .settings import CLASS_NAMES, DATA_DIR, StoriesError

log = logging.getLogger(__name__)


def default_stories_path() -> Path:
    """The shipped stories file (``offline/data/stories.json``)."""
    return DATA_DIR / "stories.json"


def parse_stories(data: Any, source: str = "<stories>") -> dict[str, dict[str, Any]]:
    """Check a stories mapping and return it normalised.

    Parameters
    ----------
    data : object
        ``{class: {"story": str, "paraphrases": [str, ...]}}`` with all nine
        FACED classes (extra classes are ignored with a warning).
    source : str
        Where the data came from, for error messages.

    Returns
    -------
    dict
        ``{class: {"story": str, "paraphrases": list[str]}}`` in :data:`CLASS_NAMES` order.

    Raises
    ------
    StoriesError
        Naming the file and the class that is missing or malformed.
    """
    if not isinstance(data, Mapping):
        raise StoriesError(
            f"stories file {source}: expected a JSON object {{class: {{\"story\": ..., "
            f"\"paraphrases\": [...]}}}}, got {type(data).__name__}"
        )
    missing = [c for c in CLASS_NAMES if c not in data]
    if missing:
        raise StoriesError(
            f"stories file {source} lacks class {', '.join(missing)} "
            f"(needs all nine FACED classes: {', '.join(CLASS_NAMES)})"
        )
    extra = [c for c in data if c not in CLASS_NAMES]
    if extra:
        log.warning("stories file %s: ignoring unknown classes %s", source, ", ".join(extra))
    out: dict[str, dict[str, Any]] = {}
    for name in CLASS_NAMES:
        entry = data[name]
        if not isinstance(entry, Mapping):
            raise StoriesError(
                f"stories file {source}, class {name!r}: expected an object with \"story\" "
                f"and \"paraphrases\", got {type(entry).__name__}"
            )
        story = entry.get("story")
        if not isinstance(story, str) or not story.strip():
            raise StoriesError(
                f"stories file {source}, class {name!r}: \"story\" must be a non-empty string"
            )
        paraphrases = entry.get("paraphrases")
        if not isinstance(paraphrases, list) or not paraphrases:
            raise StoriesError(
                f"stories file {source}, class {name!r}: \"paraphrases\" must be a non-empty "
                "list of strings"
            )
        for i, text in enumerate(paraphrases):
            if not isinstance(text, str) or not text.strip():
                raise StoriesError(
                    f"stories file {source}, class {name!r}: paraphrase {i} is not a "
                    "non-empty string"
                )
        out[name] = {"story": story.strip(), "paraphrases": [p.strip() for p in paraphrases]}
    return out


def load_stories(path: str | Path | None = None) -> dict[str, dict[str, Any]]:
    """Read and check a stories JSON file (None = the shipped one).

    Raises
    ------
    StoriesError
        If the file is missing, not JSON, or fails :func:`parse_stories`.
    """
    path = Path(path) if path is not None else default_stories_path()
    if not path.is_file():
        raise StoriesError(f"stories file not found: {path}")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise StoriesError(f"stories file {path} is not valid JSON: {err}") from err
    return parse_stories(data, source=str(path))


def stories_texts(
    stories: Mapping[str, Mapping[str, Any]], n_paraphrases: int | None = None
) -> tuple[list[str], np.ndarray]:
    """Flatten stories into texts and class labels (story first, then paraphrases).

    Returns
    -------
    texts : list of str
    labels : ndarray of int, index into :data:`CLASS_NAMES`
    """
    texts: list[str] = []
    labels: list[int] = []
    for k, name in enumerate(CLASS_NAMES):
        entry = stories[name]
        paras = list(entry["paraphrases"])
        if n_paraphrases is not None:
            paras = paras[:n_paraphrases]
        for text in [entry["story"], *paras]:
            texts.append(text)
            labels.append(k)
    return texts, np.asarray(labels, dtype=int)
