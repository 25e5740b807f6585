"""Tests of rgsym.symmetry.breaking: the runs validate before any training, are cached and
deterministic, and scale the initialisation."""
import numpy as np
import pandas as pd
import pytest
import torch

from rgsym.symmetry import breaking as S


def test_breaking_spec_validates_before_any_training():
    with pytest.raises(ValueError, match="valid choices.*relu"):
        S.BreakingSpec(activations=("cubic",))
    with pytest.raises(ValueError, match="valid choices.*small"):
        S.BreakingSpec(inits=("tiny",))
    with pytest.raises(ValueError, match="'free'"):
        S.BreakingSpec(symmetries=("tied-hidden",))
    with pytest.raises(ValueError, match="seed"):
        S.BreakingSpec(seeds=(0, 1.5))
    with pytest.raises(ValueError, match="n_eval"):
        S.BreakingSpec(n_eval=4)


def test_run_breaking_is_cached_deterministic_and_scales_the_init(monkeypatch):
    from rgsym.learn.training import TrainConfig

    spec = S.BreakingSpec(activations=("quadratic", "relu"), seeds=(0, 1), width=3,
                          train=TrainConfig(steps=30, n_train=64, batch_size=16, log_points=6), n_eval=64)
    first = S.run_breaking(spec, progress=False)
    assert len(first.members) == 2 * 3 * 2 * 2 and first.n_diverged == 0
    assert set(first.traj.columns) >= {"step", "train_loss", "d_tied_hidden", "even", "test_mse", "init"}
    small = first.traj[(first.traj.step == 0) & (first.traj.init == "small")].theta_norm.to_numpy()
    standard = first.traj[(first.traj.step == 0) & (first.traj.init == "standard")].theta_norm.to_numpy()
    np.testing.assert_allclose(small, 0.01 * standard, rtol=1e-5)
    tied0 = first.traj[(first.traj.step == 0) & (first.traj.symmetry == "tied-hidden")].d_tied_hidden
    assert (tied0 == 0).all()

    def no_training(*args, **kwargs):
        raise AssertionError("a cached run trained again")

    monkeypatch.setattr(S, "train_ensemble", no_training)
    again = S.run_breaking(spec, progress=False)
    pd.testing.assert_frame_equal(first.traj, again.traj)
    pd.testing.assert_frame_equal(first.members, again.members)


def test_symmetric_inits_start_at_relative_distance_eps_and_eps_zero_never_leaves():
    from rgsym.learn.training import TrainConfig

    with pytest.raises(ValueError, match="sym-<eps>"):
        S.BreakingSpec(inits=("sym-x",))
    with pytest.raises(ValueError, match="weight_decay"):
        S.BreakingSpec(inits=("sym-0.1",), decay_inits=("sym-0.1",))
    spec = S.BreakingSpec(activations=("relu", "tanh"), symmetries=("free", "tied-hidden"), seeds=(0, 1), width=4,
                          inits=("small", "sym-0", "sym-0.001", "sym-0.1"), weight_decay=1e-2,
                          decay_inits=("sym-0.1",), n_eval=64,
                          train=TrainConfig(steps=40, n_train=64, batch_size=16, log_points=6))
    res = S.run_breaking(spec, progress=False)
    m = res.members
    assert len(m) == 2 * 2 * 2 + 3 * 2 * 2 + 2 * 2  # small: both symmetries; sym arms and decay: free only
    assert set(m[m.init.str.startswith("sym-")].symmetry) == {"free"}
    t0 = res.traj[res.traj.step == 0]
    for eps in (0.001, 0.1):
        r0 = t0[t0.arm == f"sym-{eps:g}"].r_sym.to_numpy()
        np.testing.assert_allclose(r0, eps / np.sqrt(1 + eps ** 2), rtol=1e-4)
    # an exactly symmetric start stays on the subspace (every unit gets the same gradient)
    assert (res.traj[res.traj.arm == "sym-0"].r_sym <= 1e-6).all()
    # the decayed arm ends with smaller weights than the same start without decay
    fin = res.traj[res.traj.step == spec.train.steps].set_index(["arm", "activation", "seed"]).theta_norm
    assert (fin.loc["sym-0.1+wd"].to_numpy() < fin.loc["sym-0.1"].to_numpy()).all()
