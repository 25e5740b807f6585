"""Tests of the batched-ensemble training engine (rgsym.learn.training)."""
import math

import numpy as np
import pytest
import torch
from torch import nn

from rgsym.nets.activations import ACTIVATIONS
from rgsym.clt.laws import LAWS
from rgsym.learn.measures import MeasureConfig, evaluate
from rgsym.nets.mlp import SYMMETRIES, EnsembleMLP, MLPConfig
from rgsym.clt.blockmap import block_map
from rgsym.learn.training import (TrainConfig, batch_indices, log_schedule, member_key, train_ensemble,
                            training_set)

F64 = dict(dtype="float64")


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Tiny ensembles: intra-op threads only add overhead (and contention on shared machines)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _train(cfgs, tasks, seeds, tc, **kw):
    m = EnsembleMLP(cfgs, seeds, dtype=tc.torch_dtype)
    return m, train_ensemble(m, tasks, seeds, tc, progress=False, **kw)


def test_identity_model_reaches_the_exact_map():
    syms = ("free", "perm-in", "tied-hidden", "odd", "perm-in+odd")
    cfgs = [MLPConfig(width=3, depth=2, activation="identity", symmetry=s) for s in syms for _ in (0, 1)]
    tasks = ["gaussian", "uniform"] * (len(cfgs) // 2)
    m, r = _train(cfgs, tasks, range(len(cfgs)), TrainConfig(steps=600, lr=2e-2, batch_size=64, n_train=128, **F64))
    assert not r.diverged.any()
    assert r.final_loss.max() < 1e-12
    df = evaluate(m, tasks, MeasureConfig(n_eval=512, L=6, n_flow=64))
    err = df[df.measure.str.match(r"^(G1|G2|G3)") & ~df.measure.str.contains("kappa|fp")]
    assert err.value.max() < 1e-10
    dk = df[df.measure.str.startswith("G3_dkappa")]
    assert dk.value.max() < 1e-6
    fp = df[df.measure == "G3_fp"].value.to_numpy()
    assert np.allclose(fp, df[df.measure == "G3_fp_exact"].value.to_numpy(), atol=1e-6)


def test_constraints_hold_exactly_after_training():
    cfgs = [MLPConfig(width=5, depth=2, activation=a, symmetry=s) for a in ACTIVATIONS for s in SYMMETRIES]
    m, r = _train(cfgs, ["uniform"] * len(cfgs), range(len(cfgs)), TrainConfig(steps=80, batch_size=32, n_train=64))
    assert not r.diverged.any()
    m.requires_grad_(False)
    layers = m.layers()
    x = torch.randn(len(cfgs), 500, 2) * 3
    y, ym = m(x), m(-x)
    moved = 0
    for e, c in enumerate(cfgs):
        W1 = layers[0][0][e]
        if "perm-in" in c.flags:
            assert torch.equal(W1[:, 0], W1[:, 1]), c
        if "tied-hidden" in c.flags:
            assert torch.equal(W1, W1[:1].expand_as(W1)), c
            assert torch.equal(layers[1][0][e], layers[1][0][e, 0, 0].expand(5, 5)), c
        if "odd" in c.flags:
            assert torch.equal(y[e], -ym[e]), c
        else:
            moved += bool((y[e] + ym[e]).abs().max() > 1e-6)
    assert moved > 0  # the others are not odd by accident


def test_member_alone_equals_member_in_ensemble_float64():
    cfgs = [MLPConfig(width=6, depth=2, activation=a, symmetry=s)
            for a in ("quadratic", "tanh", "relu", "silu") for s in ("free", "perm-in", "tied-hidden", "odd")]
    tasks = ["gaussian", "uniform", "laplace", "gaussian"] * 4
    seeds = [7 * i for i in range(len(cfgs))]
    tc = TrainConfig(steps=50, batch_size=32, n_train=64, **F64)
    m, r = _train(cfgs, tasks, seeds, tc)
    for e in (0, 5, 10, 15):
        a, ra = _train(cfgs[e], [tasks[e]], [seeds[e]], tc)
        for k in range(3):
            assert torch.allclose(a.weights[k][0], m.weights[k][e], rtol=1e-12, atol=1e-15)
            assert torch.allclose(a.biases[k][0], m.biases[k][e], rtol=1e-12, atol=1e-15)
        assert np.allclose(ra.train_loss[0], r.train_loss[e], rtol=1e-12, atol=1e-18)


def test_same_seed_identical_numbers_and_callback_does_not_change_trajectory():
    cfgs = [MLPConfig(width=8, depth=2, activation="gelu", symmetry=s) for s in ("free", "odd")]
    tc = TrainConfig(steps=60, batch_size=64, n_train=128, log_points=8)
    m1, r1 = _train(cfgs, ["gaussian", "uniform"], [1, 2], tc)
    seen = []

    def callback(model, step):
        torch.randn(100)  # consumes the global RNG: must not matter
        seen.append(step)
        return {"w_norm": float(model.layers()[0][0].norm()), "n": model.n_members}

    m2, r2 = _train(cfgs, ["gaussian", "uniform"], [1, 2], tc, callback=callback)
    for p, q in zip(m1.parameters(), m2.parameters()):
        assert torch.equal(p, q)
    assert np.array_equal(r1.train_loss, r2.train_loss)
    assert seen == r2.log_steps == [row["step"] for row in r2.logs]
    assert r2.log_steps[0] == 0 and r2.log_steps[-1] == 60
    assert all("w_norm" in row and row["n"] == 2 for row in r2.logs)
    m3, r3 = _train(cfgs, ["gaussian", "uniform"], [1, 3], tc)
    assert torch.equal(m3.weights[0][0], m1.weights[0][0]) and not torch.equal(m3.weights[0][1], m1.weights[0][1])


def test_divergence_detected_recorded_and_isolated():
    cfgs = [MLPConfig(width=16, depth=3, activation="quadratic", alpha=a) for a in (0.0, 2.0, 3.0, 5.0)]
    tc = TrainConfig(steps=300, lr=0.1, batch_size=64, n_train=128)
    m, r = _train(cfgs, ["gaussian"] * 4, [0] * 4, tc)
    assert r.diverged.tolist() == [False, True, True, True]
    assert r.n_diverged == 3
    assert r.diverged_step[0] == -1 and (r.diverged_step[1:] >= 0).all()
    alone, ra = _train(cfgs[0], ["gaussian"], [0], tc)
    assert torch.allclose(alone.weights[0][0], m.weights[0][0], rtol=1e-5, atol=1e-6)
    assert np.isfinite(r.final_loss[0]) and r.final_loss[0] < 1e-3


class ToyEnsemble(nn.Module):
    """A generic ensemble RG module: s'_j = a_e * sum_{i in j} s_i + c_e (forward on lattices, no rg_step)."""

    def __init__(self, E, b=2, poison=()):
        super().__init__()
        self.b, self.n_members = b, E
        self.a = nn.Parameter(torch.full((E,), 0.1, dtype=torch.float64))
        self.c = nn.Parameter(torch.full((E,), 0.3, dtype=torch.float64))
        self.k = torch.ones(E, dtype=torch.float64)
        self.k[list(poison)] = float("nan")  # a member whose output is NaN from the start

    def forward(self, s):
        E, B, N = s.shape
        return (self.a * self.k)[:, None, None] * s.reshape(E, B, N // self.b, self.b).sum(-1) + self.c[:, None, None]


def test_generic_module_trains_and_nan_is_detected():
    m = ToyEnsemble(3, poison=[1])
    r = train_ensemble(m, ["uniform"] * 3, [0, 1, 2], TrainConfig(steps=400, lr=0.02, sites=8, n_train=64, **F64),
                       progress=False)
    assert r.diverged.tolist() == [False, True, False]
    assert r.diverged_step[1] == 0
    for e in (0, 2):
        assert abs(m.a[e].item() - 1 / math.sqrt(2)) < 1e-3 and abs(m.c[e].item()) < 1e-3


def test_bad_inputs_rejected():
    m = EnsembleMLP.build(width=2, seeds=2)
    with pytest.raises(ValueError) as err:
        train_ensemble(m, ["gaussian", "cauchy"], [0, 1], TrainConfig(steps=1), progress=False)
    assert all(repr(law) in str(err.value) for law in LAWS)
    with pytest.raises(ValueError, match="one task"):
        train_ensemble(m, ["gaussian"], [0], TrainConfig(steps=1), progress=False)
    with pytest.raises(ValueError, match="lr_schedule"):
        TrainConfig(lr_schedule="step")
    with pytest.raises(ValueError, match="dtype"):
        TrainConfig(dtype="float16")
    with pytest.raises(ValueError, match="batch_size"):
        TrainConfig(batch_size=0)
    with pytest.raises(TypeError, match="n_members"):
        train_ensemble(nn.Linear(2, 1), ["gaussian"], [0], progress=False)


def test_batch_indices_are_per_member_and_uniform():
    keys = torch.tensor([member_key("gaussian", s) for s in range(5)])
    n = 50
    counts = torch.zeros(n)
    for step in range(400):
        idx = batch_indices(keys, step, 64, n)
        assert idx.shape == (5, 64) and int(idx.min()) >= 0 and int(idx.max()) < n
        alone = batch_indices(keys[3:4], step, 64, n)
        assert torch.equal(alone[0], idx[3])
        counts += torch.bincount(idx.flatten(), minlength=n)
    expected = 400 * 64 * 5 / n
    chi2 = float(((counts - expected) ** 2 / expected).sum())
    assert chi2 < 49 + 5 * math.sqrt(2 * 49)  # chi-square with 49 degrees of freedom, 5 sigma
    assert not torch.equal(batch_indices(keys, 0, 64, n), batch_indices(keys, 1, 64, n))


def test_training_set_and_log_schedule():
    x = training_set("uniform", 4, 2000, 2)
    assert torch.equal(x, training_set("uniform", 4, 2000, 2)) and x.dtype == torch.float64
    assert abs(float(x.var()) - 1) < 0.1 and float(x.abs().max()) <= math.sqrt(3)
    s = log_schedule(5000, 40)
    assert s[0] == 0 and s[-1] == 5000 and s == sorted(set(s)) and 30 <= len(s) <= 41
    assert log_schedule(10, 5, "linear") == [0, 2, 5, 8, 10]
    y = block_map(torch.ones(3, 8, dtype=torch.float64), 2)
    assert torch.allclose(y, torch.full((3, 4), math.sqrt(2), dtype=torch.float64))


def test_weight_decay_is_per_member_and_leaves_undecayed_members_bit_identical():
    from rgsym.nets.mlp import EnsembleMLP, MLPConfig

    cfg = TrainConfig(steps=200, batch_size=16, n_train=32, dtype="float64")
    make = lambda: EnsembleMLP([MLPConfig(width=3, activation="tanh")] * 2, [0, 1], dtype=torch.float64)
    plain, decayed = make(), make()
    train_ensemble(plain, ["gaussian"] * 2, [0, 1], cfg, progress=False)
    train_ensemble(decayed, ["gaussian"] * 2, [0, 1], cfg, progress=False, weight_decay=[0.0, 5.0])
    for p, q in zip(plain.parameters(), decayed.parameters()):
        assert torch.equal(p[0], q[0])  # lambda = 0: exactly the undecayed run
    norm = lambda m: sum(float(x.detach()[1].pow(2).sum()) for x in m.parameters())
    assert norm(decayed) < norm(plain)  # lambda > 0 pulls the weights in
    with pytest.raises(ValueError, match="weight_decay"):
        train_ensemble(make(), ["gaussian"] * 2, [0, 1], cfg, progress=False, weight_decay=[0.1, -1.0])
