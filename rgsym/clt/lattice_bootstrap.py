r"""A bootstrap over whole lattices of what a flow measures at every RG level (Chapter 1).

A flow on :math:`n` independent lattices pools, at level :math:`l`, the :math:`N_l=n\,b^{L-l}` block
variables of all lattices. Every level is built from the *same* lattices, so the levels' k-statistics
are correlated, and a fit across levels that treats them as independent misstates its error. The
independent units are the lattices: a resample draws lattice indices :math:`i_1..i_n` with replacement,
i.e. counts :math:`w_i` with :math:`\sum_iw_i=n`, and keeps them for *every* level. With the per-lattice
power sums about a centre :math:`c_l` (one per level),

.. math:: P_{i,l,r}=\sum_{j\in\text{lattice }i}\big(s^{(l)}_j-c_l\big)^r,\qquad
          S_{l,r}=\sum_i w_i P_{i,l,r},

a resample's power sums are one matrix product, and its central moments follow by the binomial shift
to the resample's own mean (:func:`~.sample_moments.moments_from_sums`): every level's k-statistics and standard
errors of every resample come out vectorised (:func:`resampled_kstats`), and the fit of the exponent
is repeated on each (:func:`exponent_replicates`, the same weighted least squares as
:func:`~.blockmap.fit_exponent` on the same points).
"""
from __future__ import annotations

import math

import numpy as np

from ..validation import as_int
from .blockmap import check_block_size, log_points, weighted_line_fit
from .estimators import kstats_from_moments
from .sample_moments import is_torch, moments_from_sums, power_sums  # noqa: F401 (moments_from_sums: re-exported)

BOOT_CHUNK_ELEMENTS = 1 << 22
"""Counts per matrix product in :func:`resampled_kstats` (32 MiB in float64): a chunk holds
``max(16, BOOT_CHUNK_ELEMENTS // n_units)`` resamples."""


def lattice_power_sums(s, rmax: int, centre: float = 0.0) -> np.ndarray:
    r"""Per-lattice power sums :math:`P_{i,r}=\sum_j(s_{ij}-c)^r`, ``r = 0..rmax``.

    ``s``: shape ``(n_lattices, M)`` (numpy or torch: the block variables of each lattice at one
    level); ``centre``: :math:`c`, e.g. the pooled mean of the level (keeps high powers accurate).
    Returns a float64 numpy array of shape ``(n_lattices, rmax + 1)`` (column 0 is ``M``).
    """
    rmax = as_int("rmax", rmax, lo=1)
    if s.ndim != 2:
        raise ValueError(f"lattice_power_sums needs shape (n_lattices, M), got {tuple(s.shape)}")
    P = power_sums(s, rmax, float(centre), blocks="rows")
    return P.cpu().numpy() if is_torch(P) else P


