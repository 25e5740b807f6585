r"""Exact references and valid standard errors for the node-feature cumulants of Chapter 5.

Notation of :mod:`rgsym.propagation.gnn`: a GNN member on :math:`N` i.i.d. sites, node features
flattened node-major, points ``h0, z1, h1, ..., out`` (:func:`rgsym.propagation.gnn.points`).

* :func:`dense_features`: the forward pass written with the dense matrices of eq. P1,
  :math:`z^{(k)}=\mathcal A_k h^{(k-1)}+c_k`, :math:`h^{(k)}=\phi(z^{(k)})`, :math:`s'=P h^{(D)}+c_{\rm out}`
  (antisymmetrised members: :math:`f(s)=[g(s)-g(-s)]/2` at ``out``); every call checks it against the
  GNN's own message passing (:meth:`rgsym.nets.gnn.EnsembleGNN.features`) on its first lattices.
* :func:`reference_node_cumulants` (eq. P4): cumulants :math:`\kappa_1..\kappa_K` of every feature on the
  product Gauss rule of the site law (:func:`site_rule`: classical rules, stable; only atoms with
  positive weight, so a discrete law such as Rademacher is enumerated exactly). For a polynomial
  network of degree :math:`d` per site the rule with :math:`m` nodes is exact up to order
  :math:`K\le(2m-1)/d`; for tanh it converges in :math:`m`.
* :func:`exact_kstat_se` (eq. P5): the exact finite-sample standard error of the k-statistic
  :math:`k_n` of :math:`n_s` lattices, eq. K7 (:func:`rgsym.clt.kstat_formulas.variance_float_terms`)
  evaluated at the *population* central moments :math:`\mu_2..\mu_{2n}` of the reference, not at
  sample moments. The batch spread and the plug-in formula both need sample moments of order
  :math:`2n`, which on heavy-tailed features are typically far below the population ones (the
  error comes out too small); this one does not.
* :func:`sample_node_kstats`: unbiased k-statistics :math:`k_1..k_K` of every feature over
  ``n_samples`` Monte Carlo lattices (:func:`rgsym.propagation.gnn.mc_lattices`).
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import torch

from ..clt import cumulants_to_moments, get_law, kstats_from_moments
from ..validation import as_int
from .gnn import COLUMNS, _check_member, _rows, default_sites, mc_lattices, points
from .quadrature import MAX_NODES, gauss_rule, product_rule, rule_cumulants

TANH_NODES = 12
"""Gauss-rule nodes per site of the reference of a non-polynomial network."""
CHECK_LATTICES = 64
"""Lattices on which :func:`dense_features` is checked against the GNN's own forward pass."""
CHECK_RTOL = 1e-9


def _maps(model, member: int, n: int):
    maps = model.linear_maps(n)
    layers = [(A[member], c[member]) for A, c in maps["layers"]]
    P, c_out = maps["readout"]
    return layers, (P[member], c_out[member])


def _dense(model, member, layers, readout, s):
    act = model.configs[member].act
    out = {"h0": s}
    h = s
    for k, (A, c) in enumerate(layers, start=1):
        z = h @ A.T + c
        h = act(z)
        out[f"z{k}"], out[f"h{k}"] = z, h
    P, c_out = readout
    if model.configs[member].antisymmetrised:
        hm = -s
        for A, c in layers:
            hm = act(hm @ A.T + c)
        out["out"] = 0.5 * (h - hm) @ P.T
    else:
        out["out"] = h @ P.T + c_out
    return out


@torch.no_grad()
def dense_features(model, s: torch.Tensor, *, member: int = 0, check: bool = True) -> dict:
    r"""Every node feature of ``member`` on the lattices ``s`` ``(n, N)``: point -> ``(n, F_point)``
    (features node-major, :math:`i\,d+\mu`), from the dense matrices of eq. P1. With ``check`` the
    first :data:`CHECK_LATTICES` lattices are also run through the GNN's own message passing and a
    mismatch raises."""
    member = _check_member(model, member)
    s = torch.as_tensor(s, dtype=torch.float64)
    n = s.shape[-1]
    layers, readout = _maps(model, member, n)
    out = _dense(model, member, layers, readout, s)
    if check:
        from ..nets.gnn import EnsembleGNN

        one = model.member(member)
        one = EnsembleGNN(one.configs, one.seeds, dtype=torch.float64, context=None,
                          _raw={k: ([x.double().cpu() for x in v] if isinstance(v, list) else v.double().cpu())
                                for k, v in one.raw().items()})
        t = s[:CHECK_LATTICES].unsqueeze(0)
        zs, hs = one.features(t)
        ref = {"h0": t[0], "out": one(t)[0]}
        for k in range(1, model.depth + 1):
            ref[f"z{k}"], ref[f"h{k}"] = zs[k - 1][0].flatten(1), hs[k][0].flatten(1)
        for p, want in ref.items():
            got = out[p][:CHECK_LATTICES]
            scale = 1.0 + want.abs().max()
            if (got - want).abs().max() > CHECK_RTOL * scale:
                raise RuntimeError(f"the dense forward pass disagrees with the GNN's message passing at {p}")
    return out


