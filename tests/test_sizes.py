"""Readable units: no function over 80 lines, no module over 600, in the three packages."""

from __future__ import annotations

import ast

from tests.helpers import REPO_ROOT

PACKAGES = ("bci_valence", "offline", "gui")
MAX_FUNCTION_LINES = 80
MAX_MODULE_LINES = 600


def _modules():
    for package in PACKAGES:
        yield from sorted((REPO_ROOT / package).rglob("*.py"))


def test_no_function_is_longer_than_80_lines():
    long = []
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = node.end_lineno - node.lineno + 1
                if n > MAX_FUNCTION_LINES:
                    long.append(f"{path.relative_to(REPO_ROOT)}:{node.lineno} {node.name} ({n} lines)")
    assert long == [], long


def test_no_module_is_longer_than_600_lines():
    long = [
        f"{path.relative_to(REPO_ROOT)} ({n} lines)"
        for path in _modules()
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    ]
    assert long == [], long
