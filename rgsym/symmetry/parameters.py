r"""Parameter-space symmetry distances of an ensemble MLP, eqs. (6.1)-(6.4) and (6.8) (Chapter 6).

After L. Ziyin et al., *Parameter symmetry potentially unifies deep learning theory*
(arXiv:2502.05300): a parameter symmetry whose fixed points form a linear subspace
:math:`\Theta_G = \{\theta : g\theta = \theta\ \forall g \in G\}` has the orthogonal projection
:math:`P_G\theta = |G|^{-1}\sum_{g} g\theta` (the group average), and the distance of the parameters
from the symmetric subspace is :math:`\Delta_G(\theta) = \lVert \theta - P_G\theta \rVert`.

Notation (Chapter 6). A block :math:`s = (s_1..s_b)` is mapped by an MLP with layers
:math:`(W^{(k)}, c^{(k)})`, :math:`k = 1..K`:
:math:`a^{(0)} = s`, :math:`a^{(k)} = \varphi(W^{(k)} a^{(k-1)} + c^{(k)})` for :math:`k < K` and
:math:`f(s) = W^{(K)} a^{(K-1)} + c^{(K)}`. An *antisymmetrised* network is
:math:`f(s) = [g(s) - g(-s)]/2` with :math:`g` the plain network. ``layers`` is a list of ``(W, c)``
with ``W`` of shape ``(E, out, in)`` and ``c`` of shape ``(E, out)`` (the *effective* weights,
constraints applied, as returned by ``model.layers()``); every measure returns a tensor of shape ``(E,)``.
Each measure is zero exactly on the subspace of one constrained variant of Chapter 2:

* eq. (6.1) ``d_perm_in``: :math:`\lVert W^{(1)} - W^{(1)}\Pi\rVert_F`, :math:`\Pi = b^{-1}\mathbf 1\mathbf 1^\top`,
  the distance from the input-permutation (``perm-in``) subspace (first-layer columns all equal);
* eq. (6.2) pairwise distances :math:`D_{hh'} = \lVert u_h - u_{h'}\rVert` between the hidden units
  :math:`u_h = (W^{(k)}_{h,:}, c^{(k)}_h)` of a hidden layer, and the number of distinct units;
* eq. (6.3) ``d_tied_hidden``: :math:`\big(\sum_{k<K}\sum_h \lVert u_h - \bar u\rVert^2\big)^{1/2}`, the
  distance from the fully symmetric point of hidden-unit permutation symmetry (``tied-hidden``);
* eq. (6.3') ``d_sym``: :math:`\lVert\theta - P_G\theta\rVert` for the hidden-unit permutation group acting on
  incoming weights, biases and outgoing weights (the exact group average), and the scale-free ``r_sym``,
  ``r_tied`` (distance over :math:`\lVert\theta\rVert`) and ``n_distinct_rel`` (relative tolerance :data:`REL_TOL`);
* eq. (6.4) ``d_odd``: :math:`\big(\sum_k \lVert c^{(k)}\rVert^2\big)^{1/2}`, the distance from the zero-bias
  subspace, which is the :math:`\mathbb Z_2` (``odd``) subspace when :math:`\varphi` is odd (zero for
  an antisymmetrised network, odd for every :math:`\theta`; undefined otherwise);
* eq. (6.8) ``quad_form``: :math:`\lVert Q\rVert_F` with :math:`Q = \tfrac12\nabla^2 f(0)` the quadratic form
  of the Taylor expansion at the origin, for polynomial activations (for one hidden layer of
  :math:`\varphi(z) = z + \alpha z^2`, :math:`Q = \alpha\sum_h v_h w_h w_h^\top` exactly);
* eq. (6.9) ``d_shared``: for a GNN ensemble, in :mod:`rgsym.symmetry.gnn_parameters`.

Also here: :func:`check_layers` and :func:`mlp_apply`, the block map :math:`f(s)` of a ``layers`` list
(the plain forward pass of :mod:`rgsym.nets.forward`, antisymmetrised on request).
"""
from __future__ import annotations

import math
from typing import Callable, Sequence

import torch

from ..nets.forward import plain_forward
from ..nets.tying import project_layers
from ..nets.activations import activation_key as _act_key
from ..nets.activations import poly_coefficients as _activation_coeffs

__all__ = [
    "PARAM_MEASURES", "check_layers", "mlp_apply", "hidden_units", "perm_in_distance",
    "pairwise_unit_distances", "count_distinct_units", "tied_hidden_distance", "odd_distance",
    "taylor_quadratic_form", "quadratic_form_size", "parameter_distances",
    "REL_TOL", "theta_norm", "project_hidden_perm", "hidden_perm_distance", "relative",
]

REL_TOL = 0.05
r"""Relative tolerance of the distinct-unit count (6.2'): units closer than this fraction of the RMS unit
norm :math:`(H^{-1}\sum_h\lVert u_h\rVert^2)^{1/2}` are one unit, so the count does not change under
:math:`\theta \to c\theta`."""

