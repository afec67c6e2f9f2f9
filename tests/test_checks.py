"""The shared argument checks: what they accept, and one-line messages naming the argument."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pytest

from bci_valence.checks import arg_number, check_range, check_type, check_value, ensure_int


def test_check_type_accepts_classes_none_and_type_names():
    assert check_type(3, (int,), "n") == 3
    assert check_type(None, (int, None), "n") is None
    assert check_type(np.float32(1.5), ("numeric",), "x") == np.float32(1.5)
    assert check_type(Path("a"), ("path-like",), "p") == Path("a")
    assert check_type(np.int64(2), ("int-like",), "n") == 2
    assert check_type(print, ("callable",), "fn") is print


@pytest.mark.parametrize(("item", "types", "message"), [
    ([1], (int, None), "n must be int or None, got list"),
    (True, (int,), "n must be int, got bool"),  # a bool is not a count
    (True, ("numeric",), "n must be numeric, got bool"),
    (2.0, ("int-like",), "n must be int-like, got float"),
    (3, ("path-like",), "n must be path-like, got int"),
])  # fmt: skip
def test_check_type_message_names_argument_allowed_and_got(item, types, message):
    with pytest.raises(TypeError) as info:
        check_type(item, types, "n")
    assert str(info.value) == message


def test_check_type_refuses_an_unknown_type_name():
    with pytest.raises(ValueError, match="unknown type name 'number'"):
        check_type(1, ("number",), "n")


def test_ensure_int():
    assert ensure_int(np.int16(7), "n") == 7 and type(ensure_int(np.int16(7), "n")) is int
    for bad in (2.0, "2", True, None):
        with pytest.raises(TypeError, match=r"^n must be an integer, got "):
            ensure_int(bad, "n")


def test_check_value_lists_the_choices_and_the_value():
    assert check_value("fir", ("fir", "fft"), "method") == "fir"
    with pytest.raises(ValueError) as info:
        check_value("welch", ("fir", "fft"), "method")
    assert str(info.value) == "method must be one of 'fir', 'fft'; got 'welch'"
    with pytest.raises(ValueError, match=r"got \['fir'\]"):  # unhashable: refused, not a crash
        check_value(["fir"], {"fir"}, "method")
    with pytest.raises(ValueError, match=r"\(none registered\)"):
        check_value("fir", (), "method")


@pytest.mark.parametrize(("value", "kwargs", "message"), [
    (20, {"low": 0.02, "high": 10, "unit": "s"}, "hop_s must be in [0.02, 10] s, got 20"),
    (0, {"low": 0, "low_inclusive": False}, "hop_s must be > 0, got 0"),
    (0, {"low": 1}, "hop_s must be >= 1, got 0"),
    (11, {"high": 10, "high_inclusive": False, "unit": "Hz"}, "hop_s must be < 10 Hz, got 11"),
    (1.0, {"low": 0, "high": 1, "high_inclusive": False}, "hop_s must be in [0, 1), got 1.0"),
    (float("nan"), {}, "hop_s must be a finite number, got nan"),
    (float("inf"), {"low": 0}, "hop_s must be a finite number, got inf"),
    (2.5, {"integer": True}, "hop_s must be a whole number, got 2.5"),
])  # fmt: skip
def test_check_range_message_names_argument_range_and_value(value, kwargs, message):
    with pytest.raises(ValueError) as info:
        check_range(value, "hop_s", **kwargs)
    assert str(info.value) == message


def test_check_range_returns_the_value_and_refuses_non_numbers():
    assert check_range(0.25, "hop_s", 0.02, 10) == 0.25
    assert check_range(10, "hop_s", 0.02, 10) == 10  # bounds are inclusive by default
    assert check_range(3.0, "n", 1, integer=True) == 3 and isinstance(check_range(3.0, "n", 1, integer=True), int)
    assert check_range(np.float32(0.5), "x", 0, 1) == np.float32(0.5)
    for bad in ("1", True, None, [1]):
        with pytest.raises(TypeError, match=r"^x must be a number, got "):
            check_range(bad, "x", 0, 1)


def test_arg_number_is_an_argparse_type_whose_errors_name_the_option(capsys):
    parser = argparse.ArgumentParser(prog="prog")
    parser.add_argument("--timeout", type=arg_number(0, low_inclusive=False), default=2.0)
    parser.add_argument("--workers", type=arg_number(1, integer=True), default=1)
    args = parser.parse_args(["--timeout", "0.5", "--workers", "3"])
    assert args.timeout == 0.5 and args.workers == 3 and isinstance(args.workers, int)
    for argv, message in [
        (["--timeout", "-1"], "argument --timeout: must be > 0, got -1.0"),
        (["--timeout", "soon"], "argument --timeout: must be a number, got 'soon'"),
        (["--workers", "0"], "argument --workers: must be >= 1, got 0"),
        (["--workers", "1.5"], "argument --workers: must be an integer, got '1.5'"),
    ]:
        with pytest.raises(SystemExit) as info:
            parser.parse_args(argv)
        assert info.value.code == 2
        assert message in capsys.readouterr().err
