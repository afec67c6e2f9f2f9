"""``run``/``replay`` pipeline options: their defaults are the settings dataclasses' own,
read where they are written, and only when the subcommand needs them."""

from __future__ import annotations

import argparse
import subprocess
import sys

import pytest

from bci_valence.cli import build_parser
from bci_valence.commands.run import settings_from_args
from bci_valence.online.settings import PipelineSettings


def _subparser(name: str) -> argparse.ArgumentParser:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return sub.choices[name]


@pytest.mark.parametrize("argv", [["run", "--source", "sim:"], ["replay", "session.xdf"]], ids=["run", "replay"])
def test_options_left_out_give_the_settings_defaults(argv):
    args = build_parser().parse_args(argv)
    defaults = PipelineSettings()
    assert args.hop == defaults.hop_s
    assert args.notch == float(defaults.filter.notch_hz or 0.0)
    assert args.min_channels == defaults.stream.min_channels
    assert args.units == defaults.stream.units
    assert args.calibration_s == defaults.calibration.seconds
    assert args.device == defaults.compute.device
    assert settings_from_args(args) == defaults


def test_given_options_override_the_defaults():
    args = build_parser().parse_args(
        ["run", "--source", "sim:", "--hop", "0.5", "--notch", "0", "--min-channels", "4", "--units", "V",
         "--calibration-s", "10", "--device", "cpu"]
    )  # fmt: skip
    settings = settings_from_args(args)
    assert settings.hop_s == 0.5 and settings.filter.notch_hz is None
    assert settings.stream.min_channels == 4 and settings.stream.units == "V"
    assert settings.calibration.seconds == 10.0 and settings.compute.device == "cpu"


def test_help_shows_the_settings_defaults():
    """The help is formatted without parsing first, as a documentation generator does."""
    text = " ".join(_subparser("replay").format_help().split())
    defaults = PipelineSettings()
    assert f"seconds between steps, 0.02 to 10 (default {defaults.hop_s:g})" in text
    assert f"fewest placed channels (default {defaults.stream.min_channels})" in text
    assert f"mains notch in Hz, 0 for none (default {defaults.filter.notch_hz or 0:g})" in text
    assert f"calibration period in seconds (default {defaults.calibration.seconds:g};" in text
    assert f"torch device: auto, cpu, cuda (default {defaults.compute.device})" in text
    assert "{default" not in text


def test_building_the_parser_does_not_import_the_settings():
    """Another subcommand's parse, or ``--help``, does not pay for the pipeline's imports."""
    code = (
        "import argparse, sys\n"
        "from bci_valence.commands import replay, run\n"
        "sub = argparse.ArgumentParser().add_subparsers()\n"
        "run.add_parser(sub)\n"
        "replay.add_parser(sub)\n"
        "assert 'bci_valence.online.settings' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
