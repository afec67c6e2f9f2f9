"""The source-kind registry: the ``bci_valence.sources`` entry points, loaded once."""

from __future__ import annotations

import importlib
import logging
import sys
from pathlib import Path

import pytest

from bci_valence.streams.kinds import ENTRY_POINT_GROUP, SourceKind, describe_kinds, source_kind, source_kinds
from bci_valence.streams.spec import SourceSpecError, syntax_help

BUILTIN = ("lsl", "brainflow", "xdf", "file", "sim")


@pytest.fixture
def extra_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A distribution on ``sys.path`` (after the project) with the entry points a test writes."""

    def make(entry_points: str, module: str = "") -> None:
        info = tmp_path / "other_pkg-0.1.dist-info"
        info.mkdir()
        (info / "METADATA").write_text("Metadata-Version: 2.1\nName: other-pkg\nVersion: 0.1\n")
        (info / "entry_points.txt").write_text(f"[{ENTRY_POINT_GROUP}]\n{entry_points}")
        (tmp_path / "other_kinds.py").write_text(module)
        monkeypatch.setattr(sys, "path", [*sys.path, str(tmp_path)])  # after the project's own
        importlib.invalidate_caches()
        source_kinds.cache_clear()

    yield make
    monkeypatch.undo()
    sys.modules.pop("other_kinds", None)
    source_kinds.cache_clear()


def test_every_builtin_kind_is_registered_with_an_example_that_parses() -> None:
    from bci_valence.streams.spec import parse_source_spec

    kinds = source_kinds()
    assert set(BUILTIN) <= set(kinds)
    for name in BUILTIN:
        assert parse_source_spec(kinds[name].example).kind == name
        assert kinds[name].example in describe_kinds() and kinds[name].example in syntax_help()
    assert source_kind("SIM") is kinds["sim"]


def test_an_unknown_kind_is_one_line_naming_the_known_ones() -> None:
    with pytest.raises(SourceSpecError) as info:
        source_kind("eeg")
    assert str(info.value) == f"unknown source kind 'eeg': expected one of {', '.join(source_kinds())}"


def test_a_broken_or_clashing_plugin_is_left_out_with_a_warning(extra_site, caplog) -> None:
    extra_site(
        "broken = no_such_module_anywhere:KIND\nnotakind = other_kinds:NOT_A_KIND\n"
        "lsl = other_kinds:KIND\ngood = other_kinds:KIND\n",
        "from bci_valence.streams.kinds import SourceKind\n"
        "NOT_A_KIND = 42\n"
        "KIND = SourceKind(open=lambda spec, timeout: None, options=('level',))\n",
    )
    with caplog.at_level(logging.WARNING, logger="bci_valence.streams.kinds"):
        kinds = source_kinds()
    assert "good" in kinds and kinds["good"].options == ("level",)
    assert "broken" not in kinds and "notakind" not in kinds
    assert kinds["lsl"].example == "lsl:name=MyEEG"  # the project's own comes first
    text = caplog.text
    assert "'broken'" in text and "cannot be loaded" in text
    assert "'notakind'" in text and "not a SourceKind" in text
    assert "'lsl' registered twice" in text


def test_a_kind_refuses_a_body_form_it_does_not_know() -> None:
    with pytest.raises(ValueError, match="body must be"):
        SourceKind(open=lambda spec, timeout: None, body="url")  # type: ignore[arg-type]
