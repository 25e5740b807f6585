"""Polynomials in the block inputs and the degree cap by projection (rgsym.propagation.polynomials)."""
from __future__ import annotations

import math

import torch

from rgsym import propagation as P
from rgsym.nets.activations import get_activation

F64 = torch.float64


def random_layers(E, dims, seed, bias=0.3):
    g = torch.Generator().manual_seed(seed)
    return [(torch.randn(E, dims[k + 1], dims[k], generator=g, dtype=F64) / math.sqrt(dims[k]),
             bias * torch.randn(E, dims[k + 1], generator=g, dtype=F64)) for k in range(len(dims) - 1)]


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
