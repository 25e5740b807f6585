"""Tests of rgsym.learn.measures against closed forms: the exact map scores zero, a rescaled map
f = c T_b scores (c^l - 1)^2, and the cumulant errors match the exact cumulant flow."""
import math

import numpy as np
import pytest
import torch
from torch import nn

from rgsym.clt.laws import LAWS, get_law, unseen_laws
from rgsym.learn.measures import SCALES, MeasureConfig, eval_samples, evaluate
from rgsym.nets.mlp import EnsembleMLP
from rgsym.clt.blockmap import block_map


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


class ScaledMap(nn.Module):
    """Member e maps a block to c_e * T_b(block) + d_e (c = 1, d = 0: the exact map)."""

    def __init__(self, c, d=None, b=2):
        super().__init__()
        self.b, self.n_members = b, len(c)
        self.c = nn.Parameter(torch.tensor(c, dtype=torch.float64))
        self.d = nn.Parameter(torch.tensor(d if d is not None else [0.0] * len(c), dtype=torch.float64))

    def rg_step(self, s):
        return self.c[:, None, None] * block_map(s, self.b) + self.d[:, None, None]


CFG = MeasureConfig(n_eval=2048, L=6, n_flow=256)


def _wide(df):
    return df.pivot(index="member", columns="measure", values="value")


def test_exact_map_scores_zero_and_rows_are_complete():
    tasks = ["gaussian", "uniform"]
    df = evaluate(ScaledMap([1.0, 1.0]), tasks, CFG)
    for e, t in enumerate(tasks):
        rows = df[df.member == e]
        g2 = rows[rows.family == "G2"].measure.tolist()
        assert {f"G2_law:{q}" for q in unseen_laws(t)} | {f"G2_scale:{s:g}" for s in SCALES} | \
            {"G2", "G2_laws", "G2_scales"} == set(g2)
        assert len(rows[rows.measure.str.startswith("G3_sample")]) == CFG.L
        assert len(rows[rows.measure.str.startswith("G3_kappa")]) == 4 * CFG.L
        assert rows[rows.measure == "G1"].law.item() == t
    err = df[df.measure.str.match(r"^(G1|G2|G3_sample|G3$|G3_dkappa)")]
    assert err.value.abs().max() < 1e-13
    w = _wide(df)
    assert np.allclose(w["G3_fp"], w["G3_fp_exact"])


def test_rescaled_map_closed_forms():
    c = [0.9, 1.05, 1.2]
    tasks = ["gaussian", "uniform", "laplace"]
    w = _wide(evaluate(ScaledMap(c), tasks, CFG))
    for e, ce in enumerate(c):
        assert w.loc[e, "G1"] == pytest.approx((ce - 1) ** 2, rel=1e-10)
        comps = [w.loc[e, f"G2_law:{q}"] for q in unseen_laws(tasks[e])] + [w.loc[e, f"G2_scale:{s:g}"] for s in SCALES]
        assert np.allclose(comps, (ce - 1) ** 2, rtol=1e-10)
        assert w.loc[e, "G2"] == pytest.approx(np.mean(comps), rel=1e-12)
        for lv in range(1, CFG.L + 1):
            assert w.loc[e, f"G3_sample:{lv}"] == pytest.approx((ce**lv - 1) ** 2, rel=1e-10)
        assert w.loc[e, "G3"] == w.loc[e, f"G3_sample:{CFG.L}"]


def test_bias_and_cumulant_errors():
    """f = T_b + d: G1 = d^2 / E[T^2] on the sample; after l steps the mean is
    d * sum_{j<l} b^{j/2}, so |k_1| error is that, and higher k-statistics are unchanged."""
    b, d = 2, 0.05
    df = evaluate(ScaledMap([1.0], [d]), ["uniform"], CFG)
    w = _wide(df)
    x = eval_samples("uniform", (CFG.n_eval, b), CFG.eval_seed)
    assert w.loc[0, "G1"] == pytest.approx(d**2 / float((block_map(x, b) ** 2).mean()), rel=1e-10)
    for lv in range(1, CFG.L + 1):
        shift = d * sum(b ** (j / 2) for j in range(lv))
        assert w.loc[0, f"G3_dkappa1:{lv}"] == pytest.approx(shift, rel=1e-8)
        for n in (2, 3, 4):
            assert w.loc[0, f"G3_dkappa{n}:{lv}"] < 1e-9


