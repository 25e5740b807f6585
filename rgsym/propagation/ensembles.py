r"""Trained ensembles of Chapter 2: per-member predictions and their Monte Carlo references (Chapter 3).

For every member of an ensemble (whatever its activation): the output cumulants for i.i.d. sites of a
base law (:func:`predict_cumulants`: exact propagation, eq. 3.4, where the activation is a polynomial
and the law has the cumulants needed, the moment-matched rule, eq. 3.7, otherwise), the Gaussian
truncation (:func:`gaussian_truncation`, eq. 3.5), the learned flow (:func:`predict_flow`, eq. 3.8),
the eigenvalues of the flow at the Gaussian point (:func:`learned_eigenvalues`, eq. 3.2), and the
Monte Carlo k-statistics they are checked against (:func:`measure_cumulants`, :func:`measure_flow`).
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import numpy as np
import torch

from ..clt import get_law, kstats
from ..validation import as_int
from .flows import flow_jacobian
from .inputs import law_inputs
from .methods import propagate, required_input_order
from ..nets.activations import poly_coefficients
from .networks import Network, as_networks, network_forward
from .polynomials import DTYPE
from .quadrature import MAX_NODES, quadrature_flow


def _groups_with_models(model):
    """``[(member_indices, sub_model, activation)]``, one per activation/antisymmetrisation group; the
    sub-model is ``model.select(indices)`` for an ensemble and sliced layers otherwise."""
    out = []
    for idx, net in as_networks(model):
        sub = model.select(idx) if len(idx) != getattr(model, "n_members", len(idx)) else model
        out.append((idx, sub, net.activation))
    return out


@dataclass
class MemberPrediction:
    """Per-member predictions of :func:`predict_cumulants`: ``kappa`` and ``error`` ``(E, order)``,
    ``methods`` (one name per member: ``'exact'`` or ``'quadrature(m)'``)."""
    kappa: torch.Tensor
    error: torch.Tensor
    methods: list


def predict_cumulants(model, law, order: int = 4, *, nodes: int = 10) -> MemberPrediction:
    r"""Output cumulants of every member of a trained ensemble for i.i.d. sites of ``law`` (eq. 3.4/3.7).

    Polynomial activations are propagated exactly when the law has finite cumulants up to the order
    needed (error 0); otherwise, and for every other activation, the ``nodes``-point moment-matched
    rule is used (fewer nodes where the law's cumulants run out, e.g. Student-t), with the error
    estimated as the change from :math:`m-1` to :math:`m` nodes."""
    law = get_law(law)
    order = as_int("order", order, 1)
    E = getattr(model, "n_members", None) or as_networks(model)[0][1].n_members
    kappa = torch.zeros(E, order, dtype=DTYPE)
    error = torch.zeros(E, order, dtype=DTYPE)
    methods = [""] * E
    for idx, sub, act in _groups_with_models(model):
        t = torch.tensor(idx)
        b = as_networks(sub)[0][1].b
        need = required_input_order(sub, order) if poly_coefficients(act) is not None else math.inf
        if need < law.max_order:
            pr = propagate(sub, law_inputs(law, b, need), order)
            name = "exact"
        else:
            m = min(nodes, MAX_NODES, int(law.max_order // 2) if math.isfinite(law.max_order) else nodes)
            m = max(m, 2)
            pr = propagate(sub, law_inputs(law, b, 2 * m - 1), order, "quadrature", nodes=m, estimate_error=True)
            name = f"quadrature({m})"
        kappa[t] = pr.kappa.cpu()
        if pr.error is not None:
            error[t] = pr.error.cpu()
        for i in idx:
            methods[i] = name
    return MemberPrediction(kappa, error, methods)


def gaussian_truncation(model, law, *, hermite_order: int = 9) -> torch.Tensor:
    r"""Fischer et al.'s Gaussian truncation (eq. 3.5) for every member and i.i.d. sites of ``law``:
    ``(E, 2)`` predicted :math:`(\kappa'_1, \kappa'_2)` (it predicts :math:`\kappa'_{n\ge3} = 0`)."""
    law = get_law(law)
    b = as_networks(model)[0][1].b
    return propagate(model, law_inputs(law, b, 2), 2, "gaussian", hermite_order=hermite_order).kappa


def measure_cumulants(model, law, n_samples: int = 200_000, *, seed: int = 0, order: int = 4,
                      dtype=torch.float32):
    r"""Monte Carlo reference: k-statistics :math:`k_1..k_{\rm order}` and their standard errors of every
    member's output on ``n_samples`` i.i.d. blocks of ``law``, drawn independently for every member (so
    that the members' errors are independent; the network runs in ``dtype``, the k-statistics in
    float64). Returns ``(k, se)``, each ``(E, order)``."""
    as_int("n_samples", n_samples, order)
    g = torch.Generator().manual_seed(int(seed))
    groups = as_networks(model)
    b = groups[0][1].b
    E = sum(len(i) for i, _ in groups)
    x = get_law(law).sample((E, n_samples, b), g, dtype=DTYPE).to(dtype)
    y = torch.empty(E, n_samples, dtype=dtype)
    with torch.no_grad():
        if isinstance(model, torch.nn.Module):  # the trained model itself, not its rewriting as plain layers
            y = copy.deepcopy(model).to(dtype)(x)
        else:
            for idx, net in groups:
                low = Network([(W.to(dtype), c.to(dtype)) for W, c in net.layers], net.activation)
                y[idx] = network_forward(low, x[idx])
    return kstats(y.to(DTYPE), order)


def predict_flow(model, law, steps: int, *, nodes: int = 10, order: int = 4):
    r"""The learned flow's cumulants from i.i.d. sites of ``law``, :math:`\kappa_n(l)` for
    ``l = 0..steps``: :func:`quadrature_flow` (``(steps + 1, E, order)``)."""
    return quadrature_flow(model, law, steps, nodes=nodes, order=order)


def measure_flow(model, law, steps: int, n_lattices: int = 1024, *, seed: int = 0, order: int = 4):
    r"""Monte Carlo reference for :func:`predict_flow`: lattices of :math:`b^{\rm steps}` i.i.d. sites of
    ``law`` run through the learned flow (``model.flow``), k-statistics over all sites of each level.
    Returns ``(k, se)``, each ``(steps + 1, E, order)``."""
    b = int(model.b)
    g = torch.Generator().manual_seed(int(seed))
    E = model.n_members
    s = get_law(law).sample((1, n_lattices, b ** int(steps)), g, dtype=DTYPE).expand(E, -1, -1)
    ks, ses = [], []

    with torch.no_grad(), np.errstate(all="ignore"):  # a diverging flow gives inf/nan, reported as such
        levels = [s] + copy.deepcopy(model).double().flow(s, int(steps))
        for lv in levels:
            k, se = kstats(lv.reshape(E, -1), order)
            ks.append(k)
            ses.append(se)
    return torch.stack(ks), torch.stack(ses)


def learned_eigenvalues(model, b: int | None = None, *, state: int = 4, nodes: int = 6) -> torch.Tensor:
    r"""Eigenvalues of the learned map's cumulant flow linearised at the Gaussian point
    :math:`(0, 1, 0, \dots)` (eq. 3.2), sorted by modulus, ``(E, state)`` complex; the exact map has
    :math:`b^{1-n/2}`, :math:`n = 1..`\ ``state``. Non-polynomial members use the ``nodes``-point rule
    (state padded to :math:`2m-1`, then the leading ``state`` x ``state`` block is used)."""
    E = getattr(model, "n_members", None) or as_networks(model)[0][1].n_members
    out = torch.zeros(E, state, dtype=torch.complex128)
    for idx, sub, act in _groups_with_models(model):
        if poly_coefficients(act) is not None:
            K, kw = state, {"method": "exact"}
        else:
            K, kw = max(state, 2 * nodes - 1), {"method": "quadrature", "nodes": nodes}
        g = torch.zeros(K, dtype=DTYPE)
        g[1] = 1.0
        J = flow_jacobian(sub, g, **kw)[:, :state, :state]
        ev = torch.linalg.eigvals(J)
        order = torch.argsort(ev.abs(), dim=-1, descending=True)
        out[idx] = torch.gather(ev, -1, order)
    return out
