r"""Distances from parameter and function symmetries, measured on whole ensembles (Chapter 6).

After L. Ziyin et al., *Parameter symmetry potentially unifies deep learning theory*
(arXiv:2502.05300): a parameter symmetry whose fixed points form a linear subspace
:math:`\Theta_G = \{\theta : g\theta = \theta\ \forall g \in G\}` has the orthogonal projection
:math:`P_G\theta = |G|^{-1}\sum_{g} g\theta` (the group average), and the distance of the parameters
from the symmetric subspace is :math:`\Delta_G(\theta) = \lVert \theta - P_G\theta \rVert`. Training
*breaks* a symmetry when :math:`\Delta_G` grows away from zero and *restores* it when it returns.

Notation (Chapter 6). A block :math:`s = (s_1..s_b)` is mapped by an MLP with layers
:math:`(W^{(k)}, c^{(k)})`, :math:`k = 1..K`:
:math:`a^{(0)} = s`, :math:`a^{(k)} = \varphi(W^{(k)} a^{(k-1)} + c^{(k)})` for :math:`k < K` and
:math:`f(s) = W^{(K)} a^{(K-1)} + c^{(K)}`. An *antisymmetrised* network is
:math:`f(s) = [g(s) - g(-s)]/2` with :math:`g` the plain network. Everything here works on an
ensemble of :math:`E` members at once: ``layers`` is a list of ``(W, c)`` with ``W`` of shape
``(E, out, in)`` and ``c`` of shape ``(E, out)`` (the *effective* weights, constraints applied, as
returned by ``model.layers()``), and every measure returns a tensor of shape ``(E,)``.

Parameter-space measures (each zero exactly on the subspace of one constrained variant of Chapter 2):

* eq. (6.1) ``d_perm_in``: :math:`\lVert W^{(1)} - W^{(1)}\Pi\rVert_F`, :math:`\Pi = b^{-1}\mathbf 1\mathbf 1^\top`,
  the distance from the input-permutation (``perm-in``) subspace (first-layer columns all equal);
* eq. (6.2) pairwise distances :math:`D_{hh'} = \lVert u_h - u_{h'}\rVert` between the hidden units
  :math:`u_h = (W^{(k)}_{h,:}, c^{(k)}_h)` of a hidden layer, and the number of distinct units;
* eq. (6.3) ``d_tied_hidden``: :math:`\big(\sum_{k<K}\sum_h \lVert u_h - \bar u\rVert^2\big)^{1/2}`, the
  distance from the fully symmetric point of hidden-unit permutation symmetry (``tied-hidden``);
* eq. (6.4) ``d_odd``: :math:`\big(\sum_k \lVert c^{(k)}\rVert^2\big)^{1/2}`, the distance from the zero-bias
  subspace, which is the :math:`\mathbb Z_2` (``odd``) subspace when :math:`\varphi` is odd (zero for
  an antisymmetrised network, odd for every :math:`\theta`; undefined otherwise).

Function-space measures, averaged over a fixed set of input blocks :math:`s` (in the units of
:math:`s'`, which has unit variance):

* eq. (6.5) ``even``: :math:`\langle |f(s) + f(-s)| \rangle_s` (the exact map is odd);
* eq. (6.6) ``perm_fn``: :math:`\langle |f(s) - f(\sigma s)| \rangle_{s,\sigma}` over the generators
  of :math:`S_b` (a transposition and the cyclic shift; the exact map is permutation invariant);
* eq. (6.7) ``nonlin``: :math:`\min_{a,\beta}\langle (f(s) - a - \beta\sum_i s_i)^2\rangle_s^{1/2}`, the
  distance from the best affine map of the block sum (the exact map is :math:`b^{-1/2}\sum_i s_i`);
* eq. (6.8) ``quad_form``: :math:`\lVert Q\rVert_F` with :math:`Q = \tfrac12\nabla^2 f(0)` the quadratic form
  of the Taylor expansion at the origin, for polynomial activations (for one hidden layer of
  :math:`\varphi(z) = z + \alpha z^2`, :math:`Q = \alpha\sum_h v_h w_h w_h^\top` exactly).

For a GNN ensemble (:mod:`rgsym.gnn`, no ``layers()``) the function-space measures apply unchanged
(the model is evaluated on lattices of one block), and eq. (6.9) ``d_shared`` is the distance of its
position- and edge-type-dependent weights from the ``shared`` (equivariant) subspace.

Logging during training: :class:`SymmetryLogger` is the callback ``fn(model, step) -> dict`` handed
to the training engine :func:`rgsym.training.train_ensemble`, which calls it at the steps of its
logarithmic schedule (:func:`rgsym.training.log_schedule`: step 0 and 40 points evenly spaced in
:math:`\log t`, by default).
It draws its evaluation blocks from its own generator, runs under ``torch.no_grad`` and never
touches the global random state, so logging leaves the training trajectory unchanged.

The second half holds the runs of Chapter 6 and their analysis: :class:`BreakingSpec` and
:func:`run_breaking` (free and constrained MLPs of every activation from a small and a standard
initialisation, trained with the logger, cached by content), :func:`member_summary` and
:func:`cell_table` (breaking, restoration, stall and timing per member and per cell) and
:func:`c5_verdict`, the computed verdict on claim C5 with the thresholds stated as module constants.
"""
from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
import pandas as pd
import torch

from .config import check_choice, describe_device
from .distributions import LAWS, get_law, unseen_laws
from .models import EnsembleMLP, MLPConfig
from .training import TrainConfig, train_ensemble

__all__ = [
    "PARAM_MEASURES", "FUNCTION_MEASURES", "ERROR_MEASURES",
    "check_layers", "mlp_apply", "hidden_units", "perm_in_distance", "pairwise_unit_distances",
    "count_distinct_units", "tied_hidden_distance", "odd_distance", "taylor_quadratic_form",
    "quadratic_form_size", "even_part", "perm_asymmetry", "nonlinear_part", "parameter_distances",
    "function_distances", "gnn_shared_distance", "model_facts", "symmetry_measures", "SymmetryLogger",
    "INIT_NAMES", "BreakingSpec", "BreakingResult", "run_breaking", "chapter6_spec", "member_summary",
    "cell_table", "c5_verdict", "FAMILIES", "gnn_chapter6_spec",
]

PARAM_MEASURES = ("d_perm_in", "d_tied_hidden", "d_odd", "pair_dist", "n_distinct", "theta_norm")
FUNCTION_MEASURES = ("even", "perm_fn", "nonlin", "quad_form")
ERROR_MEASURES = ("test_mse", "ood_mse")

Layers = Sequence[tuple]