def test_cumulant_error_of_exact_map_is_sampling_noise():
    """Monte Carlo: for the exact flow, k_n at level l scatters around b^{l(1-n/2)} kappa_n."""
    from rgsym.clt.estimators import kstat_se

    cfg = MeasureConfig(n_eval=64, L=6, n_flow=512)
    df = evaluate(ScaledMap([1.0]), ["uniform"], cfg)
    s = eval_samples("uniform", (cfg.n_flow, 2**cfg.L), cfg.eval_seed)
    levels = [s]
    for _ in range(cfg.L):
        levels.append(block_map(levels[-1], 2))
    for lv in (1, 3, 6):
        flat = levels[lv].reshape(-1)
        for n in (2, 4):
            got = df[df.measure == f"G3_kappa{n}:{lv}"].value.item()
            assert got < 5 * float(kstat_se(flat, n)) + 1e-12, (lv, n)


def test_member_alone_equals_member_in_ensemble_and_diverged_members_give_nonfinite():
    m = EnsembleMLP.build(width=4, depth=2, activation="tanh", seeds=3, dtype=torch.float64)
    cfg = MeasureConfig(n_eval=256, L=6, n_flow=32, memory_budget=2**14)  # forces member chunks
    full = _wide(evaluate(m, ["gaussian"] * 3, cfg))
    alone = _wide(evaluate(m.member(2), ["gaussian"], cfg))
    assert np.allclose(full.loc[2].to_numpy(), alone.loc[0].to_numpy(), rtol=1e-12, atol=1e-15)
    bad = _wide(evaluate(ScaledMap([float("nan"), 1.0]), ["gaussian", "gaussian"], CFG))
    assert not np.isfinite(bad.loc[0, "G1"]) and bad.loc[1, "G1"] < 1e-13


def test_bad_inputs_rejected():
    with pytest.raises(ValueError) as err:
        evaluate(ScaledMap([1.0]), ["pareto"], CFG)
    assert all(repr(law) in str(err.value) for law in LAWS)
    with pytest.raises(ValueError, match="one task"):
        evaluate(ScaledMap([1.0, 1.0]), ["gaussian"], CFG)
    with pytest.raises(ValueError, match="scales"):
        MeasureConfig(scales=(0.5, -1.0))
    with pytest.raises(ValueError, match="L"):
        MeasureConfig(L=0)


def test_eval_samples_fixed_and_standardised():
    for law in ("gaussian", "exponential"):
        x = eval_samples(law, (20000,), 3)
        assert torch.equal(x, eval_samples(law, (20000,), 3))
        assert abs(float(x.mean())) < 0.05 and abs(float(x.var()) - 1) < 0.1
    assert math.isclose(get_law("uniform").cumulant(4), -1.2)


def test_function_slices_of_exact_and_scaled_maps():
    from rgsym.learn.measures import function_slices

    t = torch.linspace(-3, 3, 13, dtype=torch.float64)
    out = function_slices(ScaledMap([1.0, 2.0], [0.0, 0.5]), t)
    assert out["along"].shape == (2, 13)
    zero = torch.zeros(13, dtype=torch.float64)
    assert torch.allclose(out["along"][0], t) and torch.allclose(out["across"][0], zero, atol=1e-15)
    assert torch.allclose(out["along"][1], 2 * t + 0.5) and torch.allclose(out["across"][1], zero + 0.5)


def test_blown_up_flow_gives_nan_cumulants_without_warnings():
    df = evaluate(ScaledMap([1e30, 1.0]), ["uniform", "uniform"], CFG)  # f^l overflows to inf in a few steps
    w = _wide(df)
    assert np.isnan(w.loc[0, f"G3_kappa4:{CFG.L}"]) and np.isfinite(w.loc[1, f"G3_kappa4:{CFG.L}"])


def test_g2_splits_into_laws_and_scales():
    """G2-laws is the mean over the unseen laws, G2-scale the mean over the rescalings, and G2 their pooled mean."""
    df = evaluate(ScaledMap([1.1], [0.05]), ["gaussian"], CFG)
    w = _wide(df).iloc[0]
    laws = [w[f"G2_law:{q}"] for q in unseen_laws("gaussian")]
    scales = [w[f"G2_scale:{s:g}"] for s in SCALES]
    assert w["G2_laws"] == pytest.approx(np.mean(laws)) and w["G2_scales"] == pytest.approx(np.mean(scales))
    assert w["G2"] == pytest.approx(np.mean(laws + scales))
    assert w["G2_scales"] != pytest.approx(w["G2_laws"])  # a bias hurts small scales more: they differ
