"""Argument checks shared by the whole package: one meaning for an integer, a choice and a list.

Every public function of rgsym validates its arguments with these before any heavy work, so a bad
value fails at once with a message that names the argument and the valid choices or range.

* An **integer** is anything :func:`operator.index` accepts (Python, numpy and 0-d torch integers),
  never a ``bool`` and never a float, not even ``2.0``: a float is rejected rather than truncated.
* A **choice** is one of a listed tuple; the error lists them all.
* A **list** argument given as one bare string is a one-element tuple (``"tanh"`` means
  ``("tanh",)``, never ``("t", "a", "n", "h")``).
"""
from __future__ import annotations

import math
import numbers
import operator
from typing import Any, Iterable


def as_int(name: str, value: Any, lo: int | None = None, hi: int | None = None) -> int:
    """``value`` as a Python ``int`` if it is an integer in ``[lo, hi]`` (either bound optional);
    else a ``ValueError`` naming ``name`` and the allowed range.

    >>> as_int("b", 2, lo=2)
    2
    """
    ok = not isinstance(value, bool)
    if ok:
        try:
            v = operator.index(value)
        except TypeError:
            ok = False
    if not ok or (lo is not None and v < lo) or (hi is not None and v > hi):
        if lo is not None and hi is not None:
            where = f" in [{lo}, {hi}]"
        elif lo is not None:
            where = f" >= {lo}"
        elif hi is not None:
            where = f" <= {hi}"
        else:
            where = ""
        raise ValueError(f"{name} must be an integer{where}, got {value!r}")
    return int(v)


def as_optional_int(name: str, value: Any, lo: int | None = None, hi: int | None = None) -> int | None:
    """:func:`as_int`, with ``None`` passed through (a "use the default" value)."""
    return None if value is None else as_int(name, value, lo, hi)


def as_float(name: str, value: Any, lo: float | None = None, hi: float | None = None, *,
             finite: bool = True, open_lo: bool = False) -> float:
    """``value`` as a Python ``float`` if it is a real number (not a bool) in ``[lo, hi]``
    (``(lo, hi]`` with ``open_lo``); NaN and, with ``finite``, infinities are refused."""
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    v = float(value) if ok else math.nan
    bad = (not ok or math.isnan(v) or (finite and math.isinf(v))
           or (lo is not None and (v <= lo if open_lo else v < lo)) or (hi is not None and v > hi))
    if bad:
        lo_s = "" if lo is None else (f" > {lo}" if open_lo else f" >= {lo}")
        hi_s = "" if hi is None else f" <= {hi}"
        rng = " and".join(s for s in (lo_s, hi_s) if s)
        raise ValueError(f"{name} must be a {'finite ' if finite else ''}real number{rng}, got {value!r}")
    return v


def check_choice(kind: str, value: Any, choices: Iterable[Any]) -> Any:
    """Return ``value`` if it is one of ``choices``, else raise a ``ValueError`` that lists them.

    >>> check_choice("profile", "smoke", ("smoke", "paper"))
    'smoke'
    """
    choices = tuple(choices)
    try:
        ok = value in choices
    except TypeError:  # unhashable or incomparable values are simply not valid choices
        ok = False
    if not ok:
        listed = ", ".join(repr(c) for c in choices)
        raise ValueError(f"unknown {kind} {value!r}; valid choices are: {listed}")
    return value


def as_tuple(name: str, value: Any) -> tuple:
    """A list-valued argument as a tuple; one bare string (or non-iterable scalar) is one element."""
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        return (value,)
    return tuple(value)


def as_choices(name: str, values: Any, choices: Iterable[Any], *, kind: str | None = None,
               allow_empty: bool = False) -> tuple:
    """A tuple of distinct valid choices (see :func:`as_tuple` and :func:`check_choice`)."""
    vals = as_tuple(name, values)
    if not vals and not allow_empty:
        raise ValueError(f"{name} must not be empty")
    choices = tuple(choices)
    for v in vals:
        check_choice(kind or name, v, choices)
    if len(set(vals)) != len(vals):
        raise ValueError(f"{name} has repeated entries: {vals!r}")
    return vals