# ----------------------------------------------------------------------------------------- helpers
def check_layers(layers: Layers) -> int:
    """Check a list of ``(W, c)`` with ``W: (E, out, in)``, ``c: (E, out)`` chaining correctly and
    ending in one output; return the ensemble size ``E``."""
    if len(layers) == 0:
        raise ValueError("layers is empty: expected a list of (W, c) with W of shape (E, out, in)")
    E = None
    prev_out = None
    for k, pair in enumerate(layers):
        if len(pair) != 2:
            raise ValueError(f"layer {k}: expected a pair (W, c), got {len(pair)} items")
        W, c = pair
        if W.dim() != 3 or c.dim() != 2:
            raise ValueError(
                f"layer {k}: W must have shape (E, out, in) and c shape (E, out); "
                f"got {tuple(W.shape)} and {tuple(c.shape)}"
            )
        if E is None:
            E = W.shape[0]
        if W.shape[0] != E or c.shape[0] != E or c.shape[1] != W.shape[1]:
            raise ValueError(
                f"layer {k}: inconsistent shapes W {tuple(W.shape)}, c {tuple(c.shape)} (ensemble size {E})"
            )
        if prev_out is not None and W.shape[2] != prev_out:
            raise ValueError(f"layer {k}: takes {W.shape[2]} inputs but layer {k - 1} gives {prev_out}")
        prev_out = W.shape[1]
    if prev_out != 1:
        raise ValueError(f"the last layer must have one output (the block spin s'), got {prev_out}")
    return int(E)


def _act_fn(activation) -> Callable:
    if callable(activation):
        return activation
    poly = _poly_coeffs(activation)
    if poly is None:
        raise TypeError(f"activation must be callable or a tuple of polynomial coefficients, got {activation!r}")
    return lambda z: sum(ci * z**i for i, ci in enumerate(poly))


def _poly_coeffs(activation):
    """Polynomial coefficients ``(c_0, .., c_deg)`` of an activation, or None when not polynomial."""
    if isinstance(activation, (tuple, list)):
        return tuple(float(x) for x in activation)
    return getattr(activation, "poly_coeffs", None)


def _is_odd(activation) -> bool | None:
    if isinstance(activation, (tuple, list)):
        return all(float(c) == 0.0 for c in activation[0::2])
    return getattr(activation, "is_odd", None)


def mlp_apply(layers: Layers, activation, x: torch.Tensor, antisymmetrised: bool = False) -> torch.Tensor:
    r"""The block map :math:`f(s)` of the ensemble MLP given by ``layers`` (see the module notation).

    ``x``: blocks of shape ``(E, B, b)`` (or ``(B, b)``, shared by all members); returns ``(E, B)``.
    ``activation`` is a callable (elementwise) or a tuple of polynomial coefficients.
    """
    E = check_layers(layers)
    phi = _act_fn(activation)
    if x.dim() == 2:
        x = x.unsqueeze(0).expand(E, *x.shape)

    def g(a):
        for k, (W, c) in enumerate(layers):
            a = torch.baddbmm(c.unsqueeze(1), a, W.transpose(1, 2))
            if k < len(layers) - 1:
                a = phi(a)
        return a[..., 0]

    if antisymmetrised:
        return 0.5 * (g(x) - g(-x))
    return g(x)


# ------------------------------------------------------------------------------ parameter space
def perm_in_distance(layers: Layers) -> torch.Tensor:
    r"""Eq. (6.1): distance of the first-layer weights from their mean over inputs, ``(E,)``.

    :math:`\lVert W^{(1)} - W^{(1)}\Pi\rVert_F^2 = (2b)^{-1}\sum_{i,j}\lVert W^{(1)}_{:,i} - W^{(1)}_{:,j}\rVert^2`;
    the pairwise form is used so that exactly tied columns give exactly zero.
    """
    check_layers(layers)
    W = layers[0][0]  # (E, H, b)
    b = W.shape[2]
    diff = W.unsqueeze(3) - W.unsqueeze(2)  # (E, H, b, b)
    return (diff.square().sum(dim=(1, 2, 3)) / (2 * b)).sqrt()


def hidden_units(layers: Layers, k: int = 0) -> torch.Tensor:
    r"""The units :math:`u_h = (W^{(k)}_{h,:}, c^{(k)}_h)` of hidden layer ``k`` (0-based): ``(E, H, in + 1)``."""
    check_layers(layers)
    n_hidden = len(layers) - 1
    if not 0 <= k < n_hidden:
        raise ValueError(f"hidden layer index {k} out of range: the network has {n_hidden} hidden layer(s)")
    W, c = layers[k]
    return torch.cat([W, c.unsqueeze(2)], dim=2)


def pairwise_unit_distances(layers: Layers, k: int = 0) -> torch.Tensor:
    r"""Eq. (6.2): :math:`D_{hh'} = \lVert u_h - u_{h'}\rVert` for hidden layer ``k``, shape ``(E, H, H)``.

    Computed from the differences (not the Gram matrix), so identical units are at distance 0.
    """
    u = hidden_units(layers, k)
    return torch.cdist(u, u, compute_mode="donot_use_mm_for_euclid_dist")


def count_distinct_units(D: torch.Tensor, tol: float = 0.05) -> torch.Tensor:
    r"""Number of distinct hidden units given pairwise distances ``D`` of shape ``(E, H, H)``.

    Units closer than ``tol`` are linked; the count is the number of connected components of that
    graph (single-linkage clusters), ``(E,)`` as float. ``tol`` is absolute, in the units of the
    weights (the exact map's first-layer weights are of order :math:`b^{-1/2}`), so a network near
    :math:`\theta = 0` -- the point every symmetry fixes -- has one distinct unit.
    """
    if D.dim() != 3 or D.shape[1] != D.shape[2]:
        raise ValueError(f"D must have shape (E, H, H), got {tuple(D.shape)}")
    if not tol >= 0:
        raise ValueError(f"tol must be >= 0, got {tol}")
    E, H, _ = D.shape
    adj = D <= tol
    adj = adj | torch.eye(H, dtype=torch.bool, device=D.device)
    labels = torch.arange(H, device=D.device).expand(E, H).clone()
    big = torch.full((), H, dtype=labels.dtype, device=D.device)
    for _ in range(H):  # label propagation: converges in (graph diameter) sweeps
        new = torch.where(adj, labels.unsqueeze(1), big).amin(dim=2)
        if torch.equal(new, labels):
            break
        labels = new
    roots = labels == torch.arange(H, device=D.device)
    return roots.sum(dim=1).to(D.dtype)


def tied_hidden_distance(layers: Layers) -> torch.Tensor:
    r"""Eq. (6.3): distance of all hidden layers from the ``tied-hidden`` subspace, ``(E,)``.

    Uses :math:`\sum_h\lVert u_h-\bar u\rVert^2 = (2H)^{-1}\sum_{h,h'}D_{hh'}^2` (exactly zero for tied units).
    """
    E = check_layers(layers)
    ref = layers[0][0]
    total = torch.zeros(E, dtype=ref.dtype, device=ref.device)
    for k in range(len(layers) - 1):
        D = pairwise_unit_distances(layers, k)
        total = total + D.square().sum(dim=(1, 2)) / (2 * D.shape[1])
    return total.sqrt()


