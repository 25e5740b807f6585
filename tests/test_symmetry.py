"""Tests of rgsym.symmetry: every symmetry distance is zero on an exactly symmetric model and positive
on one that is not; closed forms and Monte Carlo for the function-space measures; logging leaves
the training trajectory unchanged."""
import math

import numpy as np
import pandas as pd
import pytest
import torch

from rgsym import symmetry as S
from rgsym.models import EnsembleMLP, MLPConfig

DT = torch.float64


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


def random_layers(E=4, dims=(2, 5, 1), seed=0, scale=0.7):
    g = _gen(seed)
    return [(scale * torch.randn(E, o, i, generator=g, dtype=DT), scale * torch.randn(E, o, generator=g, dtype=DT))
            for i, o in zip(dims[:-1], dims[1:])]


def blocks(B=4096, b=2, seed=1):
    return torch.randn(B, b, generator=_gen(seed), dtype=DT)


def build(symmetry="free", activation="tanh", width=6, depth=1, b=2, seeds=3):
    return EnsembleMLP(MLPConfig(b=b, width=width, depth=depth, activation=activation, symmetry=symmetry),
                       seeds, dtype=DT)


# --------------------------------------------------------------------------- plain (W, c) tensors
def test_check_layers_rejects_bad_shapes():
    W, c = torch.zeros(2, 3, 2), torch.zeros(2, 3)
    with pytest.raises(ValueError, match="one output"):
        S.check_layers([(W, c)])
    with pytest.raises(ValueError, match="takes 4 inputs"):
        S.check_layers([(W, c), (torch.zeros(2, 1, 4), torch.zeros(2, 1))])
    with pytest.raises(ValueError, match="empty"):
        S.check_layers([])


def test_perm_in_distance_is_the_projection_distance_and_zero_when_tied():
    layers = random_layers(dims=(3, 5, 1))
    W = layers[0][0]
    direct = (W - W.mean(dim=2, keepdim=True)).square().sum(dim=(1, 2)).sqrt()
    torch.testing.assert_close(S.perm_in_distance(layers), direct)
    assert (direct > 0.1).all()
    tied = [(W.mean(dim=2, keepdim=True).expand_as(W).clone(), layers[0][1]), layers[1]]
    assert torch.equal(S.perm_in_distance(tied), torch.zeros(4, dtype=DT))


def test_tied_hidden_distance_is_the_projection_distance_over_all_hidden_layers():
    layers = random_layers(dims=(2, 5, 4, 1))
    direct = 0.0
    for W, c in layers[:-1]:
        u = torch.cat([W, c.unsqueeze(2)], dim=2)
        direct = direct + (u - u.mean(dim=1, keepdim=True)).square().sum(dim=(1, 2))
    torch.testing.assert_close(S.tied_hidden_distance(layers), direct.sqrt())
    assert (direct > 0.1).all()
    sym = [(W.mean(dim=1, keepdim=True).expand_as(W).clone(), c.mean(dim=1, keepdim=True).expand_as(c).clone())
           for W, c in layers[:-1]] + [layers[-1]]
    assert torch.equal(S.tied_hidden_distance(sym), torch.zeros(4, dtype=DT))
    D = S.pairwise_unit_distances(sym, 1)
    assert torch.equal(D, torch.zeros_like(D))
    assert torch.equal(S.count_distinct_units(D), torch.ones(4, dtype=DT))


def test_count_distinct_units_counts_single_linkage_clusters():
    # units on a line: {0, 0.01, 0.02 (chain)} {1.0} {2.0, 2.01}; and one member with all apart
    pos = torch.tensor([[0.0, 0.01, 0.02, 1.0, 2.0, 2.01], [0.0, 0.5, 1.0, 1.5, 2.0, 2.5]], dtype=DT)
    D = (pos.unsqueeze(2) - pos.unsqueeze(1)).abs()
    torch.testing.assert_close(S.count_distinct_units(D, tol=0.015), torch.tensor([3.0, 6.0], dtype=DT))
    torch.testing.assert_close(S.count_distinct_units(D, tol=0.6), torch.tensor([3.0, 1.0], dtype=DT))
    torch.testing.assert_close(S.count_distinct_units(D, tol=0.0), torch.tensor([6.0, 6.0], dtype=DT))
    with pytest.raises(ValueError, match="tol"):
        S.count_distinct_units(D, tol=-1.0)


def test_odd_distance_is_the_bias_norm_for_odd_activations_only():
    layers = random_layers()
    bias = (layers[0][1].square().sum(1) + layers[1][1].square().sum(1)).sqrt()
    torch.testing.assert_close(S.odd_distance(layers, (0.0, 1.0)), bias)
    assert torch.isnan(S.odd_distance(layers, (0.0, 1.0, 0.5))).all()  # quadratic: no odd subspace
    assert torch.equal(S.odd_distance(layers, (0.0, 1.0, 0.5), antisymmetrised=True), torch.zeros(4, dtype=DT))
    zero_bias = [(W, torch.zeros_like(c)) for W, c in layers]
    assert torch.equal(S.odd_distance(zero_bias, (0.0, 1.0)), torch.zeros(4, dtype=DT))


