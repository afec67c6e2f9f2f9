"""``bci-valence run --source SPEC``: live valence from one or more EEG streams.

Every step goes to the ``bci_valence`` LSL outlet (source clock), optionally to a CSV
log (``--out``), and ``--record FILE.xdf`` records the raw stream(s), their markers and
the outlet together with LabRecorder (:class:`~bci_valence.online.session.SessionOutputs`,
the same wiring as the app's). Existing files are refused unless ``--overwrite``, before
any source is opened. A lost stream is reported and waited for (``--timeout`` ends the
run instead); a stream that comes back at another rate or channel count ends it.
Ctrl-C, SIGTERM and SIGHUP stop cleanly: the recording gets its footers. The session
loop here is shared with ``bci-valence replay``.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..constants import HOP_RANGE_S, NOTCH_CHOICES
from . import fail


def add_pipeline_options(parser: argparse.ArgumentParser) -> None:
    """Options shared by ``run`` and ``replay``."""
    g = parser.add_argument_group("pipeline")
    g.add_argument("--bundle", default=None, help="model bundle folder (default: the shipped one)")
    g.add_argument("--out", default=None, metavar="CSV", help="write every step to this CSV log")
    g.add_argument(
        "--channels",
        default=None,
        help="relabel the stream(s) without their own channels= spec option: 'Fp1,Fp2,...' "
        "or an MNE montage name (e.g. biosemi16); trigger channels such as Status keep theirs",
    )
    g.add_argument("--allow-bad", action="store_true",
                   help="run on input that gives no usable window (a rate too low for the bands, "
                        "every window flagged, calibration never completed, a truncated file) "
                        "and exit 0, its rows flagged; without it such a run exits with 3")  # fmt: skip
    g.add_argument("--min-channels", type=int, default=8, help="fewest placed channels (default 8)")
    g.add_argument("--notch", type=float, default=50.0, choices=NOTCH_CHOICES,
                   help="mains notch in Hz, 0 for none (default 50)")  # fmt: skip
    g.add_argument("--hop", type=float, default=0.25,
                   help=f"seconds between steps, {HOP_RANGE_S[0]:g} to {HOP_RANGE_S[1]:g} (default 0.25)")
    g.add_argument("--calibration-s", type=float, default=60.0,
                   help="calibration period in seconds (default 60; 0 adapts forever)")  # fmt: skip
    g.add_argument("--calibration", default=None, metavar="JSON",
                   help="saved calibration: loaded when it exists, else written when complete")  # fmt: skip
    g.add_argument("--device", default="auto", help="torch device: auto, cpu, cuda (default auto)")
    g.add_argument("--units", default="auto", choices=("auto", "uV", "V"),
                   help="units of the stream when it does not say (default auto)")  # fmt: skip
    g.add_argument("--no-outlet", action="store_true", help="do not publish the LSL outlet")
    g.add_argument("--overwrite", action="store_true",
                   help="replace existing --out/--record/--segments-out/--group-out files "
                        "(default: refuse them)")  # fmt: skip
    g.add_argument("--quiet", action="store_true",
                   help="no live status table (plain status lines every 5 s when not on a terminal)")  # fmt: skip
    s = parser.add_argument_group("segments and group valence")
    s.add_argument("--segments", default=None, metavar="CSV",
                   help="segment schedule (label,onset_s,duration_s; seconds from the first sample); "
                        "default: segments from the stream's markers")  # fmt: skip
    s.add_argument("--segments-out", default=None, metavar="CSV",
                   help="write one row per segment (mean valence, 95%% interval) at the end, "
                        "with a .json beside it")  # fmt: skip
    s.add_argument("--baseline", default=None, metavar="LABEL",
                   help="label of the baseline segment: --segments-out gets each segment's difference from it")
    s.add_argument("--group-out", default=None, metavar="CSV",
                   help="write the group valence over all sources (mean, 95%% interval across people, "
                        "n_streams) as it goes; the 'bci_valence_group' outlet is published "
                        "with 2+ sources")  # fmt: skip


def session_settings_from_args(args: argparse.Namespace):
    """:class:`~bci_valence.online.session.SessionSettings` from the parsed options.

    Raises
    ------
    ValueError
        A bad file name or timeout (the message names it).
    """
    from ..online.session import SessionSettings

    return SessionSettings(
        out=args.out,
        record=getattr(args, "record", None),
        outlet=not args.no_outlet,
        overwrite=bool(getattr(args, "overwrite", False)),
        lost_timeout=getattr(args, "timeout", None),
    )


def segment_settings_from_args(args: argparse.Namespace, outputs: Any = None):
    """:class:`~bci_valence.online.segment_outputs.SegmentOutputSettings` from the parsed options,
    checked: the schedule is read and existing outputs are refused (before any source opens).

    Raises
    ------
    ValueError, FileExistsError
        A bad schedule, option or file name, or an existing file (the message names it).
    """
    from ..online.segment_outputs import SegmentOutputSettings

    settings = SegmentOutputSettings(
        schedule=getattr(args, "segments", None), segments_out=getattr(args, "segments_out", None),
        baseline=getattr(args, "baseline", None), group_out=getattr(args, "group_out", None),
        outlet=not args.no_outlet, overwrite=bool(getattr(args, "overwrite", False)),
    )  # fmt: skip
    settings.check_outputs(() if outputs is None else (outputs.out, outputs.record))
    return settings


def check_outputs(outputs) -> str | None:
    """Why the output files cannot be written (checked before any source opens), or None."""
    from ..online.session import SessionError

    try:
        outputs.check_outputs()
    except (FileExistsError, SessionError) as err:
        return str(err)
    return None


def settings_from_args(args: argparse.Namespace):
    """:class:`~bci_valence.pipeline.PipelineSettings` from the parsed options."""
    from ..online.settings import (
        CalibrationSettings,
        ComputeSettings,
        PipelineSettings,
        StreamSettings,
    )
    from ..signal.preprocessing import FilterSettings

    return PipelineSettings(
        hop_s=args.hop,
        filter=FilterSettings(notch_hz=args.notch or None),
        stream=StreamSettings(channels=args.channels, min_channels=args.min_channels, units=args.units),
        calibration=CalibrationSettings(seconds=args.calibration_s, path=args.calibration),
        compute=ComputeSettings(device=args.device),
    )


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register the ``run`` subcommand."""
    parser = subparsers.add_parser(
        "run",
        help="live valence and emotion probabilities from EEG streams",
        description=(
            "Decode valence and 9-class emotion probabilities from one or more EEG "
            "streams in real time. Outputs: the 'bci_valence' LSL outlet, --out CSV, "
            "--record XDF (raw + outlet via LabRecorder). Source specs: lsl:name=X, "
            "lsl:type=EEG, brainflow:synthetic, xdf:FILE?speed=1, file:FILE, sim:."
        ),
    )
    parser.add_argument("--source", action="append", required=True, metavar="SPEC",
                        help="source spec (repeat for several streams)")  # fmt: skip
    parser.add_argument("--duration", type=float, default=None, metavar="S",
                        help="stop after S seconds (default: until Ctrl-C)")  # fmt: skip
    parser.add_argument("--record", default=None, metavar="XDF",
                        help="record the raw stream(s), their markers and the outlet to this XDF file")  # fmt: skip
    parser.add_argument("--timeout", type=float, default=None, metavar="S",
                        help="seconds to wait for each stream at start (default: the spec's timeout "
                             "option, else 10) and, once running, for a lost stream to come back before "
                             "the run ends with exit 1 (default: wait for it)")  # fmt: skip
    add_pipeline_options(parser)
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Open the sources and run the session; returns the exit code."""
    from ..io.recordings import RecordingError
    from ..streams.factory import open_source
    from ..streams.spec import SourceSpecError

    try:
        settings = settings_from_args(args)
        outputs = session_settings_from_args(args)
    except ValueError as err:
        return fail(str(err))
    problem = check_outputs(outputs)
    if problem:
        return fail(problem)
    try:
        segments = segment_settings_from_args(args, outputs)
    except (ValueError, FileExistsError) as err:
        return fail(str(err))
    sources = []
    try:
        for spec in args.source:
            sources.append(open_source(spec, timeout=args.timeout))
    except (SourceSpecError, RecordingError, ValueError, OSError) as err:
        return fail(str(err))
    return run_session(
        sources, settings, bundle=args.bundle, duration=args.duration, outputs=outputs,
        quiet=args.quiet, allow_bad=getattr(args, "allow_bad", False), segments=segments,
    )  # fmt: skip


def _status_table(pipe: Any, last: dict) -> Any:
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
        state = "[green]live[/green]" if st.connected else ("finished" if st.message == "finished" else "[red]lost, waiting[/red]")
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


def _short_run_note(pipe: Any, duration: float | None) -> str | None:
    """Said at the start when ``--duration`` cannot complete the calibration."""
    cal = float(pipe.settings.calibration.seconds)
    if duration is None or cal <= 0:
        return None
    for name in pipe.stream_names:
        counts = pipe.window_counts(name)
        first = counts.window_s or 0.0
        if not counts.calibrated and duration < cal + first:
            return (
                f"--duration {duration:g} s is shorter than the {cal:g} s calibration plus the {first:.1f} s "
                "before the first window: every row will carry CALIBRATING (shorten it with --calibration-s, "
                "or load a saved one with --calibration)"
            )
    return None


def _rate_text(st: Any) -> str:
    """The declared rate, and the effective one measured on this machine's clock."""
    if st.timing is None:
        return f"{st.sfreq or 0:g}"
    return f"{st.sfreq or 0:g} ({st.timing.effective_rate:.2f})"


