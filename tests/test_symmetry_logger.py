"""Tests of rgsym.symmetry.logger: every measure of an ensemble is zero on an exactly symmetric model and
positive on one that is not, members are measured with their own activation, GNNs get (6.9), and
logging leaves the training trajectory unchanged."""
import math

import numpy as np
import pytest
import torch

from conftest import blocks
from rgsym.nets.mlp import EnsembleMLP, MLPConfig
from rgsym.symmetry import logger as S
from rgsym.symmetry.parameters import PARAM_MEASURES

DT = torch.float64


def build(symmetry="free", activation="tanh", width=6, depth=1, b=2, seeds=3):
    return EnsembleMLP(MLPConfig(b=b, width=width, depth=depth, activation=activation, symmetry=symmetry),
                       seeds, dtype=DT)


# ------------------------------------------------------ the ensemble MLP: exactly symmetric vs not
@pytest.mark.parametrize("depth", [1, 2])
def test_every_measure_is_zero_on_the_exactly_symmetric_model_and_positive_on_the_free_one(depth):
    s = blocks(B=512, b=3)
    free = S.symmetry_measures(build("free", "tanh", depth=depth, b=3), s)
    sym = S.symmetry_measures(build("perm-in+tied-hidden+odd", "tanh", depth=depth, b=3), s)
    for key in ("d_perm_in", "d_tied_hidden", "d_odd", "pair_dist", "even", "perm_fn"):
        assert float(sym[key].abs().max()) < 1e-12, key
        assert float(free[key].min()) > 1e-3, key
    assert torch.equal(sym["n_distinct"], torch.ones(3, dtype=DT))
    assert torch.equal(free["n_distinct"], torch.full((3,), 6.0, dtype=DT))
    assert torch.isnan(free["quad_form"]).all()  # tanh is not polynomial


@pytest.mark.parametrize("symmetry,zero", [
    ("perm-in", ("d_perm_in", "perm_fn")),
    ("tied-hidden", ("d_tied_hidden", "pair_dist")),
    ("odd", ("d_odd", "even", "quad_form")),
])
@pytest.mark.parametrize("activation", ["quadratic", "relu"])
def test_each_constraint_zeroes_its_own_measures_only(symmetry, zero, activation):
    s = blocks(B=512)
    m = S.symmetry_measures(build(symmetry, activation, depth=2, seeds=8), s)
    free = S.symmetry_measures(build("free", activation, depth=2, seeds=8), s)
    for key in zero:
        if key == "quad_form" and activation != "quadratic":
            assert torch.isnan(m[key]).all()
            continue
        if key == "d_odd":  # neither activation is odd: no odd parameter subspace for the free model
            assert torch.isnan(free[key]).all() and torch.equal(m[key], torch.zeros(8, dtype=DT))
            continue
        assert float(m[key].abs().max()) < 1e-12, key
        assert float(free[key].min()) > 1e-4, key
    for key in {"d_perm_in", "d_tied_hidden"} - set(zero):  # the other constraints stay broken
        assert float(m[key].min()) > 1e-4, key
    for key in {"perm_fn", "even"} - set(zero):  # (a tied ReLU member may be dead: constant f)
        assert float(m[key].max()) > 1e-4, key


def test_nonlinear_part_vanishes_for_the_identity_network_with_tied_inputs():
    s = blocks(B=512, b=2)
    lin = S.symmetry_measures(build("perm-in", "identity", depth=2), s)
    assert float(lin["nonlin"].abs().max()) < 1e-12
    assert float(lin["quad_form"].abs().max()) < 1e-12
    quad = S.symmetry_measures(build("perm-in", "quadratic", depth=2), s)
    assert float(quad["nonlin"].min()) > 1e-3 and float(quad["quad_form"].min()) > 1e-3


def test_mixed_ensemble_measures_each_member_with_its_own_activation():
    configs = [MLPConfig(width=4, activation=a, symmetry=sym)
               for a, sym in (("quadratic", "free"), ("relu", "odd"), ("tanh", "free"), ("quadratic", "odd"))]
    mixed = EnsembleMLP(configs, [0, 1, 2, 3], dtype=DT)
    s = blocks(B=256)
    m = S.symmetry_measures(mixed, s)
    for i in range(4):
        alone = S.symmetry_measures(mixed.member(i), s)
        for key, v in m.items():
            a, b = float(v[i]), float(alone[key][0])
            assert (math.isnan(a) and math.isnan(b)) or abs(a - b) < 1e-12, (i, key)
    assert math.isnan(float(m["d_odd"][0])) and float(m["d_odd"][1]) == 0.0
    assert float(m["quad_form"][3]) == 0.0 and math.isnan(float(m["quad_form"][2]))


