r"""Hermite expansions of an activation around a Gaussian: the ``gaussian`` (eq. 3.5, ``eq-c3-mehler``)
and ``hermite`` (eq. 3.6, ``eq-c3-hermite``) methods of :func:`rgsym.propagation.propagate`.

For a unit with pre-activation mean :math:`\mu` and standard deviation :math:`\sigma`,
:math:`\phi(\mu+\sigma x) = \sum_k a_k{\rm He}_k(x)` with :math:`a_k = E[\phi\,{\rm He}_k]/k!`,
:math:`x\sim N(0,1)` (:func:`hermite_coefficients`, by Gauss-Hermite quadrature).

* ``"gaussian"`` (Fischer et al.'s second-order truncation, eq. 3.5, ``eq-c3-mehler``): only mean and
  covariance are carried; :math:`{\rm Cov}(\phi(z_i),\phi(z_j)) = \sum_{k\ge1} k!\,a_k^{(i)}a_k^{(j)}\rho_{ij}^k`
  (Mehler's formula, :func:`gaussian_activation`), with the truncation bound
  :math:`|\rho_{ij}|^{K+1}\sqrt{R_iR_j}`.
* ``"hermite"`` (eq. 3.6, ``eq-c3-hermite``): every unit's activation is replaced by its degree-:math:`K`
  expansion around the exact mean and standard deviation of its pre-activation, written as a polynomial in the block
  inputs (:func:`_hermite_poly`), and the network is then propagated exactly.
"""
from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import torch

from .inputs import InputCumulants
from ..nets.activations import poly_coefficients
from .networks import Network
from .polynomials import DTYPE, _padd, poly_expect, poly_mul

GH_NODES = 96
"""Gauss-Hermite nodes used for the one-dimensional Gaussian expectations of an activation."""


@lru_cache(maxsize=None)
def _gauss_hermite(n: int):
    x, w = np.polynomial.hermite_e.hermegauss(n)
    return torch.from_numpy(x), torch.from_numpy(w / w.sum())


@lru_cache(maxsize=None)
def _hermite_values(n: int, K: int):
    """``He_k(x_q)`` at the Gauss-Hermite nodes, ``(K+1, n)``."""
    x, _ = _gauss_hermite(n)
    H = [torch.ones_like(x), x.clone()]
    for k in range(1, K):
        H.append(x * H[k] - k * H[k - 1])
    return torch.stack(H[: K + 1])


def hermite_coefficients(activation, mean: torch.Tensor, std: torch.Tensor, order: int, nodes: int = GH_NODES):
    r"""Hermite coefficients of :math:`x\mapsto\phi(\mu + \sigma x)` under :math:`x\sim N(0,1)`:
    :math:`\phi(\mu+\sigma x) = \sum_k a_k{\rm He}_k(x)`, :math:`a_k = E[\phi\,{\rm He}_k]/k!` (eq. 3.6,
    ``eq-c3-hermite``).

    ``mean``, ``std`` of any shape ``S``; returns ``(a, var)``: ``a`` ``S + (order+1,)`` and the exact
    Gaussian variance :math:`{\rm Var}\,\phi(\mu+\sigma x)` ``S`` (``nodes``-point Gauss-Hermite
    quadrature, exact for polynomials of degree < 2 ``nodes``)."""
    x, w = _gauss_hermite(nodes)
    x, w = x.to(mean.device), w.to(mean.device)
    H = _hermite_values(nodes, order).to(mean.device)
    fact = torch.tensor([math.factorial(k) for k in range(order + 1)], dtype=DTYPE, device=mean.device)
    y = activation(mean.unsqueeze(-1) + std.unsqueeze(-1) * x)  # S + (nodes,)
    a = torch.einsum("...q,kq->...k", y * w, H) / fact
    ey = (y * w).sum(-1)
    var = ((y - ey.unsqueeze(-1)) ** 2 * w).sum(-1)
    return a, var


def _hermite_poly(z, dz, act, K, b, moments):
    """Degree-K Hermite expansion of ``act`` around each unit's exact mean/std (eq. 3.6,
    ``eq-c3-hermite``)."""
    mean = poly_expect(z, dz, moments)
    zc = z.clone()
    zc[..., 0] = zc[..., 0] - mean
    z2, d2 = poly_mul(zc, dz, zc, dz, b)
    var = poly_expect(z2, d2, moments).clamp_min(0.0)
    std = var.sqrt()
    a, vphi = hermite_coefficients(act, mean, std, K)
    x = zc / std.clamp_min(1e-7).unsqueeze(-1)
    # y = sum_k a_k He_k(x) via the three-term recurrence on polynomials
    H_prev = torch.zeros_like(x[..., :1]) + 1.0
    y = a[..., 0:1] * H_prev
    H, dH = x, dz
    for k in range(1, K + 1):
        y = _padd(y, a[..., k:k + 1] * H)
        if k < K:
            xH, dxH = poly_mul(x, dz, H, dH, b)
            H, H_prev, dH = _padd(xH, -k * H_prev), H, dxH
    fact = torch.tensor([math.factorial(k) for k in range(K + 1)], dtype=DTYPE, device=z.device)
    captured = (a[..., 1:] ** 2 * fact[1:]).sum(-1)
    resid = torch.where(vphi > 0, (1 - captured / vphi.clamp_min(1e-300)).clamp_min(0.0), torch.zeros_like(vphi))
    return y, dz * K, resid


