r"""Multivariate polynomials in the ``b`` centred block inputs :math:`\delta = s - \kappa_1` (Chapter 3).

The ``exact`` and ``hermite`` methods (eqs. 3.4, 3.6, ``eq-c3-leonov``, ``eq-c3-hermite``) write every unit of
a network as a polynomial in the :math:`b` inputs of its block. A polynomial of total degree :math:`\le D` in
:math:`b` variables is a vector of coefficients over the monomials :math:`\delta^\alpha`,
:math:`|\alpha|\le D`, in *graded* order (all of degree 0, then degree 1, ...): the basis of degree :math:`D`
is a prefix of the basis of every higher degree, so polynomials of different degree share indices. Here: the
basis (:func:`monomial_basis`), products (:func:`poly_mul`), expectations from the raw input moments
(:func:`poly_expect`) and the least-squares projection onto a lower degree under the input law
(:func:`project_degree`, a degree cap on the ``hermite`` route of eq. 3.6, ``eq-c3-hermite``).
"""
from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import torch

DTYPE = torch.float64
"""The dtype of all cumulant propagation (float64 throughout)."""


def n_monomials(b: int, degree: int) -> int:
    """Number of monomials of total degree ``<= degree`` in ``b`` variables, :math:`\\binom{D+b}{b}`."""
    return math.comb(degree + b, b)


def _compositions(d: int, b: int):
    if b == 1:
        yield (d,)
        return
    for first in range(d, -1, -1):
        for rest in _compositions(d - first, b - 1):
            yield (first,) + rest


@lru_cache(maxsize=None)
def monomial_basis(b: int, degree: int) -> np.ndarray:
    """Exponents :math:`\\alpha` of the monomials of total degree ``<= degree``: ``(n_monomials, b)``,
    graded order (degree 0 first; within a degree, lexicographically descending)."""
    rows = [c for d in range(degree + 1) for c in _compositions(d, b)]
    return np.asarray(rows, dtype=np.int64).reshape(-1, b)


@lru_cache(maxsize=None)
def _sum_lookup(b: int, d1: int, d2: int, dout: int) -> np.ndarray:
    r"""``(n_monomials(b, d1), n_monomials(b, d2))``: the index of :math:`\alpha+\beta` in the degree-``dout``
    basis, -1 where :math:`|\alpha+\beta| >` ``dout`` (shared by :func:`_mul_table` and :func:`_sum_index`)."""
    B1, B2, Bo = monomial_basis(b, d1), monomial_basis(b, d2), monomial_basis(b, dout)
    weights = (dout + 1) ** np.arange(b, dtype=np.int64)
    key_out = Bo @ weights
    order = np.argsort(key_out)
    sums = B1[:, None, :] + B2[None, :, :]
    ok = sums.sum(-1) <= dout
    out = np.full(ok.shape, -1, dtype=np.int64)
    out[ok] = order[np.searchsorted(key_out[order], sums[ok] @ weights)]
    return out


@lru_cache(maxsize=None)
def _mul_table(b: int, d1: int, d2: int, dmax: int):
    r"""Index triples ``(ia, ib, ic)`` with :math:`\alpha_{ia}+\alpha_{ib}=\alpha_{ic}`, total degree <= dmax."""
    dout = min(d1 + d2, dmax)
    idx = _sum_lookup(b, d1, d2, dout)
    ia, ib = np.nonzero(idx >= 0)
    return torch.from_numpy(ia), torch.from_numpy(ib), torch.from_numpy(idx[ia, ib]), dout


def poly_mul(a: torch.Tensor, da: int, c: torch.Tensor, dc: int, b: int, dmax: int | None = None):
    """Product of polynomials ``a`` ``(..., n_monomials(b, da))`` and ``c`` ``(..., n_monomials(b, dc))``
    (leading axes broadcast), truncated at total degree ``dmax``. Returns ``(coeffs, degree)``.

    Exact sums of products (no FFT), so vanishing coefficients stay exactly zero."""
    dmax = da + dc if dmax is None else dmax
    ia, ib, ic, dout = _mul_table(b, da, dc, dmax)
    dev = a.device
    ia, ib, ic = ia.to(dev), ib.to(dev), ic.to(dev)
    src = torch.index_select(a, -1, ia) * torch.index_select(c, -1, ib)
    out = torch.zeros(src.shape[:-1] + (n_monomials(b, dout),), dtype=src.dtype, device=dev)
    return out.index_add(-1, ic, src), dout


