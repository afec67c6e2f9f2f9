"""Source specs and sources, on real LSL streams (no mocks)."""

from __future__ import annotations

import threading
import time
import uuid
from pathlib import Path

import numpy as np
import pytest

from bci_valence.io.recordings import RecordingError, read_recording
from bci_valence.streams.array_source import ArraySource
from bci_valence.streams.brainflow_source import BrainFlowSource
from bci_valence.streams.base import Chunk, Source
from bci_valence.streams.lsl_source import LSLSource
from bci_valence.streams.spec import SourceError, SourceSpec, SourceSpecError, parse_source_spec
from bci_valence.streams.factory import open_source
from tests.helpers import crafted_xdf

pytestmark = pytest.mark.timeout(60)


def _uid() -> str:
    return uuid.uuid4().hex[:10]


class CounterOutlet:
    """An LSL outlet pushing a sample counter on every channel, in real time."""

    def __init__(self, n_ch: int = 4, sfreq: float = 250.0, chunk: int = 10, **names: str) -> None:
        from mne_lsl.lsl import StreamInfo, StreamOutlet

        self.name = names.get("name", f"test-{_uid()}")
        self.stype = names.get("stype", f"EEG-{_uid()}")
        self.source_id = names.get("source_id", f"test-{_uid()}")
        info = StreamInfo(self.name, self.stype, n_ch, sfreq, "float64", self.source_id)
        info.set_channel_names([f"C{k}" for k in range(n_ch)])
        info.set_channel_units("microvolts")
        self.outlet = StreamOutlet(info, chunk_size=chunk)
        self.n_ch, self.sfreq, self.chunk = n_ch, sfreq, chunk
        self.sent = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        from mne_lsl.lsl import local_clock

        t0 = local_clock()
        while not self._stop.is_set():
            due = int((local_clock() - t0) * self.sfreq)
            while self.sent + self.chunk <= due:
                block = np.arange(self.sent, self.sent + self.chunk, dtype=np.float64)
                stamps = t0 + block / self.sfreq
                self.outlet.push_chunk(np.repeat(block[:, None], self.n_ch, axis=1), timestamp=stamps)
                self.sent += self.chunk
            self._stop.wait(self.chunk / self.sfreq)

    def __enter__(self) -> CounterOutlet:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
        self.outlet._del()


def _collect(src: Source, seconds: float, pause: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    datas, stamps = [], []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        chunk = src.read()
        if chunk is not None:
            assert isinstance(chunk, Chunk)
            assert chunk.data.dtype == np.float64 and chunk.data.shape[1] == chunk.n_samples
            datas.append(chunk.data)
            stamps.append(chunk.timestamps)
        time.sleep(pause)
    if not datas:
        return np.zeros((0, 0)), np.zeros(0)
    return np.concatenate(datas, axis=1), np.concatenate(stamps)


# --------------------------------------------------------------------------- specs
@pytest.mark.parametrize(
    ("text", "kind", "target", "params"),
    [
        ("lsl:name=MyEEG", "lsl", "", {"name": "MyEEG"}),
        ("lsl:MyEEG", "lsl", "", {"name": "MyEEG"}),
        ("lsl:type=EEG", "lsl", "", {"type": "EEG"}),
        ("lsl:source_id=abc&type=EEG", "lsl", "", {"source_id": "abc", "type": "EEG"}),
        ("LSL:name=x?timeout=3", "lsl", "", {"name": "x", "timeout": "3"}),
        ("brainflow:synthetic", "brainflow", "synthetic", {}),
        ("brainflow:cyton?serial_port=/dev/ttyUSB0", "brainflow", "cyton", {"serial_port": "/dev/ttyUSB0"}),
        (
            "brainflow:board_id=0&ip_address=192.168.4.1&ip_port=6677",
            "brainflow",
            "",
            {"board_id": "0", "ip_address": "192.168.4.1", "ip_port": "6677"},
        ),
        ("xdf:path/to/file.xdf?speed=2&loop=1", "xdf", "path/to/file.xdf", {"speed": "2", "loop": "1"}),
        ("xdf:C:/data/rec.xdf", "xdf", "C:/data/rec.xdf", {}),
        ("file:rec.set?speed=max", "file", "rec.set", {"speed": "max"}),
        ("some/rec.xdf?speed=4", "xdf", "some/rec.xdf", {"speed": "4"}),
        ("sim:", "sim", "", {}),
        ("sim:script=joy:20,anger:20&seed=3", "sim", "", {"script": "joy:20,anger:20", "seed": "3"}),
        ("sim:?rate=500", "sim", "", {"rate": "500"}),
    ],
)
def test_parse_spec(text: str, kind: str, target: str, params: dict) -> None:
    spec = parse_source_spec(text)
    assert isinstance(spec, SourceSpec)
    assert (spec.kind, spec.target, spec.params) == (kind, target, params)
    assert parse_source_spec(str(spec)) == spec  # round trip
    assert parse_source_spec(spec) is spec


def test_spec_values() -> None:
    assert parse_source_spec("xdf:a.xdf?speed=max").speed is None
    assert parse_source_spec("xdf:a.xdf?speed=2.5").speed == 2.5
    assert parse_source_spec("file:a.edf").speed == 1.0
    assert parse_source_spec("xdf:a.xdf?loop=yes").get_bool("loop") is True
    with pytest.raises(AttributeError):
        parse_source_spec("sim:").kind = "lsl"  # frozen


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("", "empty"),
        ("foo:bar", "unknown source kind 'foo'"),
        ("lsl:", "needs name=, type= or source_id="),
        ("lsl:colour=red", "unknown option 'colour'"),
        ("lsl:name=a&name=b", "given twice"),
        ("lsl:name=a&markers=maybe", "not a boolean"),
        ("xdf:", "needs a file path"),
        ("xdf:a.xdf?speed=0", "speed must be > 0"),
        ("xdf:a.xdf?speed=fast-ish", "not a number"),
        ("xdf:a.xdf?loop=maybe", "not a boolean"),
        ("file:a.set?chunk=2.5", "chunk must be a positive integer"),
        ("brainflow:", "board name or board_id"),
        ("brainflow:synthetic?ip_port=x", "must be an integer"),
        ("brainflow:cyton?board_id=0", "board given twice"),
        ("sim:script=happy:3", "unknown class 'happy'"),
        ("sim:script=joy:abc", "not a number"),
        ("sim:rate=-5", "rate must be > 0"),
        ("sim:noise=-1", "noise must be >= 0"),
        ("lsl:name=x?speed=2", "unknown option 'speed'"),
    ],
)
def test_parse_spec_errors(text: str, match: str) -> None:
    with pytest.raises(SourceSpecError, match=match):
        parse_source_spec(text)