def _per_member(x, E: int, what: str) -> list:
    """One value per member: ``x`` itself repeated, or ``x`` when it is a length-``E`` sequence
    (a tuple of plain numbers is one activation given by its polynomial coefficients)."""
    if isinstance(x, (list, tuple)) and not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in x):
        if len(x) != E:
            raise ValueError(f"got {len(x)} {what} values for an ensemble of {E} members")
        return list(x)
    if isinstance(x, list) and what == "antisymmetrised":
        if len(x) != E:
            raise ValueError(f"got {len(x)} {what} values for an ensemble of {E} members")
        return list(x)
    return [x] * E


def _groups(keys: list) -> list:
    """Indices of the members sharing each distinct key, in order of first appearance."""
    out = {}
    for i, k in enumerate(keys):
        out.setdefault(k, []).append(i)
    return list(out.items())


def _select(layers: Layers, idx: list) -> list:
    t = torch.tensor(idx, device=layers[0][0].device)
    return [(W[t], c[t]) for W, c in layers]


def _act_key(act):
    if act is None:
        return None
    poly = _poly_coeffs(act)
    return (getattr(act, "name", None) or repr(act), poly, _is_odd(act))


def odd_distance(layers: Layers, activation=None, antisymmetrised=False) -> torch.Tensor:
    r"""Eq. (6.4): distance from the :math:`\mathbb Z_2` (``odd``) subspace, ``(E,)``.

    For an odd activation the odd subspace is *all biases zero* and the distance is the bias norm;
    an antisymmetrised network is odd for every :math:`\theta` (distance 0); for a non-odd
    activation no linear subspace of the parameters makes the network odd, and the value is NaN.
    ``activation`` and ``antisymmetrised`` are one value or one per member (``None``: take the
    activation to be odd).
    """
    E = check_layers(layers)
    acts = _per_member(activation, E, "activation")
    anti = _per_member(antisymmetrised, E, "antisymmetrised")
    bias = torch.stack([c.square().sum(dim=1) for _, c in layers]).sum(dim=0).sqrt()
    odd = torch.tensor([a is None or bool(_is_odd(a)) for a in acts], device=bias.device)
    anti_t = torch.tensor([bool(a) for a in anti], device=bias.device)
    out = torch.where(odd, bias, torch.full_like(bias, math.nan))
    return torch.where(anti_t, torch.zeros_like(bias), out)


def taylor_quadratic_form(layers: Layers, activation, antisymmetrised: bool = False) -> torch.Tensor | None:
    r"""Eq. (6.8): :math:`Q = \tfrac12\nabla^2 f(0)`, shape ``(E, b, b)``, for one polynomial activation.

    Propagates value, Jacobian and Hessian at :math:`s = 0` through the layers exactly
    (:math:`a = \varphi(z)`: :math:`J_a = \varphi'(z)J_z`, :math:`H_a = \varphi''(z)J_zJ_z^\top + \varphi'(z)H_z`).
    Returns None when the activation has no polynomial coefficients; zeros for an antisymmetrised
    (odd) network.
    """
    E = check_layers(layers)
    poly = _poly_coeffs(activation)
    if poly is None:
        return None
    W0 = layers[0][0]
    b = W0.shape[2]
    dt, dev = W0.dtype, W0.device
    if antisymmetrised:
        return torch.zeros(E, b, b, dtype=dt, device=dev)
    d1 = [i * poly[i] for i in range(1, len(poly))]
    d2 = [i * (i - 1) * poly[i] for i in range(2, len(poly))]

    def peval(coeffs, z):
        out = torch.zeros_like(z)
        for ci in reversed(coeffs):  # Horner
            out = out * z + ci
        return out

    a = torch.zeros(E, b, dtype=dt, device=dev)
    J = torch.eye(b, dtype=dt, device=dev).expand(E, b, b)
    Hs = torch.zeros(E, b, b, b, dtype=dt, device=dev)
    for k, (W, c) in enumerate(layers):
        z = torch.einsum("eoi,ei->eo", W, a) + c
        Jz = torch.bmm(W, J)
        Hz = torch.einsum("eoi,eijk->eojk", W, Hs)
        if k == len(layers) - 1:
            return 0.5 * Hz[:, 0]
        p1, p2 = peval(d1, z), peval(d2, z)
        a = peval(list(poly), z)
        J = p1.unsqueeze(2) * Jz
        Hs = p2[..., None, None] * Jz.unsqueeze(3) * Jz.unsqueeze(2) + p1[..., None, None] * Hz
    raise AssertionError("unreachable")  # pragma: no cover


def quadratic_form_size(layers: Layers, activation, antisymmetrised=False) -> torch.Tensor:
    r"""Eq. (6.8): :math:`\lVert Q\rVert_F`, ``(E,)``; NaN for members with a non-polynomial activation.

    ``activation`` and ``antisymmetrised`` are one value or one per member (members are grouped by
    activation, so mixed ensembles cost one propagation per activation).
    """
    E = check_layers(layers)
    acts = _per_member(activation, E, "activation")
    anti = _per_member(antisymmetrised, E, "antisymmetrised")
    ref = layers[0][0]
    out = torch.full((E,), math.nan, dtype=ref.dtype, device=ref.device)
    keyed = [(_act_key(a), bool(f)) for a, f in zip(acts, anti)]
    for (key, f), idx in _groups(keyed):
        if key is None or key[1] is None:
            continue
        Q = taylor_quadratic_form(_select(layers, idx), key[1], f)
        out[torch.tensor(idx, device=ref.device)] = Q.square().sum(dim=(1, 2)).sqrt()
    return out


def parameter_distances(layers: Layers, activation=None, antisymmetrised=False,
                        tol: float = 0.05) -> dict:
    r"""All parameter-space measures (6.1)-(6.4) and (6.8) as a dict of ``(E,)`` tensors.

    ``pair_dist`` (mean :math:`D_{hh'}` over pairs) and ``n_distinct`` are averaged over the hidden
    layers; ``theta_norm`` is :math:`\lVert\theta\rVert` of the effective weights. Measures that are
    undefined for a member are NaN (``d_odd`` for a non-odd activation, ``quad_form`` for a
    non-polynomial one; both NaN when ``activation`` is None).
    """
    E = check_layers(layers)
    out = {"d_perm_in": perm_in_distance(layers), "d_tied_hidden": tied_hidden_distance(layers)}
    ref = layers[0][0]
    if activation is None:
        nan = torch.full((E,), math.nan, dtype=ref.dtype, device=ref.device)
        out["d_odd"] = torch.where(torch.tensor(_per_member(antisymmetrised, E, "antisymmetrised"),
                                                device=ref.device), torch.zeros_like(nan), nan)
        out["quad_form"] = nan.clone()
    else:
        out["d_odd"] = odd_distance(layers, activation, antisymmetrised)
        out["quad_form"] = quadratic_form_size(layers, activation, antisymmetrised)
    n_hidden = len(layers) - 1
    pair = torch.zeros(E, dtype=ref.dtype, device=ref.device)
    distinct = torch.zeros_like(pair)
    for k in range(n_hidden):
        D = pairwise_unit_distances(layers, k)
        H = D.shape[1]
        pair = pair + D.sum(dim=(1, 2)) / max(H * (H - 1), 1)
        distinct = distinct + count_distinct_units(D, tol)
    out["pair_dist"] = pair / max(n_hidden, 1)
    out["n_distinct"] = distinct / max(n_hidden, 1)
    out["theta_norm"] = torch.stack(
        [W.square().sum(dim=(1, 2)) + c.square().sum(dim=1) for W, c in layers]
    ).sum(dim=0).sqrt()
    return out


