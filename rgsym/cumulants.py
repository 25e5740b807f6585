r"""Cumulants: exact moment <-> cumulant conversion and unbiased k-statistics.

Conversion uses the recursion
:math:`\kappa_n = \mu'_n - \sum_{m=1}^{n-1}\binom{n-1}{m-1}\kappa_m\,\mu'_{n-m}` (raw moments
:math:`\mu'`), which is exact on :class:`fractions.Fraction` and vectorised on arrays.
"""
from __future__ import annotations

import math
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
