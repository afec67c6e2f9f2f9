"""A channel's display states are named once (gui/channel_states.py), from the quality
flags of bci_valence, and every part of the app draws with those names."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np

GUI = Path(__file__).resolve().parents[2] / "gui"


def test_states_take_their_names_from_the_quality_flags():
    from bci_valence.signal.quality import QualityFlag
    from gui.channel_states import CHANNEL_STATES, FLAGGED_BY, INTERPOLATED, flagged_meaning
    from gui.widgets.raw_traces import QUALITY_COLOURS

    assert INTERPOLATED == QualityFlag.INTERPOLATED.name.lower() == "interpolated"
    assert tuple(QUALITY_COLOURS) == CHANNEL_STATES  # one curve per state, no other
    assert flagged_meaning() == "flagged: FLAT, NONFINITE or ARTEFACT in the last second"
    assert not FLAGGED_BY & QualityFlag.INTERPOLATED  # an interpolated channel is never also flagged


def test_no_other_module_of_the_app_spells_a_state():
    from gui.channel_states import CHANNEL_STATES

    spelled = []
    for path in sorted(GUI.rglob("*.py")):
        if path.name == "channel_states.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and node.value in CHANNEL_STATES:
                spelled.append(f"{path.relative_to(GUI)}:{node.lineno} {node.value!r}")
    assert spelled == []


def test_flagged_channels_are_those_of_flagged_by():
    from bci_valence.signal.quality import QualityThresholds
    from gui.worker import flagged_channels

    rng = np.random.default_rng(0)
    names = ("good", "flat", "nan", "huge", "interp")
    data = rng.normal(0.0, 10.0, size=(5, 500))
    data[1] = 3.0
    data[2, 400] = np.nan  # in the last second
    data[3] *= 1e4
    data[4] = 0.0  # flat, but interpolated: not the recording's fault
    thresholds = QualityThresholds()
    assert thresholds.artefact_uv < 1e4
    assert flagged_channels(data, names, ("interp",), thresholds, sfreq=250.0) == ("flat", "nan", "huge")
