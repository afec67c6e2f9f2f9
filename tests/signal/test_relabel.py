"""Relabelling (--channels): trigger channels left out, duplicates refused, and the
refusal of too few channels naming its real reason."""

from __future__ import annotations

import pytest

from bci_valence.signal.montage import (
    ChannelMappingError,
    channel_spec_labels,
    is_trigger,
    map_channels,
    relabel_channels,
)

BIOSEMI16 = ["Fp1", "Fp2", "F4", "Fz", "F3", "T7", "C3", "Cz", "C4", "T8", "P4", "Pz", "P3", "O1", "Oz", "O2"]


def test_biosemi16_relabels_a_bdf_with_a_status_channel() -> None:
    grid = [f"A{k}" for k in range(1, 17)] + ["Status"]
    types = ["eeg"] * 16 + ["stim"]
    labels = relabel_channels("biosemi16", grid, types)
    assert labels == BIOSEMI16 + ["Status"]
    mapping = map_channels(labels, ch_types=types)
    assert mapping.n_real == 16 and mapping.non_eeg == ("Status",)


def test_trigger_is_found_by_type_or_by_label() -> None:
    assert is_trigger("", "stim") and is_trigger("Status") and is_trigger("STI 014") and is_trigger("TRIGGER")
    assert not is_trigger("Fz") and not is_trigger("Fz", "eeg") and not is_trigger("EXG1")
    # an unnamed trigger channel, known by its type only
    labels = relabel_channels("biosemi16", [""] * 17, ["eeg"] * 16 + ["trigger"])
    assert labels[:16] == BIOSEMI16 and labels[16] == ""


def test_labels_for_every_channel_are_taken_as_given() -> None:
    names = ["x"] * 16 + ["Status"]
    assert relabel_channels(",".join(BIOSEMI16 + ["Trig"]), names) == BIOSEMI16 + ["Trig"]


def test_a_count_that_fits_nothing_names_both_counts() -> None:
    with pytest.raises(ChannelMappingError, match=r"gives 16 labels but the stream has 19 channels \(18 without the trigger channel\(s\) Status\)"):
        relabel_channels("biosemi16", [""] * 18 + ["Status"])


@pytest.mark.parametrize(
    ("spec", "match"),
    [("Fp1,Fp2,Fp1", "'Fp1' twice"), ("fp1,FP1", "'FP1' twice"), ("T3,T7", r"'T7' twice \(as 'T3'\)"),
     ("Fp1,,Fp2", "empty label"), (" , ", "names no channel")],
)
def test_duplicate_and_empty_labels_are_refused(spec: str, match: str) -> None:
    with pytest.raises(ChannelMappingError, match=match):
        channel_spec_labels(spec)
    with pytest.raises(ChannelMappingError, match=match):
        relabel_channels(spec, [""] * 3)


def test_too_few_placed_channels_names_min_channels_not_missing_labels() -> None:
    with pytest.raises(ChannelMappingError) as info:
        map_channels(["Fp1", "Fp2", "C3", "C4"], min_channels=8)
    text = str(info.value)
    assert "no 10-20 labels" not in text
    assert "(Fp1, Fp2, C3, C4)" in text and "min_channels=8" in text and "--min-channels" in text
    assert map_channels(["Fp1", "Fp2", "C3", "C4"], min_channels=4).n_real == 4


def test_unlabelled_stream_still_says_no_labels_and_how_to_relabel() -> None:
    with pytest.raises(ChannelMappingError, match=r"could not place: <unnamed #0>.*--channels"):
        map_channels([""] * 8)


def test_channel_types_leave_non_eeg_out() -> None:
    names = ["Fp1", "Fp2", "F3", "F4", "C3", "C4", "O1", "O2", "Fz"]
    mapping = map_channels(names, ch_types=["eeg"] * 8 + ["eog"])
    assert "Fz" not in mapping.real and mapping.non_eeg == ("Fz",)
    with pytest.raises(ChannelMappingError, match="2 channel types given for 9 channels"):
        map_channels(names, ch_types=["eeg", "eeg"])


def test_a_streams_own_duplicate_labels_are_named_and_left_out() -> None:
    names = ["Fp1", "Fp2", "F3", "F4", "C3", "C4", "O1", "O2", "T3", "T7", "Fp1"]
    mapping = map_channels(names)
    assert mapping.duplicates == ("T7", "Fp1")
    assert "labels given twice" in mapping.describe() and "T7, Fp1" in mapping.describe()
    # the first of each is what feeds the model
    assert mapping.matrix[list(mapping.target_names).index("Fp1"), 0] == 1.0
    assert mapping.matrix[:, 10].sum() == 0.0 and mapping.matrix[:, 9].sum() == 0.0


def test_a_channel_spec_is_parsed_once_and_names_where_it_came_from() -> None:
    from bci_valence.signal.montage import ChannelSpec

    spec = ChannelSpec.parse("Fp1,Fp2,C3", origin="the app's channels field")
    assert spec.labels == ("Fp1", "Fp2", "C3") and spec.montage is None and str(spec) == "Fp1,Fp2,C3"
    assert ChannelSpec.parse(spec) is spec  # carried as an object, never parsed again
    assert spec.apply(["", "", ""]) == ["Fp1", "Fp2", "C3"]
    with pytest.raises(ChannelMappingError, match=r"^the app's channels field gives 3 labels but the stream has 2 channels"):
        spec.apply(["a", "b"])
    with pytest.raises(ChannelMappingError, match=r"^channels= of lsl:name=A 'Fp1,T3,T7' gives the label 'T7' twice"):
        ChannelSpec.parse("Fp1,T3,T7", origin="channels= of lsl:name=A")
    biosemi = ChannelSpec.parse("biosemi16")
    assert biosemi.montage == "biosemi16" and len(biosemi.labels) == 16
