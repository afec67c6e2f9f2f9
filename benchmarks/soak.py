"""Soak run: one 32-ch × 1000 Hz LSL stream through the pipeline for many minutes.

Channel 0 of the pushed stream is a sample counter: every chunk the pipeline reads is
checked for lost or reordered samples. Resident memory (VmRSS) is sampled every
``--every`` seconds; the run passes when the RSS at the end is within 5% of the RSS
after the warm-up (``--warmup`` minutes, default 10% of the run) and no sample was
lost. Prints one JSON object (and writes it to ``--out`` when given).

    python benchmarks/soak.py --minutes 30 [--out soak.json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def rss_mb() -> float:
    """Resident set size of this process (MB)."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--minutes", type=float, default=30.0)
    p.add_argument("--warmup", type=float, default=None, help="minutes before the RSS baseline")
    p.add_argument("--every", type=float, default=10.0, help="seconds between RSS samples")
    p.add_argument("--sfreq", type=float, default=1000.0)
    p.add_argument("--bundle", default=None)
    p.add_argument("--out", default=None)
    a = p.parse_args(argv)

    sys.path.insert(0, str(REPO / "benchmarks"))
    from online import load_bundle  # noqa: E402

    from bci_valence.online.pipeline import Pipeline
    from bci_valence.online.settings import (
        ComputeSettings,
        PipelineSettings,
    )
    from bci_valence.online.tuning import tune_process
    from bci_valence.provenance import provenance
    from bci_valence.signal.quality import QualityFlag
    from bci_valence.streams.lsl_source import LSLSource

    duration = a.minutes * 60.0
    warmup = (a.warmup * 60.0) if a.warmup is not None else max(30.0, 0.1 * duration)
    sid = f"soak-{uuid.uuid4().hex[:8]}"
    pusher = subprocess.Popen(
        [sys.executable, str(REPO / "benchmarks" / "lsl_push.py"), "--name", sid, "--source-id", sid,
         "--seconds", str(duration + 60), "--sfreq", str(a.sfreq), "--chunk", "10"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=REPO,
    )  # fmt: skip
    state = {"last": None, "received": 0, "lost": 0, "reordered": 0, "first": None}

    def check(name: str, data: np.ndarray, ts: np.ndarray) -> None:
        idx = np.rint(np.asarray(data[0], dtype=np.float64) * scale).astype(np.int64)
        if state["first"] is None:
            state["first"] = int(idx[0])
        prev = state["last"]
        seq = idx if prev is None else np.r_[prev, idx]
        d = np.diff(seq)
        state["lost"] += int(np.sum(d[d > 1] - 1))
        state["reordered"] += int(np.sum(d < 1))
        state["last"] = int(idx[-1])
        state["received"] += idx.size

    samples: list[dict] = []
    try:
        assert pusher.stdout.readline().strip() == "pushing"
        bundle, which = load_bundle(a.bundle, "cpu")
        src = LSLSource(source_id=sid, timeout=20, markers=False)
        pipe_settings = PipelineSettings(compute=ComputeSettings(device="cpu"))
        tune_process(pipe_settings)
        pipe = Pipeline([src], bundle, pipe_settings)
        pipe.add_chunk_listener(check)
        pipe.start()
        scale = 1e6 if src.unit == "V" else 1.0  # the pusher declares microvolts
        t0 = time.monotonic()
        next_sample = t0
        steps = stale = 0
        lat: list[float] = []
        while True:
            now = time.monotonic()
            if now - t0 >= duration:
                break
            out = pipe.poll()
            steps += len(out)
            stale += sum(bool(s.flags & QualityFlag.STALE) for s in out)
            lat.extend(s.latency_ms for s in out)
            if now >= next_sample:
                st = pipe.status()[0]
                samples.append({"t_s": round(now - t0, 1), "rss_mb": round(rss_mb(), 1), "steps": steps,
                                "samples": state["received"], "lost": state["lost"], "gaps": st.gaps})  # fmt: skip
                next_sample += a.every
            if not out:
                time.sleep(0.005)
        status = pipe.status()[0]
        pipe.stop()
    finally:
        pusher.kill()
        pusher.wait(timeout=10)
    base = [s for s in samples if s["t_s"] >= warmup]
    rss0 = base[0]["rss_mb"] if base else samples[0]["rss_mb"]
    rss_end = samples[-1]["rss_mb"]
    rss_max = max(s["rss_mb"] for s in base) if base else rss_end
    growth = (rss_end - rss0) / rss0 * 100.0
    result = {
        "minutes": a.minutes,
        "stream": f"32 EEG ch + counter x {a.sfreq:g} Hz over real LSL (another process)",
        "bundle": which,
        "samples_received": state["received"],
        "samples_lost": state["lost"],
        "samples_reordered": state["reordered"],
        "buffer_gaps": status.gaps,
        "pipeline_lost_samples": status.lost_samples,
        "reconnects": status.reconnects,
        "steps": steps,
        "stale_steps": stale,
        "steps_expected": int((duration - 4.3) * 4),
        "latency_p50_ms": round(float(np.percentile(lat, 50)), 2) if lat else None,
        "latency_p99_ms": round(float(np.percentile(lat, 99)), 2) if lat else None,
        "rss_after_warmup_mb": rss0,
        "rss_end_mb": rss_end,
        "rss_max_after_warmup_mb": rss_max,
        "rss_growth_percent": round(growth, 2),
        "rss_flat_within_5_percent": bool(abs(growth) <= 5.0 and (rss_max - rss0) / rss0 <= 0.05),
        "zero_lost": state["lost"] == 0 and state["reordered"] == 0,
        "load_average_1min_at_end": round(os.getloadavg()[0], 2),
        "rss_samples": samples,
        "provenance": provenance(),
    }
    text = json.dumps(result, indent=2)
    print(text)
    if a.out:
        Path(a.out).write_text(text + "\n")
    return 0 if result["zero_lost"] and result["rss_flat_within_5_percent"] else 1


if __name__ == "__main__":
    sys.exit(main())