# ------------------------------------------------------------------------------- function space
def _blocks(f: Callable, s: torch.Tensor, E: int | None):
    if s.dim() != 2:
        raise ValueError(f"evaluation blocks must have shape (B, b), got {tuple(s.shape)}")
    x = s.unsqueeze(0).expand(E, *s.shape) if E is not None else s
    return x


def _call(f: Callable, x: torch.Tensor) -> torch.Tensor:
    y = f(x)
    if y.dim() == 3 and y.shape[-1] == 1:
        y = y[..., 0]
    if y.dim() != 2:
        raise ValueError(f"the model must map blocks (E, B, b) to (E, B); got output shape {tuple(y.shape)}")
    return y


def even_part(f: Callable, s: torch.Tensor, E: int) -> torch.Tensor:
    r"""Eq. (6.5): :math:`\langle |f(s) + f(-s)|\rangle_s`, ``(E,)``; ``f`` maps ``(E, B, b)`` to ``(E, B)``,
    ``s`` holds the evaluation blocks ``(B, b)``."""
    x = _blocks(f, s, E)
    return (_call(f, x) + _call(f, -x)).abs().mean(dim=1)


def _generators(b: int):
    gens = [torch.arange(b).roll(1)]  # the cyclic shift
    if b > 2:
        t = torch.arange(b)
        t[0], t[1] = 1, 0  # a transposition; with the shift it generates S_b
        gens.append(t)
    return gens


def perm_asymmetry(f: Callable, s: torch.Tensor, E: int) -> torch.Tensor:
    r"""Eq. (6.6): :math:`\langle |f(s) - f(\sigma s)|\rangle_{s,\sigma}` over the generators of :math:`S_b`, ``(E,)``."""
    x = _blocks(f, s, E)
    y = _call(f, x)
    outs = [(y - _call(f, x[..., g.to(x.device)])).abs().mean(dim=1) for g in _generators(s.shape[1])]
    return torch.stack(outs).mean(dim=0)


def _affine_sum_residual(y: torch.Tensor, S: torch.Tensor) -> torch.Tensor:
    Sc = S - S.mean()
    yc = y - y.mean(dim=1, keepdim=True)
    beta = (yc * Sc).sum(dim=1, keepdim=True) / Sc.square().sum()
    return (yc - beta * Sc).square().mean(dim=1).sqrt()


def nonlinear_part(f: Callable, s: torch.Tensor, E: int) -> torch.Tensor:
    r"""Eq. (6.7): RMS distance of :math:`f` from its best affine map of the block sum, ``(E,)``."""
    x = _blocks(f, s, E)
    return _affine_sum_residual(_call(f, x), s.sum(dim=1))


def _function_measures(f: Callable, s: torch.Tensor, E: int):
    x = _blocks(f, s, E)
    y = _call(f, x)
    out = {"even": (y + _call(f, -x)).abs().mean(dim=1)}
    outs = [(y - _call(f, x[..., g.to(x.device)])).abs().mean(dim=1) for g in _generators(s.shape[1])]
    out["perm_fn"] = torch.stack(outs).mean(dim=0)
    out["nonlin"] = _affine_sum_residual(y, s.sum(dim=1))
    return out, y


def function_distances(f: Callable, s: torch.Tensor, E: int) -> dict:
    """The function-space measures (6.5)-(6.7) in one pass (four evaluations of ``f`` at most)."""
    return _function_measures(f, s, E)[0]


def gnn_shared_distance(effective: dict) -> torch.Tensor:
    r"""Eq. (6.9): distance of a GNN ensemble's parameters from the ``shared`` (permutation-equivariant)
    subspace, ``(E,)``.

    ``effective`` is :meth:`rgsym.gnn.EnsembleGNN.effective`: root weights, message weights, biases
    and readout carry a position / edge-type axis (axis 1), and the shared subspace is where they do
    not depend on it. The projection is the mean over that axis, so
    :math:`\Delta_{\rm shared}^2 = \sum_X \lVert X - \langle X\rangle_{\rm axis\,1}\rVert^2` over
    ``root``, ``msg``, ``bias`` (every layer) and ``readout``, in the pairwise form
    :math:`(2n)^{-1}\sum_{p,q}\lVert X_p - X_q\rVert^2` (exactly zero for tied entries).
    """
    tensors = list(effective["root"]) + list(effective["msg"]) + list(effective["bias"]) + [effective["readout"]]
    E = tensors[0].shape[0]
    total = torch.zeros(E, dtype=tensors[0].dtype, device=tensors[0].device)
    for X in tensors:
        X = X.reshape(E, X.shape[1], -1)
        n = X.shape[1]
        diff = X.unsqueeze(2) - X.unsqueeze(1)  # (E, n, n, rest)
        total = total + diff.square().sum(dim=(1, 2, 3)) / (2 * n)
    return total.sqrt()


def model_facts(model):
    """``(layers, E, activations, antisymmetrised)`` of an ensemble model, per member.

    ``layers`` is ``model.layers()`` or None for models without it (a GNN, say); the activations
    come from ``model.member_activations``, the members' ``model.configs`` or ``model.activation``, and
    the odd construction likewise from ``member_antisymmetrised``, ``configs`` or ``antisymmetrised``.
    """
    layers = model.layers() if hasattr(model, "layers") else None
    if layers is not None:
        E = check_layers(layers)
    else:
        E = getattr(model, "n_members", None) or getattr(model, "E", None)
        if E is None:
            raise ValueError("the model has neither .layers() nor an ensemble size (.n_members)")
    configs = getattr(model, "configs", None)
    acts = getattr(model, "member_activations", None)
    anti = getattr(model, "member_antisymmetrised", None)
    if acts is None and configs is not None and all(hasattr(c, "act") for c in configs):
        acts = [c.act for c in configs]
    if anti is None and configs is not None and all(hasattr(c, "antisymmetrised") for c in configs):
        anti = [c.antisymmetrised for c in configs]
    if acts is None:
        act = getattr(model, "activation", None)
        acts = None if act is None else [act] * E
    if anti is None:
        anti = [bool(getattr(model, "antisymmetrised", False))] * E
    return layers, int(E), (None if acts is None else list(acts)), [bool(a) for a in anti]


