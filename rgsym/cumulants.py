r"""Cumulants: exact moment <-> cumulant conversion, unbiased k-statistics and their standard errors.

Notation (Chapter 1). For a sample :math:`x_1..x_N` the power sums are :math:`S_r=\sum_i x_i^r` and
the central sample moments :math:`m_r=\frac1N\sum_i(x_i-\bar x)^r`.

* **Moments <-> cumulants** use the recursion
  :math:`\kappa_n = \mu'_n - \sum_{m=1}^{n-1}\binom{n-1}{m-1}\kappa_m\,\mu'_{n-m}` (raw moments
  :math:`\mu'`), exact on :class:`fractions.Fraction` and elementwise on arrays.
* **k-statistics** :math:`k_n` are the unique symmetric polynomials in the sample whose expectation
  is :math:`\kappa_n` for every law. They are *derived*, not typed in: writing
  :math:`\kappa_n=\sum_{\pi}(-1)^{|\pi|-1}(|\pi|-1)!\prod_{B\in\pi}\mu'_{|B|}` over set partitions
  :math:`\pi` of :math:`\{1..n\}` (eq. K1), each product of moments has the unbiased estimator
  :math:`A_\lambda/(N)_\ell` with :math:`A_\lambda=\sum_{i_1\ne\dots\ne i_\ell}\prod_j x_{i_j}^{\lambda_j}`
  (eq. K2), and :math:`A_\lambda` is reduced to power sums by
  :math:`A_{(a,\lambda)} = S_a A_\lambda - \sum_j A_{\lambda+a e_j}` (eq. K3). The result is
  a polynomial in :math:`S_1..S_n` with coefficients rational in :math:`N`, built once per order and
  cached. Numerically the data are centred first (k-statistics are shift invariant for
  :math:`n\ge2`), so every term with :math:`S_1` drops out and the rest are evaluated on
  :math:`m_r`, which keeps float64 accurate.
* **Exact variance.** Squaring :math:`k_n`, expanding products of power sums back into
  :math:`A_\nu` (eq. K6, the inverse of K3) and using :math:`E[A_\nu]=(N)_{\ell}\prod_j\mu'_{\nu_j}`
  gives :math:`\mathrm{Var}\,k_n` exactly, as a polynomial in the central moments
  :math:`\mu_2..\mu_{2n}` with coefficients rational in :math:`N` (eq. K7).
* **Standard errors** evaluate eq. K7 at the sample moments (default), or its leading
  :math:`O(1/N)` term, the influence-function (delta-method) variance
  :math:`\mathrm{se}^2=\frac1N\sum_{r,s}g_rg_s\,(m_{r+s}-m_rm_s)` with
  :math:`g_r=\partial\kappa_n/\partial\mu'_r` (eqs. K4-K5), which also gives the errors of
  ratios such as the skewness :math:`k_3/k_2^{3/2}`.

Every array function takes numpy arrays or torch tensors (any leading shape; the sample runs along
the last axis) and returns the same kind, computed in float64 (torch: on the input's device).
"""
from __future__ import annotations

import math
import sys
from fractions import Fraction
from functools import lru_cache
from typing import Iterable, Sequence

import numpy as np

KSTAT_MAX_ORDER = 8
"""Highest order of :func:`kstat` (the derivation is general; float64 accuracy sets the limit)."""


# --------------------------------------------------------------------------------------------
# moments <-> cumulants
# --------------------------------------------------------------------------------------------
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


# --------------------------------------------------------------------------------------------
# combinatorics: partitions and the k-statistic formulas (derived once, cached)
# --------------------------------------------------------------------------------------------
def integer_partitions(n: int, largest: int | None = None):
    """Yield the partitions of ``n`` as non-increasing tuples, e.g. ``(2, 1, 1)`` for 2+1+1."""
    largest = n if largest is None else largest
    if n == 0:
        yield ()
        return
    for first in range(min(n, largest), 0, -1):
        for rest in integer_partitions(n - first, first):
            yield (first,) + rest


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


