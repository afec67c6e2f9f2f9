"""The source panel relabels a stream: a channel box parsed there, carried as an object."""

from __future__ import annotations

import pytest

from bci_valence.signal.montage import ORIGIN_APP, ORIGIN_SPEC
from bci_valence.streams.spec import parse_source_spec


@pytest.mark.parametrize(
    ("spec", "page_spec"),
    [
        ("lsl:name=MyEEG?channels=Fp1,Fp2,C3,C4", "lsl:name=MyEEG"),
        ("sim:channels=biosemi16", "sim:"),
        ("xdf:/tmp/rec.xdf?speed=2&channels=Fp1,Fp2,C3,C4,P7,P8,O1,O2", "xdf:/tmp/rec.xdf?speed=2"),
        ("brainflow:synthetic?serial_port=COM3&channels=biosemi16", "brainflow:synthetic?serial_port=COM3"),
    ],
)
def test_channels_option_round_trips_through_its_field(qtbot, spec: str, page_spec: str) -> None:
    from gui.settings import GuiSettings
    from gui.widgets.source_panel import KIND_CUSTOM, SourcePanel

    panel = SourcePanel(GuiSettings())
    qtbot.addWidget(panel)
    panel.set_spec(spec)
    assert panel.kind.currentIndex() != KIND_CUSTOM  # the page of its kind, not a raw spec
    labels = parse_source_spec(spec).channels
    assert panel.channels.text() == labels.text
    assert parse_source_spec(panel.spec()) == parse_source_spec(spec)
    (opened,) = panel.source_specs()
    assert opened == parse_source_spec(spec)
    assert opened.channels.origin == ORIGIN_APP  # the box's own object, not read back from text
    panel.channels.setText("")
    assert panel.spec() == page_spec


def test_a_bad_relabelling_is_shown_before_starting(qtbot) -> None:
    from gui.settings import GuiSettings
    from gui.widgets.source_panel import SourcePanel

    panel = SourcePanel(GuiSettings())
    qtbot.addWidget(panel)
    panel.set_spec("lsl:name=X")
    panel.channels.setText("Fp1,Fp2,Fp1")
    assert panel.spec_problem().startswith("the app's channel box 'Fp1,Fp2,Fp1' gives the label 'Fp1' twice")
    assert "'Fp1' twice" in panel.spec_label.text()
    panel.channels.setText("Fp1,Fp2,Cz")
    assert panel.spec_problem() == "" and panel.spec() == "lsl:name=X?channels=Fp1,Fp2,Cz"


def test_brainflow_playback_file_board_is_offered_with_its_parameters(qtbot) -> None:
    from gui.settings import GuiSettings
    from gui.widgets.source_panel import KIND_BRAINFLOW, SourcePanel

    panel = SourcePanel(GuiSettings())
    qtbot.addWidget(panel)
    spec = "brainflow:playback_file?file=/tmp/rec.csv&master_board=-1"
    panel.set_spec(spec)
    assert panel.kind.currentIndex() == KIND_BRAINFLOW
    assert panel.board.currentText() == "playback_file"
    assert panel.board_params["master_board"].text() == "-1"
    assert parse_source_spec(panel.spec()) == parse_source_spec(spec)


def test_a_spec_only_the_spec_page_shows_keeps_its_relabelling(qtbot):
    from gui.settings import GuiSettings
    from gui.widgets.source_panel import KIND_CUSTOM, SourcePanel

    panel = SourcePanel(GuiSettings())
    qtbot.addWidget(panel)
    spec = "xdf:rec.xdf?speed=max&channels=Fp1,Fp2,C3,C4,P7,P8,O1,O2"
    panel.set_spec(spec)
    assert panel.kind.currentIndex() == KIND_CUSTOM
    assert panel.spec() == spec


def test_the_spec_page_keeps_each_sources_own_relabelling(qtbot) -> None:
    from gui.settings import GuiSettings
    from gui.widgets.source_panel import KIND_CUSTOM, SourcePanel

    panel = SourcePanel(GuiSettings())
    qtbot.addWidget(panel)
    panel.set_spec("sim:seed=1&channels=biosemi32; lsl:name=B?channels=Fp1,Fp2")
    assert panel.kind.currentIndex() == KIND_CUSTOM
    first, second = panel.source_specs()
    assert first.channels.montage == "biosemi32" and second.channels.labels == ("Fp1", "Fp2")
    assert second.channels.origin == f"{ORIGIN_SPEC} of lsl:name=B"
    panel.custom_spec.setText("sim:; lsl:name=B?channels=Fp1,Fp1")
    assert "lsl:name=B 'Fp1,Fp1' gives the label 'Fp1' twice" in panel.spec_problem()


def test_the_notch_box_offers_the_filters_choices_and_sets_them(qtbot) -> None:
    """The app's notch choices are the constant's, and each one reaches the settings."""
    from bci_valence.constants import NOTCH_CHOICES
    from gui.settings import GuiSettings
    from gui.widgets.source_panel import SourcePanel

    panel = SourcePanel(GuiSettings())
    qtbot.addWidget(panel)
    assert [panel.notch.itemData(i) for i in range(panel.notch.count())] == list(NOTCH_CHOICES)
    for i, hz in enumerate(NOTCH_CHOICES):
        panel.notch.setCurrentIndex(i)
        assert panel.gui_settings(GuiSettings()).pipeline.filter.notch_hz == (hz or None)
