r"""The central limit theorem as a real-space RG map (Chapter 1).

A lattice :math:`s=(s_1..s_N)` with :math:`N=b^L` sites holds i.i.d. spins from a standardised base law.
One RG step is the block map (eq. 1.1)

.. math:: s'_j = b^{-1/2}\sum_{i\in\text{block }j} s_i ,\qquad j = 1..N/b,

with blocks of ``b`` consecutive sites on the last axis. It maps cumulants as
:math:`\kappa_n' = b^{1-n/2}\kappa_n` (eq. 1.3), so after :math:`l` steps
:math:`\kappa_n(l)=b^{l(1-n/2)}\kappa_n` (eq. 1.4); :math:`L` steps leave one variable.

This module holds the map and its flow (numpy or torch), lattice validation, sampling, the exact
cumulant flow of eq. 1.4 (:func:`exact_cumulant_flow`, the one every chapter compares against) and
the fit of the RG exponents :math:`y_n`. Chapter 1's measurement lives in
:mod:`rgsym.chapters.ch1_clt`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ..validation import as_int
from .laws import get_law


# --------------------------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------------------------
def check_block_size(b) -> int:
    """Validate the block size: an integer ``b >= 2`` (``b = 1`` would be the identity map)."""
    return as_int("block size b", b, lo=2)


def check_lattice(N, b) -> int:
    """Return ``L`` with ``N = b**L``; a clear ValueError when ``b`` is not an integer ``>= 2`` or
    ``N`` is not a power of ``b`` (the message names the nearest valid sizes)."""
    b = check_block_size(b)
    N = as_int("lattice size N", N, lo=1)
    L, M = 0, N
    while M % b == 0:
        M //= b
        L += 1
    if M != 1:
        lo = 0
        while b ** (lo + 1) <= N:
            lo += 1
        raise ValueError(
            f"lattice size N={N} is not a power of b={b}: the block map needs N = b**L, "
            f"e.g. {b**lo} (= {b}**{lo}) or {b**(lo + 1)} (= {b}**{lo + 1})"
        )
    return L


def nearest_steps(size: int, b: int) -> int:
    """The number of steps ``L >= 1`` whose lattice ``b**L`` is closest to ``size`` (in log scale):
    the lattice of Chapter 1's profiles and of its runs at other ``b``."""
    b = check_block_size(b)
    return max(1, round(math.log(size) / math.log(b)))


