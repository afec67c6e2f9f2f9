"""Source specs: a kind on its own, and the per-source ``channels=`` relabelling."""

from __future__ import annotations

import numpy as np
import pytest

from bci_valence.io.recordings import read_recording
from bci_valence.signal.montage import ChannelMappingError
from bci_valence.streams.factory import open_source
from bci_valence.streams.spec import SOURCE_KINDS, SourceSpecError, parse_source_spec
from tests.helpers import write_edf

pytestmark = pytest.mark.timeout(60)


@pytest.mark.parametrize(("text", "expected"), [("sim", "sim:"), ("SIM", "sim:"), ("sim?rate=500", "sim:rate=500")])
def test_a_kind_on_its_own_is_that_kind(text: str, expected: str) -> None:
    assert str(parse_source_spec(text)) == expected


@pytest.mark.parametrize(("text", "match"), [("lsl", "needs name=, type= or source_id="), ("brainflow", "board name")])
def test_a_kind_on_its_own_that_needs_more_says_what(text: str, match: str) -> None:
    with pytest.raises(SourceSpecError, match=match):
        parse_source_spec(text)


def test_unknown_kind_is_not_one_of_the_kinds_listed() -> None:
    with pytest.raises(SourceSpecError) as info:
        parse_source_spec("simulated")
    assert "unknown source kind 'simulated'" in str(info.value)


@pytest.mark.parametrize("kind", sorted(SOURCE_KINDS))
def test_every_kind_takes_channels(kind: str) -> None:
    assert "channels" in SOURCE_KINDS[kind]


def test_channels_option_is_parsed_and_checked() -> None:
    spec = parse_source_spec("lsl:name=X?channels=Fp1,Fp2,C3,C4")
    assert spec.get("channels") == "Fp1,Fp2,C3,C4"
    assert parse_source_spec(str(spec)) == spec
    with pytest.raises(SourceSpecError, match="'Fp1' twice"):
        parse_source_spec("lsl:name=X?channels=Fp1,Fp2,Fp1")
    with pytest.raises(SourceSpecError, match=r"'T7' twice \(as 'T3'\)"):
        parse_source_spec("sim:channels=T3,T7")


def test_file_source_relabels_with_its_own_channels(tmp_path, eeglab_set) -> None:
    rec = read_recording(eeglab_set)
    data = rec.data[:8, : 128 * 4]
    path = write_edf(tmp_path / "grid.edf", data, 128.0, [f"E{k}" for k in range(8)])
    labels = "Fp1,Fp2,F3,F4,C3,C4,O1,O2"
    with open_source(f"file:{path}?speed=max&channels={labels}") as src:
        assert src.ch_names == [f"E{k}" for k in range(8)]  # the stream's own
        assert src.channels.apply(src.ch_names) == labels.split(",")
    with open_source(f"file:{path}?speed=max&channels=Fp1,Fp2") as src, pytest.raises(
        ChannelMappingError, match=r"channels= of source .*grid.edf.* gives 2 labels but the stream has 8 channels"
    ):
        src.channels.apply(src.ch_names)
    assert np.isfinite(data).all()
