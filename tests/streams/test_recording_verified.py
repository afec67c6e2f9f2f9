"""A recording is verified when it stops: the file exists, every stream has its footer
and holds about the samples that were sent; otherwise the run says what was lost."""

from __future__ import annotations

import time
import uuid

import numpy as np
import pytest

from bci_valence.cli import main
from bci_valence.io.xdf_scan import XdfScanError, scan_xdf
from bci_valence.streams.recorder import RawMirror, XdfRecorder, verify_recording

pytestmark = pytest.mark.timeout(90)


def _record(path, seconds: float = 2.0) -> RawMirror:
    """A real 2-s LabRecorder recording of a 4-channel mirror at 250 Hz."""
    mirror = RawMirror(f"verify-{uuid.uuid4().hex[:6]}", ["Fp1", "Fp2", "O1", "O2"], 250.0,
                       source_id=f"verify-{uuid.uuid4().hex[:8]}")  # fmt: skip
    recorder = XdfRecorder(path)
    recorder.start([{"source_id": mirror.source_id}])
    from mne_lsl.lsl import local_clock

    t0 = local_clock()
    for k in range(int(seconds * 10)):
        mirror.push(np.full((4, 25), float(k)), t0 + (25 * k + np.arange(25)) / 250.0)
        time.sleep(0.1)
    assert recorder.stop({mirror.source_id: mirror.pushed}), recorder.problems
    mirror.close()
    return mirror


def test_a_complete_recording_passes_and_damaged_copies_do_not(tmp_path, xdf_file):
    path = tmp_path / "ok.xdf"
    mirror = _record(path)
    (stream,) = scan_xdf(path).values()
    assert stream.has_footer and stream.footer_sample_count >= mirror.pushed - 250
    assert verify_recording(path, {mirror.source_id: mirror.pushed}) == []
    # the run sent far more than the file holds (a disk that filled up): the loss is named
    problems = verify_recording(path, {mirror.source_id: 50 * mirror.pushed})
    assert len(problems) == 1 and "lost" in problems[0] and str(49 * mirror.pushed) in problems[0]
    # a stream that is not in the file at all
    assert "is not in it" in verify_recording(path, {"nobody": 10})[0]
    # cut before the footer: no footer
    data = path.read_bytes()
    cut = tmp_path / "cut.xdf"
    cut.write_bytes(data[: data.rfind(b"<?xml")])  # the footer's XML is the last one written
    assert any("no footer" in p for p in verify_recording(cut, {}))
    assert "does not exist" in verify_recording(tmp_path / "gone.xdf", {})[0]
    # the real OpenBCI file passes the structural scan
    assert verify_recording(xdf_file, {}) == []


def test_a_header_declaring_absurd_channel_counts_is_refused_before_reading(tmp_path, xdf_file):
    """A 10^9-channel header in a small file: refused by the scan, nothing allocated."""
    from bci_valence.io.recordings import RecordingError, read_recording

    data = xdf_file.read_bytes()
    bad = data.replace(b"<channel_count>8</channel_count>", b"<channel_count>999999999</channel_count>", 1)
    assert bad != data
    # the chunk's length field must still match: re-encode the header chunk
    path = tmp_path / "huge.xdf"
    path.write_bytes(_fix_lengths(bad, data))
    with pytest.raises(XdfScanError, match="999999999 channels"):
        scan_xdf(path)
    with pytest.raises(RecordingError, match="999999999 channels"):
        read_recording(path)


def _fix_lengths(bad: bytes, good: bytes) -> bytes:
    """Rewrite the length of the one chunk whose content grew (a 1-byte length field)."""
    at = good.index(b"<channel_count>")
    grow = len(bad) - len(good)
    pos = 4
    while True:
        n_len = good[pos]
        length = int.from_bytes(good[pos + 1 : pos + 1 + n_len], "little")
        end = pos + 1 + n_len + length
        if pos < at < end:
            new = (length + grow).to_bytes(n_len, "little")
            return bad[: pos + 1] + new + bad[pos + 1 + n_len :]
        pos = end


def test_recording_to_an_unwritable_place_is_refused_before_the_run(capsys, tmp_path):
    code = main(["run", "--source", "sim:", "--duration", "2", "--record", "/proc/bci-valence-test.xdf",
                 "--no-outlet", "--quiet", "--device", "cpu"])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and "cannot be written" in err and "/proc" in err
    assert "SIMULATED" not in err  # refused before any source opened