# --------------------------------------------------------------------------------------------
# the map and its flow
# --------------------------------------------------------------------------------------------
def block_map(s, b):
    r"""One RG step (eq. 1.1) on the last axis: :math:`s'_j=b^{-1/2}\sum_{i=(j-1)b+1}^{jb}s_i`.

    ``s``: numpy array or torch tensor of shape ``(..., N)`` with ``N`` divisible by ``b``.
    Returns the same kind, shape ``(..., N // b)``.
    """
    b = check_block_size(b)
    if not all(hasattr(s, a) for a in ("ndim", "shape", "reshape")):  # a numpy array or a torch tensor
        raise TypeError(f"block_map needs a numpy array or a torch tensor of shape (..., N), got "
                        f"{type(s).__name__}; wrap it with numpy.asarray")
    if s.ndim == 0:
        raise ValueError("block_map needs at least one axis (the lattice, the last one)")
    N = s.shape[-1]
    if N % b:
        raise ValueError(f"block_map: the last axis has {N} sites, not a multiple of b={b}")
    blocks = s.reshape(tuple(s.shape[:-1]) + (N // b, b))
    return blocks.sum(-1) * (1.0 / math.sqrt(b))


def rg_flow(s, b, steps: int | None = None) -> list:
    """The configurations after ``l = 0..steps`` block steps: ``[s, T_b s, T_b^2 s, ...]``.

    ``s``: shape ``(..., N)``. With ``steps=None`` the flow runs to a single site, which needs
    ``N = b**L`` (checked); otherwise ``N`` must be divisible by ``b**steps``.
    """
    b = check_block_size(b)
    N = s.shape[-1]
    if steps is None:
        steps = check_lattice(N, b)
    else:
        steps = as_int("steps", steps, lo=0)
        if N % b**steps:
            raise ValueError(f"{steps} steps of b={b} need N divisible by b**steps = {b**steps}, got N={N}")
    out = [s]
    for _ in range(steps):
        out.append(block_map(out[-1], b))
    return out


def sample_lattice(law, batch: int, N: int, generator, dtype=None):
    """``batch`` independent lattices of ``N`` i.i.d. spins from ``law`` (a name in :data:`LAWS` or a
    law object): shape ``(batch, N)``; numpy for a numpy Generator, torch (on the generator's device)
    for a torch.Generator."""
    law = get_law(law)
    batch = as_int("batch", batch, lo=1)
    N = as_int("lattice size N", N, lo=1)
    return law.sample((batch, N), generator, dtype=dtype)


def exact_cumulant_flow(kappa: Sequence[float], b, steps: int, orders: Sequence[int] | None = None) -> np.ndarray:
    r"""Eq. 1.4: :math:`\kappa_n(l)=b^{l(1-n/2)}\kappa_n` for ``l = 0..steps``.

    ``kappa``: the cumulants at ``l = 0`` for ``orders`` (default ``1..len(kappa)``).
    Returns shape ``(steps + 1, len(kappa))``.
    """
    b = check_block_size(b)
    kappa = np.asarray(kappa, dtype=float)
    orders = np.arange(1, kappa.size + 1) if orders is None else np.asarray(orders, dtype=float)
    if orders.shape != kappa.shape:
        raise ValueError(f"kappa has {kappa.size} entries but orders has {orders.size}")
    steps = as_int("steps", steps, lo=0)
    ell = np.arange(steps + 1)[:, None]
    return kappa[None, :] * float(b) ** (ell * (1 - orders[None, :] / 2))


# --------------------------------------------------------------------------------------------
# fitting the eigenvalues
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class EigenFit:
    r"""Fit of :math:`\log|\kappa_n(l)| = a + l\,y\log b` (so :math:`\lambda=b^y`)."""

    y: float
    y_se: float
    lam: float
    lam_se: float
    intercept: float
    n_points: int
    chi2: float
    dof: int


def fit_points(values, ses, snr_min: float = 3.0) -> np.ndarray:
    r"""The levels :func:`fit_exponent` uses: finite, non-zero and :math:`|k|\ge` ``snr_min`` se
    (a boolean mask shaped like ``values``)."""
    v = np.asarray(values, dtype=float)
    se = np.asarray(ses, dtype=float)
    return np.isfinite(v) & np.isfinite(se) & (np.abs(v) >= snr_min * se) & (v != 0)


def fit_exponent(steps, values, ses, b, *, snr_min: float = 3.0) -> EigenFit:
    r"""Weighted least-squares fit of :math:`\log|k(l)|` against :math:`l` for the RG exponent
    :math:`y` in :math:`\kappa(l)\propto b^{ly}`.

    Only points measured with :math:`|k|\ge` ``snr_min`` standard errors enter (the log of a value
    consistent with zero carries no information); each has the error :math:`\mathrm{se}/|k|` of its
    log. The uncertainty of :math:`y` is scaled by the Birge ratio :math:`\sqrt{\chi^2/\mathrm{dof}}`
    when that exceeds 1. Fewer than two usable points give ``nan``.
    """
    b = check_block_size(b)
    ell = np.asarray(steps, dtype=float)
    v = np.asarray(values, dtype=float)
    se = np.asarray(ses, dtype=float)
    if not (ell.shape == v.shape == se.shape) or ell.ndim != 1:
        raise ValueError("steps, values and ses must be 1-d and of equal length")
    ok = fit_points(v, se, snr_min)
    n = int(ok.sum())
    if n < 2:
        return EigenFit(math.nan, math.nan, math.nan, math.nan, math.nan, n, math.nan, 0)
    x = ell[ok] * math.log(b)
    yv, w = log_points(v[ok], se[ok])
    coef, cov, chi2 = weighted_line_fit(x, yv, w)
    chi2 = float(chi2)
    dof = n - 2
    if dof > 0 and chi2 / dof > 1:
        cov = cov * (chi2 / dof)
    y, y_se = float(coef[1]), float(math.sqrt(cov[1, 1]))
    lam = float(b) ** y
    return EigenFit(y, y_se, lam, lam * math.log(b) * y_se, float(coef[0]), n, chi2, dof)


def log_points(values, ses):
    r"""The points of a fit of :math:`\log|k|`: ``(log|k|, weights)``, the weight
    :math:`1/\max(\mathrm{se}/|k|,10^{-12})^2` the inverse variance of the log (any shape)."""
    v = np.abs(values)
    yv = np.log(v)
    sig = np.maximum(ses / v, 1e-12)
    return yv, 1.0 / sig**2


def weighted_line_fit(x, yv, w):
    r"""Weighted least squares of ``yv`` :math:`=a+y\,x`: ``x`` shape ``(n,)``; ``yv`` and the weights
    ``w`` shape ``(..., n)``, one fit per leading index. Returns ``(coef, cov, chi2)`` of shapes
    ``(..., 2)`` (``[a, y]``), ``(..., 2, 2)`` (the inverse of the normal matrix) and ``(...)``: the
    algebra of :func:`fit_exponent` (design matrix, normal matrix, its inverse), fit by fit -- a stacked
    matrix product may round differently, so every replicate is exactly the fit of its resample. A fit
    whose normal matrix is singular gives nans."""
    x = np.asarray(x, dtype=float)
    yv = np.asarray(yv, dtype=float)
    w = np.asarray(w, dtype=float)
    X = np.stack([np.ones_like(x), x], axis=1)
    lead = yv.shape[:-1]
    coef = np.full(lead + (2,), math.nan)
    cov = np.full(lead + (2, 2), math.nan)
    chi2 = np.full(lead, math.nan)
    for i in np.ndindex(lead):
        wi, yi = w[i], yv[i]
        try:
            c = np.linalg.inv(X.T @ (wi[:, None] * X))
        except np.linalg.LinAlgError:
            continue
        k = c @ (X.T @ (wi * yi))
        cov[i], coef[i], chi2[i] = c, k, np.sum(wi * (yi - X @ k) ** 2)
    return coef, cov, chi2