def test_quadratic_form_matches_closed_form_for_one_hidden_layer():
    alpha = 0.37
    layers = random_layers(dims=(3, 7, 1))
    (W, c), (V, _) = layers
    Q = S.taylor_quadratic_form(layers, (0.0, 1.0, alpha))
    closed = alpha * torch.einsum("eh,ehi,ehj->eij", V[:, 0], W, W)  # alpha sum_h v_h w_h w_h^T
    torch.testing.assert_close(Q, closed)
    assert torch.equal(S.taylor_quadratic_form(layers, (0.0, 1.0), False), torch.zeros(4, 3, 3, dtype=DT))
    assert S.taylor_quadratic_form(layers, torch.tanh) is None


@pytest.mark.parametrize("dims", [(2, 4, 3, 1), (3, 3, 3, 2, 1)])
def test_quadratic_form_is_half_the_hessian_at_the_origin(dims):
    poly = (0.1, 1.0, 0.6)
    layers = random_layers(E=2, dims=dims, seed=3, scale=0.5)
    Q = S.taylor_quadratic_form(layers, poly)
    for e in range(2):
        member = [(W[e:e + 1], c[e:e + 1]) for W, c in layers]

        def f(x):
            return S.mlp_apply(member, poly, x.view(1, 1, -1))[0, 0]

        H = torch.autograd.functional.hessian(f, torch.zeros(dims[0], dtype=DT))
        torch.testing.assert_close(Q[e], 0.5 * H)


# ------------------------------------------------------------------ function space, closed forms
def test_function_measures_closed_forms_by_monte_carlo():
    s = blocks(B=200_000, b=2, seed=5)
    E = 3

    def f_const(x):  # f = 0.3: even part |2 * 0.3|
        return torch.full(x.shape[:2], 0.3, dtype=DT)

    torch.testing.assert_close(S.even_part(f_const, s, E), torch.full((E,), 0.6, dtype=DT))

    def f_first(x):  # f = s_1: E|s_1 - s_2| = 2/sqrt(pi) for Gaussian spins
        return x[..., 0]

    got = S.perm_asymmetry(f_first, s, E)
    assert abs(float(got[0]) - 2 / math.sqrt(math.pi)) < 0.01

    def f_square(x):  # f = q S^2: best affine fit in S leaves q (S^2 - b), RMS q sqrt(2) b
        return 0.25 * x.sum(-1).square()

    got = S.nonlinear_part(f_square, s, E)
    assert abs(float(got[0]) - 0.25 * math.sqrt(2) * 2) < 0.01

    def f_exact(x):  # the exact map is odd, permutation invariant and linear in the sum
        return x.sum(-1) / math.sqrt(2)

    out = S.function_distances(f_exact, s, E)
    for key in ("even", "perm_fn", "nonlin"):
        assert float(out[key].abs().max()) < 1e-12, key


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
    assert set(out) >= set(S.PARAM_MEASURES) | {"even", "perm_fn", "nonlin", "test_mse", "ood_mse"}
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
    from rgsym.training import TrainConfig, train_ensemble

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


# ------------------------------------------------------------------- Chapter 6 runs and analysis
def test_chapter6_spec_validates_before_any_training():
    with pytest.raises(ValueError, match="valid choices.*smoke"):
        S.chapter6_spec("fast")
    with pytest.raises(ValueError, match="steps"):
        S.chapter6_spec("smoke", steps=0)
    with pytest.raises(ValueError, match="valid choices.*gaussian"):
        S.chapter6_spec("smoke", task="cauchy")
    with pytest.raises(ValueError, match="valid choices.*relu"):
        S.BreakingSpec(activations=("cubic",))
    with pytest.raises(ValueError, match="valid choices.*small"):
        S.BreakingSpec(inits=("tiny",))
    with pytest.raises(ValueError, match="'free'"):
        S.BreakingSpec(symmetries=("tied-hidden",))
    paper = S.chapter6_spec("paper")
    assert len(paper.seeds) >= 10 and paper.train.steps >= 5000


def test_run_breaking_is_cached_deterministic_and_scales_the_init(monkeypatch):
    from rgsym.training import TrainConfig

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


