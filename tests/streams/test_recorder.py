"""XdfRecorder: LabRecorderCLI outside our process group, files never replaced unasked,
and a complete file even when this program dies."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
import uuid

import numpy as np
import pytest

from bci_valence.streams.recorder import (
    RawMirror,
    RecorderError,
    RecorderSettings,
    XdfRecorder,
)


def test_recorder_refuses_bad_names_and_existing_files(tmp_path):
    with pytest.raises(ValueError, match="session.csv"):
        XdfRecorder(tmp_path / "session.csv")
    path = tmp_path / "old.xdf"
    path.write_bytes(b"XDF:earlier")
    with pytest.raises(FileExistsError, match="old.xdf"):
        XdfRecorder(path).start([{"source_id": "anything"}])
    assert path.read_bytes() == b"XDF:earlier"
    with pytest.raises(ValueError, match="quote"):
        XdfRecorder(tmp_path / "x.xdf").start([{"source_id": "a' or '1'='1"}])


@pytest.mark.timeout(60)
def test_a_stream_that_does_not_exist_is_named_and_leaves_no_file(tmp_path):
    path = tmp_path / "none.xdf"
    sid = f"missing-{uuid.uuid4().hex[:8]}"
    with pytest.raises(RecorderError, match=sid):
        XdfRecorder(path, RecorderSettings(timeout=10)).start([{"source_id": sid}])
    assert not path.exists()


@pytest.mark.timeout(90)
def test_labrecorder_runs_in_its_own_session_and_closes_the_file_when_we_die(tmp_path):
    """Killed with SIGKILL (no cleanup at all), the app's LabRecorder still writes the footers."""
    import pyxdf

    path = tmp_path / "orphan.xdf"
    script = textwrap.dedent(f"""
        import os, sys, time
        import numpy as np
        from mne_lsl.lsl import local_clock
        from bci_valence.streams.recorder import RawMirror, XdfRecorder
        m = RawMirror("orphan-{uuid.uuid4().hex[:6]}", ["Fp1", "Fp2"], 250.0, "V")
        rec = XdfRecorder({str(path)!r})
        rec.start([{{"source_id": m.source_id}}])
        print(rec.pid, os.getsid(rec.pid), os.getsid(0), flush=True)
        t = local_clock()
        for i in range(8):
            m.push(np.ones((2, 25)) * i * 1e-6, t + (np.arange(25) + 25 * i) / 250)
            time.sleep(0.1)
        time.sleep(1.0)  # LabRecorder fetches every 0.5 s
        os.kill(os.getpid(), 9)
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == -9, proc.stderr
    child, child_sid, our_sid = (int(v) for v in proc.stdout.split())
    assert child_sid != our_sid  # out of the terminal's session and process group
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            break
        time.sleep(0.2)
    streams, _ = pyxdf.load_xdf(str(path))
    (stream,) = streams
    assert stream.get("footer") is not None
    assert len(stream["time_stamps"]) == 200


def test_mirror_refuses_a_chunk_of_another_width():
    m = RawMirror(f"w-{uuid.uuid4().hex[:6]}", ["Fp1", "Fp2"], 250.0)
    try:
        with pytest.raises(ValueError, match="2 channels"):
            m.push(np.zeros((3, 4)), np.arange(4.0))
    finally:
        m.close()


@pytest.mark.timeout(60)
def test_ctrl_c_while_labrecorder_starts_leaves_neither_process_nor_file(tmp_path):
    import signal
    import threading

    path = tmp_path / "interrupted.xdf"
    mirrors = [RawMirror(f"int-{uuid.uuid4().hex[:6]}", ["Fp1"], 250.0) for _ in range(2)]
    rec = XdfRecorder(path, RecorderSettings(timeout=20))
    pids = []

    def interrupt_once_started() -> None:
        deadline = time.monotonic() + 10
        while rec.pid is None and time.monotonic() < deadline:
            time.sleep(0.001)
        pids.append(rec.pid)
        os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C while LabRecorder is still starting

    thread = threading.Thread(target=interrupt_once_started)
    thread.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            rec.start([{"source_id": m.source_id} for m in mirrors])
    finally:
        thread.join()
        for m in mirrors:
            m.close()
    assert pids and pids[0] is not None and not rec.recording
    time.sleep(0.5)
    with pytest.raises(ProcessLookupError):
        os.kill(pids[0], 0)  # killed (and reaped), not left recording
    assert not path.exists()


@pytest.mark.timeout(60)
def test_an_lsl_source_by_type_never_picks_a_recording_mirror():
    """Otherwise ``lsl:type=EEG`` that lost its device could connect to its own mirror."""
    from bci_valence.streams.lsl_source import LSLSource
    from bci_valence.streams.spec import SourceError

    mirror = RawMirror(f"self-{uuid.uuid4().hex[:6]}", ["Fp1", "Fp2"], 250.0)  # the newest EEG stream
    source = LSLSource(stype="EEG", timeout=2.0, markers=False)
    try:
        source.start()
    except SourceError:
        pass  # no other EEG stream on the network: nothing to pick, and not the mirror
    else:
        assert not source.stream_source_id.startswith("bci_valence_raw-")
    finally:
        source.stop()
        mirror.close()
    # named explicitly, a mirror is a stream like any other
    mirror = RawMirror(f"named-{uuid.uuid4().hex[:6]}", ["Fp1", "Fp2"], 250.0)
    source = LSLSource(source_id=mirror.source_id, timeout=5.0, markers=False)
    try:
        source.start()
        assert source.stream_source_id == mirror.source_id
    finally:
        source.stop()
        mirror.close()
