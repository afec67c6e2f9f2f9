"""Process-wide tuning for low-latency streaming: allocator, torch and BLAS threads."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from ..device import resolve_device

if TYPE_CHECKING:
    from .settings import PipelineSettings

log = logging.getLogger(__name__)

__all__ = ["tune_malloc", "tune_process"]


_MALLOC_TUNED = False


def tune_malloc() -> None:
    """glibc: no mmap for blocks under 256 MB and no trimming.

    Streaming allocates and frees the same few-MB arrays every step; glibc would hand
    them back to the system and page them in again each time.
    """
    global _MALLOC_TUNED
    if _MALLOC_TUNED:
        return
    _MALLOC_TUNED = True
    import ctypes
    import ctypes.util
    import sys

    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        m_trim_threshold, m_mmap_threshold = -1, -3
        libc.mallopt(m_mmap_threshold, 256 * 1024 * 1024)
        libc.mallopt(m_trim_threshold, 512 * 1024 * 1024)
    except (OSError, AttributeError):  # not glibc
        log.debug("mallopt unavailable; malloc left as is")


def tune_process(settings: PipelineSettings) -> None:
    """Tune this process for streaming, once, from the entry point that runs a pipeline.

    Process-wide state belongs to the program, not to a :class:`~.pipeline.Pipeline`
    (a library user may run one inside a larger application): the CLI's ``run`` and
    ``replay``, the desktop app and the benchmarks call this before building one.

    Parameters
    ----------
    settings : PipelineSettings
        ``tune_malloc`` switches the allocator tuning; ``torch_threads`` (on CPU) sets
        torch's intra-op threads and numpy's BLAS threads (threadpoolctl): BLAS's spinning
        workers otherwise fight the stream's own threads for the cores.
    """
    if settings.compute.tune_malloc:
        tune_malloc()
    if settings.compute.torch_threads and resolve_device(settings.compute.device).type == "cpu":
        import torch
        from threadpoolctl import threadpool_limits

        torch.set_num_threads(int(settings.compute.torch_threads))
        threadpool_limits(int(settings.compute.torch_threads), user_api="blas")
