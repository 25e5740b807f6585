r"""What a block-map MLP's function class can represent, decided from the algebra (Chapter 2).

Some constrained classes contain only linear maps, and so contain the exact map :math:`T_b` (itself
linear) without learning anything: they are references, not points on a constraint axis. The
decision reads the activation's properties off its sympy form (:attr:`Activation.symbolic`), never
its name:

* **linear** :math:`\phi'' \equiv 0`: every network is affine;
* **odd part linear**, :math:`\phi(z) - \phi(-z) = 2\phi'(0)\,z` (eq. 2.1), true for ReLU, SiLU,
  GELU and the quadratic: an antisymmetrised network with one bias-free hidden layer is
  :math:`f(s) = \sum_h v_h[\phi(w_h\cdot s) - \phi(-w_h\cdot s)]/2 = \phi'(0)\sum_h v_h\, w_h\cdot s`,
  linear;
* **positively homogeneous**, :math:`\phi(cz) = c\,\phi(z)` for :math:`c > 0` (eq. 2.2; ReLU): where
  the first layer sees the block only through one scalar :math:`y` (``perm-in``: :math:`y = \sum_i s_i`;
  one group of tied units: :math:`y = w\cdot s`), a bias-free network is :math:`g(y) = g(1)\,y^+ + g(-1)\,y^-`
  at every depth, and its odd part :math:`[g(y) - g(-y)]/2 = \tfrac12[g(1) - g(-1)]\,y` is linear.

:func:`linear_by_construction` applies these rules to an :class:`~rgsym.nets.mlp.MLPConfig`;
:func:`nonlinear_fraction` checks them numerically (the share of the output variance that no affine
map explains, at any weights).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import torch

from .activations import Activation
from .ensemble import rg_step
from .mlp import MLPConfig

LINEAR_FRACTION = 1e-10
"""A float64 network is numerically linear when its nonlinear variance fraction is below this."""


@dataclass(frozen=True)
class ActivationAlgebra:
    """Properties of :math:`\\phi` proven by sympy: linear, odd, odd part linear (eq. 2.1), positively
    homogeneous (eq. 2.2), and the slope :math:`\\phi'(0)` that the exact constructions of
    :mod:`rgsym.nets.exact` divide by."""

    linear: bool
    odd: bool
    odd_part_linear: bool
    positively_homogeneous: bool
    slope0: float


@lru_cache(maxsize=None)
def _algebra(name: str, alpha: float, symbolic) -> ActivationAlgebra:
    import sympy as sp

    z = sp.Symbol("z", real=True)
    c = sp.Symbol("c", positive=True)
    phi = symbolic(z)
    slope0 = sp.diff(phi, z).subs(z, 0)

    def zero(expr) -> bool:
        return sp.simplify(expr) == 0

    return ActivationAlgebra(
        linear=zero(sp.diff(phi, z, 2)),
        odd=zero(phi + phi.subs(z, -z)),
        odd_part_linear=zero(phi - phi.subs(z, -z) - 2 * slope0 * z),
        positively_homogeneous=zero(phi.subs(z, c * z) - c * phi),
        slope0=float(slope0),
    )


def activation_algebra(act: Activation) -> ActivationAlgebra:
    """The :class:`ActivationAlgebra` of an activation, from its sympy form (cached)."""
    if act.symbolic is None:
        raise ValueError(f"activation {act.name!r} has no symbolic form; the algebra needs one")
    return _algebra(act.name, act.alpha, act.symbolic)


def linear_by_construction(config) -> tuple[bool, str]:
    """Whether every network of ``config``'s class is an affine map of its input, and why (the rule of
    the module docstring that decides it, or ``'nonlinear class'``).

    ``config``: an :class:`~rgsym.nets.mlp.MLPConfig`, or a :class:`~rgsym.nets.gnn_config.GNNConfig`
    (one message-passing layer is one hidden layer: the first two rules apply; the scalar-input rule is
    the MLP's)."""
    a = activation_algebra(config.act)
    if a.linear:
        return True, "linear activation: an affine network"
    if config.antisymmetrised:
        if config.depth == 1 and a.odd_part_linear:
            return True, "one bias-free antisymmetrised layer, and phi(z) - phi(-z) is linear (2.1)"
        if not isinstance(config, MLPConfig):
            return False, "nonlinear class"
        scalar = "perm-in" in config.flags or config.hidden_groups == 1
        if scalar and a.positively_homogeneous:
            return True, "one scalar input, bias-free and positively homogeneous: its odd part is linear (2.2)"
    return False, "nonlinear class"


@torch.no_grad()
def nonlinear_fraction(model, *, n: int = 4096, scale: float = 2.0, seed: int = 0) -> torch.Tensor:
    r"""Share of each member's output variance that no affine map explains, ``(E,)`` float64, for any
    ensemble RG module (an MLP, or a GNN on single blocks):
    :math:`\min_{a, c} E[(f(s) - a - c\cdot s)^2] / \mathrm{Var} f(s)` on ``n`` blocks
    :math:`s \sim N(0, \mathrm{scale}^2 I_b)` (least squares; ~1e-30 for a linear member in float64, 0 for a constant one)."""
    g = torch.Generator().manual_seed(int(seed))
    E, b = model.n_members, model.b
    p = next(model.parameters())
    s = torch.randn(n, b, generator=g, dtype=torch.float64) * scale
    y = rg_step(model, s.to(p.dtype).unsqueeze(0).expand(E, -1, -1).contiguous()).reshape(E, n).double().cpu()
    X = torch.cat([torch.ones(n, 1, dtype=torch.float64), s], 1)  # (n, b + 1)
    coef = torch.linalg.lstsq(X, y.T).solution  # (b + 1, E)
    resid = y.T - X @ coef
    var = y.var(1, correction=0)
    return torch.where(var > 0, resid.pow(2).mean(0) / torch.where(var > 0, var, 1.0), 0.0)  # constant: affine
