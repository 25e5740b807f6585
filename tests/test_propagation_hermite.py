"""The Gaussian truncation and the Hermite expansion of the activation (rgsym.propagation.hermite)."""
from __future__ import annotations

import math

import numpy as np
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
