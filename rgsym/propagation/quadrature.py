r"""Moment-matched Gauss quadrature: the ``quadrature`` method (eq. 3.7,
``eq-c3-gauss``) and the flow closure (eq. 3.11, ``eq-c3-closure``).

The law of one site is replaced by the discrete law on :math:`m` atoms that shares its first
:math:`2m-1` cumulants, its Gauss rule (:func:`gauss_rule`; Gauss-Hermite nodes for Gaussian sites),
and the network itself is evaluated on the :math:`m^b` product nodes (:func:`product_rule`); the
output cumulants are those of that discrete law (:func:`rule_cumulants`). This equals the expansion of
:math:`f` in the orthogonal polynomials of the input law to degree :math:`2m-1` per site, so it is
exact for networks of degree :math:`d` per site once :math:`2m-1\ge dn`. Needs i.i.d. inputs.

:func:`quadrature_flow` iterates the learned map in cumulant space carrying every level as its
:math:`m`-atom Gauss rule (:func:`discrete_gauss_rule` compresses the :math:`m^b` atoms back to
:math:`m`), so every state stays a genuine probability law (eq. 3.11, ``eq-c3-closure``).
"""
from __future__ import annotations

import math

import torch

from ..clt import cumulants_to_moments, get_law, moments_to_cumulants
from ..validation import as_int
from .inputs import InputCumulants, _as_members
from .networks import Network, as_networks, network_forward
from .polynomials import DTYPE, _take

MAX_NODES = 24
"""Most nodes per input of the ``quadrature`` method (far from Gaussian, moment-matched Gauss rules lose
accuracy well before this)."""


def gauss_rule(kappa, nodes: int, tol: float = 1e-10):
    r"""The ``nodes``-point Gauss rule of a one-dimensional law given by its cumulants (eq. 3.7,
    ``eq-c3-gauss``).

    ``kappa`` ``(E, M)`` (or ``(M,)``), :math:`M\ge 2m-1`. The law is standardised, its modified moments
    :math:`\nu_k = E[{\rm He}_k(x)]`, :math:`k < 2m`, feed the modified Chebyshev algorithm (Gautschi)
    for the recurrence coefficients of its orthogonal polynomials, and the Golub-Welsch eigenproblem
    gives nodes and weights: the discrete law with :math:`m` atoms whose first :math:`2m-1` moments are
    those of the law (Gauss-Hermite nodes for a Gaussian). Where the moments stop being those of a
    law with more support points (e.g. :math:`\pm1` spins have two), the extra nodes get weight zero.
    Differentiable in ``kappa``. Returns ``(x, w)``, each ``(E, m)``.
    """
    m = as_int("nodes", nodes, 1, MAX_NODES)
    kappa = _as_members(kappa, "kappa")
    if kappa.shape[-1] < rule_order(m):
        raise ValueError(f"a {m}-point Gauss rule needs cumulants up to order {rule_order(m)}, "
                         f"got {kappa.shape[-1]}")
    mu, var = kappa[:, 0], kappa[:, 1]
    if (var < 0).any():
        raise ValueError("the variance kappa_2 must be >= 0")
    sig = var.clamp_min(0.0).sqrt()
    ss = torch.where(sig > 0, sig, torch.ones_like(sig))
    nmom = 2 * m
    # modified moments nu_k = E[He_k(x)] of the standardised law: sum_k nu_k t^k / k! = exp(K(t) - t^2/2),
    # i.e. the moments of the cumulant sequence (0, 0, lambda_3, lambda_4, ...) -- no cancellation, and
    # exactly zero for a Gaussian
    lam = [torch.zeros_like(mu), torch.zeros_like(mu)]
    lam += [torch.where(sig > 0, kappa[:, n - 1] / ss ** n, torch.zeros_like(mu)) if n <= kappa.shape[-1]
            else torch.zeros_like(mu) for n in range(3, nmom)]
    nu = [torch.ones_like(mu)] + list(cumulants_to_moments(lam))
    bcoef = [float(k) for k in range(nmom)]  # He recurrence: He_{k+1} = x He_k - k He_{k-1}
    zero = torch.zeros_like(mu)
    alpha, beta = [nu[1] / nu[0]], [nu[0]]
    s2, s1 = [zero] * nmom, list(nu)
    alive = sig > 0
    for k in range(1, m):
        cur = [zero] * nmom
        for l in range(k, nmom - k):
            cur[l] = s1[l + 1] - alpha[k - 1] * s1[l] - beta[k - 1] * s2[l] + bcoef[l] * s1[l - 1]
        den_prev = torch.where(alive, s1[k - 1], torch.ones_like(mu))
        bk = cur[k] / den_prev
        ok = alive & (bk > tol)
        den = torch.where(ok, cur[k], torch.ones_like(mu))
        ak = cur[k + 1] / den - s1[k] / den_prev
        alpha.append(torch.where(ok, ak, zero))
        beta.append(torch.where(ok, bk, zero))
        alive = ok
        s2, s1 = s1, cur
    A = torch.stack(alpha, -1)
    if m > 1:
        off = torch.stack(beta[1:], -1).clamp_min(0.0).sqrt()
        J = torch.diag_embed(A) + torch.diag_embed(off, 1) + torch.diag_embed(off, -1)
    else:
        J = torch.diag_embed(A)
    ev, V = torch.linalg.eigh(J)
    w = V[:, 0, :] ** 2
    x = mu.unsqueeze(-1) + sig.unsqueeze(-1) * ev
    # a degenerate law (zero variance) is one atom at the mean
    point = torch.zeros_like(w)
    point[:, 0] = 1.0
    w = torch.where((sig > 0).unsqueeze(-1), w, point)
    return x, w