def symmetry_measures(model, s: torch.Tensor, tol: float = 0.05, *, exact_map: bool = False) -> dict:
    r"""Every measure (6.1)-(6.8) for an ensemble ``model`` on evaluation blocks ``s`` ``(B, b)``.

    ``model(x)`` maps blocks ``(E, B, b)`` to ``(E, B)`` (or ``(E, B, 1)``: a lattice model such as a
    GNN applied to one block). Parameter-space measures need ``model.layers()`` (the effective
    ``(W, c)`` list of an MLP); a GNN (with ``model.effective()``) gets ``d_shared`` (6.9) instead.
    With ``exact_map=True`` the error ``test_mse`` against :math:`b^{-1/2}\sum_i s_i` on the same
    blocks is added. Returns a dict of ``(E,)`` tensors (NaN where a measure is undefined).
    """
    with torch.no_grad():
        layers, E, acts, anti = model_facts(model)
        out, y = _function_measures(model, s, E)
        if exact_map:
            out["test_mse"] = (y - s.sum(dim=1) * s.shape[1] ** -0.5).square().mean(dim=1)
        if layers is not None:
            out.update(parameter_distances(layers, acts, anti, tol))
        elif hasattr(model, "effective"):
            out["d_shared"] = gnn_shared_distance(model.effective())
    return out


