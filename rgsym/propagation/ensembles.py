r"""Trained ensembles of Chapter 2: per-member predictions and their Monte Carlo references (Chapter 3).

For every member of an ensemble (whatever its activation): the output cumulants for i.i.d. sites of a
base law (:func:`predict_cumulants`: exact propagation, eq. 3.4 (``eq-c3-leonov``), where the
activation is a polynomial and the law has the cumulants needed, the moment-matched rule, eq. 3.7
(``eq-c3-gauss``), otherwise), the Gaussian truncation (:func:`gaussian_truncation`, eq. 3.5,
``eq-c3-mehler``), the learned flow (:func:`predict_flow`, eq. 3.11, ``eq-c3-closure``), the eigenvalues
of the flow at the Gaussian point (:func:`learned_eigenvalues`, eq. 3.2, ``eq-c3-flow``), and the
Monte Carlo k-statistics they are checked against (:func:`measure_cumulants`, :func:`measure_flow`).
"""
from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import torch

from ..clt import get_law, kstats, kstats_from_moments
from ..validation import as_int, check_choice
from .flows import flow_jacobian
from .inputs import law_inputs
from .methods import propagate, required_input_order
from ..nets.activations import poly_coefficients
from .networks import Network, as_networks, network_forward
from .polynomials import DTYPE
from .quadrature import law_nodes, quadrature_flow


def _groups_with_models(model):
    """``[(member_indices, sub_model, activation)]``, one per activation/antisymmetrisation group; the
    sub-model is ``model.select(indices)`` for an ensemble and sliced layers otherwise."""
    out = []
    for idx, net in as_networks(model):
        sub = model.select(idx) if len(idx) != getattr(model, "n_members", len(idx)) else model
        out.append((idx, sub, net.activation))
    return out


class MissingCumulantError(ValueError):
    """An output cumulant that does not exist: the network's output lacks the moment (heavy-tailed inputs)."""


@dataclass
class MemberPrediction:
    """Per-member predictions of :func:`predict_cumulants`: ``kappa`` and ``error`` ``(E, order)``,
    ``methods`` (one name per member: ``'exact'`` or ``'quadrature(m)'``), ``exists`` ``(E, order)``
    (False where the output cumulant is infinite or undefined; ``kappa`` is NaN there) and ``reasons``
    (one sentence per member with excluded orders, else ``''``)."""
    kappa: torch.Tensor
    error: torch.Tensor
    methods: list
    exists: torch.Tensor | None = None
    reasons: list | None = None


def growth_degree(sub, act) -> int:
    r"""The degree :math:`D` with :math:`|f(s)| = O(|s|^D)`: the total polynomial degree for polynomial
    activations, 1 for every other activation of :mod:`rgsym.nets.activations` (bounded or of linear
    growth). The output cumulant :math:`\kappa'_n` needs :math:`E|s|^{Dn} < \infty`."""
    return required_input_order(sub, 1) if poly_coefficients(act) is not None else 1


def existing_order(degree: int, law, order: int) -> int:
    r"""Highest :math:`n \le` ``order`` whose output cumulant exists for a network of growth degree
    ``degree`` on i.i.d. sites of ``law``: :math:`D n <` ``law.max_order`` (Student-t(:math:`\nu`) has
    moments only of order :math:`<\nu`)."""
    law = get_law(law)
    n = int(order)
    while n >= 1 and degree * n >= law.max_order:
        n -= 1
    return n


def predict_cumulants(model, law, order: int = 4, *, nodes: int = 10, missing: str = "raise") -> MemberPrediction:
    r"""Output cumulants of every member of a trained ensemble for i.i.d. sites of ``law`` (eq. 3.4/3.7,
    ``eq-c3-leonov``/``eq-c3-gauss``).

    Polynomial activations are propagated exactly (error 0); every other activation through the
    ``nodes``-point moment-matched rule (fewer nodes where the law's cumulants run out, e.g. Student-t),
    with the error estimated as the change from :math:`m-1` to :math:`m` nodes. An output cumulant
    :math:`\kappa'_n` of a network of growth degree :math:`D` (:func:`growth_degree`) needs input moments
    up to :math:`Dn`; where the law lacks them (:func:`existing_order`) it does not exist, and is never
    approximated: ``missing='raise'`` raises a :class:`MissingCumulantError`, ``missing='exclude'``
    returns NaN there with ``exists`` False and the reason in ``reasons``."""
    law = get_law(law)
    order = as_int("order", order, 1)
    check_choice("missing", missing, ("raise", "exclude"))
    E = getattr(model, "n_members", None) or as_networks(model)[0][1].n_members
    kappa = torch.full((E, order), float("nan"), dtype=DTYPE)
    error = torch.zeros(E, order, dtype=DTYPE)
    exists = torch.ones(E, order, dtype=torch.bool)
    methods, reasons = [""] * E, [""] * E
    for idx, sub, act in _groups_with_models(model):
        t = torch.tensor(idx)
        b = as_networks(sub)[0][1].b
        D = growth_degree(sub, act)
        n_ok = existing_order(D, law, order)
        why = ""
        if n_ok < order:
            why = (f"kappa'_{n_ok + 1}..kappa'_{order} do not exist: a network of growth degree {D} needs input "
                   f"moments up to order {D * (n_ok + 1)}, but {law.name} has finite moments only below order "
                   f"{law.max_order:g}")
            if missing == "raise":
                raise MissingCumulantError(f"output cumulants on {law.name} inputs: {why}")
            exists[t, n_ok:] = False
        if n_ok >= 1 and poly_coefficients(act) is not None:
            pr = propagate(sub, law_inputs(law, b, required_input_order(sub, n_ok)), n_ok)
            name = "exact"
        elif n_ok >= 1:
            m = max(law_nodes(law, nodes), 2)  # two at least: the error is the change from m - 1 nodes
            pr = propagate(sub, law_inputs(law, b, 2 * m - 1), n_ok, "quadrature", nodes=m, estimate_error=True)
            name = f"quadrature({m})"
        else:
            pr, name = None, "none"
        if pr is not None:
            kappa[t, :n_ok] = pr.kappa.cpu()
            if pr.error is not None:
                error[t, :n_ok] = pr.error.cpu()
        error[t, n_ok:] = float("nan")
        for i in idx:
            methods[i], reasons[i] = name, why
    return MemberPrediction(kappa, error, methods, exists, reasons)


