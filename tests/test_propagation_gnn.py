"""Cumulant propagation through message passing: closed forms for linear GNNs, Monte Carlo for
nonlinear ones, and the tensor closure (rgsym.propagation.gnn)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from rgsym.clt import get_law
from rgsym.nets.gnn import EnsembleGNN
from rgsym.propagation.gnn import (agreement, closure_node_cumulants, compare, feature_networks, iid_tensors,
                                   measure_node_cumulants, points, predict_node_cumulants)
from rgsym.propagation.tensors import polynomial_activation_cumulants, truncated_activation_cumulants

D64 = torch.float64


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


def gnn(**kw):
    kw.setdefault("seeds", 1)
    return EnsembleGNN.build(dtype=D64, **kw)


def closed_form_linear(model, law, n_sites):
    r"""Cumulants of every feature of an identity-activation GNN: z = A s + c, kappa_n(z_a) = sum_b A_ab^n kappa_n."""
    kappa = get_law(law).cumulants(4)
    maps = model.linear_maps(n_sites)
    M = torch.eye(n_sites, dtype=D64)
    c = torch.zeros(n_sites, dtype=D64)
    out = {"h0": (M, c)}
    for k, (A, b) in enumerate(maps["layers"], start=1):
        M, c = A[0] @ M, A[0] @ c + b[0]
        out[f"z{k}"] = out[f"h{k}"] = (M, c)
    P, co = maps["readout"]
    out["out"] = (P[0] @ M, P[0] @ c + co[0])
    res = {}
    for p, (M, c) in out.items():
        vals = [M.sum(1) * kappa[0] + c] + [(M ** n).sum(1) * kappa[n - 1] for n in range(2, 5)]
        res[p] = torch.stack(vals, -1)
    return res


@pytest.mark.parametrize("sym, edges", [("broken", "block+nn"), ("shared", "block+nn"), ("broken", "block")])
def test_linear_message_passing_is_exact(sym, edges):
    m = gnn(width=3, depth=2, activation="identity", symmetry=sym, edges=edges)
    n = 4 if edges == "block+nn" else 2
    for law in ("exponential", "uniform"):
        ref = closed_form_linear(m, law, n)
        for table in (predict_node_cumulants(m, law, method="exact"),
                      predict_node_cumulants(m, law, method="quadrature", nodes=3),
                      closure_node_cumulants(m, law)):
            for p, want in ref.items():
                got = table[table.point == p].sort_values(["node", "channel", "order"])["value"].to_numpy()
                np.testing.assert_allclose(got, want.numpy().reshape(-1), rtol=1e-9, atol=1e-11)


def test_exact_propagation_through_linear_message_passing_equals_monte_carlo():
    m = gnn(width=3, depth=2, activation="identity", symmetry="broken", edges="block+nn")
    pred = predict_node_cumulants(m, "exponential")
    meas = measure_node_cumulants(m, "exponential", n_samples=2**17, seed=1)
    cmp = compare(pred, meas)
    cmp = cmp[cmp.point != "h0"]
    assert len(cmp) == (4 * 12 + 2) * 4  # z1, h1, z2, h2 on 4 sites x 3 channels, 2 coarse sites
    assert np.sqrt(np.mean(cmp.z ** 2)) < 1.6
    assert (cmp.z.abs() < 4.5).all()


@pytest.mark.parametrize("sym, edges, act, method", [
    ("broken", "block", "quadratic", "exact"),
    ("shared", "block+nn", "quadratic", "exact"),
    ("broken", "block+nn", "tanh", "quadrature"),
    ("shared+odd", "block", "quadratic", "exact"),  # antisymmetrised: features of g, output of f
])
def test_nonlinear_propagation_matches_monte_carlo(sym, edges, act, method):
    m = gnn(width=3, depth=2, activation=act, symmetry=sym, edges=edges)
    kw = {"nodes": 8} if method == "quadrature" else {}
    pred = predict_node_cumulants(m, "uniform", method=method, **kw)
    meas = measure_node_cumulants(m, "uniform", n_samples=2**16, seed=3)
    cmp = compare(pred, meas)
    cmp = cmp[(cmp.point != "h0") | (cmp.order != 1)]  # k_1 of a zero mean has rel = 1 by construction
    summary = agreement(cmp, by=["order"])
    assert (summary.rms_z < 1.8).all(), summary
    assert (cmp.z.abs() < 5).all()
    if m.antisymmetrised:
        out = cmp[cmp.point == "out"]
        assert np.allclose(out[out.order.isin([1, 3])].pred, 0, atol=1e-12)  # f is odd, the law symmetric


def test_gaussian_truncation_drops_higher_orders():
    m = gnn(width=3, depth=2, activation="quadratic", symmetry="broken", edges="block")
    g = predict_node_cumulants(m, "uniform", method="gaussian")
    ex = predict_node_cumulants(m, "uniform", method="exact")
    z1 = g[(g.point == "z1")].set_index(["node", "channel", "order"]).value
    z1x = ex[(ex.point == "z1")].set_index(["node", "channel", "order"]).value
    assert np.allclose(z1.xs(2, level="order"), z1x.xs(2, level="order"))  # affine of the inputs: exact
    h2 = g[(g.point == "h2") & (g.order >= 3)]
    assert np.allclose(h2.value, 0.0)
    assert (ex[(ex.point == "h2") & (ex.order == 3)].value.abs() > 1e-3).any()


def test_closure_is_exact_where_no_order_is_dropped():
    m = gnn(width=3, depth=2, activation="quadratic", symmetry="broken", edges="block")
    # Gaussian sites: z1 is Gaussian, nothing above order 2 exists before the first activation
    ex = predict_node_cumulants(m, "gaussian", which=["h0", "z1", "h1"]).set_index(["point", "node", "channel", "order"])
    cl = closure_node_cumulants(m, "gaussian").set_index(["point", "node", "channel", "order"])
    np.testing.assert_allclose(cl.loc[ex.index].value, ex.value, rtol=1e-9, atol=1e-12)
    # uniform sites: orders 1-2 of h1 need z1 up to order 4 (kept); orders 3-4 need 6 and 8 (dropped)
    ex = predict_node_cumulants(m, "uniform", which=["h1"]).set_index(["point", "node", "channel", "order"])
    cl = closure_node_cumulants(m, "uniform").set_index(["point", "node", "channel", "order"]).loc[ex.index]
    low = ex.index.get_level_values("order") <= 2
    np.testing.assert_allclose(cl.value[low], ex.value[low], rtol=1e-9, atol=1e-12)
    assert np.abs(cl.value[~low] - ex.value[~low]).max() > 1e-3


def test_truncated_activation_equals_exact_dense_propagation_when_complete():
    g = torch.Generator().manual_seed(0)
    d = 3
    A = torch.randn(1, d, 2, generator=g, dtype=D64)
    kap = [torch.tensor([[0.3, -0.2]], dtype=D64)] + [x for x in iid_tensors([0, 1, 0.5, -0.7, 0.2, 1.1], 2)[1:]]
    kap[0] = kap[0].reshape(1, 2)
    from rgsym.propagation.tensors import affine_cumulants

    z = affine_cumulants(kap, A, torch.zeros(1, d, dtype=D64))
    exact = polynomial_activation_cumulants(z[:6], (0.1, 1.0, 0.4), 3)
    trunc = truncated_activation_cumulants(z[:6], (0.1, 1.0, 0.4), 3)
    for a, b in zip(exact, trunc):
        torch.testing.assert_close(a, b)
    short = truncated_activation_cumulants(z[:4], (0.1, 1.0, 0.4), 3)
    torch.testing.assert_close(short[0], exact[0])
    torch.testing.assert_close(short[1], exact[1])
    assert (short[2] - exact[2]).abs().max() > 1e-3


def test_feature_networks_read_the_right_features():
    m = gnn(width=2, depth=2, activation="tanh", symmetry="broken", edges="block+nn")
    s = torch.randn(1, 5, 4, dtype=D64)
    zs, hs = m.features(s)
    from rgsym.propagation import Network, network_forward

    for point, ref in (("z2", zs[1]), ("h1", hs[1]), ("out", m(s).unsqueeze(-1))):
        chain, where = feature_networks(m, 0, point)
        net = Network(chain, m.activation)
        got = network_forward(net, s.expand(len(where), -1, -1))
        want = torch.stack([ref[0, :, i, mu] for i, mu in where])
        torch.testing.assert_close(got, want)


def test_bad_arguments_are_rejected():
    m = gnn(width=2, depth=2, activation="tanh")
    with pytest.raises(ValueError, match="method 'exact' needs a polynomial activation"):
        predict_node_cumulants(m, "uniform", method="exact")
    with pytest.raises(ValueError, match="valid choices are: 'exact', 'quadrature', 'hermite', 'gaussian'"):
        predict_node_cumulants(m, "uniform", method="closure")
    with pytest.raises(ValueError, match="unknown point 'z3'"):
        predict_node_cumulants(m, "uniform", method="gaussian", which="z3")
    with pytest.raises(ValueError, match="needs a polynomial activation"):
        closure_node_cumulants(m, "uniform")
    with pytest.raises(ValueError, match="at most 40"):
        closure_node_cumulants(gnn(width=16, depth=1, activation="quadratic", edges="block+nn"), "uniform")
    with pytest.raises(ValueError, match=r"member must be an integer in \[0, 0\]"):
        measure_node_cumulants(m, "uniform", member=1)
    with pytest.raises(ValueError, match=r"order must be an integer in \[1, 8\]"):
        measure_node_cumulants(m, "uniform", order=0)
    with pytest.raises(ValueError, match="unknown base law"):
        predict_node_cumulants(m, "cauchy", method="gaussian")
    assert points(2) == ["h0", "z1", "h1", "z2", "h2", "out"]




# -- exact references and valid standard errors (rgsym.propagation.gnn_reference) -------------------
from rgsym.propagation.gnn_reference import (dense_features, exact_kstat_se, reference_node_cumulants,  # noqa: E402
                                             sample_node_kstats, site_rule)


@pytest.mark.parametrize("law", ["gaussian", "rademacher", "exponential", "laplace"])
def test_reference_of_a_linear_gnn_equals_the_closed_form(law):
    m = gnn(width=3, depth=2, activation="identity", symmetry="broken", edges="block+nn")
    ref = closed_form_linear(m, law, 4)
    table = reference_node_cumulants(m, law, order=4)
    for p, want in ref.items():
        got = table[table.point == p].sort_values(["node", "channel", "order"])["value"].to_numpy()
        np.testing.assert_allclose(got, want.numpy().reshape(-1), rtol=1e-8, atol=1e-10)


def test_reference_of_a_quadratic_gnn_equals_exact_propagation():
    m = gnn(width=2, depth=2, activation="quadratic", symmetry="broken", edges="block")
    for law in ("rademacher", "uniform", "bimodal"):
        ex = predict_node_cumulants(m, law, order=6)
        ref = reference_node_cumulants(m, law, order=6)
        np.testing.assert_allclose(ref.value, ex.value, rtol=1e-7, atol=1e-9)


def test_site_rule_matches_the_law_moments():
    for law in ("exponential", "laplace", "bimodal", "uniform"):
        x, w = site_rule(law, 6)
        kap = get_law(law).cumulants(6)
        from rgsym.clt import moments_to_cumulants
        got = moments_to_cumulants([float((w * x ** k).sum()) for k in range(1, 7)])
        np.testing.assert_allclose(got, kap, rtol=1e-9, atol=1e-9)
    x, w = site_rule("rademacher", 8)
    assert x.shape[1] == 2  # a two-point law is enumerated


def test_exact_kstat_se_closed_form_for_gaussian_features():
    N = 1000
    kap = np.array([[0.3, 2.0, 0, 0, 0, 0, 0, 0]])
    se = exact_kstat_se(kap, N, 4)[0]
    assert se[0] == pytest.approx(np.sqrt(2.0 / N))
    assert se[1] == pytest.approx(np.sqrt(2 * 2.0 ** 2 / (N - 1)))
    # Var k3 of a Gaussian = 6 N sigma^6 / ((N-1)(N-2))
    assert se[2] == pytest.approx(np.sqrt(6 * N * 8.0 / ((N - 1) * (N - 2))))
    with pytest.raises(ValueError, match=">= 8"):
        exact_kstat_se(kap[:, :6], N, 4)


def test_exact_se_is_the_spread_of_kstats():
    # first-layer features of a quadratic GNN: the spread of k_4 over independent runs matches the exact SE
    m = gnn(width=2, depth=1, activation="quadratic", symmetry="broken", edges="block")
    ref = reference_node_cumulants(m, "uniform", order=8)
    kap = ref[ref.point == "h1"].pivot_table(index=["node", "channel"], columns="order", values="value")
    se = exact_kstat_se(kap.to_numpy(), 2**10, 4)[:, 3]
    ks = np.stack([sample_node_kstats(m, "uniform", n_samples=2**10, seed=s).query("point == 'h1' and order == 4")
                   .sort_values(["node", "channel"]).value.to_numpy() for s in range(200)])
    ratio = ks.std(0) / se
    assert np.all((ratio > 0.8) & (ratio < 1.25)), ratio


def test_dense_features_equal_message_passing():
    m = gnn(width=2, depth=2, activation="tanh", symmetry="shared+odd", edges="block+nn")
    s = torch.randn(5, 4, dtype=D64)
    f = dense_features(m, s)  # checks itself against the GNN's forward pass
    torch.testing.assert_close(f["out"], m(s.unsqueeze(0))[0])


def test_delta_standard_errors_are_the_delta_method():
    """se='delta' is rgsym.clt's delta method (eqs. K4-K5), not eq. K7 at the sample moments."""
    from rgsym.clt import kstats
    from rgsym.propagation.gnn import GNN_SE_METHODS, default_sites, mc_lattices

    assert GNN_SE_METHODS == ("delta", "batches")
    m = gnn(width=2, depth=1, activation="identity", symmetry="broken", edges="block")
    meas = measure_node_cumulants(m, "exponential", n_samples=2000, seed=4, which="h0")
    n = default_sites(m)
    x = mc_lattices("exponential", 2000, n, 4).T
    _, delta = kstats(x, 4, method="delta")
    _, k7 = kstats(x, 4)
    got = meas.sort_values(["node", "order"])["se"].to_numpy()
    np.testing.assert_array_equal(got, delta.numpy().reshape(-1))
    assert not np.allclose(got, k7.numpy().reshape(-1), rtol=1e-6)
