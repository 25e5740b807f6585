"""Resource limits checked before heavy work: memory (this module) and training time
(:func:`rgsym.learn.sweep.check_budget`).

A chapter estimates the peak memory of a computation from its knobs and calls :func:`check_memory` in its
settings cell, so that a value such as ``n_mc=10**9`` is refused at once, with the estimate, instead of
failing in an allocator after other work has run.
"""
from __future__ import annotations


MEMORY_SHARE = 0.5
"""A computation that would hold more than this share of the machine's physical memory is refused
(:func:`check_memory`) unless ``RGSYM_ALLOW_LARGE=1``."""


def physical_memory() -> int:
    """The machine's physical memory in bytes (``os.sysconf``; 0 where it cannot be read)."""
    import os

    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return 0


def check_memory(nbytes: float, what: str, hint: str) -> float:
    """Refuse, before any work, ``what`` when its estimated peak ``nbytes`` exceeds :data:`MEMORY_SHARE` of
    physical memory (``hint`` says which argument to lower), unless the environment variable
    ``RGSYM_ALLOW_LARGE`` is ``1``. Returns the estimate in GiB."""
    import os

    total = physical_memory()
    gib = float(nbytes) / 2**30
    if total and nbytes > MEMORY_SHARE * total and os.environ.get("RGSYM_ALLOW_LARGE") != "1":
        raise ValueError(f"{what} would hold about {gib:.3g} GiB, more than {MEMORY_SHARE:.0%} of this machine's "
                         f"{total / 2**30:.3g} GiB; {hint}, or set RGSYM_ALLOW_LARGE=1 to go ahead")
    return gib
