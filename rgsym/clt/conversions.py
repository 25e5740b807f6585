r"""Moments <-> cumulants and the cumulant in moments over partitions (Chapter 1, eq. K1).

* **Moments <-> cumulants** use the recursion
  :math:`\kappa_n = \mu'_n - \sum_{m=1}^{n-1}\binom{n-1}{m-1}\kappa_m\,\mu'_{n-m}` (raw moments
  :math:`\mu'`), exact on :class:`fractions.Fraction` and elementwise on arrays.
* **Eq. K1.** :math:`\kappa_n=\sum_{\pi}(-1)^{|\pi|-1}(|\pi|-1)!\prod_{B\in\pi}\mu'_{|B|}` over set
  partitions :math:`\pi` of :math:`\{1..n\}`, grouped by block sizes (integer partitions
  :math:`\lambda` of :math:`n`, counted by :func:`set_partition_count`).
* The falling factorial :math:`(N)_\ell=N(N-1)\cdots(N-\ell+1)` of the k-statistics
  (:mod:`.kstat_formulas`).
"""
from __future__ import annotations

import math
from functools import lru_cache
from typing import Sequence


def moments_to_cumulants(moments: Sequence):
    r"""Raw moments :math:`(\mu'_1..\mu'_N)` to cumulants :math:`(\kappa_1..\kappa_N)`.

    Works on scalars, Fractions, sympy expressions or arrays (elementwise); returns a list.
    """
    mu = list(moments)
    kappa = []
    for n in range(1, len(mu) + 1):
        k = mu[n - 1]
        for m in range(1, n):
            k = k - math.comb(n - 1, m - 1) * kappa[m - 1] * mu[n - m - 1]
        kappa.append(k)
    return kappa


def cumulants_to_moments(cumulants: Sequence):
    r"""Cumulants :math:`(\kappa_1..\kappa_N)` to raw moments :math:`(\mu'_1..\mu'_N)` (inverse of
    :func:`moments_to_cumulants`)."""
    kappa = list(cumulants)
    mu = []
    for n in range(1, len(kappa) + 1):
        m_n = kappa[n - 1]
        for m in range(1, n):
            m_n = m_n + math.comb(n - 1, m - 1) * kappa[m - 1] * mu[n - m - 1]
        mu.append(m_n)
    return mu


def integer_partitions(n: int):
    """Yield the partitions of ``n`` as non-increasing tuples, e.g. ``(2, 1, 1)`` for 2+1+1, in
    reverse lexicographic order (``(n,)`` first, ``(1,)*n`` last) -- sympy's
    :func:`~sympy.utilities.iterables.partitions`, imported on first use."""
    from sympy.utilities.iterables import partitions

    if n == 0:
        yield ()
        return
    for p in partitions(n):  # sympy reuses the dict it yields: read it at once
        yield tuple(size for size in sorted(p, reverse=True) for _ in range(p[size]))


def set_partition_count(parts: Sequence[int]) -> int:
    r"""Number of set partitions of :math:`\{1..n\}` whose block sizes are ``parts``:
    :math:`n!/(\prod_j\lambda_j!\,\prod_i m_i!)` with :math:`m_i` the multiplicity of size ``i``."""
    n = sum(parts)
    denom = 1
    for p in parts:
        denom *= math.factorial(p)
    for size in set(parts):
        denom *= math.factorial(list(parts).count(size))
    return math.factorial(n) // denom


@lru_cache(maxsize=None)
def cumulant_in_moments(n: int) -> dict[tuple[int, ...], int]:
    r"""Eq. K1: :math:`\kappa_n` as a polynomial in raw moments, ``{lambda: coefficient}`` where the
    key ``(3, 1)`` stands for :math:`\mu'_3\mu'_1`."""
    out = {}
    for lam in integer_partitions(n):
        ell = len(lam)
        out[lam] = set_partition_count(lam) * (-1) ** (ell - 1) * math.factorial(ell - 1)
    return out


def falling_factorial(N: int, ell: int) -> int:
    """:math:`(N)_\\ell = N(N-1)\\cdots(N-\\ell+1)` (:func:`math.perm`)."""
    return math.perm(N, ell)
