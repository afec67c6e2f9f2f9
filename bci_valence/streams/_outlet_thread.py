"""The life cycle shared by everything that streams onto LSL from a thread.

Players and the simulated headset differ in what they push; starting, stopping and
removing their outlets is the same, and lives here once.
"""

from __future__ import annotations

import threading
from typing import Any


def destroy_outlet(outlet: Any) -> None:
    """Remove an outlet from the network now rather than whenever it is collected.

    mne-lsl destroys an outlet in ``__del__`` through its ``_del`` method and has no
    public equivalent; a closed session must vanish from the network at once (a
    recorder or a reconnecting client would otherwise still see it), so this is the
    one place that calls it.
    """
    if outlet is None:
        return
    try:
        outlet._del()
    except Exception:  # noqa: BLE001 - best effort on shutdown
        pass


class OutletThread:
    """An EEG outlet, an optional marker outlet and the thread that feeds them.

    Subclasses implement ``_make_outlets`` (set ``_outlet`` and ``_marker_outlet``),
    ``_run`` (the thread body: push until ``_stop`` is set, set ``_finished`` at a
    natural end) and ``_announce`` (log what started).
    """

    thread_prefix = "lsl"

    def __init__(self) -> None:
        self.name: str = ""
        self._outlet: Any = None
        self._marker_outlet: Any = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._finished = threading.Event()

    def _make_outlets(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _run(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _announce(self) -> None:
        """Log that streaming started (subclasses say what)."""

    def start(self):
        """Create the outlets and start streaming in a background thread (idempotent)."""
        if self._thread is not None:
            return self
        self._make_outlets()
        self._stop.clear()
        self._finished.clear()
        self._thread = threading.Thread(
            target=self._run, name=f"{self.thread_prefix}-{self.name}", daemon=True
        )
        self._thread.start()
        self._announce()
        return self

    def stop(self) -> None:
        """Stop streaming and remove the outlets from the network (idempotent)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5.0)
        self._thread = None
        outlet, self._outlet = self._outlet, None
        marker, self._marker_outlet = self._marker_outlet, None
        destroy_outlet(outlet)
        destroy_outlet(marker)

    @property
    def running(self) -> bool:
        """Whether the streaming thread runs."""
        return self._thread is not None and self._thread.is_alive()

    @property
    def finished(self) -> bool:
        """True once a finite stream (end of file, duration) pushed its last sample."""
        return self._finished.is_set()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def wait_for_consumer(outlet: Any, timeout: float, stop: threading.Event) -> bool:
    """Wait up to ``timeout`` s for an inlet on ``outlet`` (False on timeout/stop)."""
    import time

    deadline = time.monotonic() + timeout
    while timeout > 0 and not stop.is_set() and time.monotonic() < deadline:
        if outlet.wait_for_consumers(timeout=0.1):
            return True
    return False