def _status_lines(pipe: Any, last: dict) -> list[str]:
    """The status table as plain lines, one per stream (for logs and pipes)."""
    from ..signal.quality import flag_names

    lines = []
    for st in pipe.status():
        step = last.get(st.name)
        state = "live" if st.connected else ("finished" if st.message == "finished" else "lost, waiting")
        parts = [
            f"{st.name}: {state}", f"{st.sfreq or 0:g} Hz",
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


def run_session(
    sources: list,
    settings: Any,
    *,
    bundle: Any = None,
    duration: float | None = None,
    outputs: Any = None,
    quiet: bool = False,
    realtime: bool = True,
    names: list[str] | None = None,
    allow_bad: bool = False,
    segments: Any = None,
) -> int:
    """Run a pipeline over ``sources`` until ``duration``, all sources finish, or Ctrl-C.

    Parameters
    ----------
    outputs : SessionSettings | None
        Outlet, CSV log and recording (default: the outlet only).
    realtime : bool
        Sleep between polls when there is nothing to do (False for ``--speed max``).
    names : list of str | None
        Stream names (default: the sources' own).
    allow_bad : bool
        Run a stream whose rate cannot carry the bands (else refused at start), and
        end with 0 when no window was usable (else 3).
    segments : SegmentOutputSettings | None
        Segments CSV, group CSV and group outlet (default: the group outlet with 2+ streams).

    Returns
    -------
    int
        Exit code: 0 done, 1 a stream could not go on (lost beyond ``--timeout``,
        back at another rate or channel count) or the recording was not closed
        cleanly, 2 refused to start (channels, bundle, recorder, existing files, a
        rate too low for the bands), 3 no usable window from a stream (see
        :meth:`~bci_valence.online.usability.WindowCounts.problem`), 130 Ctrl-C
        (SIGINT), 143 SIGTERM, 129 SIGHUP.
    """
    from rich.console import Console

    from ..online.session import SessionSettings, Terminated, stop_on_signals

    console = Console(stderr=True, soft_wrap=True)  # no lines cut at 80 columns when piped
    outputs = outputs if outputs is not None else SessionSettings()
    problem = check_outputs(outputs)
    if problem:
        return fail(problem)
    with stop_on_signals():
        try:
            return _run_session(
                sources, settings, bundle, duration, outputs, quiet, realtime, names, allow_bad, console,
                segments=segments,
            )
        except Terminated as err:  # before the loop (while starting or closing)
            print(f"stopped ({err})", file=sys.stderr)
            return 128 + err.signum
        except KeyboardInterrupt:
            print("stopped (Ctrl-C)", file=sys.stderr)
            return 130


def _run_session(sources, settings, bundle, duration, outputs, quiet, realtime, names, allow_bad, console,
                 segments=None) -> int:
    import time

    from rich.live import Live

    from ..model.bundle import BundleError
    from ..online.pipeline import Pipeline
    from ..online.segment_outputs import SegmentOutputs, SegmentOutputSettings
    from ..online.session import SessionError, SessionOutputs, Terminated, shielded
    from ..online.tuning import tune_process
    from ..signal.montage import ChannelMappingError
    from ..signal.quality import QualityFlag
    from ..streams.spec import SourceError

    try:
        tune_process(settings)
        pipe = Pipeline(sources, bundle, settings, names=names)
    except (BundleError, ValueError, OSError) as err:
        return fail(str(err))
    session = SessionOutputs(pipe, outputs)
    segment_outputs = SegmentOutputs(pipe, segments or SegmentOutputSettings(outlet=outputs.outlet),
                                     source_id_prefix=outputs.source_id_prefix)  # fmt: skip
    ran = False
    code = 0
    try:
        try:
            pipe.start()
        except ChannelMappingError as err:
            return fail(f"stream refused: {err}")
        except Exception as err:  # SourceError, board errors: name the source
            known = isinstance(err, (SourceError, OSError, ValueError))
            return fail(str(err) if known else f"{type(err).__name__}: {err}")
        names = list(pipe.stream_names)
        for name in names:
            rate = pipe.window_counts(name).rate_problem
            if rate and not allow_bad:
                return fail(f"stream {name!r} refused: {rate}; --allow-bad runs it anyway")
        for st in pipe.status():
            console.print(
                f"[bold]{st.name}[/bold]: {st.sfreq:g} Hz, {st.n_channels} ch; "
                f"{pipe.mapping(st.name).describe()}"
                + (" [yellow]SIMULATED[/yellow]" if st.simulated else "")
            )
        console.print(f"device: {pipe.device}; hop {settings.hop_s} s; calibration {settings.calibration.seconds:g} s")
        short = _short_run_note(pipe, duration)
        if short:
            console.print(f"[yellow]note[/yellow]: {short}")
        try:
            segment_outputs.open()
            if segment_outputs.outlet is not None:  # a recording keeps the group trace too
                session.also_record(segment_outputs.outlet.source_id, "the group trace as 'bci_valence_group'")
            session.open()
        except (FileExistsError, SessionError, OSError) as err:
            return fail(str(err))
        ran = True
        if outputs.record is not None:
            console.print(f"recording to {outputs.record}")
        last: dict = {}
        t_start = time.monotonic()
        t_table = t_start  # plain lines every 5 s and once at the end, never twice in a row
        lost_reported: set[str] = set()
        plain = not quiet and not console.is_terminal  # a log or a pipe: plain lines, not a table
        live = None if quiet or plain else Live(_status_table(pipe, last), console=console, refresh_per_second=4)
        if live is not None:
            live.start()
        try:
            while True:
                steps = pipe.poll()
                if steps:
                    session.write(steps)
                    segment_outputs.write(steps)
                    for s in steps:
                        last[s.stream] = s
                        if s.flags & QualityFlag.STALE and s.stream not in lost_reported:
                            console.print(f"[red]stream {s.stream!r} lost[/red]: waiting for it to come back")
                            lost_reported.add(s.stream)
                for st in pipe.status():
                    if st.name in lost_reported and st.connected:
                        console.print(f"[green]stream {st.name!r} is back[/green]")
                        lost_reported.discard(st.name)
                now = time.monotonic()
                failure = session.check(now)
                if failure:
                    print(f"error: {failure}", file=sys.stderr)
                    code = 1
                    break
                if live is not None and now - t_table > 0.25:
                    live.update(_status_table(pipe, last))
                    t_table = now
                elif plain and now - t_table > 5.0:
                    for line in _status_lines(pipe, last):
                        print(line, file=sys.stderr, flush=True)
                    t_table = now
                if duration is not None and now - t_start >= duration:
                    break
                if pipe.finished:
                    break
                if realtime and not steps:
                    time.sleep(0.005)
        except Terminated as err:
            console.print(f"stopped ({err})")
            code = 128 + err.signum
        except KeyboardInterrupt:
            console.print("stopped (Ctrl-C)")
            code = 130
        finally:
            if live is not None:
                live.update(_status_table(pipe, last))
                live.stop()
            elif plain:
                for line in _status_lines(pipe, last):
                    print(line, file=sys.stderr, flush=True)
        total = sum(st.steps for st in pipe.status())
        console.print(f"{total} steps" + (f" written to {outputs.out}" if outputs.out else ""))
        if code == 0:
            for name in names:
                counts = pipe.window_counts(name)
                note = counts.note()
                if note is not None:
                    console.print(f"[yellow]warning[/yellow]: {note}")
                problem = counts.problem()
                if problem is None:
                    continue
                if allow_bad:
                    console.print(f"[yellow]warning[/yellow]: {problem} (--allow-bad: its rows are flagged)")
                else:
                    print(f"error: {problem}; --allow-bad accepts such a run", file=sys.stderr)
                    code = 3
    finally:
        with shielded():  # a second Ctrl-C must not cut the recording's footers
            recorded = session.recording
            clean = session.close()
            pipe.stop()
            try:
                for line in segment_outputs.close(write=ran):
                    console.print(line)
            except (FileExistsError, OSError) as err:
                print(f"error: {err}", file=sys.stderr)
                code = code or 1
        if clean:
            console.print(f"recorded {recorded}")
        elif clean is False:
            why = "; ".join(session.recording_problems) or "it was not closed cleanly"
            print(
                f"error: the recording {recorded} is not what was recorded: {why}; "
                f"replay reads what it holds with: replay {recorded} --allow-bad",
                file=sys.stderr,
            )
            code = code or 1
    return code
