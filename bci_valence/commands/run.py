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
import time
from collections.abc import Callable
from typing import Any

from ..constants import HOP_RANGE_S, NOTCH_CHOICES
from . import fail


class _PipelineDefault(argparse.Action):
    """``store``, defaulting to a :class:`~bci_valence.online.settings.PipelineSettings` field.

    Each default is written once, in the settings dataclasses: ``setting`` reads it
    from ``PipelineSettings()``, and ``{default}`` in the help shows it. It is read only
    when this subcommand is parsed or its help shown, so building the parser for
    another subcommand does not import the settings (nor scipy with them).
    """

    def __init__(
        self, option_strings: list[str], dest: str, *, setting: Callable[[Any], Any], **kwargs: Any
    ) -> None:
        self._setting = setting
        super().__init__(option_strings, dest, **kwargs)

    @property
    def default(self) -> Any:
        """The option's value when it is not given: the settings' own default."""
        if "default" not in self.__dict__:
            from ..online.settings import PipelineSettings

            self.__dict__["default"] = self._setting(PipelineSettings())
        return self.__dict__["default"]

    @default.setter
    def default(self, value: Any) -> None:
        if value is not None:  # None (argparse's, at construction) stands for the settings' default
            self.__dict__["default"] = value

    @property
    def help(self) -> str:
        """The help text with ``{default}`` filled in."""
        return self._help.format(default=self.default)

    @help.setter
    def help(self, value: str) -> None:
        self._help = value

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:  # fmt: skip
        setattr(namespace, self.dest, values)


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
    g.add_argument("--min-channels", type=int, action=_PipelineDefault, setting=lambda p: p.stream.min_channels,
                   help="fewest placed channels (default {default})")  # fmt: skip
    g.add_argument("--notch", type=float, choices=NOTCH_CHOICES, action=_PipelineDefault,
                   setting=lambda p: float(p.filter.notch_hz or 0.0),
                   help="mains notch in Hz, 0 for none (default {default:g})")  # fmt: skip
    g.add_argument("--hop", type=float, action=_PipelineDefault, setting=lambda p: p.hop_s,
                   help=f"seconds between steps, {HOP_RANGE_S[0]:g} to {HOP_RANGE_S[1]:g} (default {{default:g}})")
    g.add_argument("--calibration-s", type=float, action=_PipelineDefault, setting=lambda p: p.calibration.seconds,
                   help="calibration period in seconds (default {default:g}; 0 adapts forever)")  # fmt: skip
    g.add_argument("--calibration", default=None, metavar="JSON",
                   help="saved calibration: loaded when it exists, else written when complete")  # fmt: skip
    g.add_argument("--device", action=_PipelineDefault, setting=lambda p: p.compute.device,
                   help="torch device: auto, cpu, cuda (default {default})")  # fmt: skip
    g.add_argument("--units", choices=("auto", "uV", "V"), action=_PipelineDefault, setting=lambda p: p.stream.units,
                   help="units of the stream when it does not say (default {default})")  # fmt: skip
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
    from ..streams.kinds import describe_kinds  # the registered kinds, plugins included

    parser = subparsers.add_parser(
        "run",
        help="live valence and emotion probabilities from EEG streams",
        description=(
            "Decode valence and 9-class emotion probabilities from one or more EEG "
            "streams in real time. Outputs: the 'bci_valence' LSL outlet, --out CSV, "
            f"--record XDF (raw + outlet via LabRecorder). Source specs: {describe_kinds()}."
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


def _run_session(sources: list, settings: Any, bundle: Any, duration: float | None, outputs: Any, quiet: bool,
                 realtime: bool, names: list[str] | None, allow_bad: bool, console: Any,
                 segments: Any = None) -> int:  # fmt: skip
    """:func:`run_session` inside its signal handling: build the pipeline, start it, run it, close it."""
    from ..model.bundle import BundleError
    from ..online.pipeline import Pipeline
    from ..online.segment_outputs import SegmentOutputs, SegmentOutputSettings
    from ..online.session import SessionOutputs
    from ..online.tuning import tune_process

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
        refused = _start(pipe, settings, duration, allow_bad, console)
        if refused is None:
            refused = _open_outputs(session, segment_outputs)
        if refused is not None:
            return refused
        names = list(pipe.stream_names)
        ran = True
        if outputs.record is not None:
            console.print(f"recording to {outputs.record}")
        code = _poll_until_done(pipe, session, segment_outputs, console, quiet, realtime, duration)
        total = sum(st.steps for st in pipe.status())
        console.print(f"{total} steps" + (f" written to {outputs.out}" if outputs.out else ""))
        if code == 0:
            code = _usable_windows_code(pipe, names, allow_bad, console)
    finally:
        code = _close(pipe, session, segment_outputs, ran, code, console)
    return code


def _start(pipe: Any, settings: Any, duration: float | None, allow_bad: bool, console: Any) -> int | None:
    """Start the sources and say what each stream is; the exit code when a stream is
    refused (its labels, its source, a rate too low for the bands), else None."""
    from ..signal.montage import ChannelMappingError
    from ..streams.spec import SourceError

    try:
        pipe.start()
    except ChannelMappingError as err:
        return fail(f"stream refused: {err}")
    except Exception as err:  # SourceError, board errors: name the source
        known = isinstance(err, (SourceError, OSError, ValueError))
        return fail(str(err) if known else f"{type(err).__name__}: {err}")
    for name in pipe.stream_names:
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
    return None


def _open_outputs(session: Any, segment_outputs: Any) -> int | None:
    """Open the CSV logs, outlets and recording; the exit code when one cannot be, else None."""
    from ..online.session import SessionError

    try:
        segment_outputs.open()
        if segment_outputs.outlet is not None:  # a recording keeps the group trace too
            session.also_record(segment_outputs.outlet.source_id, "the group trace as 'bci_valence_group'")
        session.open()
    except (FileExistsError, SessionError, OSError) as err:
        return fail(str(err))
    return None


def _poll_until_done(pipe: Any, session: Any, segment_outputs: Any, console: Any, quiet: bool, realtime: bool,
                     duration: float | None) -> int:  # fmt: skip
    """Poll the pipeline and write its steps until ``duration``, the sources' end, a
    stream that cannot go on (1) or a signal (128 + its number; 130 Ctrl-C); the exit code."""
    from ..online.session import Terminated
    from ._status import StatusDisplay

    display = StatusDisplay(pipe, console, quiet)
    t_start = time.monotonic()
    lost_reported: set[str] = set()
    display.start()
    try:
        while True:
            steps = pipe.poll()
            if steps:
                session.write(steps)
                segment_outputs.write(steps)
                display.add_steps(steps)
            _report_lost_streams(pipe, steps, lost_reported, console)
            now = time.monotonic()
            failure = session.check(now)
            if failure:
                print(f"error: {failure}", file=sys.stderr)
                return 1
            display.refresh(now)
            if (duration is not None and now - t_start >= duration) or pipe.finished:
                return 0
            if realtime and not steps:
                time.sleep(0.005)
    except Terminated as err:
        console.print(f"stopped ({err})")
        return 128 + err.signum
    except KeyboardInterrupt:
        console.print("stopped (Ctrl-C)")
        return 130
    finally:
        display.stop()


def _report_lost_streams(pipe: Any, steps: list, lost_reported: set[str], console: Any) -> None:
    """Say once when a stream is lost (its STALE step) and once when it is back."""
    from ..signal.quality import QualityFlag

    for s in steps:
        if s.flags & QualityFlag.STALE and s.stream not in lost_reported:
            console.print(f"[red]stream {s.stream!r} lost[/red]: waiting for it to come back")
            lost_reported.add(s.stream)
    for st in pipe.status():
        if st.name in lost_reported and st.connected:
            console.print(f"[green]stream {st.name!r} is back[/green]")
            lost_reported.discard(st.name)


def _usable_windows_code(pipe: Any, names: list[str], allow_bad: bool, console: Any) -> int:
    """Warn about streams whose windows were (partly) unusable; 3 when one gave no
    usable window and ``allow_bad`` is off, else 0."""
    code = 0
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
    return code


def _close(pipe: Any, session: Any, segment_outputs: Any, ran: bool, code: int, console: Any) -> int:
    """Close the outputs and stop the sources, shielded from a second Ctrl-C; ``code``,
    or 1 when a summary could not be written or the recording is not what was recorded."""
    from ..online.session import shielded

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
