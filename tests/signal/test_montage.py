"""Montage: name normalisation, mapping and spherical-spline interpolation."""

from __future__ import annotations

import numpy as np
import pytest

from bci_valence.constants import FACED_CHANNELS
from bci_valence.signal.montage import ChannelMappingError, channel_positions, faced_info, map_channels, normalize_channel_name, resolve_channel_labels


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ("Fp1", "Fp1"),
        ("FP1", "Fp1"),
        ("EEG Fp1-REF", "Fp1"),
        ("EEG T3-LE", "T7"),
        ("T4", "T8"),
        ("T5", "P7"),
        ("t6", "P8"),
        ("FPz", "Fpz"),
        ("OZ", "Oz"),
        ("M1", "A1"),
        ("Cz", "Cz"),
        ("EOG1", None),
        ("TRIGGER", None),
        ("", None),
        ("banana", None),
    ],
)
def test_normalize_channel_name(label, expected):
    assert normalize_channel_name(label) == expected


def test_faced_order_maps_to_identity():
    mapping = map_channels(FACED_CHANNELS)
    np.testing.assert_array_equal(mapping.matrix, np.eye(32))
    assert mapping.n_real == 32 and not mapping.interpolated


def test_shuffled_uppercase_names_are_reordered():
    rng = np.random.default_rng(0)
    order = rng.permutation(32)
    names = [FACED_CHANNELS[i].upper() for i in order]
    data = rng.standard_normal((32, 50))
    mapped = map_channels(names).apply(data)
    np.testing.assert_allclose(mapped[order], data)


def test_eeglab_names(eeglab_set):
    import mne

    raw = mne.io.read_raw_eeglab(eeglab_set, verbose="error")
    mapping = map_channels(raw.ch_names)
    assert set(mapping.non_eeg) == {"EOG1", "EOG2"}
    assert not mapping.unplaced
    assert set(mapping.interpolated) == {"Fp1", "Fp2", "F7", "F8", "A1", "A2"}
    assert mapping.n_real == 26
    assert "26/32" in mapping.describe()


def test_eight_channel_headset_is_interpolated():
    names = ["Fp1", "Fp2", "C3", "C4", "P7", "P8", "O1", "O2"]
    mapping = map_channels(names)
    assert mapping.n_real == 8
    assert len(mapping.interpolated) == 24
    # Spherical splines reproduce a constant field: each interpolated row sums to one.
    np.testing.assert_allclose(mapping.matrix.sum(axis=1), 1.0, atol=1e-6)
    assert "8/32 model channels measured" in mapping.describe()


def test_interpolation_recovers_a_smooth_field():
    """A field that varies smoothly over the scalp is predicted at held-out electrodes."""
    positions = channel_positions(FACED_CHANNELS)
    field = positions @ np.array([30.0, 10.0, 5.0])  # linear gradient over the head
    dropped = {"Cz", "Pz", "F3", "C4"}
    names = [n for n in FACED_CHANNELS if n not in dropped]
    mapping = map_channels(names)
    source = field[[FACED_CHANNELS.index(n) for n in names]][:, None]
    predicted = mapping.apply(source)[:, 0]
    rows = [FACED_CHANNELS.index(n) for n in dropped]
    np.testing.assert_allclose(predicted[rows], field[rows], atol=0.15 * np.ptp(field))


def test_non_eeg_and_prefixed_labels():
    names = ["EEG Fp1-REF", "EEG T3-REF", "EOG1", "TRIG"] + list(FACED_CHANNELS[2:10])
    mapping = map_channels(names)
    assert mapping.non_eeg == ("EOG1", "TRIG")
    assert "T7" in mapping.real and "Fp1" in mapping.real


def test_biosemi_grid_labels_are_refused_by_name():
    with pytest.raises(ChannelMappingError, match=r"A3.*BioSemi"):
        map_channels([f"A{i}" for i in range(1, 33)])


def test_unlabelled_stream_is_refused():
    with pytest.raises(ChannelMappingError, match="unnamed #0"):
        map_channels([""] * 8)


def test_min_channels_is_configurable():
    names = ["Fp1", "Fp2", "Cz", "Oz"]
    with pytest.raises(ChannelMappingError, match="only 4 of"):
        map_channels(names, min_channels=8)
    assert map_channels(names, min_channels=4).n_real == 4


def test_apply_checks_channel_count():
    with pytest.raises(ChannelMappingError, match="expects 32"):
        map_channels(FACED_CHANNELS).apply(np.zeros((31, 10)))


def test_resolve_channel_labels():
    assert resolve_channel_labels("Fp1, Fp2,Cz", 3) == ["Fp1", "Fp2", "Cz"]
    labels = resolve_channel_labels("biosemi16", 16)
    assert labels[:2] == ["Fp1", "Fp2"] and len(labels) == 16
    with pytest.raises(ChannelMappingError, match="gives 3 labels but the stream has 8"):
        resolve_channel_labels("Fp1,Fp2,Cz", 8)


def test_faced_info_has_positions():
    info = faced_info()
    assert info.ch_names == list(FACED_CHANNELS)
    positions = np.array([ch["loc"][:3] for ch in info["chs"]])
    assert np.isfinite(positions).all() and (np.linalg.norm(positions, axis=1) > 0.05).all()
