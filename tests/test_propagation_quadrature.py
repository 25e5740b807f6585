"""Moment-matched Gauss rules and the quadrature method / flow closure (rgsym.propagation.quadrature)."""
from __future__ import annotations

import math

import pytest
import torch

from rgsym import propagation as P
from rgsym.clt import get_law, kstats
from rgsym.nets.activations import get_activation

F64 = torch.float64


def random_layers(E, dims, seed, bias=0.3):
    g = torch.Generator().manual_seed(seed)
    return [(torch.randn(E, dims[k + 1], dims[k], generator=g, dtype=F64) / math.sqrt(dims[k]),
             bias * torch.randn(E, dims[k + 1], generator=g, dtype=F64)) for k in range(len(dims) - 1)]


def forward(layers, act, x):
    return P.network_forward(P.Network(layers, act), x)


def monte_carlo(layers, act, law, n, seed):
    """k-statistics k_1..k_4 of the network output and their standard errors, float64."""
    E, b = layers[0][0].shape[0], layers[0][0].shape[-1]
    g = torch.Generator().manual_seed(seed)
    x = get_law(law).sample((E, n, b), g, dtype=F64)
    with torch.no_grad():
        y = forward(layers, act, x)
    return kstats(y, 4)


def test_non_polynomial_network_quadrature_matches_monte_carlo():
    E, b = 2, 2
    layers = random_layers(E, [b, 8, 8, 1], seed=3, bias=0.5)
    for name in ("tanh", "silu"):
        act = get_activation(name)
        pr = P.propagate(layers, P.law_inputs("uniform", b, 15), 4, "quadrature", activation=act, nodes=8,
                         estimate_error=True)
        k, se = monte_carlo(layers, act, "uniform", 1_000_000, seed=7)
        assert ((pr.kappa - k).abs() <= 4.5 * se + pr.error).all(), (name, pr.kappa, k, se, pr.error)
        coarse = P.propagate(layers, P.law_inputs("uniform", b, 15), 4, "quadrature", activation=act, nodes=4,
                             estimate_error=True)
        assert float(pr.error.max()) < 0.1 * float(coarse.error.max())  # the rule converges with m


def test_quadrature_is_exact_for_polynomial_networks():
    layers = random_layers(3, [2, 5, 5, 1], seed=2)
    act = get_activation("quadratic", alpha=0.3)
    for law in ("exponential", "uniform", "rademacher", "gaussian"):
        exact = P.propagate(layers, P.law_inputs(law, 2, 16), 4, activation=act).kappa
        quad = P.propagate(layers, P.law_inputs(law, 2, 17), 4, "quadrature", activation=act, nodes=9).kappa
        torch.testing.assert_close(quad, exact, rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("law, m", [("gaussian", 6), ("uniform", 8), ("exponential", 8), ("rademacher", 5),
                                    ("bimodal", 7)])
def test_gauss_rule_matches_the_moments_of_the_law(law, m):
    kappa = get_law(law).cumulants(2 * m - 1)
    x, w = P.gauss_rule(kappa, m)
    assert (w >= -1e-14).all() and abs(float(w.sum()) - 1) < 1e-12
    from rgsym.clt import cumulants_to_moments

    mom = cumulants_to_moments(list(kappa))
    for k in range(1, 2 * m):
        got = float((w * x ** k).sum())
        assert got == pytest.approx(mom[k - 1], rel=1e-8, abs=1e-10), (law, k)
    if law == "rademacher":  # two atoms: the other nodes carry no weight
        assert int((w > 1e-12).sum()) == 2


def test_discrete_gauss_rule_keeps_the_low_moments():
    g = torch.Generator().manual_seed(3)
    y = torch.randn(2, 40, generator=g, dtype=F64)
    v = torch.rand(2, 40, generator=g, dtype=F64)
    for m in (3, 6):
        x, w = P.discrete_gauss_rule(y, v, m)
        for k in range(2 * m):
            torch.testing.assert_close((w * x ** k).sum(-1), (v * y ** k).sum(-1) / v.sum(-1), rtol=1e-9, atol=1e-10)
    few = torch.tensor([[-1.0, 1.0, 1.0, -1.0]], dtype=F64)  # two distinct atoms
    x, w = P.discrete_gauss_rule(few, torch.ones_like(few), 4)
    assert int((w > 1e-12).sum()) == 2 and abs(float(w.sum()) - 1) < 1e-12


def test_quadrature_flow_is_exact_where_it_can_be():
    s = 2 ** -0.5
    lin = [(torch.full((1, 1, 2), s, dtype=F64), torch.zeros(1, 1, dtype=F64))]
    flow = P.quadrature_flow(lin, "uniform", 5, nodes=5, activation="identity")
    torch.testing.assert_close(flow[:, 0], P.exact_flow(get_law("uniform").cumulants(4), 2, 5), rtol=1e-9, atol=1e-11)
    layers = random_layers(2, [2, 4, 1], seed=12)
    act = get_activation("quadratic", alpha=0.3)
    flow = P.quadrature_flow(layers, "laplace", 2, nodes=5, activation=act)  # 2m - 1 = 9 >= D n = 8
    exact = P.propagate(layers, P.law_inputs("laplace", 2, 8), 4, activation=act).kappa
    torch.testing.assert_close(flow[1], exact, rtol=1e-8, atol=1e-10)


def test_one_and_two_node_rules():
    """m = 1 still needs the variance (max(2m - 1, 2) cumulants): one atom at the mean, and nodes=2 with
    estimate_error compares with it."""
    g = torch.Generator().manual_seed(0)
    lay = [(torch.randn(2, 3, 2, generator=g, dtype=torch.float64), torch.randn(2, 3, generator=g, dtype=torch.float64)),
           (torch.randn(2, 1, 3, generator=g, dtype=torch.float64), torch.zeros(2, 1, dtype=torch.float64))]
    tanh = get_activation("tanh")
    inp = P.law_inputs("laplace", 2, 3)
    one = P.propagate(lay, inp, 2, "quadrature", activation=tanh, nodes=1)
    mean = P.law_inputs("laplace", 2, 2).mean
    f0 = P.network_forward(P.Network(lay, tanh), mean.expand(2, 1, 2))
    assert torch.allclose(one.kappa[:, 0], f0[:, 0], atol=1e-14) and (one.kappa[:, 1].abs() < 1e-14).all()
    two = P.propagate(lay, inp, 2, "quadrature", activation=tanh, nodes=2, estimate_error=True)
    assert torch.allclose(two.error, (two.kappa - one.kappa).abs(), atol=1e-14)
    assert P.required_input_order(lay, 2, "quadrature", activation=tanh, nodes=1) == 2
    fl = P.quadrature_flow(lay, "uniform", 1, nodes=1, activation=tanh)
    assert fl.shape == (2, 2, 4) and torch.isfinite(fl).all()


def test_law_nodes_caps_by_the_law_and_max_nodes():
    from rgsym.propagation.quadrature import MAX_NODES, law_nodes

    assert law_nodes("gaussian", 10) == 10 and law_nodes("gaussian", 99) == MAX_NODES
    t = get_law("student_t")
    assert law_nodes(t, 10) == int(t.max_order // 2)