# --------------------------------------------------------------------------------------- logging
def test_logger_validates_before_work_and_leaves_the_random_state_alone():
    with pytest.raises(ValueError, match="valid choices.*gaussian"):
        S.SymmetryLogger(task="cauchy")
    with pytest.raises(ValueError, match="block size"):
        S.SymmetryLogger(b=1)
    model = build("free", "relu")
    state = torch.get_rng_state()
    np_state = np.random.get_state()[1].copy()
    logger = S.SymmetryLogger(b=2, task="uniform", n_eval=256)
    out = logger(model, 0)
    assert torch.equal(torch.get_rng_state(), state)
    assert np.array_equal(np.random.get_state()[1], np_state)
    assert set(out) >= set(PARAM_MEASURES) | {"even", "perm_fn", "nonlin", "test_mse", "ood_mse"}
    assert all(isinstance(v, np.ndarray) and v.shape == (3,) for v in out.values())
    again = S.SymmetryLogger(b=2, task="uniform", n_eval=256)(model, 0)
    for k in out:
        np.testing.assert_array_equal(out[k], again[k])


def test_logger_test_error_is_the_mse_to_the_exact_map():
    model = build("perm-in+odd", "identity", width=1)
    with torch.no_grad():  # f(s) = (s_1 + s_2) / sqrt 2 exactly
        model.weights[0].fill_(0.5)
        model.weights[1].fill_(math.sqrt(2))
    out = S.SymmetryLogger(n_eval=512)(model, 10)
    assert out["test_mse"].max() < 1e-28 and out["ood_mse"].max() < 1e-28
    with torch.no_grad():
        model.weights[1].zero_()  # f = 0: the error is E[s'^2] = 1 up to Monte Carlo error
    out = S.SymmetryLogger(n_eval=4096)(model, 10)
    assert abs(out["test_mse"][0] - 1.0) < 4 * math.sqrt(2 / 4096)


def test_logging_does_not_change_the_training_trajectory():
    from rgsym.learn.training import TrainConfig, train_ensemble

    configs = [MLPConfig(width=5, activation=a, symmetry=sym)
               for a in ("quadratic", "relu", "tanh") for sym in ("free", "tied-hidden")]
    cfg = TrainConfig(steps=60, n_train=128, batch_size=32, dtype="float64", log_points=8)

    def run(callback):
        model = EnsembleMLP(configs, range(len(configs)), dtype=DT)
        return train_ensemble(model, ["gaussian"] * len(configs), range(len(configs)), cfg,
                              callback=callback, progress=False)

    plain = run(None)
    logged = run(S.SymmetryLogger(n_eval=128))
    for p, q in zip(plain.model.parameters(), logged.model.parameters()):
        assert torch.equal(p, q)
    np.testing.assert_array_equal(plain.train_loss, logged.train_loss)
    assert [log["step"] for log in logged.logs] == logged.log_steps
    assert all(log["d_perm_in"].shape == (len(configs),) for log in logged.logs)
    # the first logged step is the initial model: its measures are those of a fresh ensemble
    fresh = S.symmetry_measures(EnsembleMLP(configs, range(len(configs)), dtype=DT),
                                S.SymmetryLogger(n_eval=128).blocks())
    np.testing.assert_allclose(logged.logs[0]["d_tied_hidden"], fresh["d_tied_hidden"].numpy(), rtol=1e-12)

    def meddling(model, step):  # negative control: a callback that touches the weights is caught
        next(iter(model.parameters())).mul_(1.001)
        return {}

    assert not np.array_equal(run(meddling).train_loss, plain.train_loss)


def test_gnn_measures_shared_distance_and_function_symmetry():
    from rgsym.nets.gnn import EnsembleGNN
    from rgsym.nets.gnn_config import GNNConfig

    configs = [GNNConfig(width=4, activation="relu", symmetry=sym) for sym in ("shared", "broken", "shared+odd")]
    gnn = EnsembleGNN(configs, [0, 1, 2], dtype=DT)
    m = S.symmetry_measures(gnn, blocks(B=256))
    assert "d_tied_hidden" not in m and m["d_shared"].shape == (3,)
    assert float(m["d_shared"][0]) == 0.0 and float(m["d_shared"][2]) == 0.0 and float(m["d_shared"][1]) > 1e-3
    assert float(m["perm_fn"][0]) < 1e-12 and float(m["perm_fn"][1]) > 1e-4  # shared: permutation invariant
    assert float(m["even"][2]) < 1e-12 and float(m["even"][0]) > 1e-4  # odd: f(-s) = -f(s)
    out = S.SymmetryLogger(n_eval=64)(gnn, 0)
    assert out["test_mse"].shape == (3,) and np.isfinite(out["d_shared"]).all()