def falling_factorial(N: int, ell: int) -> int:
    """:math:`(N)_\\ell = N(N-1)\\cdots(N-\\ell+1)`."""
    out = 1
    for i in range(ell):
        out *= N - i
    return out


def kstat_from_power_sums(S: Sequence, n: int, N: int):
    r"""Exact :math:`k_n` from power sums ``S[r]`` (``S[0]`` is ignored, ``S[r]`` for ``r = 1..n``)
    of ``N`` values; works on Fractions (exact) or floats. The full formula, :math:`S_1` included."""
    n = _check_order(n, max_order=None)
    N = _check_count(N, n)
    total = 0
    for mono, inner in kstat_power_sum_terms(n).items():
        coef = sum(Fraction(c, falling_factorial(N, l)) for l, c in inner.items())
        prod = 1
        for r in mono:
            prod = prod * S[r]
        total = total + coef * prod
    return total


@lru_cache(maxsize=256)
def _central_terms(n: int, N: int) -> tuple[tuple[tuple[int, ...], float], ...]:
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
def _gradient_terms(n: int) -> tuple[tuple[tuple[int, ...], ...], ...]:
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
    n = _check_order(n, max_order=None)
    N = _check_count(N, n)
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
def _variance_float_terms(n: int, N: int) -> tuple[tuple[tuple[int, ...], float], ...]:
    return tuple((nu, float(c)) for nu, c in kstat_variance_terms(n, N))


# --------------------------------------------------------------------------------------------
# array helpers (numpy or torch)
# --------------------------------------------------------------------------------------------
def _is_torch(x) -> bool:
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(x, torch.Tensor)


def _check_order(n, max_order: int | None = KSTAT_MAX_ORDER) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise ValueError(f"cumulant order n must be an integer, got {n!r}")
    n = int(n)
    if n < 1 or (max_order is not None and n > max_order):
        top = "" if max_order is None else f"..{max_order}"
        raise ValueError(f"cumulant order n must be in 1{top}, got {n}")
    return n


def _check_count(N, n: int) -> int:
    N = int(N)
    if N < n:
        raise ValueError(f"the order-{n} k-statistic needs at least {n} values along the last axis, got {N}")
    return N


def _validated(x):
    """Validate ``x`` (real, at least one axis); numpy input becomes an array (not yet converted:
    :func:`central_moments` converts block by block)."""
    if _is_torch(x):
        if x.is_complex():
            raise TypeError("k-statistics need real data, got a complex tensor")
    else:
        x = np.asarray(x)
        if np.iscomplexobj(x) or not (np.issubdtype(x.dtype, np.number) or x.dtype == bool):
            raise TypeError(f"k-statistics need real numeric data, got dtype {x.dtype}")
    if x.ndim == 0:
        raise ValueError("k-statistics need at least one axis (the sample axis, the last one)")
    return x


_CHUNK = 1 << 16
"""Elements per block in the numpy accumulation (cache-sized blocks; one pass over memory)."""


def central_moments(x, rmax: int):
    r"""Mean :math:`\bar x` and central sample moments :math:`m_r=\frac1N\sum_i(x_i-\bar x)^r`.

    ``x``: shape ``(..., N)`` (numpy or torch). Returns ``(mean, m)`` with ``mean`` of shape ``(...)``
    and ``m`` of shape ``(..., rmax + 1)`` (``m[..., 0] = 1``, ``m[..., 1] = 0``), float64, same kind as
    ``x``. Two passes: the mean, then all power sums of :math:`d_i=x_i-\bar x` together; the
    rounding left in :math:`\sum_i d_i` is removed exactly by the binomial shift
    :math:`\sum(d-c)^r=\sum_j\binom rj(-c)^{r-j}\sum d^j`. CPU tensors are computed through numpy
    (zero-copy) in cache-sized blocks; CUDA tensors stay on their device.
    """
    rmax = int(rmax)
    x = _validated(x)
    if _is_torch(x):
        import torch

        if x.device.type == "cpu":
            if x.dtype == torch.bfloat16:  # numpy has no bfloat16
                x = x.to(torch.float32)
            mean, m = _central_moments_numpy(x.detach().numpy(), rmax)
            return torch.from_numpy(mean), torch.from_numpy(m)
        return _central_moments_torch(x.detach().to(torch.float64), rmax)
    return _central_moments_numpy(x, rmax)


