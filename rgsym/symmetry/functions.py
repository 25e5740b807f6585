r"""Function-space symmetry measures of an ensemble, eqs. (6.5)-(6.7) (Chapter 6).

The learned block map :math:`f` of every member is evaluated on a fixed set of input blocks
:math:`s` (in the units of :math:`s'`, which has unit variance), and each measure is zero for the exact
map :math:`T_b(s) = b^{-1/2}\sum_i s_i`:

* eq. (6.5) ``even``: :math:`\langle |f(s) + f(-s)| \rangle_s` (the exact map is odd);
* eq. (6.6) ``perm_fn``: :math:`\langle |f(s) - f(\sigma s)| \rangle_{s,\sigma}` over the generators
  of :math:`S_b` (a transposition and the cyclic shift; the exact map is permutation invariant);
* eq. (6.7) ``nonlin``: :math:`\min_{a,\beta}\langle (f(s) - a - \beta\sum_i s_i)^2\rangle_s^{1/2}`, the
  distance from the best affine map of the block sum (the exact map is :math:`b^{-1/2}\sum_i s_i`);
* the scale-free versions (6.5') ``even_rel`` :math:`= \langle|f(s)+f(-s)|\rangle / \langle|f(s)|+|f(-s)|\rangle`
  and (6.6') ``perm_rel`` :math:`= \langle|f(s)-f(\sigma s)|\rangle / \langle|f(s)|+|f(\sigma s)|\rangle`, in
  :math:`[0, 1]` and unchanged under :math:`f \to cf`, with ``f_abs`` :math:`= \langle|f(s)|\rangle`.

``f`` is any callable mapping blocks ``(E, B, b)`` to ``(E, B)`` (or ``(E, B, 1)``: a lattice model
such as a GNN applied to one block); every measure returns a tensor of shape ``(E,)``. The size of
the quadratic form (6.8), also a property of :math:`f`, is computed from the weights
(:func:`rgsym.symmetry.parameters.quadratic_form_size`).
"""
from __future__ import annotations

from typing import Callable

import torch

__all__ = ["FUNCTION_MEASURES", "even_part", "perm_asymmetry", "nonlinear_part", "function_distances"]

FUNCTION_MEASURES = ("even", "perm_fn", "nonlin", "quad_form", "even_rel", "perm_rel", "f_abs")
"""The measures of the learned function: (6.5)-(6.7) here and the quadratic form (6.8)."""


def _blocks(s: torch.Tensor, E: int) -> torch.Tensor:
    """The evaluation blocks ``s`` ``(B, b)`` shared by the ``E`` members: ``(E, B, b)``."""
    if s.dim() != 2:
        raise ValueError(f"evaluation blocks must have shape (B, b), got {tuple(s.shape)}")
    return s.unsqueeze(0).expand(E, *s.shape)


def _call(f: Callable, x: torch.Tensor) -> torch.Tensor:
    """``f(x)`` as ``(E, B)`` (a trailing output axis of size one is dropped)."""
    y = f(x)
    if y.dim() == 3 and y.shape[-1] == 1:
        y = y[..., 0]
    if y.dim() != 2:
        raise ValueError(f"the model must map blocks (E, B, b) to (E, B); got output shape {tuple(y.shape)}")
    return y


def _generators(b: int):
    gens = [torch.arange(b).roll(1)]  # the cyclic shift
    if b > 2:
        t = torch.arange(b)
        t[0], t[1] = 1, 0  # a transposition; with the shift it generates S_b
        gens.append(t)
    return gens


def _ratio(num: torch.Tensor, den: torch.Tensor) -> torch.Tensor:
    """``num / den``, NaN where ``den`` is zero (the zero function has no relative asymmetry)."""
    return torch.where(den > 0, num / torch.where(den > 0, den, torch.ones_like(den)), torch.full_like(num, float("nan")))


def _even(f: Callable, x: torch.Tensor, y: torch.Tensor, relative: bool = False):
    ym = _call(f, -x)
    even = (y + ym).abs().mean(dim=1)
    if not relative:
        return even
    return even, _ratio(even, (y.abs() + ym.abs()).mean(dim=1))


def _perm(f: Callable, x: torch.Tensor, y: torch.Tensor, relative: bool = False):
    ys = [_call(f, x[..., g.to(x.device)]) for g in _generators(x.shape[-1])]
    perm = torch.stack([(y - yg).abs().mean(dim=1) for yg in ys]).mean(dim=0)
    if not relative:
        return perm
    den = torch.stack([(y.abs() + yg.abs()).mean(dim=1) for yg in ys]).mean(dim=0)
    return perm, _ratio(perm, den)


def _affine_sum_residual(y: torch.Tensor, S: torch.Tensor) -> torch.Tensor:
    Sc = S - S.mean()
    yc = y - y.mean(dim=1, keepdim=True)
    beta = (yc * Sc).sum(dim=1, keepdim=True) / Sc.square().sum()
    return (yc - beta * Sc).square().mean(dim=1).sqrt()


def even_part(f: Callable, s: torch.Tensor, E: int) -> torch.Tensor:
    r"""Eq. (6.5): :math:`\langle |f(s) + f(-s)|\rangle_s`, ``(E,)``.

    Shapes: ``f`` maps ``(E, B, b)`` to ``(E, B)``; ``s`` holds the evaluation blocks ``(B, b)``."""
    x = _blocks(s, E)
    return _even(f, x, _call(f, x))


def perm_asymmetry(f: Callable, s: torch.Tensor, E: int) -> torch.Tensor:
    r"""Eq. (6.6): :math:`\langle |f(s) - f(\sigma s)|\rangle_{s,\sigma}` over the generators of
    :math:`S_b`, ``(E,)``."""
    x = _blocks(s, E)
    return _perm(f, x, _call(f, x))


def nonlinear_part(f: Callable, s: torch.Tensor, E: int) -> torch.Tensor:
    r"""Eq. (6.7): RMS distance of :math:`f` from its best affine map of the block sum, ``(E,)``."""
    return _affine_sum_residual(_call(f, _blocks(s, E)), s.sum(dim=1))


def _function_measures(f: Callable, s: torch.Tensor, E: int):
    """(6.5)-(6.7) and the outputs ``f(s)`` ``(E, B)`` they were computed from."""
    x = _blocks(s, E)
    y = _call(f, x)
    (even, even_rel), (perm, perm_rel) = _even(f, x, y, True), _perm(f, x, y, True)
    out = {"even": even, "perm_fn": perm, "nonlin": _affine_sum_residual(y, s.sum(dim=1)),
           "even_rel": even_rel, "perm_rel": perm_rel, "f_abs": y.abs().mean(dim=1)}
    return out, y


def function_distances(f: Callable, s: torch.Tensor, E: int) -> dict:
    """The function-space measures (6.5)-(6.7), (6.5') and (6.6') in one pass (four evaluations of ``f``
    at most)."""
    return _function_measures(f, s, E)[0]