def _synthetic_result(n_seeds=5, free_breaks=True, free_restores=True):
    """A hand-made BreakingResult: free members leave the symmetric point at step 100 and beat the stalled
    tied members from step 100 on."""
    steps = np.array([0, 1, 3, 10, 30, 100, 300, 1000])
    spec = S.BreakingSpec(activations=("relu",), symmetries=("free", "tied-hidden"), inits=("small",),
                          seeds=tuple(range(n_seeds)))
    mrows, trows = [], []
    mid = 0
    for symm in ("free", "tied-hidden"):
        for seed in range(n_seeds):
            free = symm == "free"
            d = np.where(steps >= 100, 1.0, 0.01) if (free and free_breaks) else np.full(len(steps), 0.01 * free)
            distinct = np.where(steps >= 100, 2.0, 1.0) if (free and free_breaks) else np.ones(len(steps))
            loss = np.where(steps >= 100, 1e-4 if free else 0.1, 1.0)
            even = np.array([0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.05, 0.001 if (free and free_restores) else 0.2])
            row = {"member": mid, "activation": "relu", "symmetry": symm, "init": "small", "init_scale": 0.01,
                   "seed": seed}
            mrows.append({**row, "diverged": False, "diverged_step": -1, "final_loss": loss[-1]})
            trows.append(pd.DataFrame({**row, "step": steps, "train_loss": loss, "d_tied_hidden": d,
                                       "n_distinct": distinct, "even": even, "nonlin": even, "test_mse": loss,
                                       "ood_mse": loss}))
            mid += 1
    return S.BreakingResult(spec, pd.DataFrame(mrows), pd.concat(trows, ignore_index=True), [])


def test_member_summary_and_verdict_on_a_known_trajectory():
    summary = S.member_summary(_synthetic_result())
    free = summary[summary.symmetry == "free"]
    assert free.broke.all() and free.restored.all()
    assert (free.t_break == 100).all() and (free.t_drop == 100).all() and (free.t_sep == 100).all()
    assert (free.rise == 100).all()
    tied = summary[summary.symmetry == "tied-hidden"]
    assert not tied.broke.any() and tied.t_break.isna().all()
    v = S.c5_verdict(summary)
    assert v["holds"] and v["stall_activations"] == ["relu"]
    assert v["breaks_fraction"] == 1.0 and v["timing_fraction"] == 1.0 and v["median_lag_sep"] == 0.0
    assert v["cells"].stall_ratio.iloc[0] == pytest.approx(1e3)


def test_verdict_fails_where_the_free_networks_do_not_break_or_restore():
    v = S.c5_verdict(S.member_summary(_synthetic_result(free_breaks=False)))
    assert not v["parts"]["breaks"] and not v["holds"] and v["exceptions"]["no_breaking"] == ["relu"]
    v = S.c5_verdict(S.member_summary(_synthetic_result(free_restores=False)))
    assert not v["parts"]["restores"] and v["parts"]["breaks"] and not v["holds"]
    assert v["exceptions"]["not_restored"] == ["small/relu"]


def test_gnn_measures_shared_distance_and_function_symmetry():
    from rgsym.gnn import EnsembleGNN, GNNConfig

    configs = [GNNConfig(width=4, activation="relu", symmetry=sym) for sym in ("shared", "broken", "shared+odd")]
    gnn = EnsembleGNN(configs, [0, 1, 2], dtype=DT)
    m = S.symmetry_measures(gnn, blocks(B=256))
    assert "d_tied_hidden" not in m and m["d_shared"].shape == (3,)
    assert float(m["d_shared"][0]) == 0.0 and float(m["d_shared"][2]) == 0.0 and float(m["d_shared"][1]) > 1e-3
    assert float(m["perm_fn"][0]) < 1e-12 and float(m["perm_fn"][1]) > 1e-4  # shared: permutation invariant
    assert float(m["even"][2]) < 1e-12 and float(m["even"][0]) > 1e-4  # odd: f(-s) = -f(s)
    out = S.SymmetryLogger(n_eval=64)(gnn, 0)
    assert out["test_mse"].shape == (3,) and np.isfinite(out["d_shared"]).all()


def test_gnn_runs_compare_broken_with_shared_networks():
    from rgsym.training import TrainConfig

    spec = S.gnn_chapter6_spec("smoke").replace(
        activations=("tanh",), seeds=(0, 1), width=3, n_eval=64,
        train=TrainConfig(steps=20, n_train=64, batch_size=16, log_points=5))
    assert spec.family == "gnn" and spec.symmetries == ("broken", "shared")
    res = S.run_breaking(spec, progress=False)
    summary = S.member_summary(res)
    assert sorted(summary.role.unique()) == ["constrained", "free"]
    assert (res.traj.loc[res.traj.symmetry == "shared", "d_shared"] == 0).all()
    assert (res.traj.loc[res.traj.symmetry == "broken", "d_shared"] > 0).all()
    assert summary.loc[summary.role == "constrained", "t_sep"].isna().all()  # t_sep is a free member's time
    assert (summary.loc[summary.role == "free", "rise"] > 1).all()  # broken weights move off the shared point
    with pytest.raises(ValueError, match="valid choices.*shared"):
        S.BreakingSpec(family="gnn", symmetries=("free",))