PARAM_MEASURES = ("d_perm_in", "d_tied_hidden", "d_odd", "pair_dist", "n_distinct", "theta_norm", "d_sym",
                  "r_sym", "r_tied", "n_distinct_rel")
"""The parameter-space measures of :func:`parameter_distances` (MLPs)."""

Layers = Sequence[tuple]
_TIED_ONLY = {"perm": "none", "tied": "all", "odd": "none"}  # project_layers modes of (6.3')


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
    """Polynomial coefficients ``(c_0, .., c_deg)`` of an activation, or None when not polynomial:
    a tuple of coefficients as floats, or an activation's ``poly_coeffs`` (as :mod:`rgsym.propagation`
    reads them)."""
    if isinstance(activation, (tuple, list)):
        return tuple(float(x) for x in activation)
    return _activation_coeffs(activation)


def _is_odd(activation) -> bool | None:
    if isinstance(activation, (tuple, list)):
        return all(float(c) == 0.0 for c in activation[0::2])
    return getattr(activation, "is_odd", None)


def mlp_apply(layers: Layers, activation, x: torch.Tensor, antisymmetrised: bool = False) -> torch.Tensor:
    r"""The block map :math:`f(s)` of the ensemble MLP given by ``layers`` (see the module notation).

    Shapes: ``layers`` as in the module notation; ``x``: blocks ``(E, B, b)`` (or ``(B, b)``, shared by
    all members); returns ``(E, B)``. ``activation`` is a callable (elementwise) or a tuple of
    polynomial coefficients. The plain network is :func:`rgsym.nets.forward.plain_forward`.
    """
    E = check_layers(layers)
    phi = _act_fn(activation)
    if x.dim() == 2:
        x = x.unsqueeze(0).expand(E, *x.shape)

    if antisymmetrised:
        return 0.5 * (plain_forward(layers, x, phi) - plain_forward(layers, -x, phi))
    return plain_forward(layers, x, phi)


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
    return _unit_distances(hidden_units(layers, k))


def _unit_distances(u: torch.Tensor) -> torch.Tensor:
    """:math:`D_{hh'}` of units ``u`` ``(E, H, n)``, ``(E, H, H)``."""
    return torch.cdist(u, u, compute_mode="donot_use_mm_for_euclid_dist")


def count_distinct_units(D: torch.Tensor, tol: float | torch.Tensor = 0.05) -> torch.Tensor:
    r"""Number of distinct hidden units given pairwise distances ``D`` of shape ``(E, H, H)``.

    Units closer than ``tol`` are linked; the count is the number of connected components of that
    graph (single-linkage clusters), ``(E,)`` as float. ``tol`` is absolute, in the units of the
    weights (the exact map's first-layer weights are of order :math:`b^{-1/2}`), so a network near
    :math:`\theta = 0` -- the point every symmetry fixes -- has one distinct unit. ``tol`` may also be a
    tensor ``(E,)`` of per-member tolerances (the relative count of :func:`parameter_distances` passes
    :data:`REL_TOL` times each member's RMS unit norm).
    """
    if D.dim() != 3 or D.shape[1] != D.shape[2]:
        raise ValueError(f"D must have shape (E, H, H), got {tuple(D.shape)}")
    if torch.is_tensor(tol):
        if tol.shape != (D.shape[0],) or bool((tol < 0).any()):
            raise ValueError(f"per-member tol must have shape ({D.shape[0]},) and be >= 0")
        tol = tol[:, None, None]
    elif not tol >= 0:
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
        total = _add_tied(total, pairwise_unit_distances(layers, k))
    return total.sqrt()


def _add_tied(total: torch.Tensor, D: torch.Tensor) -> torch.Tensor:
    r"""``total`` plus one hidden layer's :math:`\sum_h\lVert u_h-\bar u\rVert^2` from its ``D``."""
    return total + D.square().sum(dim=(1, 2)) / (2 * D.shape[1])


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
    for (_, f), idx in _groups(keyed):
        poly = None if acts[idx[0]] is None else _poly_coeffs(acts[idx[0]])
        if poly is None:
            continue
        Q = taylor_quadratic_form(_select(layers, idx), poly, f)
        out[torch.tensor(idx, device=ref.device)] = Q.square().sum(dim=(1, 2)).sqrt()
    return out


def theta_norm(layers: Layers) -> torch.Tensor:
    r""":math:`\lVert\theta\rVert` of all weights and biases of ``layers``, ``(E,)``."""
    check_layers(layers)
    return torch.stack([W.square().sum(dim=(1, 2)) + c.square().sum(dim=1) for W, c in layers]).sum(dim=0).sqrt()


