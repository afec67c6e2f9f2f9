"""``bci-valence features RECORDING -o OUT.npz``: DE features of a recording.

The DE is computed from the signal in microvolts, as FACED's released features are
(about 2.4 on average there; the same signal in volts would give about -10), and the
file says so: ``unit`` is ``"uV"`` and ``de_unit`` names the logarithm's argument.
"""

from __future__ import annotations

import argparse
import logging

from ..checks import check_range
from ..constants import FACED_SFREQ
from ..signal.features import DEFAULT_FEATURE, feature_names
from . import fail

logger = logging.getLogger(__name__)


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register the ``features`` subcommand."""
    parser = subparsers.add_parser(
        "features",
        help="DE features of a recording (EEGLAB, EDF, BDF, FIF, XDF) on the 32-channel montage",
        description=(
            "Read a recording (anything MNE reads, or XDF), map its channels onto the FACED "
            "32-channel montage (interpolating missing ones), resample, re-reference to the "
            "common average and write the differential entropy of every 1-s window, from "
            "the signal in microvolts like FACED's features (the file's 'unit' says so)."
        ),
    )
    parser.add_argument("recording", help="recording file (.set, .edf, .bdf, .fif, .xdf, ...)")
    parser.add_argument("-o", "--out", required=True, help="output .npz file")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    parser.add_argument(
        "--units", choices=("auto", "uV", "V"), default="auto",
        help="units of the recording when it does not say (default auto: volts when the file "
             "says so, else microvolts)",
    )  # fmt: skip
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--hop", type=float, default=1.0, help="seconds between windows (default 1)")
    parser.add_argument("--sfreq", type=float, default=FACED_SFREQ, help=f"feature rate in Hz (default {FACED_SFREQ:g})")
    parser.add_argument(
        "--method", choices=feature_names(), default=DEFAULT_FEATURE,
        help=f"feature method (registered under the bci_valence.features entry points; default "
             f"{DEFAULT_FEATURE}: band-pass then variance, as the FACED release)",
    )  # fmt: skip
    parser.add_argument(
        "--channels",
        help="relabel the channels: Fp1,Fp2,... or an MNE standard montage name (biosemi16)",
    )
    parser.add_argument("--min-channels", type=int, default=8, help="fewest measured channels")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda")
    parser.add_argument(
        "--workers", type=int, default=1,
        help="CPU threads filtering blocks of windows side by side (default 1; same values)",
    )  # fmt: skip
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Compute and write the features; returns the exit code."""
    from pathlib import Path

    import numpy as np
    from scipy.signal import resample_poly

    from ..io.recordings import RecordingError, read_recording
    from ..signal.de import de_sequence
    from ..signal.filter_design import FeatureSettings
    from ..signal.montage import (
        ChannelMappingError,
        map_channels,
        resolve_channel_labels,
    )

    try:
        check_range(args.workers, "--workers", 1, integer=True)
        check_range(args.hop, "--hop", 0, low_inclusive=False, unit="s")
        check_range(args.sfreq, "--sfreq", 0, low_inclusive=False, unit="Hz")
        check_range(args.min_channels, "--min-channels", 1, integer=True)
    except ValueError as err:
        return fail(str(err), code=1)
    out = Path(args.out)
    if out.suffix.lower() != ".npz":
        return fail(f"-o expects a .npz file name, got {str(out)!r}", code=1)
    if out.exists() and not args.overwrite:
        return fail(f"{str(out)!r} already exists: choose another name, or pass --overwrite to replace it", code=1)
    try:
        recording = read_recording(args.recording)
        names = list(recording.ch_names)
        if args.channels:
            names = resolve_channel_labels(args.channels, len(names))
        mapping = map_channels(names, min_channels=args.min_channels)
    except (RecordingError, ChannelMappingError, FileNotFoundError, ValueError) as err:
        return fail(str(err), code=1)
    print(f"{args.recording}: {mapping.describe()}")
    in_volts = args.units == "V" or (args.units == "auto" and recording.unit == "V")
    print(f"units: {'volts' if in_volts else 'microvolts'}"
          + (" (assumed: the file does not say; --units sets them)" if args.units == "auto" and recording.unit != "V"
             else ""))  # fmt: skip

    data = mapping.apply(np.asarray(recording.data, dtype=np.float64))
    if in_volts:
        data = data * 1e6  # DE from microvolts, as FACED's
    if not np.isfinite(data).all():
        return fail(f"{args.recording} contains NaN or infinite samples", code=1)
    up, down = _rational(args.sfreq, recording.sfreq)
    if (up, down) != (1, 1):
        data = resample_poly(data, up, down, axis=-1)
    data = data - data.mean(axis=0, keepdims=True)  # common average reference

    settings = FeatureSettings(sfreq=args.sfreq, method=args.method, device=args.device)
    de, start = de_sequence(data, settings, hop_s=args.hop, workers=args.workers, progress=not args.no_progress)
    if not len(de):
        return fail(f"{args.recording} is shorter than one window with its filter context", code=1)
    t0 = float(recording.timestamps[0]) if recording.timestamps is not None else 0.0
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez(
        out,
        de=de,
        unit="uV",
        de_unit="0.5*ln(2*pi*e*variance), variance in uV^2",
        times=t0 + start / args.sfreq,
        ch_names=np.asarray(mapping.target_names),
        band_names=np.asarray(list(settings.bands)),
        band_edges=np.asarray(list(settings.bands.values())),
        interpolated=np.asarray(mapping.interpolated, dtype=str),
        sfreq=args.sfreq,
        window_s=settings.window_s,
        method=settings.method,
        source=str(args.recording),
    )
    print(f"wrote {out}: de {de.shape} (windows, channels, bands)")
    return 0


def _rational(target: float, source: float) -> tuple[int, int]:
    """Up/down factors turning ``source`` Hz into ``target`` Hz."""
    from fractions import Fraction

    ratio = Fraction(target / source).limit_denominator(1000)
    return ratio.numerator, ratio.denominator
