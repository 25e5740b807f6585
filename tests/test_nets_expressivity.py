"""Linear-by-construction classes (rgsym.nets.expressivity): the algebra against the numbers, for every
(activation, symmetry, depth, grouping)."""
import itertools

import pytest
import torch

from rgsym.nets.activations import ACTIVATIONS, get_activation
from rgsym.nets.expressivity import (LINEAR_FRACTION, activation_algebra, linear_by_construction,
                                     nonlinear_fraction)
from rgsym.nets.mlp import SYMMETRIES, EnsembleMLP, MLPConfig


def test_activation_algebra_matches_the_declared_parity_and_known_identities():
    for name in ACTIVATIONS:
        act = get_activation(name)
        a = activation_algebra(act)
        assert a.odd == act.is_odd, name
    # eq. (2.1): phi(z) - phi(-z) = 2 phi'(0) z for ReLU, SiLU, GELU and the quadratic, not tanh
    assert {n for n in ACTIVATIONS if activation_algebra(get_activation(n)).odd_part_linear} == \
        {"identity", "quadratic", "relu", "gelu", "silu"}
    assert {n for n in ACTIVATIONS if activation_algebra(get_activation(n)).positively_homogeneous} == \
        {"identity", "relu"}
    assert not activation_algebra(get_activation("quadratic", 0.5)).linear
    assert activation_algebra(get_activation("quadratic", 0.0)).linear


CASES = [(act, sym, depth, groups)
         for act, sym, depth, groups in itertools.product(ACTIVATIONS, SYMMETRIES, (1, 2, 3), (None, 2))
         if not (groups and "tied-hidden" in sym)]


@pytest.mark.parametrize("act,sym,depth,groups", CASES)
def test_algebra_agrees_with_numbers(act, sym, depth, groups):
    cfg = MLPConfig(width=4, depth=depth, activation=act, symmetry=sym, groups=groups)
    linear, why = linear_by_construction(cfg)
    model = EnsembleMLP([cfg] * 6, list(range(6)), dtype=torch.float64)
    frac = nonlinear_fraction(model)
    if linear:  # every member is affine
        assert float(frac.max()) < LINEAR_FRACTION, (why, frac)
    else:  # some member is not: the class is nonlinear
        assert float(frac.max()) > 1e-4, frac


def test_the_cases_the_review_named():
    lin = lambda **k: linear_by_construction(MLPConfig(width=8, **k))[0]  # noqa: E731
    for act in ("relu", "silu", "gelu", "quadratic"):
        assert lin(depth=1, activation=act, symmetry="odd")
        assert not lin(depth=2, activation=act, symmetry="odd")
    for depth in (1, 2, 3):
        assert lin(depth=depth, activation="relu", symmetry="perm-in+odd")
        assert lin(depth=depth, activation="relu", symmetry="tied-hidden+odd")
        assert not lin(depth=depth, activation="tanh", symmetry="perm-in+odd")
    assert not lin(depth=2, activation="silu", symmetry="perm-in+odd")
    assert not lin(depth=1, activation="relu", symmetry="perm-in")  # biases keep the kink


def test_trained_weights_do_not_leave_a_linear_class():
    from rgsym.learn.training import TrainConfig, train_ensemble

    cfgs = [MLPConfig(width=8, depth=d, activation="relu", symmetry="perm-in+odd") for d in (1, 2, 3)]
    model = EnsembleMLP(cfgs[:1], [0], dtype=torch.float64)
    train_ensemble(model, ["uniform"], [0], TrainConfig(steps=200, batch_size=64, n_train=64, dtype="float64"),
                   progress=False)
    assert float(nonlinear_fraction(model).max()) < LINEAR_FRACTION


@pytest.mark.parametrize("act", ["identity", "quadratic", "tanh", "relu", "silu"])
@pytest.mark.parametrize("sym", ["shared", "broken", "shared+odd", "broken+odd"])
@pytest.mark.parametrize("depth", [1, 2])
def test_gnn_classes_agree_with_numbers(act, sym, depth):
    from rgsym.nets.gnn import EnsembleGNN
    from rgsym.nets.gnn_config import GNNConfig

    cfg = GNNConfig(width=4, depth=depth, activation=act, symmetry=sym, edges="block")
    linear, _ = linear_by_construction(cfg)
    model = EnsembleGNN([cfg] * 6, list(range(6)), dtype=torch.float64)
    frac = nonlinear_fraction(model)
    assert (float(frac.max()) < LINEAR_FRACTION) if linear else (float(frac.max()) > 1e-4), frac