def gaussian_activation(activation, mean: torch.Tensor, cov: torch.Tensor, hermite_order: int | None = None,
                        nodes: int = GH_NODES):
    r"""Mean and covariance of :math:`\phi(z)` for jointly Gaussian :math:`z\sim N(\mu,\Sigma)`
    (eq. 3.5, ``eq-c3-mehler``, Mehler's formula), ``mean`` ``(E, H)``, ``cov`` ``(E, H, H)``.

    Polynomial :math:`\phi` of degree :math:`p`: exact (the series ends at :math:`k=p`). Otherwise the
    series is cut at ``hermite_order`` :math:`K` and the diagonal is the exact Gaussian variance.
    Returns ``(mean', cov', bound, resid)`` with ``bound`` ``(E, H, H)`` the truncation bound
    :math:`|\rho_{ij}|^{K+1}\sqrt{R_iR_j}` (zero on the diagonal and for polynomials) and ``resid``
    ``(E, H)`` the fraction :math:`R_i/{\rm Var}\,\phi(z_i)` of each unit's variance the truncation leaves out."""
    coeffs = poly_coefficients(activation)
    K = len(coeffs) - 1 if coeffs is not None else (9 if hermite_order is None else int(hermite_order))
    if coeffs is not None:
        nodes = max(nodes, K + 2)
    var = torch.diagonal(cov, dim1=-2, dim2=-1).clamp_min(0.0)
    std = var.sqrt()
    a, vphi = hermite_coefficients(activation, mean, std, K, nodes)
    s = std.clamp_min(1e-150)
    rho = (cov / (s.unsqueeze(-1) * s.unsqueeze(-2))).clamp(-1.0, 1.0)
    fact = torch.tensor([math.factorial(k) for k in range(K + 1)], dtype=DTYPE, device=mean.device)
    out = torch.zeros_like(cov)
    rk = torch.ones_like(rho)
    for k in range(1, K + 1):
        rk = rk * rho
        out = out + fact[k] * a[..., k].unsqueeze(-1) * a[..., k].unsqueeze(-2) * rk
    eye = torch.eye(cov.shape[-1], dtype=torch.bool, device=cov.device)
    out = torch.where(eye, torch.diag_embed(vphi), out)
    R = (vphi - (a[..., 1:] ** 2 * fact[1:]).sum(-1)).clamp_min(0.0)
    if coeffs is not None:
        R = torch.zeros_like(R)
    bound = rho.abs() ** (K + 1) * (R.unsqueeze(-1) * R.unsqueeze(-2)).sqrt()
    bound = torch.where(eye, torch.zeros_like(bound), bound)
    resid = torch.where(vphi > 0, R / vphi.clamp_min(1e-300), torch.zeros_like(vphi))
    return a[..., 0], out, bound, resid


def _propagate_gaussian(net: Network, inputs: InputCumulants, order: int, K: int):
    mean = inputs.mean
    E = net.n_members
    cov = inputs.cov() if inputs.order >= 2 else torch.zeros(1, net.b, net.b, dtype=DTYPE, device=mean.device)
    mean, cov = mean.expand(E, -1), cov.expand(E, -1, -1)
    bound = None
    residuals = []
    for k, (W, c) in enumerate(net.layers):
        if k > 0:
            mean, cov, bound, res = gaussian_activation(net.activation, mean, cov, K)
            residuals.append(res.max(-1).values)
        mean = torch.einsum("eoi,ei->eo", W, mean) + c
        cov = W @ cov @ W.transpose(1, 2)
    kappa = torch.zeros(E, order, dtype=DTYPE, device=mean.device)
    kappa[:, 0] = mean[:, 0]
    if order >= 2:
        kappa[:, 1] = cov[:, 0, 0]
    err = torch.zeros_like(kappa)
    if order >= 2 and bound is not None:
        # the last activation's Mehler truncation, carried through the output layer
        v = net.layers[-1][0].abs()
        err[:, 1] = (v @ bound @ v.transpose(1, 2))[:, 0, 0]
    res = torch.stack(residuals, -1) if residuals else None
    return kappa, err, res
