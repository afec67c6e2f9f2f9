"""``bci-valence streams``: list the LSL streams on the network."""

from __future__ import annotations

import argparse
import sys

from ..checks import arg_number


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register the ``streams`` subcommand."""
    parser = subparsers.add_parser(
        "streams",
        help="list the LSL streams on the network",
        description=(
            "List the LSL streams visible from this machine (name, type, channels, rate, "
            "source_id, host), to pick one with --source lsl:name=... / type=... / "
            "source_id=...; simulated streams are marked SIMULATED."
        ),
    )
    parser.add_argument(
        "--timeout", type=arg_number(0, low_inclusive=False), default=2.0,
        help="seconds to wait for streams (default 2)",
    )
    parser.add_argument(
        "--details",
        action="store_true",
        help="open each stream to read its channel labels and description, and measure its "
        "timing for --measure seconds: effective rate, jitter, gaps",
    )
    parser.add_argument(
        "--measure", type=arg_number(0, low_inclusive=False), default=3.0, metavar="S",
        help="with --details: seconds of samples to measure each stream's timing over (default 3)",
    )
    parser.set_defaults(func=run)
    return parser


def _details(sinfo) -> tuple[str, bool]:
    """(first channel labels, simulated) of a stream, opening it briefly."""
    from mne_lsl.lsl import StreamInlet

    from ..streams.lsl_source import is_simulated

    inlet = StreamInlet(sinfo)
    try:
        inlet.open_stream(timeout=2.0)
        full = inlet.get_sinfo(timeout=2.0)
        names = [n for n in (full.get_channel_names() or []) if n]
        labels = ", ".join(names[:6]) + (" ..." if len(names) > 6 else "")
        return labels or "(no labels)", is_simulated(full)
    except Exception as err:  # noqa: BLE001
        return f"(unreadable: {err})", False
    finally:
        try:
            inlet.close_stream()
        except Exception:  # noqa: BLE001
            pass


def measure_timing(streams: list, seconds: float) -> dict[str, str]:
    """Each regular stream's timing, measured on its samples for ``seconds`` (all at once).

    Returns
    -------
    dict
        ``{uid: text}``: effective rate, jitter and gaps (:meth:`ClockHealth.describe`),
        or why nothing could be measured.
    """
    import time

    from mne_lsl.lsl import StreamInlet

    from ..signal.timing import StreamClock

    open_: dict[str, tuple] = {}
    out: dict[str, str] = {}
    for s in streams:
        if s.sfreq <= 0:
            out[s.uid] = "irregular (no rate to measure)"
            continue
        try:
            inlet = StreamInlet(s, processing_flags=("clocksync",))
            inlet.open_stream(timeout=2.0)
        except Exception as err:  # noqa: BLE001
            out[s.uid] = f"(unreadable: {err})"
            continue
        open_[s.uid] = (inlet, StreamClock(s.sfreq))
    deadline = time.monotonic() + seconds
    try:
        while open_ and time.monotonic() < deadline:
            for inlet, clock in open_.values():
                _, ts = inlet.pull_chunk(timeout=0.0)
                if len(ts):
                    clock.push(ts)
            time.sleep(0.01)
    finally:
        for uid, (inlet, clock) in open_.items():
            clock.flush()
            out[uid] = clock.health().describe() if clock.received > 1 else f"no samples in {seconds:g} s"
            try:
                inlet.close_stream()
            except Exception:  # noqa: BLE001
                pass
    return out


def run(args: argparse.Namespace) -> int:
    """Resolve and print the streams; returns the exit code (0 even when none)."""
    from mne_lsl.lsl import resolve_streams
    from rich.console import Console
    from rich.table import Table

    console = Console(width=None if sys.stdout.isatty() else 160)
    streams = sorted(resolve_streams(timeout=args.timeout), key=lambda s: (s.name, s.source_id))
    if not streams:
        console.print(f"no LSL streams found within {args.timeout:g} s")
        return 0
    table = Table(title=f"LSL streams ({len(streams)})")
    for col in ("name", "type", "channels", "rate (Hz)", "format", "source_id", "host"):
        table.add_column(col)
    if args.details:
        table.add_column("labels")
        table.add_column(f"timing over {args.measure:g} s")
        console.print(f"measuring each stream's timing for {args.measure:g} s ...")
        timing = measure_timing(streams, args.measure)
    for s in streams:
        dtype = getattr(s.dtype, "__name__", str(s.dtype))
        name = s.name
        row = [
            name,
            s.stype,
            str(s.n_channels),
            "irregular" if s.sfreq == 0 else f"{s.sfreq:g}",
            dtype,
            s.source_id,
            s.hostname,
        ]
        if args.details:
            labels, simulated = _details(s)
            if simulated:
                row[0] = f"{name} [bold yellow](SIMULATED)[/bold yellow]"
            row.extend([labels, timing.get(s.uid, "")])
        elif s.source_id.startswith("bci-valence-sim"):
            row[0] = f"{name} [bold yellow](SIMULATED)[/bold yellow]"
        table.add_row(*row)
    console.print(table)
    console.print("use e.g. --source lsl:name=NAME, lsl:type=EEG or lsl:source_id=ID")
    return 0