# -------------------------------------------------------------------------------------- logging
class SymmetryLogger:
    r"""The logging callback for the training engine: ``logger(model, step) -> dict``.

    At each logged step it returns the symmetry measures (6.1)-(6.8) of every member, plus the
    in-distribution test error ``test_mse`` (on ``n_eval`` blocks of the task law) and the
    out-of-distribution error ``ood_mse`` (``n_eval`` blocks pooled evenly over ``ood_laws``, by
    default every law not trained on), both against the exact map :math:`b^{-1/2}\sum_i s_i`. The
    evaluation blocks are drawn once, from a private generator seeded with ``seed``, so the numbers
    are comparable across steps and logging never consumes the training random stream.

    Values are returned as float64 numpy arrays of shape ``(E,)`` (one per member).
    """

    def __init__(self, b: int = 2, task: str = "gaussian", n_eval: int = 1024, seed: int = 20251016,
                 tol: float = 0.05, ood_laws: Sequence[str] | None = None):
        if not isinstance(b, (int, np.integer)) or isinstance(b, bool) or b < 2:
            raise ValueError(f"block size b must be an integer >= 2, got {b!r}")
        check_choice("task law", task, LAWS)
        if not isinstance(n_eval, (int, np.integer)) or n_eval < 8:
            raise ValueError(f"n_eval must be an integer >= 8, got {n_eval!r}")
        if not tol >= 0:
            raise ValueError(f"tol must be >= 0, got {tol}")
        ood = tuple(unseen_laws(task) if ood_laws is None else ood_laws)
        for law in ood:
            check_choice("out-of-distribution law", law, LAWS)
        self.b, self.task, self.n_eval, self.seed, self.tol, self.ood_laws = int(b), task, int(n_eval), int(seed), tol, ood
        gen = torch.Generator().manual_seed(self.seed)
        self._s = get_law(task).sample((self.n_eval, self.b), gen, dtype=torch.float64)
        if ood:
            per = -(-self.n_eval // len(ood))
            self._s_ood = torch.cat([get_law(l).sample((per, self.b), gen, dtype=torch.float64) for l in ood])
        else:
            self._s_ood = None
        self._cache = {}

    def blocks(self, dtype=torch.float64, device="cpu", ood: bool = False) -> torch.Tensor:
        """The evaluation blocks ``(n_eval, b)`` in the model's dtype and device (cached)."""
        key = (dtype, str(device), ood)
        if key not in self._cache:
            src = self._s_ood if ood else self._s
            self._cache[key] = src.to(dtype=dtype, device=device)
        return self._cache[key]

    def __call__(self, model, step: int) -> dict:
        ref = next(iter(model.parameters()), None) if hasattr(model, "parameters") else None
        dtype = ref.dtype if ref is not None else torch.float64
        device = ref.device if ref is not None else "cpu"
        with torch.no_grad():
            out = symmetry_measures(model, self.blocks(dtype, device), self.tol, exact_map=True)
            if self._s_ood is not None:
                so = self.blocks(dtype, device, ood=True)
                E = out["even"].shape[0]
                yo = _call(model, so.unsqueeze(0).expand(E, *so.shape))
                out["ood_mse"] = (yo - self.b ** -0.5 * so.sum(dim=1)).square().mean(dim=1)
        return {k: v.detach().to("cpu", torch.float64).numpy() for k, v in out.items()}


# ================================================================ Chapter 6: runs and their analysis
INIT_NAMES = {"small": 0.01, "standard": 1.0}
"""The two initialisations of Chapter 6: every initial weight and bias of the standard
:math:`U(-d_{in}^{-1/2}, d_{in}^{-1/2})` draw multiplied by this factor."""

BREAK_FACTOR = 10.0
r"""A member *breaks* hidden-unit symmetry when :math:`\max_t\Delta_{\rm tied}(t) \ge` this factor times
:math:`\Delta_{\rm tied}(0)` and it ends with at least two distinct units."""

RESTORE_FRACTION = 0.1
r"""The learned function's :math:`\mathbb Z_2` symmetry *returns* when the final even part is at most
this fraction of its largest value along the trajectory."""

STALL_FACTOR = 10.0
"""An over-constrained (``tied-hidden``) model *stalls* where its median final test error is at least
this factor above that of the free models of the same activation and initialisation."""

COINCIDE_FACTOR = 2.0
"""Breaking and a loss drop *coincide* when their times differ by at most this factor."""

MAJORITY = 0.8
"""Fraction of the members (or cells) that must show a behaviour for a part of the verdict to hold."""

FAMILIES = {
    "mlp": {"free": "free", "constrained": "tied-hidden", "distance": "d_tied_hidden", "restore": "even",
            "symmetries": ("free", "perm-in+odd", "tied-hidden")},
    "gnn": {"free": "broken", "constrained": "shared", "distance": "d_shared", "restore": "perm_fn",
            "symmetries": ("broken", "shared")},
}
r"""The two model families of Chapter 6 and what their analysis compares: the unconstrained symmetry
(``free``), the one that cannot break (``constrained``), the parameter distance that measures the
break (:math:`\Delta_{\rm tied}` (6.3) for MLPs, :math:`\Delta_{\rm shared}` (6.9) for GNNs) and the
function measure whose return counts as restoration (the even part (6.5) for MLPs, whose hidden units
pair up to cancel it; the permutation asymmetry (6.6) for GNNs, whose broken weights break it), and
the default symmetries run."""


@dataclass(frozen=True)
class BreakingSpec:
    r"""The runs of Chapter 6: block-map MLPs (``family='mlp'``) or lattice GNNs (``'gnn'``) of each
    activation and symmetry, from each initialisation, trained on one task with the symmetry measures
    logged (``symmetries`` ``None``: the family's default, :data:`FAMILIES`).

    Every combination of ``activations`` x ``symmetries`` x ``inits`` (names of :data:`INIT_NAMES`)
    x ``seeds`` is one member, of width ``width`` and ``depth`` hidden layers; the members of one
    initialisation train together as one ensemble (one cached chunk). A free member and
    the constrained members with the same seed start from the projections of the same raw weights.
    """

    activations: tuple = ("identity", "quadratic", "tanh", "relu", "gelu", "silu")
    symmetries: tuple | None = None
    inits: tuple = ("small", "standard")
    seeds: tuple = tuple(range(10))
    width: int = 8
    depth: int = 1
    b: int = 2
    alpha: float = 0.5
    task: str = "gaussian"
    train: TrainConfig = field(default_factory=lambda: TrainConfig(steps=5000, n_train=1024, log_points=40))
    n_eval: int = 1024
    tol: float = 0.05
    family: str = "mlp"

    def __post_init__(self):
        from .activations import ACTIVATIONS
        from .gnn import GNN_SYMMETRIES
        from .models import SYMMETRIES

        check_choice("model family", self.family, tuple(FAMILIES))
        fam = FAMILIES[self.family]
        if self.symmetries is None:
            object.__setattr__(self, "symmetries", fam["symmetries"])
        object.__setattr__(self, "symmetries", tuple(self.symmetries))
        sym_choices = SYMMETRIES if self.family == "mlp" else GNN_SYMMETRIES
        for name, values, choices in (("activation", self.activations, ACTIVATIONS),
                                      (f"{self.family} symmetry", self.symmetries, sym_choices),
                                      ("initialisation", self.inits, tuple(INIT_NAMES))):
            if not values:
                raise ValueError(f"at least one {name} is needed")
            for v in values:
                check_choice(name, v, choices)
        if fam["free"] not in self.symmetries:
            raise ValueError(f"the symmetries must include {fam['free']!r} (the reference of every comparison)")
        if not self.seeds or any(isinstance(s, bool) or not isinstance(s, (int, np.integer)) for s in self.seeds):
            raise ValueError(f"seeds must be a non-empty tuple of integers, got {self.seeds!r}")
        check_choice("task law", self.task, LAWS)
        self.config("quadratic", self.symmetries[0])
        if not isinstance(self.train, TrainConfig):
            raise TypeError("train must be a rgsym.training.TrainConfig")
        if not isinstance(self.n_eval, int) or self.n_eval < 8:
            raise ValueError(f"n_eval must be an integer >= 8, got {self.n_eval!r}")

    def config(self, activation: str, symmetry: str):
        """The :class:`~rgsym.models.MLPConfig` (or :class:`~rgsym.gnn.GNNConfig`) of one member."""
        kw = dict(b=self.b, width=self.width, depth=self.depth, activation=activation, symmetry=symmetry,
                  alpha=self.alpha if activation == "quadratic" else None)
        if self.family == "gnn":
            from .gnn import GNNConfig

            return GNNConfig(**kw)
        return MLPConfig(**kw)

    def build(self, members, device=None):
        """The ensemble of ``members`` ``[(activation, symmetry, seed), ...]``."""
        configs = [self.config(a, sym) for a, sym, _ in members]
        seeds = [int(seed) for *_, seed in members]
        if self.family == "gnn":
            from .gnn import EnsembleGNN

            return EnsembleGNN(configs, seeds, dtype=self.train.torch_dtype, device=device)
        return EnsembleMLP(configs, seeds, dtype=self.train.torch_dtype, device=device)

    def key(self) -> dict:
        d = {k: getattr(self, k) for k in ("activations", "symmetries", "inits", "width", "depth", "b",
                                           "alpha", "task", "n_eval", "tol", "family")}
        return {**d, "seeds": [int(s) for s in self.seeds], "train": self.train.key(), "init_scales": INIT_NAMES}

    def replace(self, **changes) -> "BreakingSpec":
        return dataclasses.replace(self, **changes)


@dataclass
class BreakingResult:
    """What :func:`run_breaking` returns.

    ``members``: one row per member (``member, activation, symmetry, init, init_scale, seed,
    diverged, diverged_step, final_loss``). ``traj``: one row per member and logged step with the
    member columns, ``step``, ``train_loss`` (on the member's training set) and one column per
    logged measure (:data:`PARAM_MEASURES`, :data:`FUNCTION_MEASURES`, :data:`ERROR_MEASURES`).
    ``provenance``: device, torch version, source hash and timings of every chunk.
    """

    spec: BreakingSpec
    members: pd.DataFrame
    traj: pd.DataFrame
    provenance: list

    @property
    def n_diverged(self) -> int:
        return int(self.members["diverged"].sum())

    @property
    def train_seconds(self) -> float:
        return float(sum(p["train_seconds"] for p in self.provenance))


def _source_hash() -> str:
    from . import cache

    return cache.source_hash(tuple(cache.SCIENCE_MODULES) + ("symmetry", "gnn", "graphs"))


def _run_chunk(spec: BreakingSpec, init: str, device, progress) -> dict:
    import rgsym

    members = [(act, sym, int(seed)) for act in spec.activations for sym in spec.symmetries for seed in spec.seeds]
    model = spec.build(members, device)
    with torch.no_grad():  # scaling the raw weights keeps them in (and the effective ones on) each symmetric subspace
        for p in model.parameters():
            p.mul_(INIT_NAMES[init])
    logger = SymmetryLogger(b=spec.b, task=spec.task, n_eval=spec.n_eval, tol=spec.tol)
    t0 = time.perf_counter()
    res = train_ensemble(model, [spec.task] * len(members), [s for *_, s in members], spec.train, device=device,
                         callback=logger, progress=progress, desc=f"{init} init")
    names = [k for k in res.logs[0] if k != "step"]
    logs = {k: torch.as_tensor(np.stack([log[k] for log in res.logs], axis=1)) for k in names}
    dev = torch.device(device) if device is not None else torch.device("cpu")
    return {
        "init": init, "members": [list(m) for m in members],
        "log_steps": [int(t) for t in res.log_steps], "train_loss": torch.as_tensor(res.train_loss),
        "logs": logs, "final_loss": torch.as_tensor(res.final_loss), "diverged": torch.as_tensor(res.diverged),
        "diverged_step": torch.as_tensor(res.diverged_step),
        "provenance": {"device": describe_device(dev), "torch": str(torch.__version__),
                       "rgsym": str(rgsym.__version__), "source_hash": _source_hash(),
                       "train_seconds": res.wall_time, "total_seconds": time.perf_counter() - t0},
    }


def run_breaking(spec: BreakingSpec, *, device=None, progress: bool | None = None) -> BreakingResult:
    """Train (or load from the cache) every member of ``spec`` with the symmetry measures logged.

    The members of one initialisation (all activations, symmetries and seeds) train as one ensemble;
    each such chunk is cached on its own under ``rgsym.cache.cache_dir()/symmetry-runs``, keyed by the
    spec, the initialisation and the rgsym science source, so an interrupted run resumes from the
    chunks that finished. The device is provenance, not part of the key.
    """
    from . import cache

    if not isinstance(spec, BreakingSpec):
        raise TypeError("spec must be a BreakingSpec")
    store = cache.Store("symmetry-runs")
    src = _source_hash()
    mrows, trows, prov = [], [], []
    mid = 0
    for init in spec.inits:
        key = cache.content_key("symmetry-chunk", spec.key(), init, src)  # spec.key() holds the family
        if key in store:
            payload = store.get(key)
        else:
            payload = _run_chunk(spec, init, device, progress)
            store.put(key, payload)
        prov.append({"init": init, **payload["provenance"]})
        steps = payload["log_steps"]
        loss = payload["train_loss"].numpy()
        logs = {k: v.numpy() for k, v in payload["logs"].items()}
        for i, (act, sym, seed) in enumerate(payload["members"]):
            row = {"member": mid, "activation": act, "symmetry": sym, "init": init,
                   "init_scale": INIT_NAMES[init], "seed": int(seed)}
            mrows.append({**row, "diverged": bool(payload["diverged"][i]),
                          "diverged_step": int(payload["diverged_step"][i]),
                          "final_loss": float(payload["final_loss"][i])})
            cols = {"step": steps, "train_loss": loss[i], **{k: v[i] for k, v in logs.items()}}
            trows.append(pd.DataFrame({**row, **cols}))
            mid += 1
    return BreakingResult(spec, pd.DataFrame(mrows), pd.concat(trows, ignore_index=True), prov)


def chapter6_spec(profile: str, *, steps: int | None = None, n_seeds: int | None = None,
                  activations=None, width: int | None = None, task: str = "gaussian") -> BreakingSpec:
    """The runs of Chapter 6 for a profile: ``'paper'`` (10 seeds, 5000 Adam steps) or ``'smoke'``
    (3 seeds, 1500 steps); ``None`` arguments take the profile's value. Everything is validated here,
    before any training."""
    from .config import PROFILES

    check_choice("profile", profile, PROFILES)
    for name, v in (("steps", steps), ("n_seeds", n_seeds), ("width", width)):
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1):
            raise ValueError(f"{name} must be None or a positive integer, got {v!r}")
    paper = profile == "paper"
    steps = steps or (5000 if paper else 1500)
    n_seeds = n_seeds or (10 if paper else 3)
    kw = {} if activations is None else {"activations": tuple(activations)}
    return BreakingSpec(seeds=tuple(range(n_seeds)), width=width or 8, task=task,
                        train=TrainConfig(steps=steps, n_train=1024, log_points=40 if paper else 30), **kw)


