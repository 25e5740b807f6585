"""Putting computed numbers into the prose of a chapter.

:func:`glue` stores a value under a name in the executed notebook (myst-nb's glue), so the
markdown can insert it with ``{glue:text}`name:.3f``` -- no number in the book is typed by hand.
Where myst-nb is not installed (a bare Colab kernel) the value is simply printed.
"""
from __future__ import annotations

from typing import Any


def glue(name: str, value: Any, display: bool = False) -> Any:
    """Store ``value`` under ``name`` for ``{glue:text}`` / ``{glue:figure}`` roles; returns ``value``.

    NumPy and torch scalars are turned into plain Python numbers first, so that the page shows
    ``0.25`` rather than ``np.float64(0.25)`` and format specs such as ``{glue:text}`x:.3f``` work.
    """
    value = plain(value)
    try:
        from myst_nb import glue as _glue
    except ImportError:  # pragma: no cover - only on kernels without the book toolchain
        print(f"{name} = {value!r}")
        return value
    _glue(name, value, display=display)
    return value


def plain(value: Any) -> Any:
    """A NumPy/torch zero-dimensional scalar as the Python number it holds; anything else unchanged."""
    item = getattr(value, "item", None)
    shape = getattr(value, "shape", None)
    if callable(item) and shape is not None and tuple(shape) == ():
        return item()
    return value


def verdict(holds: bool, yes: str = "supported", no: str = "not supported") -> str:
    """The word for a computed verdict, so that prose never types the outcome by hand."""
    return yes if bool(holds) else no