def relative(d: torch.Tensor, norm: torch.Tensor) -> torch.Tensor:
    r"""A scale-free distance :math:`\Delta/\lVert\theta\rVert` (NaN where :math:`\theta = 0`), ``(E,)``."""
    return torch.where(norm > 0, d / torch.where(norm > 0, norm, torch.ones_like(norm)), torch.full_like(d, math.nan))


def project_hidden_perm(layers: Layers) -> list:
    r"""Eq. (6.3'): :math:`P_G\theta`, the group average over the permutations of the hidden units of every
    hidden layer, acting on their incoming weights, biases *and* outgoing weights: :math:`W^{(k)}` is averaged
    over its rows when layer :math:`k` is hidden and over its columns when layer :math:`k-1` is; :math:`c^{(k)}`
    over its entries when layer :math:`k` is hidden. Returns a ``layers`` list of the same shapes. The
    projected network has all hidden units identical, and training never leaves this subspace (every unit
    gets the same gradient)."""
    check_layers(layers)
    proj = project_layers([W for W, _ in layers], [c for _, c in layers], _TIED_ONLY, {})
    return [(W.clone(), c.clone()) for W, c in proj]


def hidden_perm_distance(layers: Layers) -> torch.Tensor:
    r"""Eq. (6.3'): :math:`\Delta_{\rm sym} = \lVert\theta - P_G\theta\rVert` for the hidden-unit permutation
    group (:func:`project_hidden_perm`), ``(E,)``; :math:`\Delta_{\rm sym}\ge\Delta_{\rm tied}` (6.3), which
    leaves out the outgoing weights."""
    proj = project_hidden_perm(layers)
    return torch.stack([(W - P).square().sum(dim=(1, 2)) + (c - q).square().sum(dim=1)
                        for (W, c), (P, q) in zip(layers, proj)]).sum(dim=0).sqrt()


def parameter_distances(layers: Layers, activation=None, antisymmetrised=False,
                        tol: float = 0.05, rel_tol: float = REL_TOL) -> dict:
    r"""All parameter-space measures (6.1)-(6.4), (6.3') and (6.8) as a dict of ``(E,)`` tensors.

    ``pair_dist`` (mean :math:`D_{hh'}` over pairs) and ``n_distinct`` (absolute tolerance ``tol``) and
    ``n_distinct_rel`` (relative tolerance ``rel_tol`` times the RMS unit norm) are averaged over the hidden
    layers; ``theta_norm`` is :math:`\lVert\theta\rVert` of the effective weights; the scale-free distances
    ``r_sym`` = :math:`\Delta_{\rm sym}/\lVert\theta\rVert` and ``r_tied`` =
    :math:`\Delta_{\rm tied}/\lVert\theta\rVert` are unchanged by :math:`\theta\to c\theta`. Measures that are
    undefined for a member are NaN (``d_odd`` for a non-odd activation, ``quad_form`` for a
    non-polynomial one; both NaN when ``activation`` is None).
    """
    E = check_layers(layers)
    ref = layers[0][0]
    n_hidden = len(layers) - 1
    tied = torch.zeros(E, dtype=ref.dtype, device=ref.device)
    pair = torch.zeros(E, dtype=ref.dtype, device=ref.device)
    distinct = torch.zeros_like(pair)
    distinct_rel = torch.zeros_like(pair)
    for k in range(n_hidden):  # D and the units once per layer: (6.2), (6.2') and (6.3) all read them
        u = hidden_units(layers, k)
        D = _unit_distances(u)
        H = D.shape[1]
        tied = _add_tied(tied, D)
        pair = pair + D.sum(dim=(1, 2)) / max(H * (H - 1), 1)
        distinct = distinct + count_distinct_units(D, tol)
        rms = u.square().sum(dim=2).mean(dim=1).sqrt()
        distinct_rel = distinct_rel + count_distinct_units(D, rel_tol * rms)
    out = {"d_perm_in": perm_in_distance(layers), "d_tied_hidden": tied.sqrt()}
    if activation is None:
        nan = torch.full((E,), math.nan, dtype=ref.dtype, device=ref.device)
        out["d_odd"] = torch.where(torch.tensor(_per_member(antisymmetrised, E, "antisymmetrised"),
                                                device=ref.device), torch.zeros_like(nan), nan)
        out["quad_form"] = nan.clone()
    else:
        out["d_odd"] = odd_distance(layers, activation, antisymmetrised)
        out["quad_form"] = quadratic_form_size(layers, activation, antisymmetrised)
    out["pair_dist"] = pair / max(n_hidden, 1)
    out["n_distinct"] = distinct / max(n_hidden, 1)
    out["n_distinct_rel"] = distinct_rel / max(n_hidden, 1)
    out["theta_norm"] = theta_norm(layers)
    out["d_sym"] = hidden_perm_distance(layers)
    out["r_sym"] = relative(out["d_sym"], out["theta_norm"])
    out["r_tied"] = relative(out["d_tied_hidden"], out["theta_norm"])
    return out
