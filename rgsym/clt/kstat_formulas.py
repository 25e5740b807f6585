r"""The k-statistics as exact formulas: derivation in power sums and exact variance (Chapter 1).

Notation: for a sample :math:`x_1..x_N` the power sums are :math:`S_r=\sum_i x_i^r` and the central
sample moments :math:`m_r=\frac1N\sum_i(x_i-\bar x)^r`.

* **k-statistics** :math:`k_n` are the unique symmetric polynomials in the sample whose expectation
  is :math:`\kappa_n` for every law. They are *derived*, not typed in: starting from eq. K1
  (:func:`~.conversions.cumulant_in_moments`), each product of moments has the unbiased estimator
  :math:`A_\lambda/(N)_\ell` with :math:`A_\lambda=\sum_{i_1\ne\dots\ne i_\ell}\prod_j x_{i_j}^{\lambda_j}`
  (eq. K2), and :math:`A_\lambda` is reduced to power sums by
  :math:`A_{(a,\lambda)} = S_a A_\lambda - \sum_j A_{\lambda+a e_j}` (eq. K3). The result is
  a polynomial in :math:`S_1..S_n` with coefficients rational in :math:`N`, built once per order and
  cached. On centred data every term with :math:`S_1` drops out (:func:`central_terms`, the form
  :mod:`.estimators` evaluates on :math:`m_r`).
* **Exact variance.** Squaring :math:`k_n`, expanding products of power sums back into
  :math:`A_\nu` (eq. K6, the inverse of K3) and using :math:`E[A_\nu]=(N)_{\ell}\prod_j\mu'_{\nu_j}`
  gives :math:`\mathrm{Var}\,k_n` exactly, as a polynomial in the central moments
  :math:`\mu_2..\mu_{2n}` with coefficients rational in :math:`N` (eq. K7).
* **Influence function.** :math:`g_r=\partial\kappa_n/\partial\mu'_r` (eq. K4), the coefficients of
  the delta-method error (eq. K5, in :mod:`.estimators`).
"""
from __future__ import annotations

from fractions import Fraction
from functools import lru_cache
from typing import Sequence

from ..validation import as_int
from .conversions import cumulant_in_moments, falling_factorial

KSTAT_MAX_ORDER = 8
"""Highest order of :func:`~.estimators.kstat` (the derivation is general; float64 accuracy sets the limit)."""


def check_order(n, max_order: int | None = KSTAT_MAX_ORDER) -> int:
    """The cumulant order ``n`` as an int in ``1..max_order`` (no upper bound for ``None``)."""
    return as_int("cumulant order n", n, lo=1, hi=max_order)


def check_count(N, n: int) -> int:
    """The sample size ``N`` as an int, at least ``n`` (the order-``n`` k-statistic needs ``n`` values)."""
    N = as_int("sample size N", N)
    if N < n:
        raise ValueError(f"the order-{n} k-statistic needs at least {n} values along the last axis, got {N}")
    return N


def _add(poly: dict, key, coef) -> None:
    c = poly.get(key, 0) + coef
    if c:
        poly[key] = c
    else:
        poly.pop(key, None)


@lru_cache(maxsize=None)
def augmented_sum(parts: tuple[int, ...]) -> dict[tuple[int, ...], int]:
    r"""Eqs. K2-K3: :math:`A_\lambda=\sum_{\text{distinct }i_1..i_\ell}\prod_j x_{i_j}^{\lambda_j}` as a
    polynomial in power sums, ``{mu: coefficient}`` where ``(4, 2)`` stands for :math:`S_4S_2`."""
    parts = tuple(sorted(parts, reverse=True))
    if not parts:
        return {(): 1}
    a, rest = parts[0], parts[1:]
    poly: dict = {}
    for mono, c in augmented_sum(rest).items():
        _add(poly, tuple(sorted(mono + (a,), reverse=True)), c)
    for j in range(len(rest)):
        merged = rest[:j] + (rest[j] + a,) + rest[j + 1:]
        for mono, c in augmented_sum(merged).items():
            _add(poly, mono, -c)
    return poly


@lru_cache(maxsize=None)
def kstat_power_sum_terms(n: int) -> dict[tuple[int, ...], dict[int, int]]:
    r"""The k-statistic :math:`k_n` in power sums: ``{mu: {ell: c}}`` meaning
    :math:`k_n=\sum_\mu S_\mu\sum_\ell c_{\mu\ell}/(N)_\ell` with the falling factorial
    :math:`(N)_\ell=N(N-1)\cdots(N-\ell+1)`."""
    terms: dict = {}
    for lam, coef in cumulant_in_moments(n).items():
        ell = len(lam)
        for mono, c in augmented_sum(lam).items():
            inner = terms.setdefault(mono, {})
            inner[ell] = inner.get(ell, 0) + coef * c
    return {mono: {l: c for l, c in inner.items() if c} for mono, inner in terms.items()}


def kstat_from_power_sums(S: Sequence, n: int, N: int):
    r"""Exact :math:`k_n` from power sums ``S[r]`` (``S[0]`` is ignored, ``S[r]`` for ``r = 1..n``)
    of ``N`` values; works on Fractions (exact) or floats. The full formula, :math:`S_1` included."""
    n = check_order(n, max_order=None)
    N = check_count(N, n)
    total = 0
    for mono, inner in kstat_power_sum_terms(n).items():
        coef = sum(Fraction(c, falling_factorial(N, l)) for l, c in inner.items())
        prod = 1
        for r in mono:
            prod = prod * S[r]
        total = total + coef * prod
    return total


