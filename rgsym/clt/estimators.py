r"""Unbiased k-statistics and their standard errors along the last axis (Chapter 1, eqs. K1-K7).

The k-statistic :math:`k_n` (:math:`E[k_n]=\kappa_n` for every law) is evaluated on the central
sample moments :math:`m_r` (:mod:`.sample_moments`; k-statistics are shift invariant for
:math:`n\ge2`, so only the :math:`S_1`-free terms of the formula of :mod:`.kstat_formulas` remain,
which keeps float64 accurate).

* **Standard errors** evaluate eq. K7 at the sample moments (default), or its leading
  :math:`O(1/N)` term, the influence-function (delta-method) variance
  :math:`\mathrm{se}^2=\frac1N\sum_{r,s}g_rg_s\,(m_{r+s}-m_rm_s)` with
  :math:`g_r=\partial\kappa_n/\partial\mu'_r` (eqs. K4-K5), which also gives the errors of
  ratios such as the skewness :math:`k_3/k_2^{3/2}`.

Every function takes numpy arrays or torch tensors (any leading shape; the sample runs along the last
axis) and returns the same kind, computed in float64 (torch: on the input's device).
"""
from __future__ import annotations

from typing import Iterable

import numpy as np

from ..validation import check_choice
from .kstat_formulas import (KSTAT_MAX_ORDER, central_terms, check_count, check_order, gradient_terms,
                             variance_float_terms)
from .sample_moments import central_moments, finish, is_torch, stack, validated

__all__ = ["KSTAT_MAX_ORDER", "SE_METHODS", "kstat", "kstat_se", "kstats", "standardised_cumulant",
           "cumulant_summary", "kstats_from_moments", "summary_from_moments",
           "summary_moment_order", "skewness", "excess_kurtosis"]


def _prod_moments(m, mono, ones):
    out = ones
    for r in mono:
        out = out * m[..., r]
    return out


def _kstat_from_moments(m, n: int, N: int):
    """k_n (n >= 2) from central moments ``m`` (shape (..., >n))."""
    ones = m[..., 0]
    total = ones * 0.0
    for mono, coef in central_terms(n, N):
        total = total + coef * _prod_moments(m, mono, ones)
    return total


def _kstat_gradient(m, n: int):
    """The influence-function coefficients g_r, r = 1..n (eq. K4), stacked on the last axis."""
    ones = m[..., 0]
    cols = []
    for terms in gradient_terms(n):
        g = ones * 0.0
        for coef, mono in terms:
            g = g + coef * _prod_moments(m, mono, ones)
        cols.append(g)
    return cols


def _delta_se(grad: list, m, N: int):
    r"""Eq. K5: :math:`\sqrt{\frac1N\sum_{r,s}g_rg_s(m_{r+s}-m_rm_s)}` for ``grad = [g_1..g_R]``."""
    var = m[..., 0] * 0.0
    R = len(grad)
    for r in range(1, R + 1):
        for s in range(1, R + 1):
            var = var + grad[r - 1] * grad[s - 1] * (m[..., r + s] - m[..., r] * m[..., s])
    var = var / N
    if is_torch(var):
        return var.clamp(min=0.0).sqrt()
    return np.sqrt(np.maximum(var, 0.0))


def _plugin_se(m, n: int, N: int):
    """Eq. K7 evaluated at the sample central moments ``m`` (plug-in), square-rooted."""
    ones = m[..., 0]
    var = ones * 0.0
    for nu, coef in variance_float_terms(n, N):
        var = var + coef * _prod_moments(m, nu, ones)
    if is_torch(var):
        return var.clamp(min=0.0).sqrt()
    return np.sqrt(np.maximum(var, 0.0))


SE_METHODS = ("exact", "delta")
"""How :func:`kstat_se` estimates the error: the exact variance (eq. K7) at the sample moments, or
its leading :math:`O(1/N)` term, the delta method (eqs. K4-K5)."""


def _se(m, n: int, N: int, method: str):
    if method == "exact":
        return _plugin_se(m, n, N)
    return _delta_se(_kstat_gradient(m, n), m, N)


