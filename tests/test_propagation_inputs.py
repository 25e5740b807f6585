"""The input law of a block (rgsym.propagation.inputs): moments from cumulants, i.i.d. and general."""
from __future__ import annotations

import pytest
import torch

from rgsym import propagation as P
from rgsym.clt import get_law

F64 = torch.float64


@pytest.mark.parametrize("law", ["gaussian", "uniform", "exponential", "rademacher"])
def test_iid_raw_moments_are_the_moments_of_the_law(law):
    kappa = torch.tensor(get_law(law).cumulants(6), dtype=F64)
    mu = P.iid_raw_moments(kappa.unsqueeze(0))[0]
    g = torch.Generator().manual_seed(0)
    x = get_law(law).sample((400_000,), g, dtype=F64)
    for n in range(1, 5):
        assert float(mu[n]) == pytest.approx(float((x ** n).mean()), abs=0.05 * (1 + abs(float(mu[n]))))
    assert float(mu[0]) == 1.0


def test_general_tensors_reproduce_the_iid_moments():
    kappa = [0.3, 1.2, 0.4, 0.7]
    b = 3
    tensors = []
    for n, k in enumerate(kappa, start=1):
        t = torch.zeros((b,) * n, dtype=F64)
        idx = torch.arange(b)
        t[(idx,) * n] = k
        tensors.append(t)
    iid = P.iid_inputs(kappa, b)
    gen = P.tensor_inputs(tensors)
    assert gen.b == b and gen.order == 4 and iid.order == 4
    torch.testing.assert_close(gen.moments(4), iid.moments(4), rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(gen.cov(), iid.cov(), rtol=0, atol=0)


def test_input_checks():
    with pytest.raises(ValueError, match=r"b must be an integer >= 1"):
        P.iid_inputs([0.0, 1.0], 0)
    with pytest.raises(ValueError, match="kappa_2 must be >= 0"):
        P.iid_inputs([0.0, -1.0], 2)
    with pytest.raises(ValueError, match="supply cumulants up to order 5"):
        P.iid_inputs([0.0, 1.0, 0.0, 3.0], 2).moments(5)
    with pytest.raises(ValueError, match="covariance needs input cumulants up to order 2"):
        P.iid_inputs([0.0], 2).cov()
