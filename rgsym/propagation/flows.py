r"""The learned map's flow in cumulant space (eq. 3.2, ``eq-c3-flow``) and its fixed points (Chapter 3).

The blocks of a lattice are disjoint, so after one learned step the new sites are again i.i.d. and the
learned map closes on the single-site cumulants, :math:`(\kappa'_1, \kappa'_2, \dots) =
F_f(\kappa_1, \kappa_2, \dots)` -- exactly only with all orders. :func:`cumulant_map` is one step with
the order-:math:`K` closure (input cumulants above the closure order set to zero; differentiable),
:func:`cumulant_flow` iterates it, :func:`flow_jacobian` linearises it and
:func:`flow_fixed_point` solves :math:`\kappa^* = F(\kappa^*)`. The exact map's flow (eq. 1.4,
:math:`\kappa_n(l) = b^{l(1-n/2)}\kappa_n`) is :func:`exact_flow`, a view of Chapter 1's
:func:`exact_cumulant_flow`. For many steps of strongly nonlinear maps use
:func:`rgsym.propagation.quadrature.quadrature_flow` (eq. 3.11, ``eq-c3-closure``).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from ..clt import exact_cumulant_flow
from ..validation import as_int
from .inputs import _as_members, iid_inputs
from .methods import propagate, required_input_order
from .networks import as_networks
from .polynomials import DTYPE


_NET_KW = ("activation", "antisymmetrised")
_ORDER_KW = ("hermite_order", "max_degree", "nodes", "activation", "antisymmetrised")


def cumulant_map(model, kappa: torch.Tensor, method: str = "exact", *, closure: int | None = None,
                 **kw) -> torch.Tensor:
    r"""One step of the learned RG map in cumulant space (eq. 3.2, ``eq-c3-flow``):
    :math:`\kappa\mapsto\kappa' = F(\kappa)`, ``kappa`` ``(E, K)`` or ``(K,)`` the cumulants
    :math:`\kappa_1..\kappa_K` of i.i.d. inputs, returns ``(E, K)``.

    The blocks of a lattice are disjoint, so after one learned step the new sites are again i.i.d.
    and the map closes on the sequence of single-site cumulants -- exactly only with all orders.
    Here input cumulants above ``closure`` (default ``K``) are set to zero (the order-``K`` closure;
    ``closure=2`` is the Gaussian closure). Keyword arguments go to :func:`propagate`. For strongly
    nonlinear maps the truncated sequence can stop being the cumulants of any law (negative variances
    follow); :func:`quadrature_flow` is the robust alternative for iterating many steps."""
    kappa = _as_members(kappa, "kappa")
    K = kappa.shape[-1]
    closure = K if closure is None else as_int("closure", closure, 1, K)
    need = max(required_input_order(model, K, method, **{k: v for k, v in kw.items() if k in _ORDER_KW}), K)
    pad = torch.zeros(kappa.shape[0], need - closure, dtype=DTYPE, device=kappa.device)
    full = torch.cat([kappa[:, :closure], pad], -1)
    b = as_networks(model, **{k: v for k, v in kw.items() if k in _NET_KW})[0][1].b
    return propagate(model, iid_inputs(full, b), K, method, **kw).kappa


def cumulant_flow(model, kappa0, steps: int, method: str = "exact", **kw) -> torch.Tensor:
    r"""Iterate :func:`cumulant_map` ``steps`` times from ``kappa0`` ``(K,)`` or ``(E, K)``:
    returns ``(steps + 1, E, K)``, the predicted :math:`\kappa_n` after ``l = 0..steps`` learned RG steps."""
    steps = as_int("steps", steps, 0)
    E = sum(len(i) for i, _ in as_networks(model, **{k: v for k, v in kw.items() if k in _NET_KW}))
    k = _as_members(kappa0, "kappa0").expand(E, -1).clone()
    out = [k]
    for _ in range(int(steps)):
        k = cumulant_map(model, k, method, **kw)
        out.append(k)
    return torch.stack(out)


def exact_flow(kappa0, b: int, steps: int) -> torch.Tensor:
    r"""The exact CLT flow :math:`\kappa_n(l) = b^{l(1-n/2)}\kappa_n` (eq. 1.4, :func:`exact_cumulant_flow`)
    for ``l = 0..steps``. Shapes: ``kappa0`` ``(..., K)`` -> ``(steps + 1, ..., K)``."""
    k = torch.as_tensor(kappa0, dtype=DTYPE)
    lam = torch.from_numpy(exact_cumulant_flow([1.0] * k.shape[-1], b, steps))  # b^{l(1-n/2)}, (steps+1, K)
    return lam.reshape((lam.shape[0],) + (1,) * (k.dim() - 1) + (lam.shape[1],)) * k


def flow_jacobian(model, kappa, method: str = "exact", **kw) -> torch.Tensor:
    r""":math:`\partial\kappa'_m/\partial\kappa_n` of :func:`cumulant_map` at ``kappa`` ``(E, K)``: ``(E, K, K)``.
    At a fixed point its eigenvalues are the learned map's RG eigenvalues (exact map:
    :math:`b^{1-n/2}`)."""
    return _map_and_jacobian(model, kappa, method, **kw)[1]


def _map_and_jacobian(model, kappa, method: str = "exact", **kw) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`cumulant_map` at ``kappa`` and its Jacobian from one forward pass: ``((E, K), (E, K, K))``."""
    E = sum(len(i) for i, _ in as_networks(model, **{k: v for k, v in kw.items() if k in _NET_KW}))
    k = _as_members(kappa, "kappa").detach().expand(E, -1).clone().requires_grad_(True)
    out = cumulant_map(model, k, method, **kw)
    rows = []
    for m in range(out.shape[-1]):
        (g,) = torch.autograd.grad(out[:, m].sum(), k, retain_graph=m < out.shape[-1] - 1, allow_unused=True)
        rows.append(torch.zeros_like(k) if g is None else g)
    return out.detach(), torch.stack(rows, 1).detach()