def _orders(orders) -> tuple[int, ...]:
    """``orders`` as a tuple: an integer ``K >= 1`` means ``1..K``, else a non-empty sequence of orders."""
    if isinstance(orders, (int, np.integer)) and not isinstance(orders, bool):
        if orders < 1:
            raise ValueError(f"orders must be an integer K >= 1 (meaning orders 1..K) or a sequence of orders "
                             f">= 1, got {orders}")
        orders = range(1, int(orders) + 1)
    elif isinstance(orders, (str, bytes, bool)) or not hasattr(orders, "__iter__"):
        raise TypeError(f"orders must be an integer K >= 1 (meaning orders 1..K) or a sequence of integer orders, "
                        f"got {orders!r}")
    orders = tuple(check_order(n) for n in orders)
    if not orders:
        raise ValueError("orders must not be empty")
    return orders


# --------------------------------------------------------------------------------------------
# public estimators
# --------------------------------------------------------------------------------------------


def kstat(x, n: int):
    r"""Unbiased k-statistic :math:`k_n` along the last axis: :math:`E[k_n]=\kappa_n` (eqs. K1-K3).

    ``x``: numpy array or torch tensor of shape ``(..., N)`` with ``N >= n``; ``n`` in ``1..8``.
    Returns shape ``(...)`` in float64 (a numpy scalar for 1-d numpy input). Agrees with
    :func:`scipy.stats.kstat` for ``n <= 4``.
    """
    n = check_order(n)
    x = validated(x)
    N = check_count(x.shape[-1], n)
    mean, m = central_moments(x, n)
    if n == 1:
        return finish(mean)
    return finish(_kstat_from_moments(m, n, N))


def kstat_se(x, n: int, *, method: str = "exact"):
    r"""Standard error of :math:`k_n` along the last axis.

    ``method="exact"`` (default) evaluates the exact finite-sample variance (eq. K7) at the sample
    central moments; ``"delta"`` keeps only its :math:`O(1/N)` term, the influence-function (delta
    method) variance (eqs. K4-K5). Both need the sample moments up to order :math:`2n`, so they are
    meaningful only for laws whose moment of order :math:`2n` is finite; for skewed or heavy-tailed
    laws at high order the estimate is itself noisy and tends to be low until :math:`N` is large.
    ``method="exact"`` stays sound for two-point laws (Rademacher), where the :math:`O(1/N)` term of
    :math:`\mathrm{Var}\,k_{2m}` vanishes and the delta method can be far too small.
    Shapes as in :func:`kstat`.
    """
    check_choice("standard-error method", method, SE_METHODS)
    n = check_order(n)
    x = validated(x)
    N = check_count(x.shape[-1], n)
    _, m = central_moments(x, 2 * n)
    return finish(_se(m, n, N, method))


def kstats(x, orders: Iterable[int] | int = 6, *, with_se: bool = True, method: str = "exact"):
    r"""k-statistics :math:`k_n` for several ``orders`` (an int ``K`` means ``1..K``) and their
    standard errors (see :func:`kstat_se` for ``method``), from one pass over the data.

    ``x``: shape ``(..., N)``. Returns ``(values, ses)``, each of shape ``(..., len(orders))`` (numpy
    or torch like ``x``, float64); ``ses`` is ``None`` when ``with_se=False``.
    """
    check_choice("standard-error method", method, SE_METHODS)
    orders = _orders(orders)
    x = validated(x)
    top = max(orders)
    N = check_count(x.shape[-1], top)
    mean, m = central_moments(x, 2 * top if with_se else top)
    if with_se:
        return kstats_from_moments(mean, m, N, orders, method=method)
    return _values(mean, m, N, orders), None


def standardised_cumulant(x, n: int, *, with_se: bool = False):
    r"""The standardised cumulant :math:`k_n/k_2^{n/2}` along the last axis (``n >= 3``); with
    ``with_se=True`` returns ``(value, se)``, the error from the delta method on
    :math:`g=\kappa_n\kappa_2^{-n/2}`:
    :math:`\nabla g=\kappa_2^{-n/2}\nabla\kappa_n-\tfrac n2\kappa_n\kappa_2^{-n/2-1}\nabla\kappa_2`."""
    n = check_order(n)
    if n < 3:
        raise ValueError(f"standardised cumulants are defined here for n >= 3, got {n}")
    x = validated(x)
    N = check_count(x.shape[-1], n)
    _, m = central_moments(x, 2 * n if with_se else n)
    if not with_se:
        return finish(_kstat_from_moments(m, n, N) / _kstat_from_moments(m, 2, N) ** (n / 2))
    value, se = _standardised(m, n, N)
    return finish(value), finish(se)