def _take(x: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """``x[..., idx]`` for an integer index array of any shape (``index_select``: far faster than
    advanced indexing on small tensors)."""
    return torch.index_select(x, -1, idx.reshape(-1)).reshape(x.shape[:-1] + idx.shape)


def poly_expect(p: torch.Tensor, degree: int, moments: torch.Tensor) -> torch.Tensor:
    """:math:`E[p(\\delta)]` from the raw joint moments ``moments`` ``(..., n >= n_monomials(b, degree))``."""
    n = p.shape[-1]
    return (p * moments[..., :n]).sum(-1)


def _poly_pow_list(p, degree, b, kmax):
    """``[p^1, ..., p^kmax]`` with their degrees."""
    out = [(p, degree)]
    for _ in range(kmax - 1):
        q, dq = out[-1]
        out.append(poly_mul(q, dq, p, degree, b))
    return out


def _padd(p, q):
    """Sum of two polynomials of possibly different degree (graded bases share their prefix)."""
    if p.shape[-1] < q.shape[-1]:
        p, q = q, p
    out = p.clone()
    out[..., : q.shape[-1]] = out[..., : q.shape[-1]] + q
    return out


@lru_cache(maxsize=None)
def _sum_index(b: int, d1: int, d2: int) -> torch.Tensor:
    r"""``(n_monomials(b, d1), n_monomials(b, d2))`` indices of :math:`\alpha+\beta` in the degree-``d1+d2`` basis."""
    return torch.from_numpy(_sum_lookup(b, d1, d2, d1 + d2).copy())


def project_degree(y: torch.Tensor, dy: int, P: int, b: int, moments: torch.Tensor, rcond: float = 1e-12):
    r"""Least-squares projection of polynomials ``y`` ``(E, U, n_monomials(b, dy))`` onto total degree
    ``<= P`` under the input law (the degree cap of the ``hermite`` route, eq. 3.6,
    ``eq-c3-hermite``): :math:`\hat y = \arg\min_{\deg q\le P} E[(y-q)^2]`,
    from the normal equations :math:`G\hat y = r`, :math:`G_{\alpha\beta}=E[\delta^{\alpha+\beta}]`,
    :math:`r_\alpha = E[\delta^\alpha y]`, solved by a diagonally scaled pseudo-inverse (degenerate
    laws such as :math:`\pm1` spins have singular :math:`G`). ``moments`` ``(E', >= n_monomials(b, P + dy))``."""
    G = _take(moments, _sum_index(b, P, P).to(moments.device))  # (E', nP, nP)
    M = _take(moments, _sum_index(b, P, dy).to(moments.device))  # (E', nP, ny)
    r = torch.einsum("eun,ean->eua", y, M.expand(y.shape[0], -1, -1))
    d = torch.diagonal(G, dim1=-2, dim2=-1).clamp_min(1e-300).rsqrt()
    Gs = G * d.unsqueeze(-1) * d.unsqueeze(-2)
    evals, evecs = torch.linalg.eigh(Gs)
    keep = evals > rcond * evals.amax(-1, keepdim=True)
    inv = torch.where(keep, 1.0 / torch.where(keep, evals, torch.ones_like(evals)), torch.zeros_like(evals))
    Gp = (evecs * inv.unsqueeze(-2)) @ evecs.transpose(-1, -2)
    Gp = Gp * d.unsqueeze(-1) * d.unsqueeze(-2)  # (E', nP, nP)
    return torch.einsum("eab,eub->eua", Gp.expand(y.shape[0], -1, -1), r)
