"""SessionSettings: output files checked without being touched; bad values named."""

from __future__ import annotations

import pytest

from bci_valence.online.session import SessionError, SessionSettings


def test_settings_name_the_bad_value(tmp_path):
    with pytest.raises(ValueError, match="steps.csv"):
        SessionSettings(record=tmp_path / "steps.csv")
    with pytest.raises(ValueError, match="--record"):
        SessionSettings(out=tmp_path / "a.xdf")
    with pytest.raises(ValueError, match="-2"):
        SessionSettings(lost_timeout=-2)
    a, b = SessionSettings(), SessionSettings()
    assert a.source_id_prefix != b.source_id_prefix  # sessions on one network stay apart


def test_check_outputs_touches_nothing(tmp_path):
    csv = tmp_path / "old.csv"
    csv.write_text("kept")
    with pytest.raises(FileExistsError, match="--overwrite"):
        SessionSettings(out=csv).check_outputs()
    SessionSettings(out=csv, overwrite=True).check_outputs()
    assert csv.read_text() == "kept"
    with pytest.raises(SessionError, match="folder"):
        SessionSettings(out=tmp_path).check_outputs()
    (tmp_path / "file").write_text("")
    with pytest.raises(SessionError, match="cannot be created"):
        SessionSettings(record=tmp_path / "file" / "sub" / "x.xdf").check_outputs()
    SessionSettings(out=tmp_path / "new" / "deeper" / "x.csv").check_outputs()
    assert not (tmp_path / "new").exists()


def test_check_outputs_refuses_an_existing_csv_description(tmp_path):
    (tmp_path / "steps.csv.json").write_text("{}")
    with pytest.raises(FileExistsError, match="description"):
        SessionSettings(out=tmp_path / "steps.csv").check_outputs()


@pytest.mark.timeout(120)
def test_session_log_says_what_valence_means_and_how_reliable_it_is(tmp_path):
    """The CSV's description carries the shipped bundle's unseen-clips figures and the settings."""
    import json

    import numpy as np

    from bci_valence.constants import FACED_CHANNELS
    from bci_valence.io.recordings import Recording
    from bci_valence.online.pipeline import Pipeline
    from bci_valence.online.reliability import ValenceReliability
    from bci_valence.online.session import VALENCE_MEANING, SessionOutputs
    from bci_valence.online.settings import ComputeSettings, PipelineSettings
    from bci_valence.streams.array_source import ArraySource

    n = 250 * 3
    rec = Recording(data=np.random.default_rng(0).standard_normal((32, n)) * 1e-5, sfreq=250.0,
                    ch_names=list(FACED_CHANNELS), ch_types=["eeg"] * 32, timestamps=np.arange(n) / 250.0)
    pipe = Pipeline([ArraySource(rec)], None, PipelineSettings(compute=ComputeSettings(device="cpu")))
    outputs = SessionOutputs(pipe, SessionSettings(out=tmp_path / "steps.csv", outlet=False))
    pipe.start()
    try:
        outputs.open()
        while not pipe.finished:
            outputs.write(pipe.poll())
    finally:
        outputs.close()
        pipe.stop()
    about = json.loads((tmp_path / "steps.csv.json").read_text())
    expected = ValenceReliability.from_bundle(pipe.bundle)
    assert expected.available  # the shipped bundle records its unseen-clips figures
    assert about["valence"] == VALENCE_MEANING
    figures = about["reliability_on_new_content"]["figures"]
    assert figures["valence_auc_subject_clip"] == expected.auc_subject_clip
    assert about["reliability_on_new_content"]["summary"] == expected.summary()
    assert about["settings"]["compute"]["device"] == "cpu" and about["settings"]["hop_s"] == 0.25
    assert about["provenance"]["date"]
