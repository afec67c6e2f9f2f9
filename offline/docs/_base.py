"""Constants, loading and formatting shared by the pages (:mod:`offline.docs`)."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
DATA_DIR = REPO / "docs" / "data"
DOCS_DIR = REPO / "docs"
README = REPO / "README.md"
COMMAND = "python -m offline.docs"
FIGURES_START = "<!-- figures:start -->"
FIGURES_END = "<!-- figures:end -->"
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


class DocsError(ValueError):
    """A docs/data file or a record request that cannot be used."""


# ----------------------------------------------------------------------------- loading


def load_records(data_dir: str | Path) -> dict[str, dict[str, Any]]:
    """Read every ``*.json`` in ``data_dir``.

    Parameters
    ----------
    data_dir : str | Path
        The folder of measured-figure JSON files.

    Returns
    -------
    dict
        ``{file stem: object}``, sorted by name.

    Raises
    ------
    DocsError
        When the folder is missing, or a file is not a JSON object or lacks a
        ``provenance`` object with ``command``, ``date`` and ``machine``; every
        offending file is named.
    """
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise DocsError(f"data folder {data_dir} does not exist (expected a folder of *.json files)")
    records: dict[str, dict[str, Any]] = {}
    problems: list[str] = []
    for path in sorted(data_dir.glob("*.json")):
        try:
            obj = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as err:
            problems.append(f"{path.name}: not readable JSON ({err})")
            continue
        if not isinstance(obj, dict):
            problems.append(f"{path.name}: a JSON {type(obj).__name__}, expected an object")
            continue
        prov = obj.get("provenance")
        missing = (
            ["provenance"]
            if not isinstance(prov, dict)
            else [k for k in ("command", "date", "machine") if k not in prov]
        )
        if missing:
            problems.append(
                f"{path.name}: no {' / '.join(missing)} in its 'provenance' object (expected "
                "bci_valence.provenance.provenance()'s output under the key 'provenance')"
            )
            continue
        records[path.stem] = obj
    if problems:
        raise DocsError("cannot use these files in " + str(data_dir) + ":\n  " + "\n  ".join(problems))
    return records


# ----------------------------------------------------------------------------- formatting


def fmt(value: Any) -> str:
    """Format one value for a Markdown table (numbers rounded for reading, never altered)."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "∞" if value > 0 else "−∞"
        a = abs(value)
        if value.is_integer() and a < 1e15:
            return f"{int(value):,}"
        if a >= 1000:
            return f"{value:,.0f}"
        if a >= 100:
            return f"{value:.1f}"
        if a == 0:
            return "0"
        if a < 1e-3:
            return f"{value:.2e}"
        return f"{value:.3g}"
    if isinstance(value, (list, tuple)):
        if len(value) == 2 and all(isinstance(v, (int, float)) for v in value):
            return f"{fmt(value[0])}–{fmt(value[1])}"
        return ", ".join(fmt(v) for v in value)
    return str(value).replace("|", "\\|").replace("\n", " ")


def _get(obj: Any, *keys: str, default: Any = None) -> Any:
    """``obj[k1][k2]...`` or ``default`` where any level is missing."""
    for key in keys:
        if not isinstance(obj, dict) or key not in obj:
            return default
        obj = obj[key]
    return obj


def table(columns: Sequence[str], rows: Iterable[Sequence[Any]], align: str | None = None) -> list[str]:
    """A Markdown table; ``align`` is one letter per column (``l`` or ``r``)."""
    align = align or "l" + "r" * (len(columns) - 1)
    sep = ["---:" if a == "r" else "---" for a in align]
    lines = ["| " + " | ".join(columns) + " |", "| " + " | ".join(sep) + " |"]
    for row in rows:
        lines.append("| " + " | ".join(_escape_bars(c) if isinstance(c, str) else fmt(c) for c in row) + " |")
    return lines


def _escape_bars(text: str) -> str:
    """A cell's text with every ``|`` not yet escaped escaped (an unescaped one ends the cell)."""
    return re.sub(r"(?<!\\)\|", r"\\|", text).replace("\n", " ")


def anchor(heading: str) -> str:
    """The anchor GitHub gives a Markdown heading."""
    text = heading.strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def provenance_lines(prov: dict[str, Any], source: str) -> list[str]:
    """The lines that say where a section's figures come from."""
    machine = prov.get("machine") or {}
    parts = [str(machine.get("cpu") or "unknown CPU")]
    if machine.get("cores") is not None:
        parts.append(f"{machine['cores']} cores")
    parts.append(f"GPU {machine['gpu']}" if machine.get("gpu") else "no GPU")
    if machine.get("platform"):
        parts.append(str(machine["platform"]))
    if machine.get("python"):
        parts.append(f"Python {machine['python']}")
    versions = prov.get("versions") or {}
    lines = [
        f"- Command: `{prov.get('command')}`",
        f"- Date (UTC): {prov.get('date')}",
        f"- Machine: {', '.join(parts)}",
    ]
    if versions:
        lines.append("- Versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()))
    lines.append(f"- Data: [{source}]({source})")
    return lines


def _flatten(obj: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """Scalar leaves (and short scalar lists) of a JSON object, as dotted paths."""
    rows: list[tuple[str, Any]] = []
    if isinstance(obj, dict):
        for key, value in obj.items():
            if key in ("provenance", "title", "description", "tables", "headline") and not prefix:
                continue
            rows.extend(_flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    elif isinstance(obj, list):
        if obj and len(obj) <= 12 and all(isinstance(v, (int, float, str, bool)) or v is None for v in obj):
            rows.append((prefix, obj))
    elif isinstance(obj, str) and len(obj) > 200:
        rows.append((prefix, obj[:197] + "..."))
    else:
        rows.append((prefix, obj))
    return rows
