"""Putting computed numbers into the prose of a chapter.

:func:`glue` stores a value under a name in the executed notebook (myst-nb's glue), so the
markdown can insert it with ``{glue:text}`name:.3f``` -- no number in the book is typed by hand.
Where myst-nb is not installed (a bare Colab kernel) the value is simply printed.
"""
from __future__ import annotations

from typing import Any


def glue(name: str, value: Any, display: bool = False) -> Any:
    """Store ``value`` under ``name`` for ``{glue:text}`` / ``{glue:figure}`` roles; returns ``value``."""
    try:
        from myst_nb import glue as _glue
    except ImportError:  # pragma: no cover - only on kernels without the book toolchain
        print(f"{name} = {value!r}")
        return value
    _glue(name, value, display=display)
    return value


def verdict(holds: bool, yes: str = "supported", no: str = "not supported") -> str:
    """The word for a computed verdict, so that prose never types the outcome by hand."""
    return yes if bool(holds) else no
