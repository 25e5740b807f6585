"""propagate and its exact path (rgsym.propagation.methods), checked against closed forms, against
each other and against Monte Carlo."""
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


def test_exact_rounding_bound_carries_a_variance_error_into_kappa4():
    """f = delta (b = 1) on Gaussian moments, a moment error 1e-6 on mu_2 only: kappa_4 = mu_4 - 3 mu_2^2
    is off by 6 mu_2 e = 6e-6 to first order (the bound once read mu_3 instead of mu_2: 1e-14)."""
    f = torch.tensor([[0.0, 1.0]], dtype=F64)
    moments = torch.tensor([[1.0, 0.0, 1.0, 0.0, 3.0]], dtype=F64)
    err = torch.zeros_like(moments)
    err[0, 2] = 1e-6
    kappa, bound = P.output_cumulants(f, 1, 1, moments, 4, err)
    assert torch.allclose(kappa, torch.tensor([[0.0, 1.0, 0.0, 0.0]], dtype=F64), atol=1e-15)
    assert bound[0, 1] == pytest.approx(1e-6, rel=1e-6)
    assert bound[0, 3] == pytest.approx(6e-6, rel=1e-6)


@pytest.mark.parametrize("method", ["exact", "hermite", "quadrature"])
def test_an_affine_map_is_propagated_exactly_by_every_method_whatever_its_activation(method):
    lay = random_layers(3, [2, 1], 4)
    inp = P.law_inputs("exponential", 2, 4)
    want = P.propagate(lay, inp, 4, "exact", activation="identity").kappa
    need = P.required_input_order(lay, 4, method, activation="tanh", nodes=6)
    assert need == 4
    res = P.propagate(lay, inp, 4, method, activation="tanh", nodes=6, estimate_error=method != "exact")
    assert torch.equal(res.kappa, want) and res.method == method
    g = P.propagate(lay, P.law_inputs("exponential", 2, 2), 2, "gaussian", activation="tanh").kappa
    assert torch.allclose(g, want[:, :2], rtol=1e-12, atol=1e-12)  # gaussian keeps its meaning: orders 1-2
