"""Source specs: a kind on its own, and the per-source ``channels=`` relabelling, parsed once."""

from __future__ import annotations

import numpy as np
import pytest

from bci_valence.io.recordings import read_recording
from bci_valence.signal.montage import ORIGIN_APP, ORIGIN_SPEC, ChannelMappingError, ChannelSpec
from bci_valence.streams.factory import open_source
from bci_valence.streams.kinds import source_kinds
from bci_valence.streams.spec import COMMON_OPTIONS, SourceSpecError, parse_source_spec
from tests.helpers import write_edf

pytestmark = pytest.mark.timeout(60)


@pytest.mark.parametrize(("text", "expected"), [("sim", "sim:"), ("SIM", "sim:"), ("sim?rate=500", "sim:rate=500")])
def test_a_kind_on_its_own_is_that_kind(text: str, expected: str) -> None:
    assert str(parse_source_spec(text)) == expected


@pytest.mark.parametrize(("text", "match"), [("lsl", "needs name=, type= or source_id="), ("brainflow", "board name")])
def test_a_kind_on_its_own_that_needs_more_says_what(text: str, match: str) -> None:
    with pytest.raises(SourceSpecError, match=match):
        parse_source_spec(text)


def test_unknown_kind_is_one_line_listing_the_kinds() -> None:
    with pytest.raises(SourceSpecError) as info:
        parse_source_spec("simulated:x")
    message = str(info.value)
    assert "unknown source kind 'simulated'" in message and "\n" not in message
    assert all(name in message for name in ("lsl", "brainflow", "xdf", "file", "sim"))


@pytest.mark.parametrize("kind", ["lsl:name=X", "brainflow:synthetic", "xdf:a.xdf", "file:a.edf", "sim:"])
def test_every_kind_takes_channels(kind: str) -> None:
    assert COMMON_OPTIONS == ("channels",)
    sep = "&" if "?" in kind else ("" if kind.endswith(":") else "?")
    spec = parse_source_spec(f"{kind}{sep}channels=Fp1,Fp2")
    assert spec.channels == ChannelSpec.parse("Fp1,Fp2") and "channels" not in spec.params


def test_channels_option_is_parsed_once_into_an_object() -> None:
    spec = parse_source_spec("lsl:name=X?channels=Fp1,Fp2,C3,C4")
    assert isinstance(spec.channels, ChannelSpec)
    assert spec.channels.labels == ("Fp1", "Fp2", "C3", "C4")
    assert spec.channels.origin == f"{ORIGIN_SPEC} of lsl:name=X"
    assert spec.params == {"name": "X"}  # the kind's options only
    assert parse_source_spec(str(spec)) == spec
    with pytest.raises(SourceSpecError, match=rf"^{ORIGIN_SPEC} of lsl:name=X 'Fp1,Fp2,Fp1' gives the label 'Fp1' twice"):
        parse_source_spec("lsl:name=X?channels=Fp1,Fp2,Fp1")
    with pytest.raises(SourceSpecError, match=r"'T7' twice \(as 'T3'\)"):
        parse_source_spec("sim:channels=T3,T7")


def test_a_relabelling_typed_elsewhere_rides_on_the_spec_and_keeps_its_origin(tmp_path, eeglab_set) -> None:
    rec = read_recording(eeglab_set)
    path = write_edf(tmp_path / "grid.edf", rec.data[:8, : 128 * 4], 128.0, [f"E{k}" for k in range(8)])
    box = ChannelSpec.parse("Fp1,Fp2", origin=ORIGIN_APP)
    spec = parse_source_spec(f"file:{path}?speed=max").with_channels(box)
    assert str(spec).endswith("&channels=Fp1,Fp2")
    with open_source(spec) as src:
        assert src.channels is box  # the very object: never written out and parsed back
        with pytest.raises(ChannelMappingError, match=r"^the app's channel box gives 2 labels but the stream has 8"):
            src.channels.apply(src.ch_names)


def test_a_source_takes_only_a_parsed_relabelling() -> None:
    source = open_source("sim:")
    with pytest.raises(TypeError, match="parsed ChannelSpec"):
        source.relabel("Fp1,Fp2")  # type: ignore[arg-type]
    source.relabel(None)
    assert source.channels is None


def test_file_source_relabels_with_its_own_channels(tmp_path, eeglab_set) -> None:
    rec = read_recording(eeglab_set)
    data = rec.data[:8, : 128 * 4]
    path = write_edf(tmp_path / "grid.edf", data, 128.0, [f"E{k}" for k in range(8)])
    labels = "Fp1,Fp2,F3,F4,C3,C4,O1,O2"
    with open_source(f"file:{path}?speed=max&channels={labels}") as src:
        assert src.ch_names == [f"E{k}" for k in range(8)]  # the stream's own
        assert src.channels.apply(src.ch_names) == labels.split(",")
    with open_source(f"file:{path}?speed=max&channels=Fp1,Fp2") as src, pytest.raises(
        ChannelMappingError,
        match=rf"^{ORIGIN_SPEC} of file:.*grid.edf\?speed=max gives 2 labels but the stream has 8 channels",
    ):
        src.channels.apply(src.ch_names)
    assert np.isfinite(data).all()


def test_builtin_kinds_come_from_the_entry_point_group() -> None:
    from importlib.metadata import entry_points

    from bci_valence.streams.kinds import ENTRY_POINT_GROUP, SourceKind

    registered = {ep.name: ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)}
    for name in ("lsl", "brainflow", "xdf", "file", "sim"):
        assert registered[name] == f"bci_valence.streams.builtin_kinds:{name.upper()}"
        assert isinstance(source_kinds()[name], SourceKind)


def test_a_kind_given_to_the_parser_is_read_without_a_branch_of_its_own() -> None:
    from bci_valence.streams.kinds import SourceKind

    def never(spec, timeout):  # noqa: ANN001, ANN202 - only parsed here
        raise AssertionError("not opened")

    def check(spec) -> None:  # noqa: ANN001
        if spec.get_float("rate", 1.0) <= 0:
            raise SourceSpecError("rate must be > 0")

    kinds = {**source_kinds(), "tone": SourceKind(open=never, options=("rate",), bare_option="rate", check=check)}
    spec = parse_source_spec("tone:440?channels=Fz,Cz", kinds)
    assert (spec.kind, spec.params, spec.channels.labels) == ("tone", {"rate": "440"}, ("Fz", "Cz"))
    with pytest.raises(SourceSpecError, match=r"^source 'tone:rate=-1': rate must be > 0$"):
        parse_source_spec("tone:rate=-1", kinds)
    with pytest.raises(SourceSpecError, match="unknown option 'speed' for tone:"):
        parse_source_spec("tone:speed=2", kinds)
