"""Shared argument checks: one message format for every refused value.

Settings dataclasses, the bundle loader and the command line check their inputs with
these helpers, so a refused value always reads the same way: the argument's name, what
is allowed and the value got, on one line (``hop_s must be in [0.02, 10] s, got 20``).
The module imports nothing from the package, so every layer may use it.
"""

from __future__ import annotations

import argparse
import math
import numbers
import operator
from collections.abc import Callable, Iterable
from os import PathLike
from typing import Any

__all__ = [
    "arg_number",
    "check_range",
    "check_type",
    "check_value",
    "ensure_int",
]

#: Type names :func:`check_type` accepts besides classes ("int-like" and "callable"
#: are tested by behaviour, not class).
_TYPE_NAMES: dict[str, tuple[type, ...]] = {
    "numeric": (numbers.Real,),
    "path-like": (str, PathLike),
}


def _type_text(kind: str | type | None) -> str:
    if kind is None:
        return "None"
    if isinstance(kind, str):
        return kind
    return kind.__name__


def _is_int_like(item: Any) -> bool:
    if isinstance(item, bool):
        return False
    try:
        operator.index(item)
    except TypeError:
        return False
    return True


def check_type(item: Any, types: Iterable[str | type | None], name: str) -> Any:
    """Refuse ``item`` unless it is one of ``types``; returns it unchanged.

    Parameters
    ----------
    item : object
        The value to check.
    types : iterable of type, str or None
        Accepted classes, None, or the names ``"int-like"``, ``"numeric"`` (int or
        float, never bool), ``"path-like"`` and ``"callable"``.
    name : str
        The argument's name, for the message.

    Raises
    ------
    TypeError
        ``name must be int or None, got list``.
    """
    types = tuple(types)
    for kind in types:
        if kind is None:
            if item is None:
                return item
        elif kind == "int-like":
            if _is_int_like(item):
                return item
        elif kind == "callable":
            if callable(item):
                return item
        elif isinstance(kind, str):
            classes = _TYPE_NAMES.get(kind)
            if classes is None:
                raise ValueError(f"unknown type name {kind!r}; known: {sorted(_TYPE_NAMES)}")
            if isinstance(item, classes) and not isinstance(item, bool):
                return item
        elif isinstance(item, kind) and not (isinstance(item, bool) and kind in (int, float)):
            return item
    allowed = " or ".join(_type_text(kind) for kind in types)
    raise TypeError(f"{name} must be {allowed}, got {type(item).__name__}")


def ensure_int(item: Any, name: str) -> int:
    """``item`` as an int when it is an integer (int, numpy integer; never bool or float).

    Raises
    ------
    TypeError
        ``name must be an integer, got float``.
    """
    if not _is_int_like(item):
        raise TypeError(f"{name} must be an integer, got {type(item).__name__}")
    return int(operator.index(item))


def check_value(item: Any, allowed: Iterable[Any], name: str) -> Any:
    """Refuse ``item`` unless it is one of ``allowed``; returns it unchanged.

    Raises
    ------
    ValueError
        ``name must be one of 'fir', 'fft'; got 'x'``.
    """
    allowed = tuple(allowed)
    try:
        ok = item in allowed
    except TypeError:  # an unhashable or uncomparable item is simply not allowed
        ok = False
    if not ok:
        choices = ", ".join(repr(a) for a in allowed) or "(none registered)"
        raise ValueError(f"{name} must be one of {choices}; got {item!r}")
    return item


def check_range(
    value: Any,
    name: str,
    low: float | None = None,
    high: float | None = None,
    *,
    low_inclusive: bool = True,
    high_inclusive: bool = True,
    integer: bool = False,
    unit: str = "",
) -> float:
    """Refuse a number outside ``[low, high]``; returns it (an int when ``integer``).

    Parameters
    ----------
    value : int or float
        The number (bool, NaN and infinities are refused).
    name : str
        The argument's name, for the message.
    low, high : float | None
        The bounds (None: unbounded on that side).
    low_inclusive, high_inclusive : bool
        Whether the bound itself is allowed.
    integer : bool
        Require a whole number (``2.0`` passes, ``2.5`` does not).
    unit : str
        Unit named after the range in the message (``"s"``, ``"Hz"``).

    Raises
    ------
    TypeError
        ``value`` is not a number.
    ValueError
        ``hop_s must be in [0.02, 10] s, got 20``, ``workers must be >= 1, got 0``.
    """
    if isinstance(value, (bool, str, bytes)):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}") from None
    if not math.isfinite(number):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    if integer and number != int(number):
        raise ValueError(f"{name} must be a whole number, got {value!r}")
    too_low = low is not None and (number < low if low_inclusive else number <= low)
    too_high = high is not None and (number > high if high_inclusive else number >= high)
    if too_low or too_high:
        raise ValueError(f"{name} must be {_range_text(low, high, low_inclusive, high_inclusive, unit)}, got {value!r}")
    return int(number) if integer else value


def _range_text(low: float | None, high: float | None, low_inc: bool, high_inc: bool, unit: str) -> str:
    """``in [0.02, 10] s``, ``>= 1``, ``> 0 Hz``, ``<= 5``."""
    suffix = f" {unit}" if unit else ""
    if low is not None and high is not None:
        return f"in {'[' if low_inc else '('}{low:g}, {high:g}{']' if high_inc else ')'}{suffix}"
    if low is not None:
        return f"{'>=' if low_inc else '>'} {low:g}{suffix}"
    if high is not None:
        return f"{'<=' if high_inc else '<'} {high:g}{suffix}"
    return "a number"


def arg_number(
    low: float | None = None,
    high: float | None = None,
    *,
    low_inclusive: bool = True,
    high_inclusive: bool = True,
    integer: bool = False,
    unit: str = "",
) -> Callable[[str], float]:
    """An argparse ``type=`` that parses a number and checks it with :func:`check_range`.

    argparse prefixes the option's name: ``argument --timeout: must be > 0, got -1``.

    Examples
    --------
    >>> parser.add_argument("--timeout", type=arg_number(0, low_inclusive=False), default=2.0)
    """

    def parse(text: str) -> float:
        try:
            value = int(text) if integer else float(text)
        except ValueError:
            kind = "an integer" if integer else "a number"
            raise argparse.ArgumentTypeError(f"must be {kind}, got {text!r}") from None
        try:
            return check_range(
                value, "value", low, high, low_inclusive=low_inclusive,
                high_inclusive=high_inclusive, integer=integer, unit=unit,
            )  # fmt: skip
        except ValueError as err:
            raise argparse.ArgumentTypeError(str(err).removeprefix("value ")) from None

    parse.__name__ = "integer" if integer else "number"  # argparse names it in its own errors
    return parse
