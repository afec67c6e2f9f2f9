"""Write the measured-figure documentation from the JSON that the commands print.

Every figure in ``docs/results.md``, ``docs/benchmarks.md``, ``docs/paper-claims.md``
and the README's headline table comes from a JSON file in ``docs/data/``; nothing is
typed by hand. Each file holds one command's printed JSON object plus a top-level
``"provenance"`` object (:func:`bci_valence.provenance.provenance`: the command line,
the UTC date, the machine and the package versions), which the pages show beside
every table.

Usage::

    python -m offline.docs                        # regenerate every page
    python -m offline.docs record NAME -- CMD...  # run CMD, keep its JSON as docs/data/NAME.json

File names choose the page: ``bench_*`` go to ``docs/benchmarks.md``, everything else
(``vaxis_validation``, ``eval_*``, ``unseen_*``, ``study_*`` ...) to
``docs/results.md``. Known outputs (``bench_features``, ``bench_online``,
``bench_soak``, ``vaxis_validation``, ``bci-valence evaluate``'s JSON, and
``evaluate --protocol``'s JSON of a bundle whose stages ``train --stages auto`` chose)
get tables of their own; any other file is shown as a table of its scalar values. A file may steer
its own section with optional top-level keys: ``"title"`` (the heading),
``"description"`` (a paragraph under it), ``"tables"`` (a list of ``{"title",
"columns", "rows"}`` shown instead of the scalar table) and ``"headline"`` (``{label:
value}`` rows added to the README's headline table).

The package's modules: ``_base`` (constants, loading, formatting), ``_sections``,
``_nested`` and ``_selected`` (one renderer per kind of record), ``_pages`` (the two pages), ``_headline``
(the README's table), ``_build`` (building and recording); this module re-exports their
public names.
"""

from __future__ import annotations

from ._base import (
    COMMAND,
    DATA_DIR,
    DOCS_DIR,
    FIGURES_END,
    FIGURES_START,
    NAME_RE,
    README,
    REPO,
    DocsError,
    anchor,
    fmt,
    load_records,
    provenance_lines,
    table,
)
from ._build import build, main, parse_json_output, record
from ._headline import headline_rows, headline_table, update_readme
from ._nested import NESTED_KINDS, NESTED_MODES, section_nested
from ._pages import render_benchmarks, render_results
from ._sections import (
    EVAL_LABELS,
    MAX_GENERIC_ROWS,
    TITLES,
    Section,
    aggregation_lines,
    section_evaluation,
    section_features,
    section_generic,
    section_online,
    section_soak,
    section_timing,
    section_vaxis,
    title_of,
)

__all__ = [
    "COMMAND",
    "DATA_DIR",
    "DOCS_DIR",
    "EVAL_LABELS",
    "FIGURES_END",
    "FIGURES_START",
    "MAX_GENERIC_ROWS",
    "NAME_RE",
    "NESTED_KINDS",
    "NESTED_MODES",
    "README",
    "REPO",
    "TITLES",
    "DocsError",
    "Section",
    "aggregation_lines",
    "anchor",
    "build",
    "fmt",
    "headline_rows",
    "headline_table",
    "load_records",
    "main",
    "parse_json_output",
    "provenance_lines",
    "record",
    "render_benchmarks",
    "render_results",
    "section_evaluation",
    "section_features",
    "section_generic",
    "section_nested",
    "section_online",
    "section_soak",
    "section_timing",
    "section_vaxis",
    "table",
    "title_of",
    "update_readme",
]
