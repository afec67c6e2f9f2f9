"""A whole recording through the online processors, as fast as the CPU allows."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

import numpy as np

from ..signal.quality import QualityFlag

log = logging.getLogger(__name__)
from ..io.recordings import Recording
from ..streams.array_source import ArraySource
from .pipeline import Pipeline
from .settings import PipelineSettings
from .steps import ValenceStep

__all__ = ['run_offline']


# --------------------------------------------------------------------------- offline
def run_offline(
    recording: Any,
    settings: PipelineSettings | None = None,
    bundle: Any = None,
    *,
    chunk_s: float = 0.1,
    name: str | None = None,
    progress: bool = False,
) -> list[ValenceStep]:
    """Feed a whole recording through the online processors as fast as possible.

    Parameters
    ----------
    recording : Recording | tuple
        A :class:`~bci_valence.io.recordings.Recording` (fed through an
        :class:`~bci_valence.streams.array_source.ArraySource`, markers included) or a tuple
        ``(data, sfreq, ch_names)`` (timestamps ``i / sfreq``).
    settings : PipelineSettings | None
    bundle : ModelBundle | path | None
    chunk_s : float
        Chunk length fed per read; results do not depend on it.
    name : str | None
        Stream name (default: the recording's ``name`` or ``"recording"``).
    progress : bool
        Show a progress bar.

    Returns
    -------
    list of ValenceStep
        The same steps a real-time run over the recording gives (latencies aside).
    """
    if isinstance(recording, tuple):
        data, sfreq, ch_names = recording[:3]
        data = np.asarray(data, dtype=np.float64)
        recording = Recording(
            data=data, sfreq=float(sfreq), ch_names=list(ch_names), ch_types=["eeg"] * len(ch_names),
            timestamps=np.arange(data.shape[1]) / float(sfreq), stream_name=name or "recording",
        )  # fmt: skip
    feed = ArraySource(recording, chunk_size=max(1, int(round(chunk_s * float(recording.sfreq)))))
    if name:
        feed.name = name
    n_total = int(recording.n_times)
    settings = settings or PipelineSettings()
    # an offline run never goes stale: silence is only the CPU being busy
    settings = replace(settings, stream=replace(settings.stream, stale_after_s=float("inf")))
    pipe = Pipeline([feed], bundle, settings, names=[feed.name or "recording"])
    steps: list[ValenceStep] = []
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=n_total, unit="sample", desc=f"replay {feed.name}")
    pipe.start()
    try:
        done = 0
        while not feed.finished:
            steps.extend(s for s in pipe.poll() if not (s.flags & QualityFlag.STALE))
            if bar is not None:
                now = pipe.samples_read(0)
                bar.update(now - done)
                done = now
        steps.extend(s for s in pipe.poll() if not (s.flags & QualityFlag.STALE))
    finally:
        pipe.stop()
        if bar is not None:
            bar.close()
    return steps
