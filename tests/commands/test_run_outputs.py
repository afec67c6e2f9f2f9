"""``run``/``replay`` outputs: nothing overwritten without ``--overwrite``, nothing opened
before the inputs are valid, and ``--timeout`` on the command line."""

from __future__ import annotations

import pytest

from bci_valence.cli import main

OPENBCI_LABELS = "Fp1,Fp2,C3,C4,P7,P8,O1,O2"


@pytest.mark.timeout(120)
def test_existing_outputs_are_refused_before_anything_opens(xdf_file, small_bundle, tmp_path, capsys):
    common = ["--bundle", str(small_bundle), "--channels", OPENBCI_LABELS, "--quiet", "--device", "cpu",
              "--allow-bad", "--no-outlet"]  # fmt: skip
    csv = tmp_path / "steps.csv"
    csv.write_text("stream,timestamp\nearlier,1\n")
    assert main(["replay", str(xdf_file), "--out", str(csv), *common]) == 2
    err = capsys.readouterr().err
    assert "steps.csv" in err and "--overwrite" in err
    assert csv.read_text() == "stream,timestamp\nearlier,1\n"

    xdf = tmp_path / "session.xdf"
    xdf.write_bytes(b"XDF:an earlier recording")
    new_csv = tmp_path / "new.csv"
    assert main(["replay", str(xdf_file), "--out", str(new_csv), "--record", str(xdf), *common]) == 2
    assert "session.xdf" in capsys.readouterr().err
    assert xdf.read_bytes() == b"XDF:an earlier recording" and not new_csv.exists()

    # a --record typo: refused before the CSV is created (an earlier CSV keeps its rows)
    assert main(["replay", str(xdf_file), "--out", str(csv), "--overwrite", "--record", str(tmp_path / "x.xdff"),
                 *common]) == 2  # fmt: skip
    assert ".xdf" in capsys.readouterr().err
    assert csv.read_text() == "stream,timestamp\nearlier,1\n"

    # --overwrite replaces both
    assert main(["replay", str(xdf_file), "--out", str(csv), "--record", str(xdf), "--overwrite", *common]) == 0
    assert csv.read_text().count("\n") > 10 and xdf.stat().st_size > 10_000


def test_out_and_record_must_differ_and_timeout_must_be_positive(tmp_path, capsys):
    assert main(["run", "--source", "sim:", "--out", str(tmp_path / "a.xdf")]) == 2
    assert "--record" in capsys.readouterr().err
    assert main(["run", "--source", "sim:", "--timeout", "-1"]) == 2
    assert "--timeout" in capsys.readouterr().err


@pytest.mark.timeout(60)
def test_timeout_flag_bounds_the_wait_for_a_stream(small_bundle, capsys):
    import time

    t0 = time.monotonic()
    code = main(["run", "--source", "lsl:name=no-such-stream-anywhere", "--timeout", "1.5",
                 "--bundle", str(small_bundle), "--quiet", "--device", "cpu"])  # fmt: skip
    assert code == 2 and time.monotonic() - t0 < 8  # the default wait is 10 s
    err = capsys.readouterr().err
    assert "no-such-stream-anywhere" in err and "1.5 s" in err


@pytest.mark.timeout(90)
def test_timeout_flag_ends_a_run_whose_stream_stays_lost(small_bundle, capsys):
    import subprocess
    import sys
    import time
    import uuid
    from pathlib import Path

    repo = Path(__file__).resolve().parents[2]
    sid = f"test-lost-{uuid.uuid4().hex[:8]}"
    proc = subprocess.Popen(
        [sys.executable, str(repo / "benchmarks" / "lsl_push.py"), "--name", sid, "--source-id", sid,
         "--seconds", "4", "--sfreq", "250"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=repo,
    )  # fmt: skip
    try:
        assert proc.stdout.readline().strip() == "pushing"
        t0 = time.monotonic()
        code = main(["run", "--source", f"lsl:source_id={sid}", "--timeout", "3", "--duration", "60",
                     "--bundle", str(small_bundle), "--quiet", "--device", "cpu", "--no-outlet"])  # fmt: skip
        elapsed = time.monotonic() - t0
    finally:
        proc.kill()
        proc.wait(timeout=10)
    assert code == 1 and elapsed < 30
    err = capsys.readouterr().err
    assert "lost for" in err and "--timeout 3" in err


@pytest.mark.timeout(120)
def test_status_is_plain_lines_when_output_is_not_a_terminal(xdf_file, small_bundle, capsys):
    assert main(["replay", str(xdf_file), "--channels", OPENBCI_LABELS, "--bundle", str(small_bundle),
                 "--device", "cpu", "--allow-bad", "--no-outlet"]) == 0  # fmt: skip
    err = capsys.readouterr().err
    assert not any(ch in err for ch in "│┃━─"), "a table was drawn into a pipe"
    final = [ln for ln in err.splitlines() if ln.startswith("openbci_8ch_1000hz.xdf: finished")]
    assert final, err
    assert all(key in final[-1] for key in ("1000 Hz", "steps", "calibration", "valence", "latency"))


@pytest.mark.timeout(120)
def test_a_recording_of_the_simulator_replays_flagged_simulated(small_bundle, tmp_path, capsys):
    common = ["--bundle", str(small_bundle), "--quiet", "--device", "cpu", "--no-outlet", "--calibration-s", "2"]
    xdf = tmp_path / "sim.xdf"
    assert main(["run", "--source", "sim:seed=3", "--duration", "8", "--record", str(xdf), *common]) == 0
    out = tmp_path / "replay.csv"
    assert main(["replay", str(xdf), "--out", str(out), *common]) == 0
    from bci_valence.streams.outlets import read_csv_log

    rows = read_csv_log(out)
    assert rows and all("SIMULATED" in r["flags"] for r in rows)
