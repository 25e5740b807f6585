"""The sympy account of Chapter 3 (rgsym.propagation.analytic): check values, the "cannot" proof, the constructions
that can, and the numerical face of the "cannot"."""
from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
import torch

from rgsym import propagation as P
from rgsym.propagation import analytic as A
from rgsym.clt import get_law
from rgsym.nets.activations import get_activation


def test_scalar_check_values_of_science_md():
    checks = A.check_values()
    assert set(checks) == {"mean", "variance"}
    for name, (derived, expected, ok) in checks.items():
        assert ok, (name, derived, expected)


def test_unit_cumulants_two_derivations_agree_and_match_the_numeric_engine():
    alpha = sp.Symbol("alpha", real=True)
    by_moments = A.unit_cumulants(3, alpha)
    by_partitions = A.unit_cumulants_by_partitions([0, 1, alpha], 3)
    for a, b in zip(by_moments, by_partitions):
        assert sp.expand(a - b) == 0
    # the same numbers from rgsym.propagation on a one-unit network with b = 1
    law = get_law("exponential")
    k = law.cumulants(6)
    subs = {sp.Symbol(f"k_{n}", real=True): k[n - 1] for n in range(1, 7)}
    subs[alpha] = 0.3
    sym = [float(e.subs(subs)) for e in by_moments]
    one = [(torch.ones(1, 1, 1, dtype=torch.float64), torch.zeros(1, 1, dtype=torch.float64))] * 2
    num = P.propagate(one, P.law_inputs("exponential", 1, 6), 3,
                      activation=get_activation("quadratic", alpha=0.3)).kappa[0].tolist()
    assert num == pytest.approx(sym, rel=1e-12)


@pytest.mark.parametrize("perm_in", [False, True])
def test_tied_hidden_quadratic_cannot_satisfy_the_rg_recursion(perm_in):
    proof = A.cannot_represent(b=2, depth=1, order=2, perm_in=perm_in)
    assert proof.solutions == []
    n, mono, coef = proof.key_condition
    k2 = A.cumulant_symbols(2)[1]
    P_ = proof.block.params
    assert n == 1 and mono == k2
    if perm_in:
        assert sp.simplify(coef - 2 * P_["alpha"] * P_["V"] * P_["a"] ** 2) == 0
    else:
        assert sp.simplify(coef - P_["alpha"] * P_["V"] * (P_["w_1"] ** 2 + P_["w_2"] ** 2)) == 0
    # with alpha = 0 (a linear network) the same conditions are solvable
    lin = A.tied_hidden_map(2, 1, perm_in)
    lin = A.BlockMap(lin.expr.subs(lin.params["alpha"], 0), lin.inputs, lin.params)
    unknowns = [v for k, v in lin.params.items() if k != "alpha"]
    assert sp.solve([c[2] for c in A.rg_conditions(lin, 2)], unknowns, dict=True)


def test_deeper_tied_hidden_networks_have_an_even_leading_term():
    for depth, deg in ((1, 2), (2, 4), (3, 8)):
        d, lc = A.tied_hidden_leading_coefficient(depth)
        assert d == deg
        names = {str(s) for s in lc.free_symbols}
        assert {"alpha", "V"} <= names
        assert sp.degree(lc, sp.Symbol("alpha", real=True)) == deg - 1


def test_free_construction_and_odd_rescue():
    free = A.free_construction(2)
    assert free["odd_part_identity"] and free["matches_rg"]
    s1, s2 = sp.symbols("s_1 s_2", real=True)
    assert sp.simplify(free["chosen"] - (s1 + s2) / sp.sqrt(2)) == 0
    odd = A.odd_tied_hidden(2)
    assert odd["is_linear"] and "alpha" in str(odd["odd_part"])  # alpha only rescales the slope


