"""Push a synthetic EEG stream on LSL in real time (for tests and benchmarks).

Channel 0 ("Counter") carries the sample index, so a reader can prove that no
sample was lost or reordered; the other channels are FACED-labelled noise in µV
(10 Hz alpha on top). Timestamps are exact: ``t0 + i / sfreq`` on the LSL clock.

    python benchmarks/lsl_push.py --name X --source-id Y --channels 32 --sfreq 1000 --seconds 5
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np


def push_stream(
    name: str,
    source_id: str,
    n_channels: int = 32,
    sfreq: float = 1000.0,
    seconds: float = 5.0,
    chunk: int = 10,
    counter: bool = True,
    start_index: int = 0,
    extra_streams: int = 0,
) -> int:
    """Push until ``seconds`` elapsed (inf: until killed); returns the samples pushed.

    ``extra_streams`` more streams (``{name}-{k}``, ``{source_id}-{k}``) are pushed
    from the same loop, for many-stream benchmarks.
    """
    from mne_lsl.lsl import StreamInfo, StreamOutlet, local_clock

    from bci_valence.constants import FACED_CHANNELS

    eeg_names = list(FACED_CHANNELS)[: n_channels]
    labels = (["Counter"] if counter else []) + eeg_names
    outlets = []
    for k in range(1 + extra_streams):
        suffix = "" if k == 0 else f"-{k}"
        info = StreamInfo(name + suffix, "EEG", len(labels), sfreq, "float32", source_id + suffix)
        info.set_channel_names(labels)
        info.set_channel_units(["microvolts"] * len(labels))
        outlets.append(StreamOutlet(info, chunk_size=chunk, max_buffered=60))
    rng = np.random.default_rng(0)
    noise = (rng.standard_normal((4096, len(labels))) * 10).astype(np.float32)
    t_alpha = np.arange(4096) / sfreq
    noise += (20 * np.sin(2 * np.pi * 10 * t_alpha))[:, None].astype(np.float32)
    t0 = local_clock()
    i = 0
    deadline = t0 + seconds
    print("pushing", flush=True)
    while True:
        now = local_clock()
        if now >= deadline:
            break
        due = int((now - t0) * sfreq)
        if due - i < chunk:
            time.sleep(max(0.0, (i + chunk - due) / sfreq) * 0.9)
            continue
        n = due - i
        idx = np.arange(i, i + n)
        x = noise[idx % 4096].copy()
        if counter:
            x[:, 0] = (start_index + idx).astype(np.float32)
        ts = t0 + idx / sfreq
        for out in outlets:
            out.push_chunk(x, timestamp=ts)
        i += n
    time.sleep(0.5)  # let the receivers drain
    return i


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--name", required=True)
    p.add_argument("--source-id", required=True)
    p.add_argument("--channels", type=int, default=32)
    p.add_argument("--sfreq", type=float, default=1000.0)
    p.add_argument("--seconds", type=float, default=float("inf"))
    p.add_argument("--chunk", type=int, default=10)
    p.add_argument("--start-index", type=int, default=0)
    p.add_argument("--extra-streams", type=int, default=0)
    p.add_argument("--no-counter", action="store_true")
    a = p.parse_args(argv)
    n = push_stream(
        a.name, a.source_id, a.channels, a.sfreq, a.seconds, a.chunk, not a.no_counter,
        a.start_index, a.extra_streams,
    )  # fmt: skip
    print(f"pushed {n}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
