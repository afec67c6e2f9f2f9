"""Process-wide tuning for low-latency streaming: allocator, torch and BLAS threads."""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)

__all__ = ['tune_malloc']


_MALLOC_TUNED = False


def tune_malloc() -> None:
    """glibc: no mmap for blocks under 256 MB and no trimming (see ``tune_malloc``)."""
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
