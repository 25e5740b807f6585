"""Cumulant propagation through block-map MLPs (rgsym.propagation), checked against closed forms,
against each other and against Monte Carlo."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from rgsym import propagation as P
from rgsym.activations import get_activation
from rgsym.cumulants import kstats
from rgsym.distributions import get_law
from rgsym.models import EnsembleMLP, MLPConfig

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


# -- agreement with Monte Carlo ---------------------------------------------------------------------
@pytest.mark.parametrize("depth, width, alpha, law, light", [
    (1, 6, 0.3, "uniform", True),
    (1, 4, 0.15, "exponential", False),  # heavy tails: 10^6 samples do not resolve 1 %
    (2, 5, 0.25, "uniform", True),
    (2, 4, 0.25, "bimodal", True),
])
def test_quadratic_mlp_cumulants_match_monte_carlo(depth, width, alpha, law, light):
    E, b, n = 3, 2, 1_000_000
    layers = random_layers(E, [b] + [width] * depth + [1], seed=10 * depth + width)
    act = get_activation("quadratic", alpha=alpha)
    need = P.required_input_order(layers, 4, activation=act)
    assert need == 2 ** depth * 4  # output order n needs input orders up to deg * n
    pred = P.propagate(layers, P.law_inputs(law, b, need), 4, activation=act).kappa
    k, se = monte_carlo(layers, act, law, n, seed=depth)
    dev = (pred - k).abs()
    assert (dev <= 4.5 * se).all(), (pred, k, se)
    resolved = 3 * se < 0.01 * pred.abs()  # where Monte Carlo resolves 1 %, the prediction is within 1 %
    if light:
        assert resolved[:, 1].all(), se / pred.abs()
    assert (dev[resolved] < 0.01 * pred.abs()[resolved]).all()


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


# -- exact cases --------------------------------------------------------------------------------------
def test_linear_network_propagates_exactly_by_every_method():
    E, b = 3, 3
    layers = random_layers(E, [b, 4, 5, 1], seed=1)
    kappa = torch.tensor(get_law("gamma").cumulants(8), dtype=F64) + torch.tensor([0.2] + [0] * 7, dtype=F64)
    w = layers[0][0]
    for W, _ in layers[1:]:
        w = W @ w
    w = w[:, 0, :]  # (E, b): the effective linear map
    h = layers[0][1]
    for W, c in layers[1:]:
        h = torch.einsum("eoi,ei->eo", W, h) + c
    shift = h[:, 0]
    expected = torch.stack([(w ** n).sum(-1) * kappa[n - 1] for n in range(1, 7)], -1)
    expected[:, 0] += shift
    inp = P.iid_inputs(kappa, b)
    act = get_activation("identity")
    for method, kw in (("exact", {}), ("hermite", {"hermite_order": 3}), ("quadrature", {"nodes": 4})):
        got = P.propagate(layers, inp, 6, method, activation=act, **kw).kappa
        torch.testing.assert_close(got, expected, rtol=1e-10, atol=1e-12)
    got = P.propagate(layers, inp, 2, "gaussian", activation=act).kappa
    torch.testing.assert_close(got, expected[:, :2], rtol=1e-10, atol=1e-12)


def test_dense_set_partition_route_equals_polynomial_route_for_general_tensors():
    E, b, H = 2, 2, 3
    g = torch.Generator().manual_seed(5)
    A = torch.randn(E, b, b, generator=g, dtype=F64)
    kx = get_law("exponential").cumulants(8)
    iid = [torch.zeros((E,) + (b,) * n, dtype=F64) for n in range(1, 9)]
    for n in range(1, 9):
        for i in range(b):
            iid[n - 1][(slice(None),) + (i,) * n] = kx[n - 1]
    mean = torch.tensor([[0.1, -0.2]], dtype=F64).expand(E, -1)
    ts = P.affine_cumulants(iid, A, mean)  # correlated, skewed inputs s = A x + mean
    # the affine map is a multilinear contraction order by order
    torch.testing.assert_close(ts[2], torch.einsum("eai,ebj,eck,eijk->eabc", A, A, A, iid[2]))
    layers = random_layers(E, [b, H, 1], seed=6)
    act = get_activation("quadratic", alpha=0.4)
    poly = P.propagate(layers, P.tensor_inputs(ts), 4, activation=act).kappa
    folded = [(layers[0][0] @ A, layers[0][1] + torch.einsum("eoi,ei->eo", layers[0][0], mean)), layers[1]]
    iid_route = P.propagate(folded, P.law_inputs("exponential", b, 8), 4, activation=act).kappa
    z = P.affine_cumulants(ts, *layers[0])
    y = P.polynomial_activation_cumulants(z, act.poly_coeffs, 4)
    dense = torch.stack([t.reshape(E) for t in P.affine_cumulants(y, *layers[1])], -1)
    torch.testing.assert_close(poly, iid_route, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(dense, poly, rtol=1e-10, atol=1e-10)


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
    from rgsym.cumulants import cumulants_to_moments

    mom = cumulants_to_moments(list(kappa))
    for k in range(1, 2 * m):
        got = float((w * x ** k).sum())
        assert got == pytest.approx(mom[k - 1], rel=1e-8, abs=1e-10), (law, k)
    if law == "rademacher":  # two atoms: the other nodes carry no weight
        assert int((w > 1e-12).sum()) == 2


# -- the Gaussian truncation and the Hermite expansion ---------------------------------------------
def test_gaussian_truncation_is_exact_gaussian_propagation_for_one_hidden_layer():
    layers = random_layers(3, [2, 6, 1], seed=4)
    act = get_activation("quadratic", alpha=0.5)
    gt = P.propagate(layers, P.law_inputs("exponential", 2, 2), 2, "gaussian", activation=act)
    gauss_in = P.iid_inputs([0.0, 1.0, 0.0, 0.0], 2)  # same mean and variance, higher orders dropped
    exact_gauss = P.propagate(layers, gauss_in, 2, activation=act).kappa
    torch.testing.assert_close(gt.kappa, exact_gauss, rtol=1e-12, atol=1e-12)
    exact = P.propagate(layers, P.law_inputs("exponential", 2, 4), 2, activation=act).kappa
    assert ((gt.kappa[:, 1] - exact[:, 1]).abs() > 1e-3).all()  # skewed inputs: the truncation misses
    deep = random_layers(3, [2, 6, 6, 1], seed=4)  # hidden layers are not Gaussian: not exact any more
    gt2 = P.propagate(deep, gauss_in, 2, "gaussian", activation=act).kappa
    ex2 = P.propagate(deep, P.iid_inputs([0.0, 1.0] + [0.0] * 6, 2), 2, activation=act).kappa
    assert ((gt2 - ex2).abs().amax(-1) > 1e-4).all()


def test_gaussian_truncation_error_bound_for_tanh():
    layers = random_layers(2, [2, 5, 1], seed=8, bias=0.8)
    act = get_activation("tanh")
    inp = P.law_inputs("gaussian", 2, 2)
    x, w = np.polynomial.hermite_e.hermegauss(120)  # independent reference: a fine 2-d Gauss-Hermite grid
    grid = torch.tensor(np.stack(np.meshgrid(x, x, indexing="ij"), -1).reshape(1, -1, 2)).expand(2, -1, -1)
    wt = torch.tensor(np.outer(w, w).reshape(-1) / w.sum() ** 2)
    f = forward(layers, act, grid)
    mean = (wt * f).sum(-1)
    ref = torch.stack([mean, (wt * (f - mean[:, None]) ** 2).sum(-1)], -1)
    for K in (1, 3, 9):
        gt = P.propagate(layers, inp, 2, "gaussian", activation=act, hermite_order=K)
        assert ((gt.kappa - ref).abs()[:, 1] <= gt.error[:, 1] + 1e-10).all()
    assert float(gt.error[:, 1].max()) < 1e-3  # K = 9 is already accurate


def test_hermite_expansion():
    layers = random_layers(2, [2, 6, 1], seed=9, bias=0.5)
    quad = get_activation("quadratic", alpha=0.4)
    inp = P.law_inputs("uniform", 2, 40)
    exact = P.propagate(layers, inp, 4, activation=quad).kappa
    herm = P.propagate(layers, inp, 4, "hermite", activation=quad, hermite_order=3).kappa
    torch.testing.assert_close(herm, exact, rtol=1e-10, atol=1e-12)  # a polynomial of degree <= K is exact
    layers = [(layers[0][0] * 0.5, layers[0][1]), layers[1]]
    tanh = get_activation("tanh")
    ref = P.propagate(layers, P.law_inputs("uniform", 2, 19), 4, "quadrature", activation=tanh, nodes=10).kappa
    errs, res = [], []
    for K in (1, 3, 5, 7):
        pr = P.propagate(layers, inp, 4, "hermite", activation=tanh, hermite_order=K, estimate_error=True)
        err = (pr.kappa - ref).abs()
        errs.append(float(err.max()))
        res.append(float(pr.residual.max()))
        if K >= 5:  # the reported error gives the order of magnitude of the actual one
            assert (err <= 5 * pr.error + 2e-4).all()
    assert res == sorted(res, reverse=True) and res[-1] < 2e-3
    assert errs[-1] < 0.03 * errs[0]


def test_degree_cap_projection():
    layers = random_layers(2, [2, 4, 4, 1], seed=11, bias=0.4)
    quad = get_activation("quadratic", alpha=0.3)
    inp = P.law_inputs("uniform", 2, 24)
    exact = P.propagate(layers, inp, 2, activation=quad).kappa
    capped = P.propagate(layers, inp, 2, "hermite", activation=quad, hermite_order=2, max_degree=4).kappa
    torch.testing.assert_close(capped, exact, rtol=1e-9, atol=1e-10)  # nothing above degree 4 to drop
    y = torch.randn(2, 3, P.n_monomials(2, 4), dtype=F64)
    mom = inp.moments(6)
    p = P.project_degree(y, 4, 2, 2, mom)
    # the residual is orthogonal to every polynomial of degree <= 2
    r = y.clone()
    r[..., : p.shape[-1]] -= p
    for j in range(P.n_monomials(2, 2)):
        e = torch.zeros(P.n_monomials(2, 2), dtype=F64)
        e[j] = 1
        prod, d = P.poly_mul(r, 4, e.expand(2, 3, -1), 2, 2)
        assert float(P.poly_expect(prod, d, mom).abs().max()) < 1e-10


# -- Chapter 2's models ---------------------------------------------------------------------------
def test_reads_chapter2_models_with_mixed_members_and_antisymmetrisation():
    cfgs = [MLPConfig(width=4, depth=2, activation="quadratic", symmetry=s, alpha=0.3)
            for s in ("free", "odd", "tied-hidden", "perm-in+odd")]
    cfgs.append(MLPConfig(width=4, depth=2, activation="identity", symmetry="odd"))
    model = EnsembleMLP(cfgs, [0, 1, 2, 3, 4], dtype=F64)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.3 * torch.randn(p.shape, generator=torch.Generator().manual_seed(p.numel()), dtype=F64))
    groups = P.as_networks(model)
    x = get_law("uniform").sample((5, 64, 2), torch.Generator().manual_seed(0), dtype=F64)
    with torch.no_grad():
        y = model(x)
    for idx, net in groups:  # antisymmetrised members are exact plain networks of twice the width
        torch.testing.assert_close(P.network_forward(net, x[idx]), y[idx], rtol=1e-12, atol=1e-12)
    inp = P.law_inputs("laplace", 2, 16)
    together = P.propagate(model, inp, 4).kappa
    alone = torch.cat([P.propagate(model.member(i), inp, 4).kappa for i in range(5)])
    torch.testing.assert_close(together, alone, rtol=1e-12, atol=1e-12)
    assert float(together[1, 2].abs()) < 1e-10 and float(together[1, 0].abs()) < 1e-12  # odd: symmetric output


# -- the flow in cumulant space ---------------------------------------------------------------------
@pytest.mark.parametrize("b", [2, 3])
def test_exact_map_flow_and_fixed_point(b):
    lin = [(torch.full((1, 1, b), b ** -0.5, dtype=F64), torch.zeros(1, 1, dtype=F64))]
    k0 = torch.tensor([0.1, 1.0, 0.5, 2.0, 0.3, 1.0], dtype=F64)
    flow = P.cumulant_flow(lin, k0, 4, activation="identity")
    torch.testing.assert_close(flow[:, 0], P.exact_flow(k0, b, 4), rtol=1e-12, atol=1e-14)
    fp = P.flow_fixed_point(lin, [0.0, 1.0, 0.0, 0.0], activation="identity")
    assert bool(fp.converged.all())
    lam = sorted(fp.eigenvalues[0].real.tolist())
    assert lam == pytest.approx(sorted(b ** (1 - n / 2) for n in range(1, 5)), rel=1e-10)


def test_free_construction_flows_exactly_and_tied_hidden_drifts():
    s = 2 ** -0.5
    free = [(torch.tensor([[[s, s], [-s, -s]]], dtype=F64), torch.zeros(1, 2, dtype=F64)),
            (torch.tensor([[[0.5, -0.5]]], dtype=F64), torch.zeros(1, 1, dtype=F64))]
    act = get_activation("quadratic", alpha=0.7)
    k0 = torch.tensor([0.0, 1.0, 0.0, 0.0, 0.0, 0.0], dtype=F64)
    uni = torch.tensor(get_law("uniform").cumulants(6), dtype=F64)
    for start in (k0, uni):
        flow = P.cumulant_flow(free, start, 5, activation=act)
        torch.testing.assert_close(flow[:, 0], P.exact_flow(start, 2, 5), rtol=1e-12, atol=1e-13)
    tied = [(torch.tensor([[[s, s], [s, s]]], dtype=F64) / 2, torch.full((1, 2), 0.3, dtype=F64)),
            (torch.tensor([[[1.0, 1.0]]], dtype=F64), torch.zeros(1, 1, dtype=F64))]
    flow = P.cumulant_flow(tied, k0, 5, activation=act)[:, 0]
    assert (flow[1:, 2].abs() > 1e-3).all()  # kappa_3 is injected at every step
    assert abs(float(flow[-1, 0] - flow[1, 0])) > 1e-2  # and the mean drifts


# -- bad input ------------------------------------------------------------------------------------
def test_bad_requests_are_rejected_with_clear_errors():
    layers = random_layers(1, [2, 3, 3, 1], seed=0)
    quad = get_activation("quadratic", alpha=0.5)
    with pytest.raises(ValueError, match=r"need input cumulants up to order 16, but only 8"):
        P.propagate(layers, P.law_inputs("uniform", 2, 8), 4, activation=quad)
    with pytest.raises(ValueError, match="valid choices are: 'exact', 'gaussian', 'hermite', 'quadrature'"):
        P.propagate(layers, P.law_inputs("uniform", 2, 8), 2, "taylor", activation=quad)
    with pytest.raises(ValueError, match="needs a polynomial activation.*'gaussian', 'hermite' and 'quadrature'"):
        P.propagate(layers, P.law_inputs("uniform", 2, 8), 2, activation=get_activation("tanh"))
    with pytest.raises(ValueError, match="student_t has finite cumulants only below order 10"):
        P.law_inputs("student_t", 2, 16)
    with pytest.raises(ValueError, match="order must be an integer >= 1"):
        P.propagate(layers, P.law_inputs("uniform", 2, 8), 0, activation=quad)
    with pytest.raises(ValueError, match="b=3"):
        P.propagate(layers, P.law_inputs("uniform", 3, 16), 2, activation=quad)
    with pytest.raises(ValueError, match="needs i.i.d. inputs"):
        P.propagate(layers, P.tensor_inputs([torch.zeros(2), torch.eye(2, dtype=F64)]), 2, "quadrature",
                    activation=quad, nodes=1)
    with pytest.raises(ValueError, match="nodes must be an integer in"):
        P.propagate(layers, P.law_inputs("uniform", 2, 30), 2, "quadrature", activation=quad, nodes=30)
    with pytest.raises(ValueError, match="output order 3 of a degree-2 activation needs .* order 6"):
        P.polynomial_activation_cumulants([torch.zeros(1, 2)] * 4, (0, 1, 0.5), 3)
    with pytest.raises(ValueError, match="not symmetric"):
        P.tensor_inputs([torch.zeros(2), torch.tensor([[1.0, 0.5], [0.0, 1.0]])])


# -- the moment-matched closure of the flow, and Chapter 3 on a (tiny) sweep ---------------------
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


def test_chapter3_settings_validate():
    st = P.chapter3_settings("smoke")
    assert "gaussian" not in st.laws and "uniform" not in st.laws and st.flow_law == "uniform"
    with pytest.raises(ValueError, match="valid choices"):
        P.chapter3_settings("smoke", laws=("cauchy",))
    with pytest.raises(ValueError, match="valid choices"):
        P.chapter3_settings("fast")
    with pytest.raises(ValueError, match="n_mc must be an integer"):
        P.chapter3_settings("smoke", n_mc=10)


def test_chapter3_tables_on_a_small_sweep(tmp_path, monkeypatch):
    from rgsym import sweeps
    from rgsym.measures import MeasureConfig
    from rgsym.training import TrainConfig

    monkeypatch.setenv("RGSYM_CACHE_DIR", str(tmp_path))
    spec = sweeps.SweepSpec(symmetries=("free", "tied-hidden"), activations=("quadratic", "tanh"), sizes=((1, 3),),
                            tasks=("gaussian",), seeds=(0,), train=TrainConfig(steps=60, batch_size=64, n_train=128),
                            measures=MeasureConfig(n_eval=256, L=3, n_flow=256))
    res = sweeps.run_sweep(spec, progress=False)
    pred = P.prediction_table(res, ("laplace", "student_t"), n_mc=20_000, nodes=6)
    assert len(pred) == 4 * 2 * 4 and (pred["z"] < 5).all()
    assert set(pred["method"]) == {"exact", "quadrature(6)", "quadrature(5)"}  # Student-t (nu = 10) caps m at 5
    flows = P.flow_table(res, nodes=6)
    assert len(flows) == 4 * 3 * 4 and flows["measured_ddev"].notna().all()
    eig = P.eigen_table(res)
    assert len(eig) == 4 * 4 and (eig["eigenvalue"] >= 0).all()
    ids = res.members["member_id"].tolist()
    model = res.model(ids)
    k, se = P.measure_flow(model, "gaussian", 3, 4096)
    fl = P.predict_flow(model, "gaussian", 3, nodes=8)
    assert ((fl - k).abs() <= 5 * se + 1e-3).all()


def test_method_comparison_side_by_side():
    layers = random_layers(2, [2, 4, 1], seed=13, bias=0.3)
    act = get_activation("tanh")
    tab = P.method_comparison(_Ensemble(layers, act), ("uniform",), hermite_orders=(3,), nodes=8, n_mc=50_000)
    assert set(tab["method"]) == {"gaussian", "hermite(K=3)", "quadrature(m=8)"}
    quad = tab[tab["method"] == "quadrature(m=8)"]
    assert (quad["z"] < 4.5).all()
    assert (tab[(tab["method"] == "gaussian") & (tab["order"] >= 3)]["value"] == 0).all()


class _Ensemble:
    """Plain layers and an activation dressed as a Chapter 2 ensemble (``.layers()``, ``.activation``)."""

    def __init__(self, layers, act):
        self._layers, self.activation, self.antisymmetrised = layers, act, False

    def layers(self):
        return self._layers
