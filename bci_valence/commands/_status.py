"""What ``run`` and ``replay`` show while a session runs: one status row per stream.

On a terminal a live table (rich), redrawn four times a second; in a log or a pipe,
plain lines every 5 s and once at the end; nothing with ``--quiet``.
"""

from __future__ import annotations

import sys
import time
from typing import Any

#: Seconds between redraws of the live table, and between plain status lines.
_TABLE_EVERY_S = 0.25
_LINES_EVERY_S = 5.0


def _state(st: Any, lost: str) -> str:
    """``live``, ``finished``, or ``lost`` (spelled by the caller)."""
    return "live" if st.connected else ("finished" if st.message == "finished" else lost)


def _rate_text(st: Any) -> str:
    """The declared rate, and the effective one measured on this machine's clock."""
    if st.timing is None:
        return f"{st.sfreq or 0:g}"
    return f"{st.sfreq or 0:g} ({st.timing.effective_rate:.2f})"


def status_table(pipe: Any, last: dict) -> Any:
    """The status of every stream of ``pipe`` as a rich table (``last``: each stream's latest step)."""
    from rich.table import Table

    from ..signal.quality import flag_names

    t = Table(box=None, pad_edge=False)
    for col in ("stream", "state", "Hz (effective)", "jitter ms", "ch (real/interp)", "samples", "lost", "gaps",
                "steps", "calib", "valence", "top class", "flags", "latency ms"):  # fmt: skip
        t.add_column(col)
    for st in pipe.status():
        step = last.get(st.name)
        top = ""
        if step is not None and step.probabilities is not None:
            k = int(step.probabilities.argmax())
            top = f"{pipe.class_names[k]} {step.probabilities[k]:.2f}"
        state = "[green]live[/green]" if st.connected else _state(st, "[red]lost, waiting[/red]")
        t.add_row(
            st.name, state, _rate_text(st), "" if st.timing is None else f"{st.timing.jitter_ms:.1f}",
            f"{st.n_real}/{len(st.interpolated)}",
            str(st.samples), str(st.lost_samples), str(st.gaps), str(st.steps),
            f"{st.calibration_progress:.0%}",
            "" if step is None else f"{step.valence:+.3f}", top,
            "" if step is None else ",".join(flag_names(step.flags)),
            "" if step is None else f"{step.latency_ms:.1f}",
        )  # fmt: skip
    return t


def status_lines(pipe: Any, last: dict) -> list[str]:
    """The status table as plain lines, one per stream (for logs and pipes)."""
    from ..signal.quality import flag_names

    lines = []
    for st in pipe.status():
        step = last.get(st.name)
        parts = [
            f"{st.name}: {_state(st, 'lost, waiting')}", f"{st.sfreq or 0:g} Hz",
            *([] if st.timing is None else [f"effective {st.timing.effective_rate:.2f} Hz",
                                            f"jitter {st.timing.jitter_ms:.1f} ms"]),
            f"channels {st.n_real} measured/{len(st.interpolated)} interpolated",
            f"{st.samples} samples", f"{st.lost_samples} lost", f"{st.gaps} gaps", f"{st.steps} steps",
            f"calibration {st.calibration_progress:.0%}",
        ]  # fmt: skip
        if step is not None:
            parts.append(f"valence {step.valence:+.3f}")
            if step.probabilities is not None:
                k = int(step.probabilities.argmax())
                parts.append(f"top {pipe.class_names[k]} {step.probabilities[k]:.2f}")
            parts.append(f"flags {','.join(flag_names(step.flags)) or 'none'}")
            parts.append(f"latency {step.latency_ms:.1f} ms")
        lines.append(", ".join(parts))
    return lines


class StatusDisplay:
    """The status of a running session, shown the way its console calls for.

    Parameters
    ----------
    pipe : Pipeline
        The running pipeline (its ``status()`` and ``class_names``).
    console : rich.console.Console
        Where the live table goes; when it is not a terminal, plain lines go to stderr.
    quiet : bool
        Show nothing.
    """

    def __init__(self, pipe: Any, console: Any, quiet: bool) -> None:
        from rich.live import Live

        self._pipe = pipe
        self._last: dict = {}
        self._shown = time.monotonic()  # plain lines every 5 s and once at the end, never twice in a row
        self._plain = not quiet and not console.is_terminal  # a log or a pipe: plain lines, not a table
        self._live = (
            None if quiet or self._plain
            else Live(status_table(pipe, self._last), console=console, refresh_per_second=4)
        )  # fmt: skip

    def start(self) -> None:
        """Start drawing the live table (nothing to do for plain lines)."""
        if self._live is not None:
            self._live.start()

    def add_steps(self, steps: list) -> None:
        """Keep each stream's latest step (its valence, class and flags are shown)."""
        for s in steps:
            self._last[s.stream] = s

    def refresh(self, now: float) -> None:
        """Redraw the table, or print the plain lines, when their interval has passed."""
        if self._live is not None and now - self._shown > _TABLE_EVERY_S:
            self._live.update(status_table(self._pipe, self._last))
            self._shown = now
        elif self._plain and now - self._shown > _LINES_EVERY_S:
            self._print_lines()
            self._shown = now

    def stop(self) -> None:
        """Show the final status: the table's last drawing, or the plain lines once more."""
        if self._live is not None:
            self._live.update(status_table(self._pipe, self._last))
            self._live.stop()
        elif self._plain:
            self._print_lines()

    def _print_lines(self) -> None:
        for line in status_lines(self._pipe, self._last):
            print(line, file=sys.stderr, flush=True)