def gnn_chapter6_spec(profile: str, *, steps: int | None = None, n_seeds: int | None = None,
                      width: int | None = None, task: str = "gaussian") -> BreakingSpec:
    """The GNN runs of Chapter 6: ``broken`` against ``shared`` lattice GNNs (one message-passing
    layer, block edges) of three activations from the small initialisation; the profile's steps and
    seeds as in :func:`chapter6_spec`."""
    mlp = chapter6_spec(profile, steps=steps, n_seeds=n_seeds, width=width, task=task)
    return mlp.replace(family="gnn", symmetries=None, activations=("quadratic", "tanh", "relu"), inits=("small",))


# ---------------------------------------------------------------------------------------- analysis
def _first_step(steps: np.ndarray, mask: np.ndarray) -> float:
    idx = np.flatnonzero(mask)
    return float(steps[idx[0]]) if idx.size else math.nan


def member_summary(result: BreakingResult) -> pd.DataFrame:
    r"""One row per member with the numbers that the verdict on claim C5 uses.

    The family's names (:data:`FAMILIES`) decide what is compared: ``role`` is ``'free'`` for the
    unconstrained symmetry (``free`` MLPs, ``broken`` GNNs), ``'constrained'`` for the one that cannot
    break (``tied-hidden`` MLPs, ``shared`` GNNs) and ``'other'`` otherwise; :math:`\Delta` is the
    family's breaking distance (:math:`\Delta_{\rm tied}` (6.3), :math:`\Delta_{\rm shared}` (6.9)) and
    the *asymmetry* its restoration measure (even part (6.5), permutation asymmetry (6.6)).

    Columns: ``d0, d_max, d_final, rise = d_max / d0``; ``distinct0, distinct_final`` (MLPs; NaN for
    GNNs); ``asym0, asym_peak, asym_final`` and ``restored`` (final asymmetry :math:`\le`
    :data:`RESTORE_FRACTION` of its peak); ``nonlin_peak, nonlin_final``; ``test_final, ood_final,
    train_final``; ``broke`` (``rise >=`` :data:`BREAK_FACTOR` and, for MLPs, at least two distinct
    units at the end); the times (logged steps) ``t_break`` (first step where :math:`\Delta` has
    covered half of its rise, only for members that broke), ``t_drop`` (first step where the train loss
    is at most half its initial value) and, for free members, ``t_sep`` (first step where its train
    loss is at most half that of the constrained member with the same activation, initialisation and
    seed). Diverged members are flagged, not dropped.
    """
    fam = FAMILIES[result.spec.family]
    tr = result.traj
    m = result.members.set_index("member")
    role = {fam["free"]: "free", fam["constrained"]: "constrained"}
    rows = []
    for mid, g in tr.groupby("member", sort=True):
        g = g.sort_values("step")
        steps = g["step"].to_numpy()
        d = g[fam["distance"]].to_numpy()
        asym = g[fam["restore"]].to_numpy()
        loss = g["train_loss"].to_numpy()
        d0, dmax = float(d[0]), float(np.nanmax(d))
        rise = dmax / d0 if d0 > 0 else (math.inf if dmax > 0 else math.nan)
        distinct = g["n_distinct"].to_numpy() if "n_distinct" in g else np.full(len(g), math.nan)
        broke = bool(rise >= BREAK_FACTOR and not distinct[-1] < 2)
        t_break = _first_step(steps, d >= d0 + 0.5 * (dmax - d0)) if broke else math.nan
        info = m.loc[mid, ["activation", "symmetry", "init", "seed", "diverged"]].to_dict()
        rows.append({
            "member": mid, **info, "role": role.get(info["symmetry"], "other"),
            "d0": d0, "d_max": dmax, "d_final": float(d[-1]), "rise": rise,
            "distinct0": float(distinct[0]), "distinct_final": float(distinct[-1]),
            "asym0": float(asym[0]), "asym_peak": float(np.nanmax(asym)), "asym_final": float(asym[-1]),
            "restored": bool(asym[-1] <= RESTORE_FRACTION * np.nanmax(asym)),
            "nonlin_peak": float(g["nonlin"].max()), "nonlin_final": float(g["nonlin"].iloc[-1]),
            "test_final": float(g["test_mse"].iloc[-1]),
            "ood_final": float(g["ood_mse"].iloc[-1]) if "ood_mse" in g else math.nan,
            "train_final": float(loss[-1]), "broke": broke, "t_break": t_break,
            "t_drop": _first_step(steps, loss <= 0.5 * loss[0]),
        })
    out = pd.DataFrame(rows)
    out["t_sep"] = math.nan
    if (out.role == "constrained").any():
        loss = tr.pivot_table(index="member", columns="step", values="train_loss")
        tied = out[out.role == "constrained"].set_index(["activation", "init", "seed"])["member"]
        steps = loss.columns.to_numpy()
        for i, r in out[out.role == "free"].iterrows():
            j = tied.get((r.activation, r.init, r.seed))
            if j is not None:
                out.loc[i, "t_sep"] = _first_step(steps, loss.loc[r.member].to_numpy() <= 0.5 * loss.loc[j].to_numpy())
    return out