def _where(model, member, point: str, n: int, width: int):
    if point in ("h0",):
        return [(i, 0) for i in range(n)]
    if point == "out":
        return [(J, 0) for J in range(n // model.b)]
    return [(i, mu) for i in range(n) for mu in range(width)]


def _classical(law, m: int):
    """An accurate discrete law (atoms, weights) for ``law`` from classical Gauss rules, or None."""
    from numpy.polynomial import hermite_e, laguerre, legendre

    name = law.name
    if name == "gaussian":
        x, w = hermite_e.hermegauss(m)
    elif name == "uniform":
        x, w = legendre.leggauss(m)
        x = x * law.a
    elif name == "rademacher":
        x, w = np.array([-1.0, 1.0]), np.array([0.5, 0.5])
    elif name == "exponential":
        x, w = laguerre.laggauss(m)
        x = x - 1.0
    elif name == "laplace":
        e, v = laguerre.laggauss(m)
        x, w = np.concatenate([-law.scale * e, law.scale * e]), np.concatenate([v, v])
    elif name == "bimodal":
        g, v = hermite_e.hermegauss(m)
        x = np.concatenate([-law.mu + law.sigma * g, law.mu + law.sigma * g])
        w = np.concatenate([v, v])
    else:
        return None
    return x, w / w.sum()


def site_rule(law, nodes: int):
    r"""The ``nodes``-point Gauss rule of one site: the discrete law on at most ``nodes`` atoms sharing the
    first :math:`2m-1` moments of ``law``. Built from the classical rules (Hermite, Legendre, Laguerre;
    Laplace and the bimodal law as two Laguerre / Hermite halves compressed back to ``nodes`` atoms by the
    stable Stieltjes procedure, :func:`~rgsym.propagation.quadrature.discrete_gauss_rule`); other laws
    from their cumulants (:func:`~rgsym.propagation.quadrature.gauss_rule`, ill-conditioned for many
    nodes far from a Gaussian). Zero-weight atoms are dropped (a two-point law keeps two). Returns
    ``(x, w)``, each ``(1, atoms)`` float64."""
    from .quadrature import discrete_gauss_rule

    m = as_int("nodes", nodes, 1, MAX_NODES)
    law = get_law(law)
    cl = _classical(law, 2 * m if law.name in ("laplace", "bimodal") else m)
    if cl is None:
        x, w = gauss_rule(torch.as_tensor(law.cumulants(2 * m - 1), dtype=torch.float64), m)
    else:
        x, w = (torch.as_tensor(a, dtype=torch.float64).unsqueeze(0) for a in cl)
        if x.shape[1] > m:
            x, w = discrete_gauss_rule(x, w, m)
    keep = w[0] > 1e-14 * w[0].max()
    return x[:, keep], w[:, keep] / w[:, keep].sum()


def polynomial_degree(model, member: int = 0) -> int | None:
    """Degree per site of every feature of a polynomial member (``None`` for tanh and the like)."""
    coeffs = model.configs[_check_member(model, member)].act.poly_coeffs
    if coeffs is None:
        return None
    deg = max(i for i, c in enumerate(coeffs) if c != 0)
    return max(1, deg) ** model.depth


def reference_nodes(model, member: int, order: int) -> int:
    """Gauss nodes per site of the reference: exact for a polynomial network up to ``order``
    (at most :data:`~rgsym.propagation.quadrature.MAX_NODES`), :data:`TANH_NODES` otherwise."""
    deg = polynomial_degree(model, member)
    if deg is None:
        return TANH_NODES
    need = math.ceil((deg * order + 1) / 2)
    if need > MAX_NODES:
        raise ValueError(f"an exact order-{order} reference of a degree-{deg} network needs {need} Gauss nodes "
                         f"per site, more than {MAX_NODES}")
    return need


@torch.no_grad()
def reference_node_cumulants(model, law, *, member: int = 0, order: int = 8, nodes: int | None = None,
                             n_sites: int | None = None) -> pd.DataFrame:
    r"""Eq. P4: :math:`\kappa_1..\kappa_{\rm order}` of every node feature at every point, from the
    product Gauss rule of ``law`` on the ``n_sites`` sites (atoms of zero weight dropped: a discrete
    law is enumerated). ``nodes``: per site (default :func:`reference_nodes`). The law's cumulants
    up to order :math:`2m-1` must exist. Tidy table of :data:`~rgsym.propagation.gnn.COLUMNS`."""
    order = as_int("order", order, 1, 8)
    member = _check_member(model, member)
    law = get_law(law)
    m = reference_nodes(model, member, order) if nodes is None else as_int("nodes", nodes, 1, MAX_NODES)
    if math.isfinite(law.max_order) and 2 * m - 1 >= law.max_order:
        raise ValueError(f"the {law.name} law has no cumulants of order >= {law.max_order:g}; a {m}-node rule "
                         f"needs them up to {2 * m - 1} (its node cumulants of high order do not exist)")
    n = default_sites(model) if n_sites is None else int(n_sites)
    x, w = site_rule(law, m)
    pts, wt = product_rule(x, w, n)  # (1, m^n, n), (1, m^n)
    feats = dense_features(model, pts[0], member=member)
    rows = []
    for p in points(model.depth):
        f = feats[p].T  # (F, points)
        kap = rule_cumulants(f, wt.expand(f.shape[0], -1), order)
        width = f.shape[0] // n if p not in ("h0", "out") else 1
        rows += _rows(member, p, model.depth, _where(model, member, p, n, width), kap)
    return pd.DataFrame(rows, columns=list(COLUMNS))


def exact_kstat_se(kappa, n_samples: int, orders=4) -> np.ndarray:
    r"""Eq. P5: the exact standard error of :math:`k_1..k_{\rm orders}` of ``n_samples`` i.i.d. draws of a
    law with cumulants ``kappa`` ``(F, >= 2 orders)`` (population values: eq. K7 at :math:`\mu_2..\mu_{2n}`).
    Returns ``(F, orders)``."""
    kappa = np.asarray(kappa, dtype=np.float64)
    orders = as_int("orders", orders, 1, 4)
    if kappa.ndim != 2 or kappa.shape[1] < 2 * orders:
        raise ValueError(f"kappa must be (features, >= {2 * orders}) cumulants, got shape {kappa.shape}")
    N = as_int("n_samples", n_samples, 2 * orders)
    lam = [np.zeros(len(kappa))] + [kappa[:, r] for r in range(1, 2 * orders)]
    mu = np.stack([np.ones(len(kappa))] + list(cumulants_to_moments(lam)), -1)  # central: kappa_1 set to 0
    _, se = kstats_from_moments(np.zeros(len(kappa)), mu, N, orders)  # eq. K7 at the population moments
    se[:, 0] = np.sqrt(np.maximum(mu[:, 2] / N, 0.0))  # Var k_1 = mu_2 / N, divided (as eq. P5 writes it)
    return se


@torch.no_grad()
def sample_node_kstats(model, law, *, member: int = 0, order: int = 4, n_samples: int = 2**14, seed: int = 0,
                       n_sites: int | None = None, chunk: int = 2**16) -> pd.DataFrame:
    r"""Unbiased k-statistics :math:`k_1..k_{\rm order}` of every node feature over ``n_samples`` lattices
    (:func:`~rgsym.propagation.gnn.mc_lattices` with ``seed``), from :func:`dense_features`. Tidy table
    of :data:`~rgsym.propagation.gnn.COLUMNS` (``value`` = the k-statistic)."""
    from ..clt import kstats

    order = as_int("order", order, 1, 8)
    member = _check_member(model, member)
    as_int("n_samples", n_samples, 2 * order)
    n = default_sites(model) if n_sites is None else int(n_sites)
    s_all = mc_lattices(law, n_samples, n, seed)
    parts: dict = {}
    for a in range(0, n_samples, chunk):
        f = dense_features(model, s_all[a:a + chunk], member=member, check=a == 0)
        for p, v in f.items():
            parts.setdefault(p, []).append(v)
    rows = []
    for p in points(model.depth):
        x = torch.cat(parts[p], 0).T  # (F, n_samples)
        k, _ = kstats(x, order, with_se=False)
        width = x.shape[0] // n if p not in ("h0", "out") else 1
        rows += _rows(member, p, model.depth, _where(model, member, p, n, width), k)
    return pd.DataFrame(rows, columns=list(COLUMNS))
