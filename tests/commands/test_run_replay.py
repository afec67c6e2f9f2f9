"""``bci-valence run`` and ``replay`` end to end on real LSL and the real recordings.

The bundle here is a real :class:`~bci_valence.model.bundle.ModelBundle` (projection + a
small untrained ensemble, fixed seed) saved to a temporary folder, so the whole
inference path runs without waiting for the trained default bundle.
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

import numpy as np
import pytest

from bci_valence.cli import main
from bci_valence.streams.outlets import read_csv_log

REPO = Path(__file__).resolve().parents[2]
OPENBCI_LABELS = "Fp1,Fp2,C3,C4,P7,P8,O1,O2"
NAMES = ("anger", "disgust", "fear", "sadness", "neutral", "amusement", "inspiration", "joy", "tenderness")


@pytest.fixture(scope="module")
def bundle_dir(small_bundle) -> Path:
    return small_bundle


def _rows(path: Path) -> list[dict]:
    return read_csv_log(path)


def _same_steps(a: list[dict], b: list[dict], n: int | None = None) -> None:
    n = n or len(a)
    assert len(a) >= n and len(b) >= n
    va = np.array([float(r["valence"]) for r in a[:n]])
    vb = np.array([float(r["valence"]) for r in b[:n]])
    np.testing.assert_allclose(va, vb, atol=1e-5, rtol=0)
    assert [r["flags"] for r in a[:n]] == [r["flags"] for r in b[:n]]
    pa = [[float(r[f"p_{c}"]) for c in NAMES] for r in a[:n] if r["p_joy"]]
    pb = [[float(r[f"p_{c}"]) for c in NAMES] for r in b[:n] if r["p_joy"]]
    assert len(pa) == len(pb)
    if pa:
        np.testing.assert_allclose(pa, pb, atol=1e-5, rtol=0)


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_replay_xdf_max_equals_realtime(xdf_file, bundle_dir, tmp_path):
    common = ["--bundle", str(bundle_dir), "--channels", OPENBCI_LABELS, "--quiet", "--device", "cpu", "--allow-bad"]
    assert main(["replay", str(xdf_file), "--speed", "max", "--out", str(tmp_path / "max.csv"), *common]) == 0
    assert main(["replay", str(xdf_file), "--speed", "1", "--out", str(tmp_path / "rt.csv"), *common]) == 0
    fast, live = _rows(tmp_path / "max.csv"), _rows(tmp_path / "rt.csv")
    assert len(fast) == len(live) >= 15  # 9.5 s: steps from the first full window on
    _same_steps(fast, live)
    assert all("INTERPOLATED" in r["flags"] and "CALIBRATING" in r["flags"] for r in fast)


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_replay_eeglab_end_to_end_and_realtime_prefix(eeglab_set, bundle_dir, tmp_path):
    common = ["--bundle", str(bundle_dir), "--quiet", "--device", "cpu", "--calibration-s", "30"]
    assert main(["replay", str(eeglab_set), "--speed", "max", "--out", str(tmp_path / "max.csv"), *common]) == 0
    fast = _rows(tmp_path / "max.csv")
    assert len(fast) > 900  # 238 s at 4 steps/s
    probs = [r for r in fast if r["p_joy"]]
    assert probs and float(probs[0]["timestamp"]) - float(fast[0]["timestamp"]) == pytest.approx(9.0, abs=0.01)
    assert all(abs(sum(float(r[f"p_{c}"]) for c in NAMES) - 1) < 1e-4 for r in probs)
    assert not any("CALIBRATING" in r["flags"] for r in fast[-100:])
    # 128 Hz -> 250 Hz resampling on LSL at 10x real time gives the same steps
    assert main(["replay", str(eeglab_set), "--speed", "10", "--duration", "9", "--no-outlet",
                 "--out", str(tmp_path / "rt.csv"), *common]) == 0  # fmt: skip
    live = _rows(tmp_path / "rt.csv")
    assert len(live) > 60
    _same_steps(fast, live, n=len(live) - 1)


@pytest.mark.timeout(90)
def test_run_live_lsl_with_csv_and_xdf_record(bundle_dir, tmp_path):
    import pyxdf

    sid = f"test-run-{uuid.uuid4().hex[:8]}"
    proc = subprocess.Popen(
        [sys.executable, str(REPO / "benchmarks" / "lsl_push.py"), "--name", sid, "--source-id", sid,
         "--seconds", "30", "--sfreq", "500"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=REPO,
    )  # fmt: skip
    try:
        assert proc.stdout.readline().strip() == "pushing"
        code = main([
            "run", "--source", f"lsl:source_id={sid}", "--bundle", str(bundle_dir), "--duration", "7",
            "--out", str(tmp_path / "live.csv"), "--record", str(tmp_path / "live.xdf"), "--quiet",
            "--device", "cpu", "--calibration-s", "2",
        ])  # fmt: skip
    finally:
        proc.kill()
        proc.wait(timeout=10)
    assert code == 0
    rows = _rows(tmp_path / "live.csv")
    assert len(rows) >= 5 and all(r["stream"] == sid for r in rows)
    ts = np.array([float(r["timestamp"]) for r in rows])
    assert np.allclose(np.diff(ts), 0.25, atol=0.01)
    streams, _ = pyxdf.load_xdf(str(tmp_path / "live.xdf"))
    by_name = {s["info"]["name"][0]: s for s in streams}
    # the raw samples as the pipeline read them, their markers, the outlet
    raw_name, marker_name = f"bci_valence_raw-{sid}", f"bci_valence_raw-{sid}-markers"
    assert set(by_name) == {raw_name, marker_name, "bci_valence"}
    assert np.asarray(by_name[raw_name]["time_series"]).shape[1] == 33  # Counter + 32 EEG
    counter = np.asarray(by_name[raw_name]["time_series"], dtype=np.float64)[:, 0] * 1e6  # µV stream, kept in V
    np.testing.assert_allclose(np.diff(counter), 1.0, atol=1e-2)  # every sample, in order
    outlet_ts = np.asarray(by_name["bci_valence"]["time_stamps"])
    assert len(outlet_ts) >= len(rows) - 2
    # the outlet is stamped in the source's clock: inside the raw stream's time range
    raw_ts = np.asarray(by_name[raw_name]["time_stamps"])
    assert raw_ts[0] - 1 < outlet_ts[0] and outlet_ts[-1] < raw_ts[-1] + 1


@pytest.mark.timeout(60)
def test_bad_files_and_refusals_are_clear_errors(xdf_file, bundle_dir, tmp_path, capsys):
    common = ["--bundle", str(bundle_dir), "--quiet", "--device", "cpu"]
    truncated = tmp_path / "cut.xdf"
    truncated.write_bytes(xdf_file.read_bytes()[:20000])
    assert main(["replay", str(truncated), *common]) == 2
    assert "cut.xdf" in capsys.readouterr().err
    garbage = tmp_path / "noise.set"
    garbage.write_bytes(b"not an eeglab file at all")
    assert main(["replay", str(garbage), *common]) == 2
    assert "noise.set" in capsys.readouterr().err
    assert main(["replay", str(tmp_path / "missing.edf"), *common]) == 2
    assert "missing.edf" in capsys.readouterr().err
    # the OpenBCI XDF has no channel labels: refused unless relabelled
    assert main(["replay", str(xdf_file), *common]) == 2
    err = capsys.readouterr().err
    assert "refused" in err and "--channels" in err
    assert main(["replay", str(xdf_file), "--speed", "fast!", *common]) == 2


@pytest.mark.timeout(120)
def test_replay_shorter_than_the_calibration_says_so_first(xdf_file, bundle_dir, tmp_path, capsys):
    """The 9.5-s recording cannot complete the default 60-s calibration: a note at the start, exit 0."""
    code = main(["replay", str(xdf_file), "--bundle", str(bundle_dir), "--channels", OPENBCI_LABELS,
                 "--quiet", "--device", "cpu", "--no-outlet", "--out", str(tmp_path / "short.csv")])
    err = capsys.readouterr().err
    assert code == 0
    assert "shorter than the 60 s calibration" in err
    assert err.index("shorter than the 60 s calibration") < err.index("calibration never completed")


@pytest.mark.timeout(120)
def test_a_run_shorter_than_its_calibration_says_so_first_and_succeeds(bundle_dir, tmp_path, capsys):
    """``run --source sim: --duration 9`` with the default 60-s calibration: a note at the
    start, steps flagged CALIBRATING, exit 0 (its data were fine)."""
    out = tmp_path / "sim.csv"
    code = main(["run", "--source", "sim:", "--duration", "9", "--bundle", str(bundle_dir), "--quiet",
                 "--device", "cpu", "--no-outlet", "--out", str(out)])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 0
    assert "--duration 9 s is shorter than the 60 s calibration" in err
    assert err.index("shorter than the 60 s calibration") < err.index("calibration never completed")
    rows = read_csv_log(out)
    assert rows and all("CALIBRATING" in r["flags"] for r in rows)


@pytest.mark.timeout(60)
def test_replay_takes_source_options_after_the_file_name(xdf_file, bundle_dir, tmp_path, capsys):
    """``replay "rec.xdf?dejitter=0"`` reads the options as the source spec does; an unknown one is named."""
    common = ["--bundle", str(bundle_dir), "--channels", OPENBCI_LABELS, "--quiet", "--device", "cpu",
              "--no-outlet", "--calibration-s", "2"]  # fmt: skip
    assert main(["replay", f"{xdf_file}?dejitter=0", "--out", str(tmp_path / "a.csv"), *common]) == 0
    assert len(read_csv_log(tmp_path / "a.csv")) > 10
    assert main(["replay", f"{xdf_file}?bogus=1", *common]) == 2
    assert "bogus" in capsys.readouterr().err