@dataclass
class FixedPoint:
    """Result of :func:`flow_fixed_point`: ``kappa`` ``(E, K)``, ``converged`` ``(E,)``, ``residual`` ``(E,)``,
    ``eigenvalues`` ``(E, K)`` of the flow's Jacobian there (complex), ``iterations``."""

    kappa: torch.Tensor
    converged: torch.Tensor
    residual: torch.Tensor
    eigenvalues: torch.Tensor
    iterations: int


def flow_fixed_point(model, kappa_start, method: str = "exact", *, tol: float = 1e-10, max_iter: int = 60,
                     fix_variance: bool = False, **kw) -> FixedPoint:
    r"""A fixed point :math:`\kappa^* = F(\kappa^*)` of the learned map's cumulant flow, by damped Newton
    from ``kappa_start`` ``(K,)`` or ``(E, K)`` (the Gaussian fixed point :math:`(0, 1, 0, \dots)` is
    the natural start).

    The exact map has a line of Gaussian fixed points (:math:`\kappa_2` marginal); a learned map
    generally keeps one point of it or none. ``fix_variance=True`` solves instead for the fixed
    point of every order except the variance, holding :math:`\kappa_2` at its start value (the
    learned map's closest analogue of the Gaussian point at that variance)."""
    E = sum(len(i) for i, _ in as_networks(model, **{k: v for k, v in kw.items() if k in _NET_KW}))
    k = _as_members(kappa_start, "kappa_start").expand(E, -1).clone()
    K = k.shape[-1]
    free = torch.ones(K, dtype=torch.bool)
    if fix_variance and K >= 2:
        free[1] = False
    fi = torch.nonzero(free).flatten()
    converged = torch.zeros(E, dtype=torch.bool)
    res = torch.full((E,), float("inf"), dtype=DTYPE)
    it = 0
    for it in range(1, max_iter + 1):
        F, J = _map_and_jacobian(model, k, method, **kw)
        G = (F - k)[:, fi]
        res = G.abs().amax(-1)
        converged = res < tol * (1 + k.abs().amax(-1))
        if bool(converged.all()):
            break
        J = J[:, fi][:, :, fi] - torch.eye(len(fi), dtype=DTYPE)
        try:
            step = torch.linalg.solve(J, -G.unsqueeze(-1)).squeeze(-1)
        except RuntimeError:
            step = torch.linalg.lstsq(J, -G.unsqueeze(-1)).solution.squeeze(-1)
        step = torch.nan_to_num(step)
        scale = (1.0 / step.abs().amax(-1).clamp_min(1.0)).unsqueeze(-1)  # damp huge steps
        step = torch.where(converged.unsqueeze(-1), torch.zeros_like(step), step * scale)
        k = k.clone()
        k[:, fi] = k[:, fi] + step
        if K >= 2:
            k[:, 1] = k[:, 1].clamp_min(0.0)
        if not torch.isfinite(k).all():
            break
    eig = torch.linalg.eigvals(flow_jacobian(model, k, method, **kw)) if torch.isfinite(k).all() else \
        torch.full((E, K), complex("nan"), dtype=torch.complex128)
    return FixedPoint(kappa=k, converged=converged, residual=res, eigenvalues=eig, iterations=it)