def product_rule(x: torch.Tensor, w: torch.Tensor, b: int):
    r"""The product rule of ``b`` i.i.d. sites from the one-site rule ``x``, ``w`` ``(E, m)``: the
    :math:`m^b` points ``(E, m^b, b)`` and their weights ``(E, m^b)``."""
    m = x.shape[-1]
    grid = torch.cartesian_prod(*[torch.arange(m, device=x.device)] * b).reshape(-1, b)
    return _take(x, grid), _take(w, grid).prod(-1)


def rule_cumulants(f: torch.Tensor, wt: torch.Tensor, order: int) -> torch.Tensor:
    r"""Cumulants :math:`\kappa_1..\kappa_{\rm order}` of the discrete law with atoms ``f`` and weights ``wt``
    (each ``(E, N)``): weighted central moments, then the moment-cumulant recursion. Returns ``(E, order)``."""
    mean = (wt * f).sum(-1)
    fc = f - mean.unsqueeze(-1)
    central = [torch.zeros_like(mean)] + [(wt * fc ** k).sum(-1) for k in range(2, order + 1)]
    kappa = moments_to_cumulants(central)
    kappa[0] = mean
    return torch.stack(kappa, -1)


def rule_order(nodes: int) -> int:
    r"""The input cumulant order an ``nodes``-point Gauss rule needs: :math:`\max(2m-1, 2)` (one node still
    needs the variance)."""
    return max(2 * int(nodes) - 1, 2)