@lru_cache(maxsize=256)
def central_terms(n: int, N: int) -> tuple[tuple[tuple[int, ...], float], ...]:
    r""":math:`k_n` on centred data as :math:`\sum_\mu C_\mu(N)\prod_{r\in\mu}m_r` (terms with
    :math:`S_1` dropped), ``C_mu = N^{len(mu)} sum_l c/(N)_l`` computed exactly, then rounded."""
    out = []
    for mono, inner in kstat_power_sum_terms(n).items():
        if 1 in mono:
            continue
        coef = sum(Fraction(c, falling_factorial(N, l)) for l, c in inner.items()) * Fraction(N) ** len(mono)
        if coef:
            out.append((mono, float(coef)))
    return tuple(out)


@lru_cache(maxsize=None)
def gradient_terms(n: int) -> tuple[tuple[tuple[int, ...], ...], ...]:
    r"""Eq. K4: :math:`g_r=\partial\kappa_n/\partial\mu'_r` for ``r = 1..n`` at zero mean, each a list
    of ``(coefficient, monomial)`` (monomials holding :math:`\mu'_1` vanish once centred)."""
    grads = []
    for r in range(1, n + 1):
        poly: dict = {}
        for lam, c in cumulant_in_moments(n).items():
            k = lam.count(r)
            if not k:
                continue
            rest = list(lam)
            rest.remove(r)
            if 1 in rest:
                continue
            _add(poly, tuple(rest), c * k)
        grads.append(tuple((float(c), mono) for mono, c in poly.items()))
    return tuple(grads)


@lru_cache(maxsize=None)
def power_product(mono: tuple[int, ...]) -> dict[tuple[int, ...], int]:
    r"""Eq. K6, the inverse of K3: a product of power sums :math:`S_{\mu_1}\cdots S_{\mu_k}` as
    :math:`\sum_\nu c_\nu A_\nu` (every way of letting the :math:`k` summation indices coincide),
    via :math:`S_aA_\lambda=A_{(a,\lambda)}+\sum_jA_{\lambda+ae_j}`. Returns ``{nu: c}``."""
    mono = tuple(sorted(mono, reverse=True))
    if not mono:
        return {(): 1}
    a, rest = mono[0], mono[1:]
    out: dict = {}
    for lam, c in power_product(rest).items():
        _add(out, tuple(sorted(lam + (a,), reverse=True)), c)
        for j in range(len(lam)):
            _add(out, tuple(sorted(lam[:j] + (lam[j] + a,) + lam[j + 1:], reverse=True)), c)
    return out


@lru_cache(maxsize=None)
def _kstat_square_structure(n: int) -> dict[tuple[int, ...], dict[tuple[int, int, int], int]]:
    r""":math:`E[k_n^2]` for a centred law, independent of :math:`N`:
    ``{nu: {(l1, l2, l): c}}`` meaning :math:`\sum_\nu\mu'_\nu\sum c\,(N)_l/((N)_{l_1}(N)_{l_2})`
    (:math:`E[A_\nu]=(N)_{\ell(\nu)}\prod_j\mu'_{\nu_j}`; terms with :math:`\mu'_1=0` dropped)."""
    terms = kstat_power_sum_terms(n)
    out: dict = {}
    for m1, in1 in terms.items():
        for m2, in2 in terms.items():
            for nu, c in power_product(m1 + m2).items():
                if 1 in nu:
                    continue
                inner = out.setdefault(nu, {})
                for l1, c1 in in1.items():
                    for l2, c2 in in2.items():
                        key = (l1, l2, len(nu))
                        inner[key] = inner.get(key, 0) + c * c1 * c2
    return out


@lru_cache(maxsize=256)
def kstat_variance_terms(n: int, N: int) -> tuple[tuple[tuple[int, ...], Fraction], ...]:
    r"""Eq. K7: the exact finite-sample variance
    :math:`\mathrm{Var}\,k_n=E[k_n^2]-\kappa_n^2=\sum_\nu V_\nu(N)\prod_{r\in\nu}\mu_r` as a
    polynomial in the central moments :math:`\mu_2..\mu_{2n}` of the law, ``((nu, V_nu), ...)`` with
    exact coefficients (the :math:`O(1)` parts cancel exactly, leaving :math:`O(1/N)`)."""
    n = check_order(n, max_order=None)
    N = check_count(N, n)
    V: dict = {}
    ff = {l: falling_factorial(N, l) for l in range(0, 2 * n + 1)}
    for nu, inner in _kstat_square_structure(n).items():
        coef = sum(Fraction(c * ff[l], ff[l1] * ff[l2]) for (l1, l2, l), c in inner.items())
        _add(V, nu, coef)
    cm = cumulant_in_moments(n)
    for l1, a1 in cm.items():
        for l2, a2 in cm.items():
            nu = tuple(sorted(l1 + l2, reverse=True))
            if 1 not in nu:
                _add(V, nu, -Fraction(a1 * a2))
    return tuple(V.items())


def kstat_variance(moments: Sequence, n: int, N: int):
    r"""Exact :math:`\mathrm{Var}\,k_n` of ``N`` i.i.d. values from a law with central moments
    ``moments[r]`` :math:`=\mu_r` (``r = 0..2n``; entries 0 and 1 are ignored) -- eq. K7.

    Exact on Fractions; elementwise on arrays. :func:`kstat_se` evaluates it at the sample moments.
    """
    total = 0
    for nu, coef in kstat_variance_terms(n, N):
        prod = 1
        for r in nu:
            prod = prod * moments[r]
        total = total + coef * prod
    return total


@lru_cache(maxsize=256)
def variance_float_terms(n: int, N: int) -> tuple[tuple[tuple[int, ...], float], ...]:
    return tuple((nu, float(c)) for nu, c in kstat_variance_terms(n, N))
