"""The dense tensor picture (rgsym.propagation.tensors) against the polynomial route."""
from __future__ import annotations

import math

import torch

from rgsym import propagation as P
from rgsym.clt import get_law
from rgsym.nets.activations import get_activation

F64 = torch.float64


def random_layers(E, dims, seed, bias=0.3):
    g = torch.Generator().manual_seed(seed)
    return [(torch.randn(E, dims[k + 1], dims[k], generator=g, dtype=F64) / math.sqrt(dims[k]),
             bias * torch.randn(E, dims[k + 1], generator=g, dtype=F64)) for k in range(len(dims) - 1)]


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