def law_nodes(law, nodes: int) -> int:
    r"""The number of Gauss nodes usable for ``law``: ``nodes`` capped at :data:`MAX_NODES` and, for a law with
    finite moments only below ``law.max_order`` (Student-t), at :math:`\lfloor{\rm max\_order}/2\rfloor`."""
    law = get_law(law)
    m = min(as_int("nodes", nodes, 1), MAX_NODES)
    if math.isfinite(law.max_order):
        m = min(m, int(law.max_order // 2))
    if m < 1:
        raise ValueError(f"{law.name} has no finite variance: no Gauss rule applies")
    return m


def _propagate_quadrature(net: Network, inputs: InputCumulants, order: int, m: int):
    r"""Eq. (3.7) (``eq-c3-gauss``): output cumulants from the product Gauss rule of the i.i.d. inputs
    (:math:`m^b` points)."""
    E, b = net.n_members, net.b
    x, w = gauss_rule(inputs.iid[:, :rule_order(m)], m)
    pts, wt = product_rule(x.expand(E, -1), w.expand(E, -1), b)
    return rule_cumulants(network_forward(net, pts), wt, order)


def discrete_gauss_rule(y: torch.Tensor, v: torch.Tensor, nodes: int, tol: float = 1e-12):
    r"""The ``nodes``-point Gauss rule of a discrete law (atoms ``y``, weights ``v``, each ``(E, N)``), by the
    Stieltjes/Lanczos procedure on orthonormal polynomials (stable, unlike moments): the law on
    :math:`m` atoms sharing the first :math:`2m-1` moments of the given one. Where the law has fewer
    than :math:`m` distinct atoms the extra nodes get weight zero. Returns ``(x, w)``, each ``(E, m)``."""
    m = as_int("nodes", nodes, 1, MAX_NODES)
    tot = v.sum(-1, keepdim=True)
    v = v / tot
    q_prev = torch.zeros_like(y)
    q = torch.ones_like(y)
    b_prev = torch.zeros_like(y[:, 0])
    alive = torch.ones_like(b_prev, dtype=torch.bool)
    A, B = [], []
    for k in range(m):
        a_k = (v * y * q * q).sum(-1)
        A.append(torch.where(alive, a_k, torch.zeros_like(a_k)))
        if k == m - 1:
            break
        r = (y - a_k.unsqueeze(-1)) * q - b_prev.unsqueeze(-1) * q_prev
        # one step of re-orthogonalisation against q keeps the recurrence accurate
        r = r - (v * r * q).sum(-1, keepdim=True) * q
        b_k = (v * r * r).sum(-1).clamp_min(0.0).sqrt()
        ok = alive & (b_k > tol * (1 + y.abs().amax(-1)))
        B.append(torch.where(ok, b_k, torch.zeros_like(b_k)))
        q_prev, q = q, torch.where(ok.unsqueeze(-1), r / torch.where(ok, b_k, torch.ones_like(b_k)).unsqueeze(-1),
                                   torch.zeros_like(r))
        b_prev = torch.where(ok, b_k, torch.zeros_like(b_k))
        alive = ok
    J = torch.diag_embed(torch.stack(A, -1))
    if m > 1:
        off = torch.stack(B, -1)
        J = J + torch.diag_embed(off, 1) + torch.diag_embed(off, -1)
    ev, V = torch.linalg.eigh(J)
    return ev, V[:, 0, :] ** 2


def quadrature_flow(model, law, steps: int, *, nodes: int = 10, order: int = 4, activation=None,
                    antisymmetrised: bool | None = None):
    r"""The learned flow in cumulant space with the moment-matched closure (eq. 3.11, ``eq-c3-closure``), for any
    activation.

    The law of a site is held as its :math:`m`-atom Gauss rule (:func:`gauss_rule` for the base law).
    One learned step maps :math:`b` independent sites to the discrete law of :math:`f` on the
    :math:`m^b` product atoms (exact), which is compressed back to :math:`m` atoms that keep its first
    :math:`2m-1` moments (:func:`discrete_gauss_rule`). Every state is a genuine probability law, so
    the closure cannot produce negative variances, and the first step is exact for polynomial
    networks once :math:`2m-1\ge Dn`. ``model`` as in :func:`propagate` (``activation`` with a list of
    layers). Returns the cumulants :math:`\kappa_1..\kappa_{\rm order}` of every level,
    ``(steps + 1, E, order)`` (level 0: the base law's own)."""
    law = get_law(law)
    as_int("nodes", nodes, 1, MAX_NODES)
    m = law_nodes(law, nodes)
    as_int("steps", steps, 0)
    groups = as_networks(model, activation, antisymmetrised)
    E = sum(len(i) for i, _ in groups)
    out = torch.zeros(int(steps) + 1, E, order, dtype=DTYPE)
    out[0] = torch.as_tensor(law.cumulants(order), dtype=DTYPE)
    b = groups[0][1].b
    for idx, net in groups:
        x, w = gauss_rule(law.cumulants(rule_order(m)), m)
        x, w = x.expand(len(idx), -1), w.expand(len(idx), -1)
        for level in range(1, int(steps) + 1):
            pts, wt = product_rule(x, w, b)
            y = network_forward(net, pts)
            out[level, idx] = rule_cumulants(y, wt, order)
            x, w = discrete_gauss_rule(y, wt, m)
    return out
