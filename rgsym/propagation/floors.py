r"""The error floor of a tied-hidden quadratic network of bounded weights (Chapter 3, eqs. 3.12-3.14,
``eq-c3-floor``, ``eq-c3-normfloor``, ``eq-c3-k3floor``).

A one-hidden-layer ``tied-hidden`` network with :math:`\phi(z) = z + \alpha z^2` is a function of one
projection: :math:`f(s) = V[(u + c) + \alpha(u + c)^2] + d`, :math:`u = w\cdot s = |w|\,z`,
:math:`V = \sum_h v_h`. On i.i.d. unit-variance sites with :math:`\kappa_1 = \kappa_3 = 0` (the training
laws) and the RG target :math:`T = b^{-1/2}\sum_i s_i`, with :math:`L = V(1+2\alpha c)|w|` (linear part)
and :math:`Q = \alpha V|w|^2` (quadratic part),

.. math:: G_1 = E(f - T)^2 = L^2 - 2L\rho + 1 + Q^2\,(2 + \kappa_4\textstyle\sum_i\hat w_i^4)
          \;\ge\; (L-1)^2 + v_{\min}\, r^2 L^4 ,\qquad r = \frac{Q}{L^2} = \frac{\alpha}{V(1+2\alpha c)^2},
   \tag{3.12}

(Chapter 3, eq. 3.12, ``eq-c3-floor``; :math:`\rho = \hat w\cdot\mathbf 1/\sqrt b\le 1`,
:math:`v_{\min} = 2 + \min(\kappa_4, \kappa_4/b)`), whatever :math:`|w|`: :func:`g1_floor` minimises the right
side over :math:`L`. The ratio :math:`r` is fixed by the bias and the summed output weight alone, and a weight
norm bounds it from below (eq. 3.13, ``eq-c3-normfloor``, :func:`r_lower_bound`): with :math:`\|\theta\|` the
Euclidean norm of all weights and biases of the plain layers (hidden width :math:`H`),
:math:`|V| \le \sqrt H\|\theta\|` and :math:`|c| \le \|\theta\|/\sqrt H`, so
:math:`|r| \ge |\alpha| / (\sqrt H\|\theta\|(1 + 2|\alpha|\|\theta\|/\sqrt H)^2)`. One step on Gaussian sites
injects :math:`\kappa'_3 = 6L^2Q + 8Q^3`, so :math:`|\kappa'_3| \ge 6|r|(1-\sqrt{G_1})^4` (eq. 3.14,
``eq-c3-k3floor``, :func:`kappa3_floor`). :mod:`rgsym.propagation.manifold` checks the identities behind
(3.12) and (3.14) in sympy.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from ..clt import get_law
from ..validation import as_float, as_int
from .networks import Network, network_forward
from .quadrature import gauss_rule, product_rule


def weight_norm(layers) -> torch.Tensor:
    r""":math:`\|\theta\|`: the Euclidean norm of all weights and biases of plain layers ``[(W (E, out, in),
    c (E, out))]``, per member ``(E,)`` (float64)."""
    return torch.sqrt(sum((torch.as_tensor(W, dtype=torch.float64) ** 2).sum((1, 2))
                          + (torch.as_tensor(c, dtype=torch.float64) ** 2).sum(-1) for W, c in layers))


def exact_g1(layers, act, law, b: int, nodes: int = 6) -> np.ndarray:
    r""":math:`G_1 = E(f - T)^2 / E\,T^2` of the plain network ``layers`` (activation ``act``) against the RG
    target :math:`T = b^{-1/2}\sum_i s_i` on i.i.d. sites of ``law``, by the ``nodes``-point product Gauss
    rule (exact for networks of degree :math:`\le 2m-1` per site). Returns ``(E,)``."""
    x, w = gauss_rule(get_law(law).cumulants(2 * nodes - 1), nodes)
    E = layers[0][0].shape[0]
    pts, wt = product_rule(x.expand(E, -1), w.expand(E, -1), b)
    f = network_forward(Network(layers, act), pts)
    T = pts.sum(-1) / math.sqrt(b)
    return ((wt * (f - T) ** 2).sum(-1) / (wt * T ** 2).sum(-1)).numpy()


def tied_parameters(layers, alpha: float) -> dict:
    r"""Effective parameters of one-hidden-layer tied-hidden quadratic members from their plain layers
    ``[(W1 (E, H, b), c1 (E, H)), (W2 (E, 1, H), c2 (E, 1))]``: ``w`` ``(E, b)`` (unit 0's row), ``c``,
    ``V`` (summed output weight), ``L``, ``Q``, ``r`` (each ``(E,)``), ``norm`` :math:`\|\theta\|` and ``H``."""
    if len(layers) != 2:
        raise ValueError(f"the floor is derived for one hidden layer; got {len(layers) - 1} hidden layers")
    (W1, c1), (W2, c2) = [(torch.as_tensor(W, dtype=torch.float64), torch.as_tensor(c, dtype=torch.float64))
                          for W, c in layers]
    H = W1.shape[1]
    w, c, V = W1[:, 0, :], c1[:, 0], W2[:, 0, :].sum(-1)
    a = float(alpha)
    nw = w.norm(dim=-1)
    L = V * (1 + 2 * a * c) * nw
    Q = a * V * nw ** 2
    r = a / (V * (1 + 2 * a * c) ** 2)
    norm = weight_norm([(W1, c1), (W2, c2)])
    return {"w": w, "c": c, "V": V, "L": L, "Q": Q, "r": r, "norm": norm, "H": H}


def v_min(kappa4: float, b: int) -> float:
    r""":math:`\min_{\hat w} E(z^2 - 1)^2 = 2 + \min(\kappa_4, \kappa_4/b)` for :math:`z = \hat w\cdot s`, unit
    :math:`\hat w` (:math:`\sum_i\hat w_i^4\in[1/b, 1]`)."""
    k4 = as_float("kappa4", kappa4)
    return 2.0 + min(k4, k4 / as_int("b", b, 1))


def g1_floor(r, vmin: float = 2.0) -> np.ndarray:
    r"""Eq. (3.12) (``eq-c3-floor``): :math:`\min_L\,(L-1)^2 + v_{\min} r^2 L^4` for each ``r`` (array): the
    real root of the cubic :math:`2(L-1) + 4v_{\min}r^2L^3 = 0` in :math:`(0, 1]`. Zero at :math:`r = 0` (a
    linear net)."""
    r = np.abs(np.asarray(r, dtype=float))
    out = np.zeros_like(r)
    for i, x in np.ndenumerate(r):
        if x == 0.0:
            continue
        if not math.isfinite(x):
            out[i] = 1.0  # V = 0: a constant network
            continue
        roots = np.roots([4 * vmin * x * x, 0.0, 2.0, -2.0])
        Ls = [z.real for z in roots if abs(z.imag) < 1e-9 * (1 + abs(z)) and 0 < z.real <= 1 + 1e-12]
        out[i] = min((L - 1) ** 2 + vmin * x * x * L ** 4 for L in Ls)
    return out


def r_lower_bound(norm, H: int, alpha: float) -> np.ndarray:
    r"""Eq. (3.13) (``eq-c3-normfloor``): the smallest :math:`|r|` a tied-hidden layer of width ``H``
    with weight norm ``norm`` can have, :math:`|\alpha| / (\sqrt H\|\theta\|(1 + 2|\alpha|\|\theta\|/\sqrt H)^2)`."""
    n = np.asarray(norm, dtype=float)
    sH = math.sqrt(as_int("H", H, 1))
    a = abs(float(alpha))
    return a / (sH * n * (1 + 2 * a * n / sH) ** 2)


def norm_floor(norm, H: int, alpha: float, vmin: float = 2.0) -> np.ndarray:
    r"""The G1 floor of every tied-hidden quadratic layer of width ``H`` and weight norm at most ``norm``:
    :func:`g1_floor` at :func:`r_lower_bound` (``g1_floor`` increases with :math:`|r|`)."""
    return g1_floor(r_lower_bound(norm, H, alpha), vmin)


def kappa3_floor(r, g1) -> np.ndarray:
    r"""Eq. (3.14) (``eq-c3-k3floor``): :math:`|\kappa'_3| \ge 6|r|(1 - \sqrt{G_1})^4` after one step on
    Gaussian sites, for a net with ratio ``r`` and error ``g1`` (:math:`G_1 \ge (L-1)^2` gives
    :math:`L \ge 1 - \sqrt{G_1}`)."""
    r, g1 = np.abs(np.asarray(r, dtype=float)), np.asarray(g1, dtype=float)
    return 6 * r * np.clip(1 - np.sqrt(np.clip(g1, 0, None)), 0, None) ** 4