def _q(x, q):
    x = np.asarray(x, dtype=float)
    x = x[np.isfinite(x)]
    return float(np.quantile(x, q)) if x.size else math.nan


def _frac(x):
    x = np.asarray(x, dtype=float)
    return float(x.mean()) if x.size else math.nan


def cell_table(summary: pd.DataFrame) -> pd.DataFrame:
    """Per (initialisation, activation) cell: the free members' breaking, restoration and timing, and the
    stall of the constrained members (``test_tied``, ``stall_ratio`` = constrained over free median
    final test error), with medians over seeds (diverged members left out and counted)."""
    rows = []
    for (init, act), g in summary.groupby(["init", "activation"], sort=False):
        ok = g[~g.diverged]
        free = ok[ok.role == "free"]
        tied = ok[ok.role == "constrained"]
        lag = np.log10(free["t_break"] / free["t_drop"]).to_numpy()
        lag_sep = np.log10(free["t_break"] / free["t_sep"]).to_numpy()
        lag, lag_sep = lag[np.isfinite(lag)], lag_sep[np.isfinite(lag_sep)]
        rows.append({
            "init": init, "activation": act, "n_free": len(free), "n_diverged": int(g.diverged.sum()),
            "rise": _q(free.rise, 0.5), "broke": _frac(free.broke),
            "distinct_final": _q(free.distinct_final, 0.5),
            "asym_peak": _q(free.asym_peak, 0.5), "asym_final": _q(free.asym_final, 0.5),
            "restored": _frac(free.restored),
            "test_free": _q(free.test_final, 0.5), "test_tied": _q(tied.test_final, 0.5),
            "stall_ratio": _q(tied.test_final, 0.5) / _q(free.test_final, 0.5),
            "tied_restored": _frac(tied.restored),
            "t_break": _q(free.t_break, 0.5), "t_drop": _q(free.t_drop, 0.5), "t_sep": _q(free.t_sep, 0.5),
            "lag_drop": _q(lag, 0.5), "lag_sep": _q(lag_sep, 0.5),
            "coincide_drop": _frac(np.abs(lag) <= math.log10(COINCIDE_FACTOR)),
            "coincide_sep": _frac(np.abs(lag_sep) <= math.log10(COINCIDE_FACTOR)),
        })
    return pd.DataFrame(rows)


def c5_verdict(summary: pd.DataFrame) -> dict:
    r"""The computed verdict on claim C5 (learning the RG map proceeds by parameter-symmetry breaking
    followed by restoration), in four parts, each with the numbers behind it (roles as in
    :func:`member_summary`):

    1. ``breaks``: free members started near the symmetric point (small initialisation) break the
       symmetry -- fraction that broke, over the *stall activations* (those where the constrained
       members stall, part 3, i.e. where breaking is needed);
    2. ``restores``: the learned function's symmetry returns at convergence -- fraction of free
       members, all initialisations and activations;
    3. ``stalls``: over-constrained members stall where the free ones break out -- the activations
       whose stall ratio reaches :data:`STALL_FACTOR` at every initialisation (at least one);
    4. ``timing``: breaking coincides, within :data:`COINCIDE_FACTOR`, with the step where the free
       loss separates from the constrained one -- fraction of the breaking small-init members of the
       stall activations.

    C5 ``holds`` (from small initialisation, where a symmetric starting point exists) when parts 1, 2
    and 4 reach :data:`MAJORITY` and part 3 finds a stall activation. ``exceptions`` lists where a
    part fails, so the prose can say where the claim does not hold; ``broke_vs_not`` compares the
    final test errors of the free small-init members of the stall activations that broke with those
    that did not.
    """
    cells = cell_table(summary)
    ok = summary[~summary.diverged]
    free = ok[ok.role == "free"]
    stall_acts = [a for a in dict.fromkeys(cells.activation)
                  if (cells.loc[cells.activation == a, "stall_ratio"] >= STALL_FACTOR).all()]
    need = free[(free.init == "small") & free.activation.isin(stall_acts)]
    breaks = _frac(need.broke)
    restores = _frac(free.restored)
    brk = need[need.broke & np.isfinite(need.t_sep)]
    lag = np.log10(brk.t_break / brk.t_sep).to_numpy()
    timing = _frac(np.abs(lag) <= math.log10(COINCIDE_FACTOR))
    lag_drop = np.log10(free.t_break / free.t_drop).to_numpy()
    small_free = free[free.init == "small"]
    std_free = free[free.init == "standard"]
    parts = {
        "breaks": bool(breaks >= MAJORITY),
        "restores": bool(restores >= MAJORITY),
        "stalls": len(stall_acts) > 0,
        "timing": bool(timing >= MAJORITY),
    }
    small = cells[cells.init == "small"]
    exceptions = {
        "no_breaking": [r.activation for r in small.itertuples() if not r.broke >= MAJORITY],
        "not_restored": [f"{r.init}/{r.activation}" for r in cells.itertuples() if not r.restored >= MAJORITY],
        "no_stall": [a for a in dict.fromkeys(cells.activation) if a not in stall_acts],
        "not_coincident": [r.activation for r in small.itertuples()
                           if r.activation in stall_acts and not r.coincide_sep >= MAJORITY],
    }
    return {
        "holds": all(parts.values()), "parts": parts, "cells": cells, "exceptions": exceptions,
        "stall_activations": stall_acts, "breaks_fraction": breaks, "n_breaks": int(len(need)),
        "restores_fraction": restores, "n_restores": int(len(free)),
        "timing_fraction": timing, "n_timed": int(len(brk)),
        "median_lag_sep": _q(lag, 0.5), "median_lag_drop": _q(lag_drop, 0.5),
        "broke_vs_not": {"n_broke": int(need.broke.sum()), "n_not": int((~need.broke).sum()),
                         "test_broke": _q(need.loc[need.broke, "test_final"], 0.5),
                         "test_not": _q(need.loc[~need.broke, "test_final"], 0.5)},
        "broke_small_all": _frac(small_free.broke), "broke_standard_all": _frac(std_free.broke),
        "restored_small": _frac(small_free.restored),
        "rise_small": _q(small_free.rise, 0.5), "rise_standard": _q(std_free.rise, 0.5),
        "n_members": int(len(summary)), "n_diverged": int(summary.diverged.sum()),
    }
