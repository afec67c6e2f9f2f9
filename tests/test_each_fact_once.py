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


def test_the_hop_becomes_samples_only_in_the_window_timing():
    """Seconds between windows times a rate is computed in ``signal/window_timing.py``
    only: everything else asks a :class:`~bci_valence.signal.window_timing.WindowTiming`."""
    product = re.compile(r"hop\w*\s*\*\s*[\w.]*(sfreq|rate)|(sfreq|rate)\w*\s*\*\s*[\w.]*hop_s\b")
    found = [
        f"{p.relative_to(REPO_ROOT)}:{n}"
        for p in sorted((REPO_ROOT / "bci_valence").rglob("*.py"))
        if p.name != "window_timing.py"
        for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
        if product.search(line.split("#", 1)[0])
    ]
    assert found == [], found


def test_the_hop_range_is_the_constant_everywhere():
    """One range of valid hops: the settings and the window timing both refuse what the
    constant refuses, and accept its ends."""
    import pytest

    from bci_valence.constants import HOP_RANGE_S
    from bci_valence.online.settings import PipelineSettings
    from bci_valence.signal.window_timing import WindowTiming

    low, high = HOP_RANGE_S
    for hop in (low, high):
        PipelineSettings(hop_s=hop)
        WindowTiming(500.0, hop, 500, 0)
    for hop in (low / 2, high * 2):
        with pytest.raises(ValueError, match="hop_s"):
            PipelineSettings(hop_s=hop)
        with pytest.raises(ValueError, match="hop_s"):
            WindowTiming(500.0, hop, 500, 0)