def cumulant_summary(x, orders: Iterable[int] | int = 6, *, method: str = "exact") -> dict:
    r"""Everything Chapter 1 measures on a sample, from one pass of central moments (up to order
    :math:`\max(2K, 8)`): ``k`` and ``se`` (shape ``(..., len(orders))``, see :func:`kstats`), and
    ``skewness``, ``skewness_se``, ``excess_kurtosis``, ``excess_kurtosis_se`` (shape ``(...)``, see
    :func:`standardised_cumulant`). Same kind as ``x`` (numpy or torch), float64."""
    check_choice("standard-error method", method, SE_METHODS)
    orders = _orders(orders)
    x = validated(x)
    N = check_count(x.shape[-1], max(max(orders), 4))
    mean, m = central_moments(x, summary_moment_order(orders))
    return summary_from_moments(mean, m, N, orders, method=method)


def summary_moment_order(orders) -> int:
    r"""The highest central moment :func:`summary_from_moments` needs for ``orders``: :math:`\max(2K, 8)`."""
    return max(2 * max(_orders(orders)), 8)


def kstats_from_moments(mean, m, N: int, orders: Iterable[int] | int = 6, *, method: str = "exact"):
    r""":func:`kstats` (values and standard errors) from the mean (shape ``(...)``) and the central
    moments ``m`` (shape ``(..., R + 1)`` with :math:`R\ge 2K`) of samples of ``N`` values each:
    ``(values, ses)``, each of shape ``(..., len(orders))``."""
    check_choice("standard-error method", method, SE_METHODS)
    orders = _orders(orders)
    N = check_count(N, max(orders))
    if m.shape[-1] <= 2 * max(orders):
        raise ValueError(f"need central moments up to order {2 * max(orders)}, got {m.shape[-1] - 1}")
    return _values(mean, m, N, orders), stack([_se(m, n, N, method) for n in orders])


def _values(mean, m, N: int, orders):
    """The k-statistics of ``orders`` stacked on a new last axis (order 1 is the mean)."""
    return stack([mean if n == 1 else _kstat_from_moments(m, n, N) for n in orders])


def summary_from_moments(mean, m, N: int, orders: Iterable[int] | int = 6, *, method: str = "exact") -> dict:
    r""":func:`cumulant_summary` from the mean (shape ``(...)``) and central moments ``m`` (shape
    ``(..., R + 1)``, :math:`R\ge` :func:`summary_moment_order`) of samples of ``N`` values each -- e.g.
    pooled from per-lattice power sums (:mod:`.lattice_bootstrap`)."""
    check_choice("standard-error method", method, SE_METHODS)
    orders = _orders(orders)
    N = check_count(N, max(max(orders), 4))
    if m.shape[-1] <= summary_moment_order(orders):
        raise ValueError(f"need central moments up to order {summary_moment_order(orders)}, got {m.shape[-1] - 1}")
    out = dict(zip(("k", "se"), kstats_from_moments(mean, m, N, orders, method=method)))
    for name, n in (("skewness", 3), ("excess_kurtosis", 4)):
        out[name], out[name + "_se"] = _standardised(m, n, N)
    return out


def _standardised(m, n: int, N: int):
    """Value and delta-method error of k_n / k_2^(n/2) from central moments ``m`` (up to 2n)."""
    kn = _kstat_from_moments(m, n, N)
    k2 = _kstat_from_moments(m, 2, N)
    gn = _kstat_gradient(m, n)
    g2 = _kstat_gradient(m, 2)
    a = k2 ** (-n / 2)
    c = -(n / 2) * kn * k2 ** (-n / 2 - 1)
    grad = [a * gn[r] + (c * g2[r] if r < 2 else 0.0) for r in range(n)]
    return kn * a, _delta_se(grad, m, N)


def skewness(x, *, with_se: bool = False):
    r"""Sample skewness :math:`\gamma_1=k_3/k_2^{3/2}` along the last axis (see
    :func:`standardised_cumulant`); under the block map it falls as :math:`b^{-l/2}`."""
    return standardised_cumulant(x, 3, with_se=with_se)


def excess_kurtosis(x, *, with_se: bool = False):
    r"""Sample excess kurtosis :math:`\gamma_2=k_4/k_2^2` along the last axis (see
    :func:`standardised_cumulant`); under the block map it falls as :math:`b^{-l}`."""
    return standardised_cumulant(x, 4, with_se=with_se)
