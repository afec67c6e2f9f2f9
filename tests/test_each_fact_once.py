"""Facts defined once, checked as the code is: the device rule and the FACED rate."""

from __future__ import annotations

import re

from tests.helpers import REPO_ROOT

PACKAGES = ("bci_valence", "offline", "gui")


def _sources():
    for package in PACKAGES:
        yield from sorted((REPO_ROOT / package).rglob("*.py"))


def test_the_device_rule_is_written_only_in_bci_valence_device():
    rule = re.compile(r'"cuda"\s+if\b')
    found = [str(p.relative_to(REPO_ROOT)) for p in _sources() if rule.search(p.read_text(encoding="utf-8"))]
    assert found == ["bci_valence/device.py"], found


def test_no_literal_sampling_rate_outside_the_constants():
    literal = re.compile(r"(?<![\w.])250\.0\b")
    found = [
        f"{p.relative_to(REPO_ROOT)}:{n}"
        for p in _sources()
        if p.name != "constants.py"
        for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
        if literal.search(line.split("#", 1)[0])
    ]
    assert found == [], found