def test_spec_error_is_value_error() -> None:
    assert issubclass(SourceSpecError, ValueError)


# --------------------------------------------------------------------------- ArraySource
def test_array_source_real_xdf(xdf_file: Path) -> None:
    rec = read_recording(xdf_file)
    src = open_source(f"xdf:{xdf_file}?speed=max&chunk=256")
    assert isinstance(src, ArraySource)
    with src:
        assert src.connected and src.ch_names == [""] * 8 and src.sfreq == 1000.0
        sizes, datas, stamps = [], [], []
        while (chunk := src.read()) is not None:
            sizes.append(chunk.n_samples)
            datas.append(chunk.data)
            stamps.append(chunk.timestamps)
        assert src.finished and not src.connected
    assert set(sizes[:-1]) == {256} and sum(sizes) == 9520
    np.testing.assert_array_equal(np.concatenate(datas, axis=1), rec.data)
    np.testing.assert_array_equal(np.concatenate(stamps), rec.timestamps)


def test_array_source_markers_and_loop(tmp_path: Path) -> None:
    path, _ = crafted_xdf(tmp_path)
    rec = read_recording(path)
    src = ArraySource(rec, chunk_size=100, loop=True)
    src.start()
    labels, last = [], -np.inf
    for _ in range(7):  # 2 cycles + 1 chunk
        chunk = src.read()
        assert chunk is not None and chunk.timestamps[0] > last
        last = chunk.timestamps[-1]
        labels += [label for _, label in src.read_markers()]
    assert labels == ["start", "after-gap", "end"] * 2 + ["start"]
    assert not src.finished
    src.stop()


def test_open_source_bad_file(tmp_path: Path) -> None:
    bad = tmp_path / "broken.xdf"
    bad.write_bytes(b"garbage" * 10)
    with pytest.raises(RecordingError, match="broken.xdf"):
        open_source(f"xdf:{bad}")
    with pytest.raises(RecordingError, match="does not exist"):
        open_source(f"file:{tmp_path / 'none.edf'}?speed=max")


# --------------------------------------------------------------------------- LSLSource
@pytest.mark.parametrize("criterion", ["name", "stype", "source_id"])
def test_lsl_connect_by(criterion: str) -> None:
    with CounterOutlet(n_ch=3) as out:
        src = LSLSource(**{criterion: getattr(out, criterion)}, timeout=5)
        with src:
            assert src.connected
            assert src.name == out.name and src.stream_source_id == out.source_id
            assert src.ch_names == ["C0", "C1", "C2"] and src.sfreq == 250.0
            assert src.unit == "V" and not src.simulated
            data, ts = _collect(src, 0.6)
        assert not src.connected
    assert data.shape[0] == 3 and data.shape[1] > 50
    counts = data[0] / 1e-6  # microvolts converted to volts
    np.testing.assert_allclose(np.diff(counts), 1.0)
    assert np.all(np.diff(ts) > 0)


