"""Scalp regions from channel names."""

from __future__ import annotations

import pytest

from bci_valence.constants import FACED_CHANNELS
from offline.studies.regions import REGIONS, channel_region, region_channels, region_of_channels

EXPECTED = {
    "frontal": {"Fp1", "Fp2", "Fz", "F3", "F4", "F7", "F8"},
    "central": {"FC1", "FC2", "FC5", "FC6", "Cz", "C3", "C4"},
    "temporal": {"T7", "T8"},
    "parietal": {"CP1", "CP2", "CP5", "CP6", "Pz", "P3", "P4", "P7", "P8"},
    "occipital": {"PO3", "PO4", "Oz", "O1", "O2"},
    "mastoid": {"A1", "A2"},
}


def test_every_faced_channel_has_its_region() -> None:
    assert len(FACED_CHANNELS) == 32
    groups = region_channels(FACED_CHANNELS)
    named = {r: {FACED_CHANNELS[i] for i in idx} for r, idx in groups.items()}
    assert named == EXPECTED
    # a partition: each of the 32 channels exactly once
    assert sorted(i for idx in groups.values() for i in idx) == list(range(32))
    assert set(region_of_channels()) <= set(REGIONS)


@pytest.mark.parametrize("name,region", [("po3", "occipital"), ("FP1", "frontal"), ("FPz", "frontal"),
                                         ("CZ", "central"), ("cp6", "parietal"), ("Iz", "occipital")])
def test_case_and_spelling_do_not_matter(name: str, region: str) -> None:
    assert channel_region(name) == region


@pytest.mark.parametrize("name", ["EOG1", "Status", "X3", "F"])
def test_non_10_20_names_are_refused_by_name(name: str) -> None:
    with pytest.raises(ValueError, match=name):
        channel_region(name)