def _shift_sums(S, N: int, rmax: int):
    """Power sums of d about the refined mean (c = S_1 / N): binomial shift, then divide by N."""
    c = S[..., 1] / N
    m = [S[..., 0] / N, S[..., 0] * 0.0]
    for r in range(2, rmax + 1):
        total = S[..., r] * 1.0
        for j in range(0, r):
            total = total + math.comb(r, j) * (-c) ** (r - j) * S[..., j]
        m.append(total / N)
    return m


def _central_moments_numpy(x: np.ndarray, rmax: int):
    N = x.shape[-1]
    if N < 1:
        raise ValueError("need at least one value along the last axis")
    mean = x.mean(-1, dtype=np.float64, keepdims=True)
    lead = x.shape[:-1]
    S = np.zeros(lead + (max(rmax, 1) + 1,))
    S[..., 0] = N
    width = max(1, _CHUNK // max(1, math.prod(lead)))
    for start in range(0, N, width):
        d = x[..., start:start + width].astype(np.float64) - mean
        S[..., 1] += d.sum(-1)
        if rmax >= 2:
            p = d * d
            S[..., 2] += p.sum(-1)
            for r in range(3, rmax + 1):
                p *= d
                S[..., r] += p.sum(-1)
    m = _shift_sums(S, N, rmax)
    mean = np.asarray(mean[..., 0] + S[..., 1] / N)
    return mean, np.stack(m[: rmax + 1], axis=-1)


def _central_moments_torch(x, rmax: int):
    import torch

    N = x.shape[-1]
    if N < 1:
        raise ValueError("need at least one value along the last axis")
    mean = x.mean(-1, keepdim=True)
    d = x - mean
    cols = [torch.full_like(mean[..., 0], float(N)), d.sum(-1)]
    if rmax >= 2:
        p = d * d
        cols.append(p.sum(-1))
        for _ in range(3, rmax + 1):
            p *= d
            cols.append(p.sum(-1))
    S = torch.stack(cols, -1)
    m = _shift_sums(S, N, rmax)
    return mean[..., 0] + S[..., 1] / N, torch.stack(m[: rmax + 1], -1)


def _stack(cols):
    """Stack same-shaped arrays/tensors on a new last axis."""
    if _is_torch(cols[0]):
        import torch

        return torch.stack(cols, -1)
    return np.stack(cols, axis=-1)


def _prod_moments(m, mono, ones):
    out = ones
    for r in mono:
        out = out * m[..., r]
    return out


def _kstat_from_moments(m, n: int, N: int):
    """k_n (n >= 2) from central moments ``m`` (shape (..., >n))."""
    ones = m[..., 0]
    total = ones * 0.0
    for mono, coef in _central_terms(n, N):
        total = total + coef * _prod_moments(m, mono, ones)
    return total


def _kstat_gradient(m, n: int):
    """The influence-function coefficients g_r, r = 1..n (eq. K4), stacked on the last axis."""
    ones = m[..., 0]
    cols = []
    for terms in _gradient_terms(n):
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
    if _is_torch(var):
        return var.clamp(min=0.0).sqrt()
    return np.sqrt(np.maximum(var, 0.0))


def _plugin_se(m, n: int, N: int):
    """Eq. K7 evaluated at the sample central moments ``m`` (plug-in), square-rooted."""
    ones = m[..., 0]
    var = ones * 0.0
    for nu, coef in _variance_float_terms(n, N):
        var = var + coef * _prod_moments(m, nu, ones)
    if _is_torch(var):
        return var.clamp(min=0.0).sqrt()
    return np.sqrt(np.maximum(var, 0.0))


SE_METHODS = ("exact", "delta")
"""How :func:`kstat_se` estimates the error: the exact variance (eq. K7) at the sample moments, or
its leading :math:`O(1/N)` term, the delta method (eqs. K4-K5)."""


def _se(m, n: int, N: int, method: str):
    if method == "exact":
        return _plugin_se(m, n, N)
    return _delta_se(_kstat_gradient(m, n), m, N)


def _finish(out):
    """numpy 0-d arrays become numpy scalars (like scipy); tensors stay tensors."""
    if not _is_torch(out) and isinstance(out, np.ndarray) and out.ndim == 0:
        return out[()]
    return out


def _orders(orders) -> tuple[int, ...]:
    if isinstance(orders, (int, np.integer)) and not isinstance(orders, bool):
        orders = range(1, int(orders) + 1)
    orders = tuple(_check_order(n) for n in orders)
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
    n = _check_order(n)
    x = _validated(x)
    N = _check_count(x.shape[-1], n)
    mean, m = central_moments(x, n)
    if n == 1:
        return _finish(mean)
    return _finish(_kstat_from_moments(m, n, N))


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
    from .config import check_choice

    check_choice("standard-error method", method, SE_METHODS)
    n = _check_order(n)
    x = _validated(x)
    N = _check_count(x.shape[-1], n)
    _, m = central_moments(x, 2 * n)
    return _finish(_se(m, n, N, method))


def kstats(x, orders: Iterable[int] | int = 6, *, with_se: bool = True, method: str = "exact"):
    r"""k-statistics :math:`k_n` for several ``orders`` (an int ``K`` means ``1..K``) and their
    standard errors (see :func:`kstat_se` for ``method``), from one pass over the data.

    ``x``: shape ``(..., N)``. Returns ``(values, ses)``, each of shape ``(..., len(orders))`` (numpy
    or torch like ``x``, float64); ``ses`` is ``None`` when ``with_se=False``.
    """
    from .config import check_choice

    check_choice("standard-error method", method, SE_METHODS)
    orders = _orders(orders)
    x = _validated(x)
    top = max(orders)
    N = _check_count(x.shape[-1], top)
    mean, m = central_moments(x, 2 * top if with_se else top)
    values = _stack([mean if n == 1 else _kstat_from_moments(m, n, N) for n in orders])
    if not with_se:
        return values, None
    return values, _stack([_se(m, n, N, method) for n in orders])


def standardised_cumulant(x, n: int, *, with_se: bool = False):
    r"""The standardised cumulant :math:`k_n/k_2^{n/2}` along the last axis (``n >= 3``); with
    ``with_se=True`` returns ``(value, se)``, the error from the delta method on
    :math:`g=\kappa_n\kappa_2^{-n/2}`:
    :math:`\nabla g=\kappa_2^{-n/2}\nabla\kappa_n-\tfrac n2\kappa_n\kappa_2^{-n/2-1}\nabla\kappa_2`."""
    n = _check_order(n)
    if n < 3:
        raise ValueError(f"standardised cumulants are defined here for n >= 3, got {n}")
    x = _validated(x)
    N = _check_count(x.shape[-1], n)
    _, m = central_moments(x, 2 * n if with_se else n)
    if not with_se:
        return _finish(_kstat_from_moments(m, n, N) / _kstat_from_moments(m, 2, N) ** (n / 2))
    value, se = _standardised(m, n, N)
    return _finish(value), _finish(se)


def cumulant_summary(x, orders: Iterable[int] | int = 6, *, method: str = "exact") -> dict:
    r"""Everything Chapter 1 measures on a sample, from one pass of central moments (up to order
    :math:`\max(2K, 8)`): ``k`` and ``se`` (shape ``(..., len(orders))``, see :func:`kstats`), and
    ``skewness``, ``skewness_se``, ``excess_kurtosis``, ``excess_kurtosis_se`` (shape ``(...)``, see
    :func:`standardised_cumulant`). Same kind as ``x`` (numpy or torch), float64."""
    from .config import check_choice

    check_choice("standard-error method", method, SE_METHODS)
    orders = _orders(orders)
    x = _validated(x)
    N = _check_count(x.shape[-1], max(max(orders), 4))
    mean, m = central_moments(x, max(2 * max(orders), 8))
    out = {
        "k": _stack([mean if n == 1 else _kstat_from_moments(m, n, N) for n in orders]),
        "se": _stack([_se(m, n, N, method) for n in orders]),
    }
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
