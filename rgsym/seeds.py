"""Seed derivation: every random stream of rgsym is named by plain data and derived here.

:func:`stable_seed` is *the* derivation: a 63-bit integer from the SHA-256 of the JSON of its parts,
identical on every platform and device, so that a member's stream depends only on what names it
(e.g. ``("train-set", task, seed)``) and adding members, laws or chunks never shifts another's numbers.

:func:`lattice_seed` names the streams of Chapter 1's lattices; it is kept in its historical
(``numpy.random.SeedSequence``) form because changing it would change every number of Chapter 1.
"""
from __future__ import annotations

import hashlib
import json


def stable_seed(*parts) -> int:
    """A 63-bit integer seed derived from ``parts`` by SHA-256 of their JSON (platform independent).

    >>> stable_seed("train-set", "gaussian", 0) == stable_seed("train-set", "gaussian", 0)
    True
    """
    blob = json.dumps(parts, sort_keys=True, default=str).encode()
    return int.from_bytes(hashlib.sha256(blob).digest()[:8], "little") & (2**63 - 1)


def lattice_seed(seed: int, law_index: int, b: int) -> int:
    """The seed of Chapter 1's lattice stream for ``(seed, law, b)`` (the law by its index in the
    table of laws): one independent stream each, so adding a law leaves the others' numbers alone."""
    import numpy as np

    state = np.random.SeedSequence([int(seed), int(law_index), int(b)]).generate_state(1)
    return int(state[0])

