"""Input that never yields a usable window says so: all windows flagged, calibration
never completed, too short, too low a rate for the bands; and non-finite input gives no
valence (nor numpy's "All-NaN slice" warning) instead of a plausible number."""

from __future__ import annotations

import warnings
from dataclasses import replace

import numpy as np
import pytest

from bci_valence.io.recordings import read_recording
from bci_valence.online.pipeline import Pipeline
from bci_valence.online.settings import (
    CalibrationSettings,
    ComputeSettings,
    PipelineSettings,
)
from bci_valence.signal.quality import QualityFlag
from bci_valence.streams.array_source import ArraySource
from bci_valence.streams.factory import open_source
from tests.helpers import LinearBundle, write_edf

pytestmark = pytest.mark.timeout(120)

SETTINGS = PipelineSettings(compute=ComputeSettings(device="cpu"), calibration=CalibrationSettings(seconds=10.0))


def _run(source, settings=SETTINGS):
    """Every step of a whole source, and the pipeline (stopped) for its counters."""
    pipe = Pipeline([source], LinearBundle(), replace(settings, stream=replace(settings.stream, stale_after_s=float("inf"))))
    pipe.start()
    steps = []
    try:
        while not pipe.finished:
            steps.extend(pipe.poll())
        steps.extend(pipe.poll())
    finally:
        pipe.stop()
    return steps, pipe


@pytest.fixture(scope="module")
def eeglab(eeglab_set):
    return read_recording(eeglab_set)


def _cut(rec, seconds: float, sfreq_div: int = 1):
    """The first ``seconds`` of a real recording (every ``sfreq_div``-th sample)."""
    n = int(seconds * rec.sfreq)
    out = replace(
        rec,
        data=rec.data[:, :n:sfreq_div].copy(),
        timestamps=rec.timestamps[:n:sfreq_div].copy(),
        sfreq=rec.sfreq / sfreq_div,
        markers=[],
        segments=[(0, len(rec.timestamps[:n:sfreq_div]))],
    )
    return out


def test_real_eeg_gives_usable_windows(eeglab) -> None:
    steps, pipe = _run(ArraySource(_cut(eeglab, 30.0)))
    counts = pipe.window_counts(0)
    assert counts.usable > 0 and counts.problem() is None
    assert counts.windows == len(steps) and counts.blank == 0


def test_all_nan_input_gives_no_valence_and_no_numpy_warning(eeglab) -> None:
    rec = _cut(eeglab, 12.0)
    rec.data[:] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # "All-NaN slice encountered"
        steps, pipe = _run(ArraySource(rec))
    assert steps
    assert all(np.isnan(s.valence) and s.probabilities is None for s in steps)
    assert all(s.flags & QualityFlag.NONFINITE for s in steps)
    counts = pipe.window_counts(0)
    assert counts.usable == 0 and counts.blank == len(steps)
    assert "all" in counts.problem() and "NONFINITE" in counts.problem()


def test_nan_after_calibration_gives_no_valence_not_a_large_one(eeglab) -> None:
    rec = _cut(eeglab, 40.0)
    cut = int(25 * rec.sfreq)
    reference, _ = _run(ArraySource(_cut(eeglab, 40.0)))
    rec.data[:, cut:] = np.nan  # the amplifier sends NaN from 25 s on
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        steps, pipe = _run(ArraySource(rec))
    t_nan = rec.timestamps[cut]
    before = [s for s in steps if s.timestamp < t_nan]
    late = [s for s in steps if s.timestamp > t_nan + 1.0]
    assert before and late
    assert all(np.isfinite(s.valence) for s in before)
    # the held signal decays through the filters: without the fix valence ran off to
    # several units (about 5 here); now there is none
    assert all(np.isnan(s.valence) for s in late)
    assert all(s.flags & QualityFlag.NONFINITE for s in late)
    ref_range = max(abs(s.valence) for s in reference)
    assert max(abs(s.valence) for s in before) <= ref_range + 1e-9
    assert pipe.window_counts(0).usable > 0  # the first 25 s were fine


def test_a_few_nan_samples_are_flagged_but_keep_their_valence(eeglab) -> None:
    rec = _cut(eeglab, 30.0)
    rec.data[3, int(20 * rec.sfreq) : int(20 * rec.sfreq) + 3] = np.nan
    steps, _ = _run(ArraySource(rec))
    hit = [s for s in steps if s.flags & QualityFlag.NONFINITE]
    assert hit and all(np.isfinite(s.valence) for s in hit)


def test_a_rate_too_low_for_gamma_flags_every_window(eeglab) -> None:
    rec = _cut(eeglab, 30.0, sfreq_div=2)  # 64 Hz: Nyquist 32 Hz < gamma's 47 Hz
    assert rec.sfreq == 64.0
    steps, pipe = _run(ArraySource(rec))
    assert steps and all(s.flags & QualityFlag.UNDERSAMPLED for s in steps)
    counts = pipe.window_counts(0)
    assert counts.usable == 0
    assert "64 Hz" in counts.problem() and "47 Hz" in counts.problem()
    # 128 Hz carries it
    steps, pipe = _run(ArraySource(_cut(eeglab, 30.0)))
    assert not any(s.flags & QualityFlag.UNDERSAMPLED for s in steps)