def gaussian_truncation(model, law, *, hermite_order: int = 9) -> torch.Tensor:
    r"""Fischer et al.'s Gaussian truncation (eq. 3.5, ``eq-c3-mehler``) for every member and i.i.d.
    sites of ``law``: ``(E, 2)`` predicted :math:`(\kappa'_1, \kappa'_2)` (it predicts :math:`\kappa'_{n\ge3} = 0`)."""
    law = get_law(law)
    b = as_networks(model)[0][1].b
    return propagate(model, law_inputs(law, b, 2), 2, "gaussian", hermite_order=hermite_order).kappa


MC_CHUNK = 512
"""Blocks per chunk of the streamed Monte Carlo reference (:func:`measure_cumulants`)."""


def measure_cumulants(model, law, n_samples: int = 200_000, *, seed: int = 0, order: int = 4,
                      dtype=torch.float32, chunk: int = MC_CHUNK):
    r"""Monte Carlo reference: k-statistics :math:`k_1..k_{\rm order}` and their standard errors of every
    member's output on ``n_samples`` i.i.d. blocks of ``law``, drawn independently for every member (so
    that the members' errors are independent).

    Streamed: ``chunk`` blocks ``(E, chunk, b)`` at a time are drawn in ``dtype`` from one generator seeded
    by ``seed`` (reproducible), run through the trained model itself (each activation/antisymmetrisation
    group as its own sub-ensemble, so only antisymmetrised members get the second pass
    :math:`g(-s)`), and only the float64 power sums :math:`\sum_i (y_i - c)^r`, :math:`r \le 2\,{\rm order}`,
    about the first chunk's mean :math:`c` are kept; the central moments follow by the binomial shift and
    the k-statistics and their standard errors are those of :func:`rgsym.clt.kstats` on the whole sample.
    Returns ``(k, se)``, each ``(E, order)``."""
    from ..clt.sample_moments import _shift_sums

    law = get_law(law)
    n_samples = as_int("n_samples", n_samples, order)
    chunk = as_int("chunk", chunk, 1)
    g = torch.Generator().manual_seed(int(seed))
    if isinstance(model, torch.nn.Module):  # the trained model itself, not its rewriting as plain layers
        parts = [(torch.tensor(idx), copy.deepcopy(sub).to(dtype)) for idx, sub, _ in _groups_with_models(model)]
        b, E = int(model.b), model.n_members
    else:
        groups = as_networks(model)
        b = groups[0][1].b
        E = sum(len(i) for i, _ in groups)
        parts = [(torch.tensor(idx), lambda x, net=net: network_forward(
            Network([(W.to(dtype), c.to(dtype)) for W, c in net.layers], net.activation), x))
            for idx, net in groups]
    rmax = 2 * order
    S = torch.zeros(E, rmax + 1, dtype=DTYPE)
    shift = None
    with torch.no_grad():
        for start in range(0, n_samples, chunk):
            B = min(chunk, n_samples - start)
            x = law.sample((E, B, b), g, dtype=dtype)
            y = torch.empty(E, B, dtype=DTYPE)
            for idx, fwd in parts:
                y[idx] = fwd(x[idx] if len(idx) != E else x).to(DTYPE)
            if shift is None:
                shift = y.mean(-1, keepdim=True)
            d = y - shift
            p = torch.ones_like(d)
            for r in range(rmax + 1):
                S[:, r] += p.sum(-1)
                p = p * d
    N = n_samples
    m = torch.stack(_shift_sums(S, N, rmax), -1)
    mean = shift[:, 0] + S[:, 1] / N
    return kstats_from_moments(mean, m, N, order)


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
    :math:`(0, 1, 0, \dots)` (eq. 3.2, ``eq-c3-flow``), sorted by modulus, ``(E, state)`` complex; the
    exact map has :math:`b^{1-n/2}`, :math:`n = 1..`\ ``state``. Non-polynomial members use the ``nodes``-point rule
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