def test_relu_argument():
    assert A.relu_identity()
    r = A.relu_tied_hidden_mean(2)
    V, c, d, t = r["params"]["V"], r["params"]["c"], r["params"]["d"], r["t"]
    w1, w2 = r["params"]["w"]
    rng = np.random.default_rng(0)
    for _ in range(5):
        vals = {V: rng.normal(), c: rng.normal(), d: rng.normal(), w1: rng.normal(), w2: rng.normal()}
        slope = float(r["slope"].subs(vals))
        big = float((r["mean"] / t).subs(vals).subs(t, 1e6))
        assert slope != 0 and big == pytest.approx(slope, rel=1e-4)  # E f grows linearly in t
    assert float(r["slope"].subs({V: 1.0, w1: 0, w2: 0})) == 0  # only a trivial network escapes


def test_cumulant_space_flow_and_fixed_points():
    fps = A.closure_fixed_points(A.exact_map(2), closure=4)
    assert fps == [{sp.Symbol("kappa_1", real=True): 0, sp.Symbol("kappa_3", real=True): 0,
                    sp.Symbol("kappa_4", real=True): 0}]  # the line of Gaussian fixed points, kappa_2 free
    blk = A.tied_hidden_map(2, 1)
    p = blk.params
    subs = {p["alpha"]: sp.Rational(1, 2), p["w_1"]: sp.Rational(7, 10), p["w_2"]: sp.Rational(7, 10),
            p["c_1"]: 0, p["V"]: 1, p["d"]: 0}
    kappa, imgs = A.cumulant_map_exprs(blk, 2, subs)
    k1, k2 = kappa
    assert sp.expand(imgs[0] - (sp.Rational(7, 5) * k1 + sp.Rational(49, 100) * (k2 + 2 * k1 ** 2))) == 0
    fps = A.closure_fixed_points(blk, 2, subs)
    assert {k1: 0, k2: 0} in fps  # only the trivial point; the variance line is gone
    assert not any(fp.get(k1) == 0 and fp.get(k2, 0) != 0 for fp in fps)


def test_best_tied_hidden_fit_keeps_a_quadratic_part_and_drifts():
    fits = [A.best_tied_hidden_fit(alpha=0.5, param_bound=B, starts=4) for B in (1.0, 2.0, 4.0)]
    q = [f.quadratic_norm for f in fits]
    assert all(x > 1e-3 for x in q) and q == sorted(q, reverse=True)  # shrinks only as the bound grows
    assert all(abs(f.kappa3_after_one_step) > 1e-3 for f in fits)
    assert fits[-1].loss < fits[0].loss
    # iterate the fitted map in cumulant space: kappa_3 keeps being injected, the mean drifts
    f = fits[1]
    w = torch.tensor([[[f.params["w_1"], f.params["w_2"]]]], dtype=torch.float64)
    layers = [(w, torch.tensor([[f.params["c_1"]]], dtype=torch.float64)),
              (torch.tensor([[[f.params["V"]]]], dtype=torch.float64), torch.tensor([[f.params["d"]]], dtype=torch.float64))]
    flow = P.cumulant_flow(layers, [0.0, 1.0, 0.0, 0.0], 6, activation=get_activation("quadratic", alpha=0.5))[:, 0]
    assert float(flow[1, 2]) == pytest.approx(f.kappa3_after_one_step, rel=1e-8)
    assert (flow[1:, 2].abs() > 1e-3).all()
    assert abs(float(flow[-1, 0])) > 10 * abs(float(flow[1, 0]))


def test_bad_input():
    with pytest.raises(ValueError, match="depth must be 1, 2 or 3"):
        A.tied_hidden_map(2, 4)
    with pytest.raises(ValueError, match="valid choices"):
        A.best_tied_hidden_fit(law="cauchy")
    with pytest.raises(ValueError, match="param_bound must be a positive number"):
        A.best_tied_hidden_fit(param_bound=-1.0)
    z = sp.Symbol("z")
    with pytest.raises(ValueError, match="need input cumulants up to order 4"):
        A.polynomial_cumulants(z ** 2, (z,), 2, A.cumulant_symbols(3))
