"""The stated float64 accuracy of the exact method, against enumeration; non-existent cumulants refused."""
import itertools
import math

import pytest
import torch

from rgsym.nets.activations import get_activation
from rgsym.propagation import (MissingCumulantError, Network, existing_order, law_inputs, network_forward,
                               predict_cumulants, propagate, rule_cumulants)


def _net(b, H, depth, seed, scale=1.0):
    g = torch.Generator().manual_seed(seed)
    dims = [b] + [H] * depth + [1]
    return [(torch.randn(3, o, i, generator=g, dtype=torch.float64) * scale / math.sqrt(i),
             torch.randn(3, o, generator=g, dtype=torch.float64) * 0.3) for i, o in zip(dims[:-1], dims[1:])]


@pytest.mark.parametrize("b,H,scale", [(2, 8, 0.6), (2, 8, 1.0), (4, 6, 1.0)])
def test_exact_within_its_stated_error_depth3_order4(b, H, scale):
    act = get_activation("quadratic", alpha=0.5)
    layers = _net(b, H, 3, 1, scale)
    pr = propagate(layers, law_inputs("rademacher", b, 32), 4, activation=act)
    pts = torch.tensor(list(itertools.product([-1.0, 1.0], repeat=b)), dtype=torch.float64)
    y = network_forward(Network(layers, act), pts.unsqueeze(0).expand(3, -1, -1))
    ke = rule_cumulants(y, torch.full_like(y, 1 / y.shape[1]), 4)
    assert pr.error is not None
    assert bool(((pr.kappa - ke).abs() <= pr.error + 1e-13 * ke.abs()).all())


def test_exact_error_small_where_moments_are_benign():
    act = get_activation("quadratic", alpha=0.5)
    pr = propagate(_net(2, 8, 3, 2), law_inputs("gaussian", 2, 32), 4, activation=act)
    assert float((pr.error / pr.kappa.abs()).max()) < 1e-12


def test_missing_cumulants_refused_with_a_clear_error():
    from rgsym.nets.mlp import EnsembleMLP, MLPConfig

    assert existing_order(4, "student_t", 4) == 2 and existing_order(8, "student_t", 4) == 1
    assert existing_order(1, "student_t", 4) == 4
    model = EnsembleMLP([MLPConfig(b=2, width=4, depth=2, activation="quadratic", symmetry="free")], [0])
    with pytest.raises(MissingCumulantError, match="do not exist.*order 12.*below order 10"):
        predict_cumulants(model, "student_t", 4)
    with pytest.raises(ValueError, match="finite cumulants only below order 10"):
        propagate(model, law_inputs("student_t", 2, 12), 3)
    pr = predict_cumulants(model, "student_t", 4, missing="exclude")
    assert pr.exists[0].tolist() == [True, True, False, False]
    assert torch.isnan(pr.kappa[0, 2:]).all() and torch.isfinite(pr.kappa[0, :2]).all()
    assert "do not exist" in pr.reasons[0]
