r"""The analytic account of Chapter 3, in sympy: why constrained quadratic MLPs cannot learn the RG map.

Notation (Chapter 3). A block :math:`s = (s_1..s_b)` of i.i.d. sites with cumulants
:math:`\kappa_1, \kappa_2, \dots` is mapped to :math:`s' = f(s)`; the exact RG map
:math:`f_{\rm RG}(s) = b^{-1/2}\sum_i s_i` gives :math:`\kappa'_n = b^{1-n/2}\kappa_n` (eq. 3.1,
``eq-c3-clt``, the CLT as a recursion on cumulants). For a block map that is a polynomial in the sites (every
MLP with the activation :math:`\phi(z) = z + \alpha z^2` is one), :func:`polynomial_cumulants` derives
:math:`\kappa'_n` as a polynomial in the input cumulants and the parameters, from the moments of powers of
:math:`f` (no formula is typed in).

* :func:`unit_cumulants` and :func:`check_values`: one unit :math:`y = z + \alpha z^2`, against the
  scalar check values of SCIENCE.md §4; :func:`unit_cumulants_by_partitions` derives the same from
  the Leonov-Shiryaev set-partition expansion (:func:`rgsym.propagation.partitions.activation_terms`).
* :func:`tied_hidden_map`: a ``tied-hidden`` network is a function of one projection
  :math:`u = w\cdot s` (``perm-in`` makes it :math:`u = a\sum_i s_i`); with one hidden layer
  :math:`f = V[(u+c) + \alpha(u+c)^2] + d`, :math:`V = \sum_h v_h`.
* :func:`rg_conditions` and :func:`cannot_represent`: demanding :math:`\kappa'_n = b^{1-n/2}\kappa_n`
  for *all* input laws means equating coefficients of every monomial in the :math:`\kappa`'s; for the
  tied-hidden quadratic network the coefficient of :math:`\kappa_2` in :math:`\kappa'_1` is
  :math:`\alpha V\sum_i w_i^2`, which must vanish, so the network is linear (:math:`\alpha V = 0`) or
  trivial (:math:`w = 0`), and neither satisfies the rest.
* :func:`free_construction`: with two units of opposite sign,
  :math:`[\phi(z) - \phi(-z)]/2 = z`, so an unconstrained network represents the map exactly;
  :func:`odd_tied_hidden`: antisymmetrising removes the even part, which rescues one hidden layer.
* :func:`relu_identity` and :func:`relu_tied_hidden_mean`: the same for ReLU: :math:`z = {\rm relu}(z) -
  {\rm relu}(-z)`, and a tied-hidden ReLU network's mean on symmetric two-point inputs grows like
  :math:`t\,V\sum_\sigma|\sigma\cdot w|/2^{b+1}`, so it cannot keep :math:`\kappa'_1 = 0`.
* :func:`cumulant_map_exprs` and :func:`closure_fixed_points`: the flow of a block map in cumulant
  space and its fixed points against the line of Gaussian fixed points of the exact map.
* :func:`best_tied_hidden_fit`: the least-squares tied-hidden quadratic fit at bounded bias keeps a
  nonzero quadratic part and injects :math:`\kappa_3`; its quadratic part vanishes only as the
  bias bound goes to infinity.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import sympy as sp

from ..clt import cumulants_to_moments, moments_to_cumulants
from ..validation import as_int, check_choice
from .partitions import activation_terms


# ------------------------------------------------------------------------------------------------
# cumulants of polynomials of i.i.d. inputs
# ------------------------------------------------------------------------------------------------
def cumulant_symbols(n: int, name: str = "kappa") -> tuple:
    r"""Symbols :math:`\kappa_1..\kappa_n` (real)."""
    return sp.symbols(f"{name}_1:{n + 1}", real=True)


def polynomial_cumulants(f, inputs, order: int, kappa=None) -> list:
    r"""Cumulants :math:`\kappa'_1..\kappa'_{\rm order}` of :math:`f(s)` (eq. 3.4, ``eq-c3-leonov``, in
    sympy).

    ``f``: a sympy polynomial in the symbols ``inputs`` (i.i.d. sites), ``kappa``: the sites'
    cumulants (default symbols :math:`\kappa_1..\kappa_{D\cdot order}`, :math:`D = \deg f`).
    Central moments :math:`E[(f - Ef)^k]` come from expanding the powers of :math:`f` and replacing
    :math:`\prod_i s_i^{a_i}` by :math:`\prod_i \mu'_{a_i}`; the moment-cumulant recursion finishes.
    Returns expanded expressions."""
    inputs = tuple(inputs)
    f = sp.expand(sp.sympify(f))
    deg = max(sp.Poly(f, *inputs).total_degree(), 1) if f.free_symbols & set(inputs) else 1
    need = deg * order
    if kappa is None:
        kappa = cumulant_symbols(need)
    kappa = tuple(kappa)
    if len(kappa) < need:
        raise ValueError(f"order-{order} cumulants of a degree-{deg} polynomial need input cumulants up to "
                         f"order {need}; got {len(kappa)}")
    mu = [sp.Integer(1)] + [sp.expand(m) for m in cumulants_to_moments(list(kappa[:need]))]

    def expect(expr):
        expr = sp.expand(expr)
        if not expr.free_symbols & set(inputs):
            return expr
        poly = sp.Poly(expr, *inputs)
        return sp.expand(sum(coef * sp.Mul(*[mu[a] for a in mono]) for mono, coef in poly.terms()))

    mean = expect(f)
    fc = sp.expand(f - mean)
    central = [sp.Integer(0)]
    p = fc
    for _ in range(2, order + 1):
        p = sp.expand(p * fc)
        central.append(expect(p))
    kap = [sp.expand(k) for k in moments_to_cumulants(central)]
    kap[0] = mean
    return kap


def unit_cumulants(order: int = 2, alpha=None, kappa=None) -> list:
    r""":math:`\kappa_n(y)` of one quadratic unit :math:`y = z + \alpha z^2` in terms of the cumulants
    :math:`k_1..k_{2n}` of :math:`z` (eq. 3.4, ``eq-c3-leonov``, for a scalar)."""
    z = sp.Symbol("z", real=True)
    alpha = sp.Symbol("alpha", real=True) if alpha is None else alpha
    if kappa is None:
        kappa = cumulant_symbols(2 * order, "k")
    return polynomial_cumulants(z + alpha * z ** 2, (z,), order, kappa)


def unit_cumulants_by_partitions(coeffs, order: int, kappa=None) -> list:
    r"""The same as :func:`unit_cumulants` for :math:`y = \sum_p c_p z^p`, derived instead from the
    Leonov-Shiryaev expansion over connected set partitions (:func:`rgsym.propagation.partitions.activation_terms`)."""
    coeffs = [sp.sympify(c) for c in coeffs]
    p = len(coeffs) - 1
    if kappa is None:
        kappa = cumulant_symbols(p * order, "k")
    out = []
    for n in range(1, order + 1):
        total = coeffs[0] if n == 1 else sp.Integer(0)
        terms = activation_terms(coeffs, n, prod=lambda c: sp.Mul(*c), zero=sp.Integer(0))
        for sig, coef in terms.items():
            total += coef * sp.Mul(*[kappa[len(bl) - 1] for bl in sig])
        out.append(sp.expand(total))
    return out


def check_values() -> dict:
    r"""The scalar check values of SCIENCE.md §4 for :math:`y = z + \alpha z^2`, derived and compared.

    Returns ``{name: (derived, expected, equal)}`` for ``'mean'`` and ``'variance'``."""
    k1, k2, k3, k4 = cumulant_symbols(4, "k")
    a = sp.Symbol("alpha", real=True)
    expected = {
        "mean": k1 + a * (k2 + k1 ** 2),
        "variance": k2 + 2 * a * (2 * k1 * k2 + k3) + a ** 2 * (4 * k1 ** 2 * k2 + 4 * k1 * k3 + 2 * k2 ** 2 + k4),
    }
    derived = unit_cumulants(2, a, (k1, k2, k3, k4))
    out = {}
    for (name, exp), der in zip(expected.items(), derived):
        out[name] = (der, sp.expand(exp), sp.expand(der - exp) == 0)
    return out


# ------------------------------------------------------------------------------------------------
# constrained quadratic networks and the RG conditions
# ------------------------------------------------------------------------------------------------
@dataclass
class BlockMap:
    """A symbolic block map: ``expr`` in the site symbols ``inputs`` with parameters ``params``."""

    expr: sp.Expr
    inputs: tuple
    params: dict = field(default_factory=dict)
    label: str = ""


def _sites(b: int) -> tuple:
    b = as_int("b", b, 1)
    return sp.symbols(f"s_1:{b + 1}", real=True)


def quadratic(z, alpha):
    r""":math:`\phi(z) = z + \alpha z^2`."""
    return z + alpha * z ** 2


def tied_hidden_map(b: int = 2, depth: int = 1, perm_in: bool = False) -> BlockMap:
    r"""The tied-hidden quadratic network as a symbolic block map (eq. 3.8, ``eq-c3-tied``).

    All hidden units of a layer are equal, so every unit sees :math:`u = w\cdot s` (``perm_in``:
    :math:`u = a\sum_i s_i`): :math:`t_1 = \phi(u + c_1)`, :math:`t_k = \phi(A_k t_{k-1} + c_k)` with
    :math:`A_k = H a_k` the summed incoming weight, and :math:`f = V t_D + d`, :math:`V = \sum_h v_h`."""
    if depth not in (1, 2, 3):
        raise ValueError(f"depth must be 1, 2 or 3, got {depth!r}")
    s = _sites(b)
    alpha = sp.Symbol("alpha", real=True)
    if perm_in:
        a = sp.Symbol("a", real=True)
        w = (a,) * b
        params = {"a": a}
    else:
        w = sp.symbols(f"w_1:{b + 1}", real=True)
        params = {f"w_{i + 1}": wi for i, wi in enumerate(w)}
    u = sum(wi * si for wi, si in zip(w, s))
    cs = sp.symbols(f"c_1:{depth + 1}", real=True)
    t = quadratic(u + cs[0], alpha)
    for k in range(1, depth):
        A = sp.Symbol(f"A_{k + 1}", real=True)
        params[f"A_{k + 1}"] = A
        t = quadratic(A * t + cs[k], alpha)
    V, d = sp.symbols("V d", real=True)
    params.update({f"c_{k + 1}": c for k, c in enumerate(cs)})
    params.update({"V": V, "d": d, "alpha": alpha})
    label = ("perm-in+" if perm_in else "") + f"tied-hidden, depth {depth}"
    return BlockMap(sp.expand(V * t + d), s, params, label)


def rg_target(n: int, b, kappa_n):
    r"""The exact recursion :math:`\kappa'_n = b^{1-n/2}\kappa_n` (eq. 3.1, ``eq-c3-clt``)."""
    return sp.Integer(b) ** (1 - sp.Rational(n, 2)) * kappa_n


def rg_conditions(block: BlockMap, order: int = 2) -> list:
    r"""The equations :math:`\kappa'_n - b^{1-n/2}\kappa_n = 0` *for every input law*, i.e. one equation per
    monomial in the input cumulants, for ``n = 1..order`` (eq. 3.9, ``eq-c3-conditions``). Returns a list of
    ``(n, monomial, coefficient)`` with every coefficient an expression in the parameters that must vanish."""
    b = len(block.inputs)
    deg = max(sp.Poly(block.expr, *block.inputs).total_degree(), 1)
    kappa = cumulant_symbols(deg * order)
    kap = polynomial_cumulants(block.expr, block.inputs, order, kappa)
    return vanishing_coefficients(kap, kappa, kappa, order, b)


def vanishing_coefficients(out_cumulants, in_cumulants, variables, order: int, b: int) -> list:
    r"""``(n, monomial, coefficient)`` for every nonzero coefficient, as a polynomial in ``variables``, of
    :math:`\kappa'_n - b^{1-n/2}\kappa_n` for ``n = 1..order``: the conditions for the map to be exact."""
    out = []
    for n in range(1, order + 1):
        diff = sp.expand(out_cumulants[n - 1] - rg_target(n, b, in_cumulants[n - 1]))
        for mono, coef in sp.Poly(diff, *variables).terms():
            coef = sp.factor(coef)
            if coef != 0:
                out.append((n, sp.Mul(*[k ** e for k, e in zip(variables, mono)]), coef))
    return out


@dataclass
class Proof:
    """What :func:`cannot_represent` establishes: the conditions, the key one, and the solution set."""

    block: BlockMap
    conditions: list
    key_condition: tuple
    solutions: list
    statement: str


def cannot_represent(b: int = 2, depth: int = 1, order: int = 2, perm_in: bool = False) -> Proof:
    r"""Prove that the tied-hidden quadratic network (``alpha != 0``) cannot satisfy
    :math:`\kappa'_n = b^{1-n/2}\kappa_n` for all input laws (eq. 3.9, ``eq-c3-conditions``, and the
    sympy solution that Chapter 3 prints after it).

    The coefficient of :math:`\kappa_2` in the mean condition is :math:`\alpha V\,P(w)` with
    :math:`P(w)` a sum of squares (depth 1: :math:`\sum_i w_i^2`), so it forces :math:`V = 0` or
    :math:`w = 0`; sympy then solves all conditions up to ``order`` and finds no solution."""
    block = tied_hidden_map(b, depth, perm_in)
    conds = rg_conditions(block, order)
    k2 = cumulant_symbols(2)[1]
    key = next(c for c in conds if c[0] == 1 and c[1] == k2)
    unknowns = [v for k, v in block.params.items() if k != "alpha"]
    # alpha is a generic (nonzero) parameter: sympy solves for everything else
    valid = sp.solve([c[2] for c in conds], unknowns, dict=True)
    stmt = (f"{block.label}: the coefficient of kappa_2 in kappa'_1 is {sp.factor(key[2])}; it vanishes only "
            f"for V = 0 or w = 0, and with alpha != 0 the conditions up to order {order} have "
            f"{'no solution' if not valid else f'{len(valid)} solution(s)'}")
    return Proof(block, conds, key, valid, stmt)


def free_construction(b: int = 2) -> dict:
    r"""The unconstrained construction (printed in Chapter 3's tied-hidden section): units :math:`\pm w`
    with outgoing :math:`\pm v`, :math:`f = v\,\phi(w\cdot s) - v\,\phi(-w\cdot s) = 2v\,w\cdot s` for
    :math:`\phi(z) = z+\alpha z^2`; with :math:`v = 1/2`, :math:`w = b^{-1/2}(1..1)` it is the RG map, and its
    cumulants satisfy eq. 3.1 (``eq-c3-clt``)."""
    s = _sites(b)
    alpha, v = sp.symbols("alpha v", real=True)
    w = sp.symbols(f"w_1:{b + 1}", real=True)
    u = sum(wi * si for wi, si in zip(w, s))
    f = sp.expand(v * quadratic(u, alpha) - v * quadratic(-u, alpha))
    z = sp.Symbol("z", real=True)
    odd = sp.simplify((quadratic(z, alpha) - quadratic(-z, alpha)) / 2 - z)
    chosen = f.subs({v: sp.Rational(1, 2), **{wi: 1 / sp.sqrt(b) for wi in w}})
    kappa = cumulant_symbols(4)
    kap = polynomial_cumulants(chosen, s, 4, kappa)
    matches = all(sp.simplify(kap[n - 1] - rg_target(n, b, kappa[n - 1])) == 0 for n in range(1, 5))
    return {"network": f, "odd_part_identity": odd == 0, "chosen": sp.simplify(chosen),
            "cumulants": kap, "matches_rg": matches}


def odd_tied_hidden(b: int = 2) -> dict:
    r"""A tied-hidden one-layer quadratic network antisymmetrised, :math:`[g(s) - g(-s)]/2`: the even
    part (and with it :math:`\alpha`) drops out, leaving :math:`V(1 + 2\alpha c)\,w\cdot s`, linear."""
    g = tied_hidden_map(b, 1)
    neg = g.expr.subs({si: -si for si in g.inputs}, simultaneous=True)
    odd = sp.factor(sp.expand((g.expr - neg) / 2))
    return {"odd_part": odd, "is_linear": sp.Poly(odd, *g.inputs).total_degree() <= 1}


def relu_identity() -> bool:
    r""":math:`{\rm relu}(z) - {\rm relu}(-z) = z` for all real :math:`z` (two opposite-sign ReLU units)."""
    z = sp.Symbol("z", real=True)
    expr = (sp.Max(z, 0) - sp.Max(-z, 0) - z).rewrite(sp.Piecewise)
    return sp.simplify(sp.piecewise_fold(expr)) == 0


def relu_tied_hidden_mean(b: int = 2) -> dict:
    r"""Mean of a tied-hidden ReLU network :math:`f = V\,{\rm relu}(w\cdot s + c) + d` on symmetric
    two-point sites :math:`s_i = \pm t` (:math:`\kappa_1 = 0`, :math:`\kappa_2 = t^2`);
    Chapter 3 prints the slope.

    Returns the exact mean and its slope :math:`\lim_{t\to\infty}E f/t = V\sum_\sigma|\sigma\cdot w|/2^{b+1}`,
    which vanishes only for :math:`V = 0` (then :math:`f` is constant) or :math:`w = 0`: the mean condition
    :math:`\kappa'_1 = \sqrt b\,\kappa_1 = 0` fails for large :math:`t`."""
    t = sp.Symbol("t", positive=True)
    V, d, c = sp.symbols("V d c", real=True)
    w = sp.symbols(f"w_1:{b + 1}", real=True)
    signs = list(itertools.product((-1, 1), repeat=b))
    mean = V * sum(sp.Max(t * sum(si * wi for si, wi in zip(sig, w)) + c, 0) for sig in signs) / len(signs) + d
    slope = V * sum(sp.Abs(sum(si * wi for si, wi in zip(sig, w))) for sig in signs) / 2 ** (b + 1)
    return {"mean": mean, "slope": slope, "t": t, "params": {"V": V, "d": d, "c": c, "w": w}}


# ------------------------------------------------------------------------------------------------
# the flow in cumulant space
# ------------------------------------------------------------------------------------------------
def cumulant_map_exprs(block: BlockMap, closure: int = 2, subs: dict | None = None) -> tuple:
    r"""The block map's flow in cumulant space with the order-``closure`` closure (eq. 3.2,
    ``eq-c3-flow``): :math:`(\kappa_1..\kappa_K)\mapsto(\kappa'_1..\kappa'_K)`, input cumulants above ``K`` set to zero.
    Returns ``(kappa_symbols, images)``; ``subs`` fixes parameters (e.g. trained values)."""
    expr = block.expr if subs is None else sp.expand(block.expr.subs(subs))
    deg = max(sp.Poly(expr, *block.inputs).total_degree(), 1) if expr.free_symbols & set(block.inputs) else 1
    K = int(closure)
    kappa = cumulant_symbols(K)
    padded = tuple(kappa) + (sp.Integer(0),) * (deg * K - K)
    imgs = polynomial_cumulants(expr, block.inputs, K, padded)
    return kappa, imgs


def exact_map(b: int = 2) -> BlockMap:
    r"""The exact RG map :math:`b^{-1/2}\sum_i s_i` as a :class:`BlockMap`."""
    s = _sites(b)
    return BlockMap(sum(s) / sp.sqrt(b), s, {}, "exact RG map")


def closure_fixed_points(block: BlockMap, closure: int = 2, subs: dict | None = None) -> list:
    r"""Fixed points :math:`\kappa^* = F(\kappa^*)` of :func:`cumulant_map_exprs` (sympy ``solve``), as
    dicts. The exact map gives the line :math:`\kappa_1 = 0`, :math:`\kappa_{n\ge3} = 0`,
    :math:`\kappa_2` free; a learned map generally keeps isolated points of it or none."""
    kappa, imgs = cumulant_map_exprs(block, closure, subs)
    eqs = [sp.expand(i - k) for i, k in zip(imgs, kappa)]
    return sp.solve(eqs, list(kappa), dict=True)


# ------------------------------------------------------------------------------------------------
# the best tied-hidden fit (numerical illustration of the "cannot")
# ------------------------------------------------------------------------------------------------
@dataclass
class TiedFit:
    r"""Result of :func:`best_tied_hidden_fit` (``params`` by name; ``quadratic_norm`` is
    :math:`\|Q\|_F`, :math:`Q = \alpha V w w^\top`)."""

    params: dict
    loss: float
    quadratic_norm: float
    kappa3_after_one_step: float
    mean_after_one_step: float
    param_bound: float


@lru_cache(maxsize=None)
def _tied_fit_problem(alpha: float, b: int, law: str):
    """The exact least-squares loss of :func:`best_tied_hidden_fit` and its gradient, compiled once."""
    from ..clt import get_law

    block = tied_hidden_map(b, 1)
    P = block.params
    target = sum(block.inputs) / sp.sqrt(b)
    err = sp.expand((block.expr - target).subs(P["alpha"], sp.Float(alpha)))
    kappa_law = [sp.Float(x) for x in get_law(law).cumulants(4)]
    mu = [sp.Integer(1)] + [sp.expand(m) for m in cumulants_to_moments(kappa_law)]
    poly = sp.Poly(sp.expand(err ** 2), *block.inputs)
    loss_expr = sum(coef * sp.Mul(*[mu[e] for e in mono]) for mono, coef in poly.terms())
    names = [f"w_{i + 1}" for i in range(b)] + ["c_1", "V", "d"]
    syms = [P[n] for n in names]
    fun = sp.lambdify([syms], loss_expr, "numpy")
    grad = sp.lambdify([syms], [sp.diff(loss_expr, x) for x in syms], "numpy")
    return block, names, fun, grad


def best_tied_hidden_fit(alpha: float = 0.5, b: int = 2, law: str = "gaussian", param_bound: float = 2.0,
                         starts: int = 8, seed: int = 0) -> TiedFit:
    r"""Least-squares fit of the one-layer tied-hidden quadratic network to the RG map (eq. 3.10,
    ``eq-c3-fit``): minimise :math:`E_s[(f(s) - b^{-1/2}\sum_i s_i)^2]` over :math:`(w, c, V, d)` with
    :math:`|w_i|, |c|, |V| \le` ``param_bound`` (``d`` free), the expectation taken exactly over i.i.d.
    sites of ``law``.

    The linear part is :math:`L = V(1+2\alpha c)\,w` and the quadratic part :math:`Q = \alpha V ww^\top`,
    so :math:`\|Q\|/\|L\|^2 = \alpha/(V(1+2\alpha c)^2)`: the quadratic part can only be made small by
    sending :math:`V` or :math:`c` to infinity. At any finite bound the optimum keeps :math:`Q\ne0`,
    and one step on Gaussian sites injects :math:`\kappa_3\ne0` and shifts the mean."""
    from scipy.optimize import minimize

    from ..clt import LAWS

    check_choice("base law", law, LAWS)
    if not (isinstance(param_bound, (int, float)) and param_bound > 0 and math.isfinite(param_bound)):
        raise ValueError(f"param_bound must be a positive number, got {param_bound!r}")
    block, names, fun, grad = _tied_fit_problem(float(alpha), int(b), law)
    P = block.params
    a = sp.Float(alpha)
    rng = np.random.default_rng(seed)
    B = float(param_bound)
    bounds = [(-B, B)] * (b + 2) + [(None, None)]
    best = None
    for _ in range(starts):
        x0 = np.append(rng.uniform(-B, B, size=b + 2), 0.0)
        r = minimize(lambda x: float(fun(x)), x0, jac=lambda x: np.asarray(grad(x), dtype=float),
                     method="L-BFGS-B", bounds=bounds, options={"maxiter": 1000, "ftol": 1e-14, "gtol": 1e-10})
        if best is None or r.fun < best.fun:
            best = r
    vals = dict(zip(names, map(float, best.x)))
    w = np.array([vals[f"w_{i + 1}"] for i in range(b)])
    Q = alpha * vals["V"] * np.outer(w, w)
    fitted = block.expr.subs({P["alpha"]: a, **{P[n]: sp.Float(v) for n, v in vals.items()}})
    gauss = [sp.Integer(0), sp.Integer(1)] + [sp.Integer(0)] * 10
    k_out = polynomial_cumulants(fitted, block.inputs, 3, gauss)
    return TiedFit(vals, float(best.fun), float(np.linalg.norm(Q)), float(k_out[2]), float(k_out[0]), B)


def tied_hidden_leading_coefficient(depth: int = 2) -> tuple:
    r"""The tied-hidden quadratic network of any depth is :math:`f = g(u)`, :math:`u = w\cdot s`, with
    :math:`g` a polynomial of degree :math:`2^D`. Returns ``(degree, leading coefficient)``, factored (the
    deeper tied networks of Chapter 3). The mean condition for all laws needs every even coefficient
    :math:`g_{2j}\sum_i w_i^{2j}` to vanish, the leading one first; it factors into :math:`\alpha`, :math:`V`
    and the :math:`A_k`, so the network must collapse to a shallower one, down to depth 1
    (:func:`cannot_represent`)."""
    block = tied_hidden_map(1, depth)
    u = block.inputs[0]
    P = block.params
    g = sp.expand(block.expr.subs(P["w_1"], 1))
    poly = sp.Poly(g, u)
    return poly.degree(), sp.factor(poly.LC())