def test_lsl_spec_and_not_found() -> None:
    with CounterOutlet(n_ch=2) as out, open_source(f"lsl:name={out.name}?markers=0") as src:
        assert isinstance(src, LSLSource) and src.connected
    missing = f"nothing-{_uid()}"
    t0 = time.monotonic()
    with pytest.raises(SourceError, match=missing):
        LSLSource(name=missing, timeout=1.0).start()
    assert time.monotonic() - t0 < 5
    with pytest.raises(SourceError, match="not started"):
        LSLSource(name=missing).read()


def test_lsl_no_sample_lost_32ch_1000hz() -> None:
    """Sample counter at 32 ch x 1000 Hz, read at irregular intervals: no loss, no reorder."""
    with CounterOutlet(n_ch=32, sfreq=1000.0, chunk=20) as out:
        with LSLSource(source_id=out.source_id, timeout=5, markers=False) as src:
            rng = np.random.default_rng(0)
            datas = []
            end = time.monotonic() + 3.0
            while time.monotonic() < end:
                chunk = src.read()
                if chunk is not None:
                    datas.append(chunk.data)
                time.sleep(float(rng.uniform(0.0, 0.3)))
            time.sleep(0.3)
            while (chunk := src.read()) is not None:
                datas.append(chunk.data)
    data = np.rint(np.concatenate(datas, axis=1) / 1e-6)  # microvolts -> volts -> counter
    assert data.shape[0] == 32 and data.shape[1] > 2000
    assert np.all(data == data[0])  # every channel carries the same counter
    np.testing.assert_array_equal(np.diff(data[0]), 1.0)  # consecutive: none lost or reordered


def test_lsl_reconnects_when_stream_returns(tmp_path: Path) -> None:
    """A player killed mid-run and restarted is recovered: connected False, then True."""
    from bci_valence.streams.players import XDFPlayer

    path, _ = crafted_xdf(tmp_path, gap=False)
    rec = read_recording(path)
    sid = f"test-reconnect-{_uid()}"
    player = XDFPlayer(rec, loop=True, source_id=sid, name=f"reconnect-{_uid()}").start()
    try:
        with LSLSource(source_id=sid, timeout=5, stale_s=0.5) as src:
            before, _ = _collect(src, 0.8)
            assert before.shape[1] > 20 and src.connected
            player.stop()
            deadline = time.monotonic() + 10
            while src.connected and time.monotonic() < deadline:
                src.read()
                time.sleep(0.1)
            assert not src.connected, "the lost stream was not detected"
            assert "lost" in src.status
            assert src.read() is None  # nothing stale presented as live
            player = XDFPlayer(rec, loop=True, source_id=sid, name=player.name).start()
            deadline = time.monotonic() + 10
            while not src.connected and time.monotonic() < deadline:
                time.sleep(0.1)
            assert src.connected, "did not reconnect"
            after, ts = _collect(src, 0.8)
            assert after.shape[1] > 20
            assert len(src.gaps) == 1 and src.gaps[0][1] > src.gaps[0][0]
            assert ts[0] >= src.gaps[0][0]
    finally:
        player.stop()


# --------------------------------------------------------------------------- BrainFlow
def test_brainflow_synthetic() -> None:
    from mne_lsl.lsl import local_clock

    src = open_source("brainflow:synthetic")
    assert isinstance(src, BrainFlowSource)
    with src:
        assert src.connected and src.sfreq == 250.0 and len(src.ch_names) == 16
        assert src.ch_names[0] == "Fz" and src.unit == "V"
        data, ts = _collect(src, 1.0, pause=0.2)
        now = local_clock()
    assert not src.connected
    assert data.shape[0] == 16 and data.shape[1] > 150
    assert np.all(np.isfinite(data)) and 1e-7 < np.std(data) < 1e-2  # volts
    assert np.all(np.diff(ts) > 0) and abs(ts[-1] - now) < 1.0  # on the LSL clock


def test_brainflow_unknown_board() -> None:
    with pytest.raises(SourceSpecError, match="unknown BrainFlow board 'nosuchboard'"):
        open_source("brainflow:nosuchboard")
    with pytest.raises(SourceSpecError, match="did you mean"):
        open_source("brainflow:cyton_dai")