def unit_group(n_lattices: int, max_units: int) -> int:
    """The number ``g`` of consecutive lattices per resampling unit: the smallest divisor of
    ``n_lattices`` that leaves at most ``max_units`` units; ``1`` (every lattice its own unit) when
    ``n_lattices <= max_units`` or when no divisor leaves at least ``max_units // 16`` units (a prime
    count, say). Fixed groups of whole i.i.d. lattices are again i.i.d. units, and equal groups keep
    every resample's size equal."""
    n = as_int("n_lattices", n_lattices, lo=1)
    max_units = as_int("max_units", max_units, lo=1)
    g = -(-n // max_units)  # ceil: the fewest lattices per unit that can do
    while n % g:
        g += 1
    return g if n // g >= max(1, max_units // 16) else 1


def group_sums(P: np.ndarray, g: int) -> np.ndarray:
    """Per-unit power sums: ``P`` (shape ``(n_lattices, ...)``) summed over consecutive groups of ``g``
    lattices, shape ``(n_lattices // g, ...)``."""
    P = np.asarray(P, dtype=np.float64)
    g = as_int("g", g, lo=1)
    if P.shape[0] % g:
        raise ValueError(f"{P.shape[0]} lattices do not split into groups of {g}")
    return P.reshape((P.shape[0] // g, g) + P.shape[1:]).sum(1)


def resample_counts(n_units: int, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """Counts of ``n_boot`` resamples with replacement of ``n_units`` independent units: shape
    ``(n_boot, n_units)``, float64, each row summing to ``n_units`` (the same draws as picking
    ``n_units`` indices uniformly, as :func:`rgsym.verdicts.bootstrap` does)."""
    n_units = as_int("n_units", n_units, lo=1)
    n_boot = as_int("n_boot", n_boot, lo=1)
    idx = rng.integers(0, n_units, size=(n_boot, n_units))
    idx += np.arange(n_boot)[:, None] * n_units
    return np.bincount(idx.ravel(), minlength=n_boot * n_units).reshape(n_boot, n_units).astype(np.float64)


def resampled_kstats(P: np.ndarray, centres, orders, n_boot: int, rng: np.random.Generator, *,
                     method: str = "exact"):
    r"""k-statistics and standard errors of every level for ``n_boot`` resamples of whole lattices.

    ``P``: power sums of every level per independent unit (a lattice, or a fixed group of lattices:
    :func:`group_sums`), shape ``(n_units, n_levels, R + 1)`` with :math:`R\ge2\max n`
    (:func:`lattice_power_sums` about ``centres[l]``); one set of counts (:func:`resample_counts`)
    serves all levels, so their correlation is kept. Returns ``(k, se)``,
    each of shape ``(n_boot, n_levels, len(orders))``.
    """
    P = np.asarray(P, dtype=np.float64)
    if P.ndim != 3:
        raise ValueError(f"P must have shape (n_lattices, n_levels, R + 1), got {P.shape}")
    n, levels, width = P.shape
    centres = np.broadcast_to(np.asarray(centres, dtype=np.float64), (levels,))
    orders = tuple(orders)
    n_boot = as_int("n_boot", n_boot, lo=1)
    sizes = P[:, :, 0].sum(0)
    flat = P.reshape(n, levels * width)
    k = np.empty((n_boot, levels, len(orders)))
    se = np.empty_like(k)
    chunk = max(16, BOOT_CHUNK_ELEMENTS // n)
    for start in range(0, n_boot, chunk):
        stop = min(n_boot, start + chunk)
        S = (resample_counts(n, stop - start, rng) @ flat).reshape(stop - start, levels, width)
        for l in range(levels):
            mean, m = moments_from_sums(S[:, l], centres[l])
            k[start:stop, l], se[start:stop, l] = kstats_from_moments(mean, m, int(round(sizes[l])), orders,
                                                                      method=method)
    return k, se


def exponent_replicates(steps, k_rep, se_rep, b, points) -> np.ndarray:
    r"""The RG exponent :math:`y` fitted on every resample: the weighted least squares of
    :func:`~.blockmap.fit_exponent` (:math:`\log|k|` against :math:`l\log b`, weights
    :math:`(|k|/\mathrm{se})^2` from the resample's own errors; the same algebra,
    :func:`~.blockmap.weighted_line_fit`) on the fixed set of levels ``points``
    (a boolean mask of shape ``(n_levels,)``, the levels the measured fit used).

    ``k_rep``, ``se_rep``: shape ``(n_boot, n_levels)``. Returns shape ``(n_boot,)`` (nan where fewer
    than two points are used).
    """
    b = check_block_size(b)
    points = np.asarray(points, dtype=bool)
    k_rep = np.asarray(k_rep, dtype=float)
    se_rep = np.asarray(se_rep, dtype=float)
    if k_rep.shape != se_rep.shape or k_rep.ndim != 2 or k_rep.shape[1] != points.size:
        raise ValueError("k_rep and se_rep must have shape (n_boot, n_levels) with n_levels = points.size")
    if points.sum() < 2:
        return np.full(k_rep.shape[0], math.nan)
    x = np.asarray(steps, dtype=float)[points] * math.log(b)
    with np.errstate(divide="ignore", invalid="ignore"):
        yv, w = log_points(k_rep[:, points], se_rep[:, points])
        return weighted_line_fit(x, yv, w)[0][:, 1]


def bootstrap_se(replicates, axis: int = 0):
    """The bootstrap standard error: the standard deviation (ddof 1) of the finite replicates."""
    r = np.asarray(replicates, dtype=float)
    ok = np.isfinite(r)
    count = ok.sum(axis)
    mean = np.where(ok, r, 0.0).sum(axis) / np.maximum(count, 1)
    dev = np.where(ok, r - np.expand_dims(mean, axis), 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 1, np.sqrt((dev**2).sum(axis) / (count - 1)), np.nan)