def test_short_recording_is_usable_and_notes_calibration_never_completed(xdf_file) -> None:
    """Good windows standardized with what was gathered: no problem, a note that says why
    every row carries CALIBRATING."""
    source = open_source(f"xdf:{xdf_file}?speed=max&channels=Fp1,Fp2,C3,C4,P7,P8,O1,O2")
    steps, pipe = _run(source, replace(SETTINGS, calibration=CalibrationSettings(seconds=60.0)))
    assert steps and all(s.flags & QualityFlag.CALIBRATING for s in steps)
    counts = pipe.window_counts(0)
    assert counts.problem() is None
    note = counts.note()
    assert "calibration never completed" in note and "only 9.5 s long" in note and "60 s" in note


def test_record_wise_constant_edf_says_every_window_is_flagged(tmp_path, eeglab) -> None:
    # a real 16-channel EDF whose channels are constant within each 1-s record
    rec = _cut(eeglab, 40.0)
    per = int(rec.sfreq)
    data = rec.data[:16, : 40 * per].reshape(16, 40, per).mean(axis=2).repeat(per, axis=1)
    labels = ["Fp1", "Fp2", "F3", "F4", "C3", "C4", "P3", "P4", "O1", "O2", "F7", "F8", "T7", "T8", "P7", "P8"]
    path = write_edf(tmp_path / "records.edf", data, rec.sfreq, labels)
    steps, pipe = _run(open_source(f"file:{path}?speed=max"))
    counts = pipe.window_counts(0)
    assert counts.usable == 0 and counts.windows == len(steps) > 100
    # flat channels of a window are left out (interpolated); what remains sits on two values
    problem = counts.problem()
    assert ("FLAT" in problem or "CLIPPED" in problem) and "calibration reached 0%" in problem
    assert all(np.isnan(s.valence) for s in steps)  # no statistics ever: no valence


def test_too_short_for_a_single_window(eeglab) -> None:
    steps, pipe = _run(ArraySource(_cut(eeglab, 2.0)))
    assert steps == []
    assert "no window at all" in pipe.window_counts(0).problem()


def test_biosemi16_on_a_bdf_with_status_runs_through_the_pipeline(tmp_path, eeglab) -> None:
    order = ["FPz", "FPz", "F4", "Fz", "F3", "T7", "C3", "Cz", "C4", "T8", "P4", "Pz", "P3", "O1", "Oz", "O2"]
    rows = [eeglab.ch_names.index(n) for n in order]
    n = int(20 * eeglab.sfreq)
    status = np.zeros(n)
    status[::128] = 1
    path = write_edf(tmp_path / "rec.bdf", eeglab.data[rows, :n], eeglab.sfreq,
                     [f"A{k}" for k in range(1, 17)], bdf=True, status=status)  # fmt: skip
    steps, pipe = _run(open_source(f"file:{path}?speed=max&channels=biosemi16"))
    mapping = pipe.mapping(0)
    assert mapping.n_real == 16 and mapping.non_eeg == ("Status",)
    assert steps and pipe.window_counts(0).usable > 0
    # the global setting relabels a single source the same way
    steps2, pipe2 = _run(open_source(f"file:{path}?speed=max"), replace(SETTINGS, stream=replace(SETTINGS.stream, channels="biosemi16")))
    assert pipe2.mapping(0).real == mapping.real and len(steps2) == len(steps)


@pytest.mark.parametrize("fault", ["nan", "flat"])
def test_one_dead_channel_is_interpolated_and_the_run_goes_on(eeglab, fault) -> None:
    """A real 32-channel recording whose Cz is all NaN (or flat): windows stay usable,
    Cz is interpolated for them (BAD_CHANNEL | INTERPOLATED), valence follows the intact run."""
    rec = _cut(eeglab, 40.0)
    cz = [c.upper() for c in rec.ch_names].index("CZ")
    broken = replace(rec, data=rec.data.copy())
    broken.data[cz] = np.nan if fault == "nan" else 0.0
    intact_steps, _ = _run(ArraySource(rec))
    steps, pipe = _run(ArraySource(broken))
    assert len(steps) == len(intact_steps) > 50
    counts = pipe.window_counts(0)
    assert counts.usable > 0 and counts.problem() is None
    calibrated = [s for s in steps if not s.flags & QualityFlag.CALIBRATING]
    assert calibrated and all(s.flags & QualityFlag.BAD_CHANNEL for s in calibrated)
    assert not any(s.flags & (QualityFlag.NONFINITE | QualityFlag.FLAT) for s in steps)
    v = np.array([s.valence for s in calibrated])
    ref = np.array([s.valence for s in intact_steps[-len(calibrated):]])
    assert np.isfinite(v).all()
    assert np.corrcoef(v, ref)[0, 1] > 0.8  # Cz from its neighbours: much the same reading


def test_too_many_dead_channels_still_flag_the_window(eeglab) -> None:
    """With fewer than min_channels left there is nothing to interpolate from: NONFINITE."""
    rec = _cut(eeglab, 20.0)
    broken = replace(rec, data=rec.data.copy())
    broken.data[:28] = np.nan
    steps, pipe = _run(ArraySource(broken))
    assert steps and all(s.flags & QualityFlag.NONFINITE for s in steps)
    assert pipe.window_counts(0).usable == 0
