"""A corpus of hostile stream timing, and how the online pipeline copes with it.

Real devices stamp their samples imperfectly (liblsl stamps a chunk on arrival, Bluetooth
delivers late and in bursts, clocks drift, rates are approximate, packets get lost).
Each scenario here is generated reproducibly from a seed: the samples, the exact time
each one was taken, the stamps the device software would give them, when each chunk is
delivered and which samples were truly lost. :func:`run_corpus` pushes every scenario
over real LSL at once (one outlet per scenario, in real time), runs the pipeline on
them, runs the same samples with exact timestamps offline, and compares:

- ``steps_ratio``: steps produced per step of the exactly stamped run;
- ``false_gaps`` / ``missed_gaps``: gaps found where none was lost, true losses of
  100 ms or more not found; ``missed_small_gaps`` for 6-sample losses (required only
  where the stream's jitter is smaller than the loss);
- ``false_gap_flags``: steps flagged GAP whose exactly stamped twin is not;
- ``max_valence_diff``: the largest valence difference once both are calibrated.

Run ``python benchmarks/timing_corpus.py`` (add ``--seconds 60`` for the long form);
it prints JSON. The suite runs the short form (``tests/benchmarks/test_timing_corpus.py``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
import uuid
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

SHARED_DATA = Path(os.environ.get("BCI_VALENCE_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))
OPENBCI_XDF = SHARED_DATA / "xdf" / "openbci_8ch_1000hz.xdf"
OPENBCI_CHANNELS = ("Fp1", "Fp2", "C3", "C4", "P7", "P8", "O1", "O2")
#: Losses planted in the ``losses_*`` scenarios: (seconds into the stream, samples lost).
PLANTED_LOSSES_S = ((10.0, 6), (13.0, 0.1), (15.0, 2.0))


@dataclass(frozen=True)
class Scenario:
    """One stream with hostile timing.

    Attributes
    ----------
    name, description : str
    sfreq : float
        The rate the stream declares.
    ch_names : tuple of str
    data : ndarray (n_channels, n)
        The samples that arrive (lost ones removed), microvolts.
    true_times : ndarray (n,)
        When each arriving sample was taken (s from the stream's start).
    stamps : ndarray (n,)
        The timestamps the device software gives them (s from the start); for
        ``liblsl_stamps`` scenarios what liblsl gives a chunk pushed without stamps.
    deliveries : ndarray (k, 3)
        ``(deliver_at_s, first, stop)`` of every chunk, in order.
    losses : tuple of (int, int)
        ``(index of the first sample after the loss, samples lost)``.
    liblsl_stamps : bool
        Push chunks without timestamps: liblsl stamps them on arrival.
    small_gaps_required : bool
        Whether 6-sample losses must be found (the stream's jitter is smaller).
    """

    name: str
    description: str
    sfreq: float
    ch_names: tuple[str, ...]
    data: np.ndarray
    true_times: np.ndarray
    stamps: np.ndarray
    deliveries: np.ndarray
    losses: tuple[tuple[int, int], ...] = ()
    liblsl_stamps: bool = False
    small_gaps_required: bool = True

    @property
    def duration(self) -> float:
        """Seconds from the first sample to the last delivery."""
        return float(self.deliveries[-1, 0])


# --------------------------------------------------------------------------- generation
def _signal(seconds: float, sfreq: float, seed: int) -> tuple[np.ndarray, tuple[str, ...]]:
    """32 channels of the simulated headset (FACED's band powers), microvolts."""
    from bci_valence.constants import FACED_CHANNELS
    from bci_valence.streams.simulator import HeadsetSynth, SimulationSettings

    synth = HeadsetSynth(SimulationSettings(sfreq=sfreq, seed=seed))
    data, _ = synth.generate(int(np.ceil(seconds)) + 1)
    return data, tuple(FACED_CHANNELS)


def _chunks(n: int, sfreq: float, rng: np.random.Generator, min_s: float = 0.01, max_s: float = 0.04) -> np.ndarray:
    """Chunk boundaries of a device that sends 10-40 ms packets."""
    bounds = [0]
    while bounds[-1] < n:
        bounds.append(min(n, bounds[-1] + max(1, int(round(rng.uniform(min_s, max_s) * sfreq)))))
    return np.asarray(bounds)


def _deliver(bounds: np.ndarray, last_times: np.ndarray, lags: np.ndarray) -> np.ndarray:
    """Delivery times: each chunk after its last sample was taken plus its lag, in order."""
    at = np.maximum.accumulate(last_times + lags)
    return np.column_stack([at, bounds[:-1], bounds[1:]])


def _liblsl(deliveries: np.ndarray, n: int, sfreq: float) -> np.ndarray:
    """What liblsl stamps: the chunk's last sample at arrival, the rest back-dated."""
    stamps = np.empty(n)
    for at, a, b in deliveries:
        a, b = int(a), int(b)
        stamps[a:b] = at - (b - 1 - np.arange(a, b)) / sfreq
    return stamps


def _lose(true_index: np.ndarray, sfreq: float, losses_s) -> tuple[np.ndarray, tuple[tuple[int, int], ...]]:
    """Remove planted losses; ``losses_s`` items are (at_s, samples (int) or seconds (float))."""
    keep = np.ones(true_index.size, dtype=bool)
    for at_s, size in losses_s:
        n = int(size) if isinstance(size, int) else int(round(size * sfreq))
        a = int(round(at_s * sfreq))
        keep[a : a + n] = False
    kept = np.flatnonzero(keep)
    jumps = np.flatnonzero(np.diff(kept) > 1)
    losses = tuple((int(j + 1), int(kept[j + 1] - kept[j] - 1)) for j in jumps)
    return kept, losses


def make_scenario(name: str, seconds: float = 20.0, seed: int = 0) -> Scenario:
    """Generate one scenario of :data:`SCENARIOS` (same name and seed, same scenario)."""
    rng = np.random.default_rng(seed)
    if name == "openbci_original":
        return _openbci(seconds)
    sfreq = 250.0
    true_rate = 249.6 if name == "rate_249p6" else sfreq
    total = int(np.ceil(seconds * true_rate))
    signal, ch_names = _signal(seconds, sfreq, seed)
    index = np.arange(total)
    losses_s = PLANTED_LOSSES_S if name.startswith("losses_") else ()
    kept, losses = _lose(index, true_rate, losses_s)
    data = signal[:, kept]
    true_times = kept / true_rate
    n = kept.size
    bounds = _chunks(n, sfreq, rng)
    last = true_times[bounds[1:] - 1]
    liblsl = name in ("liblsl_lag30", "liblsl_lag100", "rate_249p6", "losses_lag30")
    lag_max = {"liblsl_lag100": 0.1, "bursts_1s": 0.01}.get(name, 0.03)
    lags = rng.uniform(0.0, lag_max, bounds.size - 1)
    if name in ("jitter_2p5ms", "losses_jitter"):
        lags[:] = 0.002
    deliveries = _deliver(bounds, last, lags)
    stamps = _liblsl(deliveries, n, sfreq) if liblsl else true_times.copy()
    if name in ("jitter_2p5ms", "losses_jitter"):
        stamps = true_times + rng.uniform(-0.0025, 0.0025, n)
    elif name == "drift_100ppm":
        stamps = true_times * (1 + 100e-6)
    elif name == "bursts_1s":  # every 5 s the link stalls 1 s, then delivers it at once
        for start_s in np.arange(3.0, seconds - 2.0, 5.0):
            stall = (true_times >= start_s) & (true_times < start_s + 1.0)
            rows = (deliveries[:, 1] >= np.argmax(stall)) & (deliveries[:, 2] <= np.flatnonzero(stall)[-1] + 1)
            deliveries[rows, 0] = start_s + 1.0
        deliveries[:, 0] = np.maximum.accumulate(deliveries[:, 0])
        for at, a, b in deliveries:  # stamped on arrival, packet by packet (BrainFlow-like)
            stamps[int(a) : int(b)] = at + 1e-6 * np.arange(int(b) - int(a))
    small_required = name in ("exact", "jitter_2p5ms", "losses_jitter", "drift_100ppm")
    return Scenario(
        name=name, description=DESCRIPTIONS[name], sfreq=sfreq, ch_names=ch_names, data=data,
        true_times=true_times, stamps=stamps, deliveries=deliveries, losses=losses,
        liblsl_stamps=liblsl, small_gaps_required=small_required,
    )  # fmt: skip


def _openbci(seconds: float) -> Scenario:
    """The real OpenBCI recording with the timestamps its device app gave, looped."""
    import pyxdf

    streams, _ = pyxdf.load_xdf(str(OPENBCI_XDF), dejitter_timestamps=False)
    stream = streams[0]
    x = np.asarray(stream["time_series"], dtype=np.float64).T
    t = np.asarray(stream["time_stamps"], dtype=np.float64)
    t = t - t[0]
    sfreq = float(stream["info"]["nominal_srate"][0])
    span = t[-1] + 1.0 / sfreq
    loops = int(np.ceil(seconds / span))
    data = np.tile(x, loops)
    stamps = np.concatenate([t + k * span for k in range(loops)])
    # chunks as the device app sent them: where the 1-ms back-dating restarts
    breaks = np.flatnonzero(np.abs(np.diff(stamps) - 1.0 / sfreq) > 1e-6) + 1
    bounds = np.concatenate(([0], breaks, [stamps.size]))
    deliveries = np.column_stack([np.maximum.accumulate(stamps[bounds[1:] - 1]), bounds[:-1], bounds[1:]])
    n = stamps.size
    return Scenario(
        name="openbci_original", description=DESCRIPTIONS["openbci_original"], sfreq=sfreq,
        ch_names=OPENBCI_CHANNELS, data=data, true_times=np.arange(n) / sfreq, stamps=stamps,
        deliveries=deliveries, small_gaps_required=False,
    )  # fmt: skip


DESCRIPTIONS = {
    "exact": "perfect stamps (control)",
    "openbci_original": "real OpenBCI 8-ch 1000 Hz recording, its original timestamps",
    "liblsl_lag30": "chunks stamped by liblsl on arrival, 0-30 ms late",
    "liblsl_lag100": "chunks stamped by liblsl on arrival, 0-100 ms late",
    "jitter_2p5ms": "±2.5 ms jitter on every sample",
    "drift_100ppm": "device clock 100 ppm fast",
    "rate_249p6": "249.6 Hz delivered, 250 Hz declared (liblsl stamps, 0-30 ms late)",
    "bursts_1s": "a 1-s stall every 5 s, then the second delivered at once, stamped on arrival",
    "losses_jitter": "±2.5 ms jitter; 6 samples, 100 ms and 2 s lost",
    "losses_lag30": "liblsl stamps 0-30 ms late; 6 samples, 100 ms and 2 s lost",
}
SCENARIOS = tuple(DESCRIPTIONS)


# --------------------------------------------------------------------------- pushing
class CorpusPlayer:
    """Pushes a scenario onto a real LSL outlet in real time (a :class:`Player`)."""

    def __init__(self, scenario: Scenario) -> None:
        from mne_lsl.lsl import StreamInfo, StreamOutlet

        self.scenario = scenario
        self.name = f"timing-{scenario.name}"
        self.source_id = f"timing-{scenario.name}-{uuid.uuid4().hex[:8]}"
        info = StreamInfo(self.name, "EEG", len(scenario.ch_names), scenario.sfreq, "float32", self.source_id)
        info.set_channel_names(list(scenario.ch_names))
        info.set_channel_units(["microvolts"] * len(scenario.ch_names))
        self._outlet = StreamOutlet(info, chunk_size=1)
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._done = threading.Event()

    def start(self) -> CorpusPlayer:
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        from mne_lsl.lsl import local_clock

        sc = self.scenario
        data = np.ascontiguousarray(sc.data.T, dtype=np.float32)
        time.sleep(1.0)  # let the inlet connect before the first sample
        t0 = local_clock()
        for at, a, b in sc.deliveries:
            a, b = int(a), int(b)
            delay = t0 + at - local_clock()
            if delay > 0 and self._stop.wait(delay):
                break
            stamp = None if sc.liblsl_stamps else t0 + sc.stamps[a:b]  # None: liblsl stamps it on arrival
            if b - a == 1:
                self._outlet.push_sample(data[a], timestamp=0.0 if stamp is None else float(stamp[0]))
            else:
                self._outlet.push_chunk(data[a:b], timestamp=stamp)
        self._done.set()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._done.set()

    @property
    def finished(self) -> bool:
        return self._done.is_set()


# --------------------------------------------------------------------------- comparing
def _settings(calibration_s: float):
    from bci_valence.online.settings import CalibrationSettings, ComputeSettings, PipelineSettings, StreamSettings

    return PipelineSettings(
        calibration=CalibrationSettings(seconds=calibration_s),
        compute=ComputeSettings(device="cpu"),
        stream=StreamSettings(min_channels=8, stale_after_s=5.0),
    )


def exact_run(scenario: Scenario, calibration_s: float, bundle=None):
    """The scenario's samples with their exact times, offline: (steps, gaps found)."""
    from bci_valence.io.recordings import Recording
    from bci_valence.online.pipeline import Pipeline
    from bci_valence.signal.quality import QualityFlag
    from bci_valence.streams.array_source import ArraySource

    rec = Recording(
        data=scenario.data * 1e-6, unit="V", sfreq=scenario.sfreq, ch_names=list(scenario.ch_names),
        ch_types=["eeg"] * len(scenario.ch_names), timestamps=scenario.true_times, stream_name=scenario.name,
    )  # fmt: skip
    settings = _settings(calibration_s)
    settings = replace(settings, stream=replace(settings.stream, stale_after_s=float("inf")))
    pipe = Pipeline([ArraySource(rec, chunk_size=int(scenario.sfreq // 10))], bundle, settings)
    steps = []
    with pipe:
        while not pipe.finished:
            steps.extend(pipe.poll())
        steps.extend(pipe.poll())
        gaps = list(pipe.stream_clock(0).gaps)
    return [s for s in steps if not s.flags & QualityFlag.STALE], gaps


def live_runs(scenarios: list[Scenario], calibration_s: float, bundle=None, progress=None) -> dict:
    """Every scenario over real LSL at once, through one pipeline: {name: (steps, gaps, health)}."""
    from bci_valence.online.pipeline import Pipeline
    from bci_valence.signal.quality import QualityFlag
    from bci_valence.streams.lsl_source import LSLSource

    players = [CorpusPlayer(sc) for sc in scenarios]
    sources = [LSLSource(source_id=p.source_id, markers=False, players=[p], timeout=15) for p in players]
    pipe = Pipeline(sources, bundle, _settings(calibration_s), names=[sc.name for sc in scenarios])
    steps: dict[str, list] = {sc.name: [] for sc in scenarios}
    deadline = time.monotonic() + max(sc.duration for sc in scenarios) + 30
    with pipe:
        while not pipe.finished and time.monotonic() < deadline:
            for s in pipe.poll():
                if not s.flags & QualityFlag.STALE:
                    steps[s.stream].append(s)
            if progress:
                progress(pipe)
            time.sleep(0.02)
        for s in pipe.poll():
            if not s.flags & QualityFlag.STALE:
                steps[s.stream].append(s)
        out = {sc.name: (steps[sc.name], list(pipe.stream_clock(k).gaps), pipe.stream_clock(k).health())
               for k, sc in enumerate(scenarios)}  # fmt: skip
    return out


def compare(scenario: Scenario, live: tuple, exact: tuple) -> dict:
    """The corpus figures of one scenario (see the module docstring)."""
    from bci_valence.signal.quality import QualityFlag

    steps, gaps, health = live
    ref_steps, ref_gaps = exact
    period_slack = int(0.05 * scenario.sfreq) + 2
    matched, false_gaps = set(), 0
    for g in gaps:
        hit = [k for k, (idx, n) in enumerate(scenario.losses) if abs(g.index - idx) <= period_slack]
        if hit:
            matched.add(hit[0])
        else:
            false_gaps += 1
    big = [k for k, (_, n) in enumerate(scenario.losses) if n / scenario.sfreq >= 0.1]
    small = [k for k, (_, n) in enumerate(scenario.losses) if n / scenario.sfreq < 0.1]
    n = min(len(steps), len(ref_steps))
    calibrating = int(QualityFlag.CALIBRATING)
    diffs = [
        abs(a.valence - b.valence)
        for a, b in zip(steps[:n], ref_steps[:n])
        if not (a.flags & calibrating or b.flags & calibrating) and np.isfinite(a.valence) and np.isfinite(b.valence)
    ]
    gap_flag = int(QualityFlag.GAP)
    false_flags = sum(1 for a, b in zip(steps[:n], ref_steps[:n]) if a.flags & gap_flag and not b.flags & gap_flag)
    return {
        "description": scenario.description,
        "steps": len(steps),
        "expected_steps": len(ref_steps),
        "steps_ratio": round(len(steps) / max(1, len(ref_steps)), 4),
        "false_gaps": false_gaps,
        "true_gaps": len(scenario.losses),
        "missed_gaps": sum(1 for k in big if k not in matched),
        "missed_small_gaps": sum(1 for k in small if k not in matched),
        "small_gaps_required": scenario.small_gaps_required,
        "false_gap_flags": false_flags,
        "compared_steps": len(diffs),
        "max_valence_diff": round(float(max(diffs)), 6) if diffs else None,
        "timing": health.to_dict(),
    }


def run_corpus(seconds: float = 20.0, calibration_s: float = 4.0, names=SCENARIOS, seed: int = 0) -> dict:
    """Generate, push, run and compare every scenario; the JSON-able result."""
    from bci_valence.model.bundle import ModelBundle

    bundle = ModelBundle.load()
    scenarios = [make_scenario(n, seconds, seed) for n in names if n != "openbci_original" or OPENBCI_XDF.exists()]
    live = live_runs(scenarios, calibration_s, bundle)
    return {sc.name: compare(sc, live[sc.name], exact_run(sc, calibration_s, bundle)) for sc in scenarios}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="length of each scenario (s)")
    parser.add_argument("--calibration-s", type=float, default=4.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--scenario", action="append", choices=SCENARIOS, help="only these (repeatable)")
    parser.add_argument("--push", choices=SCENARIOS, metavar="SCENARIO",
                        help="only publish this scenario on LSL (for `bci-valence run --source lsl:name=timing-...`)")
    args = parser.parse_args(argv)
    if args.push:
        player = CorpusPlayer(make_scenario(args.push, args.seconds, args.seed)).start()
        print(f"publishing {player.name!r} (source_id {player.source_id}) for {player.scenario.duration:.0f} s",
              file=sys.stderr)
        try:
            while not player.finished:
                time.sleep(0.2)
        except KeyboardInterrupt:
            pass
        player.stop()
        return 0
    from bci_valence.provenance import provenance

    started = time.time()
    result = run_corpus(args.seconds, args.calibration_s, tuple(args.scenario or SCENARIOS), args.seed)
    print(json.dumps({
        "benchmark": "timing_corpus", "seconds": args.seconds, "calibration_s": args.calibration_s,
        "seed": args.seed, "wall_s": round(time.time() - started, 1), "scenarios": result,
        "provenance": provenance(),
    }, indent=1))  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
