r"""Propagating cumulants through a block-map MLP: :func:`propagate` and its four methods (Chapter 3).

After K. Fischer et al., *Decomposing neural networks as mappings of correlation functions*,
Phys. Rev. Research 4, 043143 (2022): a network maps the cumulants of its input distribution to the
cumulants of its output, :math:`\kappa_n\mapsto\kappa'_n` (:math:`\kappa'_n` the order-:math:`n`
cumulant of :math:`s' = f(s)`). Activations mix orders; the ways of handling them (:data:`METHODS`):

``"exact"`` (polynomial :math:`\phi`, eq. 3.4, ``eq-c3-leonov``)
    Every unit is a polynomial in the ``b`` centred block inputs (:mod:`.polynomials`; a low-rank
    representation of all of a layer's cumulant tensors at once, whatever its width) and the output
    cumulants are read from the moments of powers of the output polynomial
    (:func:`output_cumulants`). Output order :math:`n` of a network of total degree :math:`D` needs
    input cumulants up to :math:`Dn` (:func:`required_input_order`).
``"gaussian"`` (eq. 3.5, ``eq-c3-mehler``) and ``"hermite"`` (eq. 3.6, ``eq-c3-hermite``)
    Fischer et al.'s Gaussian truncation, and the Hermite expansion of the activation around each
    unit's Gaussian (:mod:`.hermite`); ``max_degree`` caps the degree by least-squares projection
    (:func:`rgsym.propagation.polynomials.project_degree`).
``"quadrature"`` (eq. 3.7, ``eq-c3-gauss``)
    The input law replaced by its moment-matched Gauss rule (:mod:`.quadrature`).

Everything works on whole ensembles (a leading member axis ``E``) in float64 and is differentiable in
the input cumulants (used by :mod:`.flows`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch

from ..clt import moments_to_cumulants
from ..validation import as_int, check_choice
from .hermite import _hermite_poly, _propagate_gaussian
from .inputs import U_ROUND, InputCumulants
from ..nets.activations import activation_name, poly_coefficients
from .networks import Network, as_networks
from .polynomials import DTYPE, _poly_pow_list, poly_expect, poly_mul, project_degree
from .quadrature import MAX_NODES, _propagate_quadrature, rule_order

GAMMA_ROUND = 8.0
"""Units of float64 roundoff per layer and power in the rounding bound of the ``exact`` method."""

METHODS = ("exact", "gaussian", "hermite", "quadrature")
"""The ways of propagating cumulants through a network (module docstring, eqs. 3.4-3.7)."""


@dataclass
class Propagation:
    r"""Output cumulants predicted by :func:`propagate`.

    ``kappa`` ``(E, order)``: :math:`\kappa'_1..\kappa'_{\rm order}` of :math:`f(s)` per member.
    ``error`` ``(E, order)`` or ``None``: ``exact``: a float64 rounding bound (the algebra is exact; the
    input moments come from the cumulants by a recursion that can cancel badly at high order, e.g. for
    :math:`\pm1` spins, see :meth:`InputCumulants.moment_errors`); otherwise the estimated truncation error (``hermite`` with
    ``estimate_error=True``: :math:`|\kappa'(K+2)-\kappa'(K)|`; ``gaussian``: the bound on the
    output variance from the Mehler truncation of the last activation, zero for polynomial
    activations; it does not include the error of dropping cumulants of order >= 3). ``residual``
    ``(E, n_hidden)`` or ``None``: per hidden layer, the largest fraction of a unit's activation
    variance left out by the Hermite truncation. ``input_order``: the input cumulant order used.
    """

    kappa: torch.Tensor
    method: str
    order: int
    input_order: int
    error: torch.Tensor | None = None
    residual: torch.Tensor | None = None
    info: dict = field(default_factory=dict)


def _plan(net: Network, method: str, hermite_order: int, max_degree: int | None, order: int):
    """Degrees of the pre-activations of every layer and the input cumulant order needed.

    ``exact``: degree multiplies by the activation's degree ``p`` at every hidden layer; output order
    ``n`` needs ``D n``. ``hermite``: by ``K``, capped at ``max_degree`` by projection (which needs
    moments up to ``P + K d``); the unit means/variances need twice each pre-activation degree. A network
    with no hidden layer (an affine map) has degree 1 whatever its method and activation: it needs ``order``."""
    if len(net.layers) == 1:
        return [1], order
    if method == "exact":
        coeffs = poly_coefficients(net.activation)
        if coeffs is None:
            raise ValueError(
                f"method 'exact' needs a polynomial activation, got {activation_name(net.activation)!r}; valid "
                f"methods for it are 'gaussian', 'hermite' and 'quadrature'")
        p = max(len(coeffs) - 1, 1)
    else:
        p = _hermite_degree(net, hermite_order)
    degs, need, d = [], 1, 1
    n_layers = len(net.layers)
    for k in range(n_layers):
        degs.append(d)
        if k == n_layers - 1:
            break
        if method == "hermite":
            need = max(need, 2 * d)
        d_act = d * p
        if method == "hermite" and max_degree is not None and d_act > max_degree:
            need = max(need, max_degree + d_act, 2 * max_degree)
            d_act = max_degree
        d = d_act
    need = max(need, degs[-1] * order)
    return degs, need


def _hermite_degree(net: Network, K: int) -> int:
    """The Hermite expansion of a polynomial activation of degree ``p <= K`` ends at ``p``."""
    coeffs = poly_coefficients(net.activation)
    return min(K, max(len(coeffs) - 1, 1)) if coeffs is not None else K


def _method_run(groups, method: str) -> str:
    """The method actually run: an affine map (no hidden layer) is propagated exactly by every method but
    ``gaussian`` (which drops the input cumulants of order >= 3 by definition)."""
    if method != "gaussian" and all(len(net.layers) == 1 for _, net in groups):
        return "exact"
    return method


def required_input_order(model, order: int, method: str = "exact", *, hermite_order: int = 5,
                         max_degree: int | None = None, nodes: int = 8, activation=None,
                         antisymmetrised=None) -> int:
    r"""Highest input cumulant order that :func:`propagate` needs for output order ``order``.

    ``exact``: a network of total polynomial degree :math:`D` needs :math:`D\cdot n`; ``hermite``:
    the same with the degree of the Hermite-expanded network (capped at ``max_degree``), and at least
    twice the degree of every pre-activation; ``quadrature``: :math:`2m-1`; ``gaussian``: 2."""
    order = as_int("order", order, 1)
    check_choice("method", method, METHODS)
    if method == "gaussian":
        return 2
    groups = as_networks(model, activation, antisymmetrised)
    method = _method_run(groups, method)
    if method == "quadrature":
        return rule_order(as_int("nodes", nodes, 1, MAX_NODES))
    need = 1
    for _, net in groups:
        need = max(need, _plan(net, method, hermite_order, max_degree, order)[1])
    return need


def propagate(model, inputs: InputCumulants, order: int = 4, method: str = "exact", *,
              activation=None, antisymmetrised: bool | None = None, hermite_order: int = 5,
              max_degree: int | None = None, nodes: int = 8, estimate_error: bool = False) -> Propagation:
    r"""Output cumulants :math:`\kappa'_1..\kappa'_{\rm order}` of the block map ``model`` for ``inputs``.

    ``model``: an ensemble with ``.layers()`` (Chapter 2) or a list of ``(W, c)`` plus ``activation``;
    ``inputs``: an :class:`InputCumulants` (``(E', ...)`` with ``E'`` 1 or ``E``); ``method`` one of
    :data:`METHODS` (module docstring).

    * ``hermite``: ``hermite_order`` :math:`K` of the activation's expansion and ``max_degree``
      :math:`P`: a unit whose polynomial in the inputs would exceed degree :math:`P` is replaced by
      its least-squares projection onto degree :math:`\le P` under the input law.
    * ``quadrature``: ``nodes`` :math:`m` per input of the moment-matched Gauss rule (needs input
      cumulants up to :math:`2m-1`; i.i.d. inputs).
    * ``estimate_error=True``: ``error`` holds the change of the result with the truncation order
      (``hermite``: :math:`|\kappa'(K+2)-\kappa'(K)|`, two orders as odd and even terms alternate; ``quadrature``: :math:`|\kappa'(m)-\kappa'(m-1)|`);
      ``gaussian`` always reports its bound.

    A network with no hidden layer (an affine map) is propagated exactly by every method but ``gaussian``
    (``info['run_as'] == 'exact'``, ``error`` the rounding bound), whatever its activation.

    Raises a ``ValueError`` before any heavy work when the method does not apply or the inputs lack
    the orders needed (:func:`required_input_order`). Returns a :class:`Propagation`, ``kappa`` ``(E, order)``.
    """
    order = as_int("order", order, 1)
    check_choice("method", method, METHODS)
    if not isinstance(inputs, InputCumulants):
        raise TypeError("inputs must be an InputCumulants (use iid_inputs, law_inputs or tensor_inputs)")
    as_int("hermite_order", hermite_order, 1)
    as_int("nodes", nodes, 1, MAX_NODES)
    if max_degree is not None:
        as_int("max_degree", max_degree, 1)
    groups = as_networks(model, activation, antisymmetrised)
    asked, method = method, _method_run(groups, method)
    E = sum(len(i) for i, _ in groups)
    if inputs.n_members not in (1, E):
        raise ValueError(f"inputs hold {inputs.n_members} members; the model has {E}")
    b = groups[0][1].b
    if inputs.b != b:
        raise ValueError(f"the model takes blocks of b={b} inputs; the input cumulants are for b={inputs.b}")
    if method == "quadrature":
        if inputs.iid is None:
            raise ValueError("method 'quadrature' needs i.i.d. inputs (a product rule); for general cumulant "
                             "tensors use 'exact' or 'gaussian'")
        need = rule_order(nodes)
    elif method == "gaussian":
        need = 2
    else:
        orders = [hermite_order, hermite_order + 2] if (estimate_error and method == "hermite") else [hermite_order]
        need = max(_plan(net, method, K, max_degree, order)[1] for _, net in groups for K in orders)
    if need > inputs.order:
        raise ValueError(
            f"output cumulants up to order {order} with method {asked!r} need input cumulants up to order "
            f"{need}, but only {inputs.order} were supplied ({inputs.source or 'given'})")

    dev = inputs.mean.device
    kappa = torch.zeros(E, order, dtype=DTYPE, device=dev)
    error = torch.zeros(E, order, dtype=DTYPE, device=dev) \
        if (method in ("gaussian", "exact") or estimate_error) else None
    n_hidden = len(groups[0][1].layers) - 1
    residual = torch.zeros(E, n_hidden, dtype=DTYPE, device=dev) if method in ("hermite", "gaussian") else None
    for idx, net in groups:
        t = torch.tensor(idx, device=dev)
        sub = _select_inputs(inputs, t, E)
        net = Network([(W.to(dev), c.to(dev)) for W, c in net.layers], net.activation)
        if method == "gaussian":
            k, err, res = _propagate_gaussian(net, sub, order, hermite_order)
            error[t] = err
        elif method == "quadrature":
            k = _propagate_quadrature(net, sub, order, nodes)
            res = None
            if estimate_error:
                error[t] = (k - _propagate_quadrature(net, sub, order, nodes - 1)).abs() if nodes > 1 \
                    else torch.full_like(k, float("inf"))
        else:
            k, res = _propagate_poly(net, sub, order, method, hermite_order, max_degree)
            if method == "exact":
                k, err = k
                error[t] = err
            elif estimate_error:
                k2, _ = _propagate_poly(net, sub, order, method, hermite_order + 2, max_degree)
                error[t] = (k2 - k).abs()
        kappa[t] = k
        if residual is not None and res is not None:
            residual[t] = res
    info = {"exact": {}, "gaussian": {"hermite_order": hermite_order},
            "hermite": {"hermite_order": hermite_order, "max_degree": max_degree},
            "quadrature": {"nodes": nodes}}[asked]
    if method != asked:
        info = {**info, "run_as": method}
    return Propagation(kappa=kappa, method=asked, order=order, input_order=need, error=error,
                       residual=residual, info=info)


def _select_inputs(inputs: InputCumulants, t, E) -> InputCumulants:
    if inputs.n_members == 1 or len(t) == E and bool((t == torch.arange(E, device=t.device)).all()):
        return inputs
    return InputCumulants(b=inputs.b, order=inputs.order, mean=inputs.mean[t],
                          iid=None if inputs.iid is None else inputs.iid[t],
                          tensors=None if inputs.tensors is None else [x[t] for x in inputs.tensors],
                          source=inputs.source)


def _first_layer(W, c, mean):
    """Pre-activations of the first layer as polynomials of degree 1 in the centred inputs."""
    const = c + torch.einsum("eoi,ei->eo", W, mean.expand(W.shape[0], -1))
    return torch.cat([const.unsqueeze(-1), W], -1)  # (E, out, 1 + b): constant, then delta_1..delta_b


def _apply_poly(z, dz, coeffs, b, moments=None):
    r""":math:`\sum_k c_k z^k` by Horner's rule; ``z`` ``(..., n)``, returns ``(y, degree)``.

    With ``moments`` the polynomial is expanded about the unit's mean :math:`m = E z`,
    :math:`\phi(z) = \sum_k \phi^{(k)}(m)/k!\,(z - m)^k` (an identity): powers of the centred unit
    avoid the cancellation between :math:`m^k` and the fluctuation terms."""
    p = len(coeffs) - 1
    if moments is not None and p >= 1:
        m = poly_expect(z, dz, moments.unsqueeze(-2))  # (E, units)
        z = z.clone()
        z[..., 0] = z[..., 0] - m
        coeffs = [sum(coeffs[q] * math.comb(q, k) * m ** (q - k) for q in range(k, p + 1)) for k in range(p + 1)]
        return _horner(coeffs, z, dz, b, coeffs[p].unsqueeze(-1))
    return _horner(coeffs, z, dz, b, coeffs[p])


def _horner(coeffs, z, dz, b, top):
    r"""Horner's rule :math:`(\dots(c_p z + c_{p-1}) z + \dots) z + c_0` on polynomials in the inputs,
    starting from the leading coefficient ``top``; returns ``(y, degree)``."""
    y = torch.zeros_like(z[..., :1]) + top
    dy = 0
    for k in range(len(coeffs) - 2, -1, -1):
        y, dy = poly_mul(y, dy, z, dz, b)
        y = y.clone()
        y[..., 0] = y[..., 0] + coeffs[k]
    return y, dy


def _propagate_poly(net: Network, inputs: InputCumulants, order: int, method: str, K: int,
                    max_degree: int | None):
    b = net.b
    _, need = _plan(net, method, K, max_degree, order)
    K = _hermite_degree(net, K)
    moments = inputs.moments(need)
    coeffs = poly_coefficients(net.activation)
    residuals = []
    W, c = net.layers[0]
    z, dz = _first_layer(W, c, inputs.mean), 1
    for W, c in net.layers[1:]:
        if method == "exact":
            h, dh = _apply_poly(z, dz, coeffs, b, moments)
        else:
            h, dh, res = _hermite_poly(z, dz, net.activation, K, b, moments)
            residuals.append(res.max(-1).values)
            if max_degree is not None and dh > max_degree:
                h, dh = project_degree(h, dh, max_degree, b, moments), max_degree
        z = torch.einsum("eoi,ein->eon", W, h)
        z = z.clone()
        z[..., 0] = z[..., 0] + c
        dz = dh
    f = z[:, 0, :]
    res = torch.stack(residuals, -1) if residuals else None
    if method == "exact":
        return output_cumulants(f, dz, b, moments, order, inputs.moment_errors(need), len(net.layers)), res
    return output_cumulants(f, dz, b, moments, order), res


def output_cumulants(f: torch.Tensor, degree: int, b: int, moments: torch.Tensor, order: int,
                     moment_err: torch.Tensor | None = None, n_layers: int = 1):
    r"""Cumulants :math:`\kappa_1..\kappa_{\rm order}` of :math:`f(\delta)` for a polynomial ``f``
    ``(E, n_monomials(b, degree))``: central moments :math:`E[(f-Ef)^k]` from the powers of the centred
    polynomial and the input moments, then the moment-cumulant recursion. Returns ``(E, order)``.

    With ``moment_err`` (the rounding bound of the moments, :meth:`InputCumulants.moment_errors`) returns
    ``(kappa, err)``: :math:`E[p] = \sum_\alpha p_\alpha\mu_\alpha` is off by at most
    :math:`\gamma\sum_\alpha|p_\alpha\mu_\alpha| + \sum_\alpha|p_\alpha|e_\alpha` (:data:`GAMMA_ROUND`
    units of roundoff per layer and power), carried through the cumulant recursion to first order."""
    mean = poly_expect(f, degree, moments)
    fc = f.clone()
    fc[..., 0] = fc[..., 0] - mean
    central = [torch.zeros_like(mean)]
    errs = [torch.zeros_like(mean)]
    pows = _poly_pow_list(fc, degree, b, order)[1:] if order >= 2 else []
    for k, (p, dp) in enumerate(pows, start=2):
        central.append(poly_expect(p, dp, moments))
        if moment_err is not None:
            n = p.shape[-1]
            g = GAMMA_ROUND * (n_layers + k) * U_ROUND
            errs.append(g * (p * moments[..., :n]).abs().sum(-1) + (p.abs() * moment_err[..., :n]).sum(-1))
    kappa = moments_to_cumulants(central)
    kappa[0] = mean
    kappa = torch.stack(kappa, -1)
    if moment_err is None:
        return kappa
    e_mean = GAMMA_ROUND * n_layers * U_ROUND * (f * moments[..., :f.shape[-1]]).abs().sum(-1) \
        + (f.abs() * moment_err[..., :f.shape[-1]]).sum(-1)
    # first-order error of kappa_n = mu_n - sum_j C(n-1, j-1) kappa_j mu_{n-j} (central: mu_1 = 0)
    mu = [m.detach().abs() for m in central]
    ek = [e_mean] + [torch.zeros_like(mean)] * (order - 1)
    kap_abs = kappa.detach().abs()
    for n in range(2, order + 1):
        e = errs[n - 1].clone()
        for j in range(2, n - 1):
            # central[i] and errs[i] hold mu_{i+1}: mu_{n-j} is index n-j-1
            e = e + math.comb(n - 1, j - 1) * (ek[j - 1] * mu[n - j - 1] + kap_abs[..., j - 1] * errs[n - j - 1])
        ek[n - 1] = e
    return kappa, torch.stack(ek, -1)
