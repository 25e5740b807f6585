r"""The impossibility on the physical manifold and the floor formulas, in sympy (Chapter 3,
eqs. 3.12 and 3.14, ``eq-c3-floor`` and ``eq-c3-k3floor``).

The flow of Chapter 1 lives on :math:`\kappa_1 = 0`, :math:`\kappa_2 = 1`; :func:`rgsym.propagation.analytic.cannot_represent`
needs exactness for every :math:`\kappa_2` (its key equation is the :math:`\kappa_2` coefficient of the mean).
:func:`manifold_conditions` restates it where the flow lives: with :math:`\kappa_1 = 0`, :math:`\kappa_2 = 1`
fixed and the higher cumulants free (every unit-variance law), :math:`\kappa'_n = b^{1-n/2}\kappa_n` must hold
as a polynomial identity in :math:`\kappa_3, \kappa_4, \dots`; the :math:`\kappa_4` coefficient of
:math:`\kappa'_2` is :math:`\alpha^2V^2\sum_i w_i^4`, which forces :math:`V = 0` or :math:`w = 0`, i.e. a constant
network, whose :math:`\kappa'_2 = 0 \ne 1`. :func:`floor_identities` derives the error behind eq. 3.12
(``eq-c3-floor``) and the injected skewness behind eq. 3.14 (``eq-c3-k3floor``) of
:mod:`rgsym.propagation.floors` from the network itself.
"""
from __future__ import annotations

import sympy as sp

from .analytic import cumulant_symbols, polynomial_cumulants, tied_hidden_map, vanishing_coefficients


def manifold_conditions(b: int = 2, order: int = 2) -> dict:
    r"""The RG conditions of the one-layer tied-hidden quadratic network on :math:`\kappa_1 = 0, \kappa_2 = 1`.

    Returns ``conditions`` (``(n, monomial in kappa_3.., coefficient)``), ``key`` (the :math:`\kappa_4`
    coefficient of :math:`\kappa'_2`, factored), ``key_is_sum_of_squares``, ``forced_variance`` (the
    variance condition :math:`\kappa'_2 - 1` at :math:`V = 0` and at :math:`w = 0`) and ``impossible`` (both are
    :math:`-1`)."""
    block = tied_hidden_map(b, 1)
    kap = cumulant_symbols(2 * order)
    phys = (sp.Integer(0), sp.Integer(1)) + tuple(kap[2:])
    out = polynomial_cumulants(block.expr, block.inputs, order, phys)
    free = list(kap[2:])
    conds = vanishing_coefficients(out, phys, free, order, b)
    k4 = kap[3]
    key = next(c for n, m, c in conds if n == 2 and m == k4)
    P = block.params
    w = [P[f"w_{i + 1}"] for i in range(b)]
    expected = P["alpha"] ** 2 * P["V"] ** 2 * sum(x ** 4 for x in w)
    # the key vanishes (alpha != 0) only for V = 0 or w = 0; both make the variance condition -1 = 0
    var_cond = sp.expand(out[1] - 1)
    dead = [sp.expand(var_cond.subs(P["V"], 0)), sp.expand(var_cond.subs({x: 0 for x in w}))]
    return {"conditions": conds, "key": sp.factor(key), "key_is_sum_of_squares": sp.expand(key - expected) == 0,
            "forced_variance": dead, "impossible": all(d == -1 for d in dead), "block": block}


def floor_identities(b: int = 2) -> dict:
    r"""Eqs. (3.12) and (3.14) (``eq-c3-floor``, ``eq-c3-k3floor``) derived from the network:
    ``variance_ok`` checks, in the raw parameters,
    :math:`(V(1+2\alpha c))^2|w|^2 - 2V(1+2\alpha c)\sum_i w_i/\sqrt b + 1 + \alpha^2V^2(2|w|^4 + \kappa_4\sum_i w_i^4)`
    on sites with :math:`\kappa_1 = \kappa_3 = 0`, :math:`\kappa_2 = 1`; ``kappa3_ok`` checks
    :math:`\kappa'_3 = 6L^2Q + 8Q^3` on Gaussian sites."""
    block = tied_hidden_map(b, 1)
    P = block.params
    a, V, c = P["alpha"], P["V"], P["c_1"]
    w = [P[f"w_{i + 1}"] for i in range(b)]
    k4 = sp.Symbol("kappa_4", real=True)
    T = sum(block.inputs) / sp.sqrt(b)
    site = (0, 1, 0, k4)
    var = polynomial_cumulants(sp.expand(block.expr - T), block.inputs, 2, site)[1]
    n2 = sum(x ** 2 for x in w)
    expected = ((V * (1 + 2 * a * c)) ** 2 * n2 - 2 * V * (1 + 2 * a * c) * sum(w) / sp.sqrt(b) + 1
                + a ** 2 * V ** 2 * (2 * n2 ** 2 + k4 * sum(x ** 4 for x in w)))
    gauss = (0, 1) + (0,) * 4
    k3 = polynomial_cumulants(block.expr, block.inputs, 3, gauss)[2]
    L2 = (V * (1 + 2 * a * c)) ** 2 * n2
    Q = a * V * n2
    return {"variance": var, "variance_ok": sp.simplify(sp.expand(var - expected)) == 0,
            "kappa3": k3, "kappa3_ok": sp.simplify(sp.expand(k3 - (6 * L2 * Q + 8 * Q ** 3))) == 0}
