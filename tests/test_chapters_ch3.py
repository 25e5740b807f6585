"""Chapter 3's tables, summaries and the verdict on claim C3 (rgsym.chapters.ch3_propagation)."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch

from rgsym import propagation as P
from rgsym.chapters import ch3_propagation as c3
from rgsym.nets.activations import get_activation

F64 = torch.float64


def random_layers(E, dims, seed, bias=0.3):
    g = torch.Generator().manual_seed(seed)
    return [(torch.randn(E, dims[k + 1], dims[k], generator=g, dtype=F64) / math.sqrt(dims[k]),
             bias * torch.randn(E, dims[k + 1], generator=g, dtype=F64)) for k in range(len(dims) - 1)]


def test_chapter3_settings_validate():
    st = c3.chapter3_settings("smoke")
    assert "gaussian" not in st.laws and "uniform" not in st.laws and st.flow_law == "uniform"
    with pytest.raises(ValueError, match="valid choices"):
        c3.chapter3_settings("smoke", laws=("cauchy",))
    with pytest.raises(ValueError, match="valid choices"):
        c3.chapter3_settings("fast")
    with pytest.raises(ValueError, match="n_mc must be an integer"):
        c3.chapter3_settings("smoke", n_mc=10)


def test_chapter3_tables_on_a_small_sweep(tmp_path, monkeypatch):
    from rgsym.learn import mlp_sweep as sweeps
    from rgsym.learn.measures import MeasureConfig
    from rgsym.learn.training import TrainConfig

    monkeypatch.setenv("RGSYM_CACHE_DIR", str(tmp_path))
    spec = sweeps.SweepSpec(symmetries=("free", "tied-hidden"), activations=("quadratic", "tanh"), sizes=((1, 3),),
                            tasks=("gaussian",), seeds=(0,), train=TrainConfig(steps=60, batch_size=64, n_train=128),
                            measures=MeasureConfig(n_eval=256, L=3, n_flow=256))
    res = sweeps.run_sweep(spec, progress=False)
    pred = c3.prediction_table(res, ("laplace", "student_t"), n_mc=20_000, nodes=6)
    assert len(pred) == 4 * 2 * 4 and (pred["z"] < 5).all()
    assert set(pred["method"]) == {"exact", "quadrature(6)", "quadrature(5)"}  # Student-t (nu = 10) caps m at 5
    flows = c3.flow_table(res, nodes=6)
    assert len(flows) == 4 * 3 * 4 and flows["measured_ddev"].notna().all()
    eig = c3.eigen_table(res)
    assert len(eig) == 4 * 4 and (eig["eigenvalue"] >= 0).all()
    ids = res.members["member_id"].tolist()
    model = res.model(ids)
    k, se = P.measure_flow(model, "gaussian", 3, 4096)
    fl = P.predict_flow(model, "gaussian", 3, nodes=8)
    assert ((fl - k).abs() <= 5 * se + 1e-3).all()


def test_method_comparison_side_by_side():
    layers = random_layers(2, [2, 4, 1], seed=13, bias=0.3)
    act = get_activation("tanh")
    tab = c3.method_comparison(_Ensemble(layers, act), ("uniform",), hermite_orders=(3,), nodes=8, n_mc=50_000)
    assert set(tab["method"]) == {"gaussian", "hermite(K=3)", "quadrature(m=8)"}
    quad = tab[tab["method"] == "quadrature(m=8)"]
    assert (quad["z"] < 4.5).all()
    assert (tab[(tab["method"] == "gaussian") & (tab["order"] >= 3)]["value"] == 0).all()
    gt = P.gaussian_truncation(_Ensemble(layers, act), "uniform")  # one meaning of "gaussian" (K = 9)
    g = tab[(tab["method"] == "gaussian") & (tab["order"] <= 2)].sort_values(["member", "order"])["value"]
    assert np.array_equal(g.to_numpy(), gt.reshape(-1).numpy())


class _Ensemble:
    """Plain layers and an activation dressed as a Chapter 2 ensemble (``.layers()``, ``.activation``)."""

    def __init__(self, layers, act):
        self._layers, self.activation, self.antisymmetrised = layers, act, False

    def layers(self):
        return self._layers


def _pred(z, se=0.01, law_kurtosis=0.0):
    """A synthetic prediction table with the columns the summaries read."""
    n = len(z)
    return pd.DataFrame({"z": z, "se": [se] * n, "measured": [1.0] * n, "predicted": [1.0] * n,
                         "pred_error": [0.0] * n, "law_kurtosis": [law_kurtosis] * n,
                         "activation": ["quadratic"] * n, "depth": [2] * n})


def test_prediction_summary_on_a_synthetic_table():
    s = c3.prediction_summary(_pred([0.1, 0.5, 4.0, 10.0], se=0.001, law_kurtosis=3.0))
    assert s["within3"] == 50.0 and s["med_z"] == pytest.approx(2.25)
    assert s["n_resolved"] == 4 and s["rel1"] == 100.0 and s["z3_heavy_share"] == 100.0
    assert c3.prediction_summary(_pred([0.1, 0.2]))["z3_heavy_share"] == 0.0  # no failures: nothing to share


def test_c3_preconditions_each_checked():
    good = dict(no_solution=True, manifold_impossible=True, floor_derived=True, free_exact=True, relu_ok=True,
                checks_ok=True, rho_all=0.8, floor_ok=True)
    assert all(c3.c3_preconditions(pred=_pred([0.1] * 95 + [5.0] * 5), **good).values())
    few = c3.c3_preconditions(pred=_pred([0.1] * 85 + [5.0] * 15), **good)  # 85 % < C3_WITHIN3_MIN
    assert not few["predictions agree with Monte Carlo"]
    assert not c3.c3_preconditions(pred=_pred([0.1]), **{**good, "rho_all": 0.4})["flow errors rank-correlate"]
    assert not c3.c3_preconditions(pred=_pred([0.1]), **{**good, "floor_ok": False})["floor respected"]


def test_fixed_point_summary_tells_the_gaussian_line_from_isolated_points():
    b = 2
    exact = np.round(np.sort(b ** (1 - np.arange(1, 5) / 2))[::-1], 3)
    tab = pd.DataFrame({"symmetry": ["free", "tied-hidden", "odd"], "converged": [True, True, False],
                        "kappa_2*": [1.0, 0.7, 1.0], "distance from the Gaussian line": [0.0, 0.2, 0.0],
                        "eigenvalue moduli": [exact, exact, exact]})
    s = c3.fixed_point_summary(tab, b)
    assert (s["fp_converged"], s["fp_total"], s["n_fp_line"], s["n_fp_iso"]) == (2, 3, 1, 1)
    assert s["fp_line_syms"] == "free" and s["fp_k2_min"] == s["fp_k2_max"] == 0.7 and s["fp_d_max"] == 0.2
    assert c3.fixed_point_summary(pd.DataFrame(), b)["n_fp_line"] == 0


def _synthetic(tied_g1, tied_dk3, ctrl_g1=1e-6, n_seeds=6):
    import pandas as pd

    rows = []
    for act in ("identity", "quadratic", "tanh"):
        for seed in range(n_seeds):
            for sym in ("free", "tied-hidden"):
                tied = sym == "tied-hidden"
                g1 = (ctrl_g1 if act == "identity" else tied_g1) if tied else 1e-6
                dk3 = tied_dk3 if tied and act != "identity" else 1e-3
                rows.append({"activation": act, "symmetry": sym, "size": "1x2", "task": "gaussian", "seed": seed,
                             "G1": g1 * (1 + 0.01 * seed), "dk3": dk3, "G1_exact": g1,
                             "floor": g1 / 2 if tied and act == "quadratic" else float("nan")})
    return pd.DataFrame(rows)


def test_c3_verdict_on_synthetic_tables():
    from rgsym.chapters import ch3_verdict as cv

    v, pieces = cv.c3_verdict(_synthetic(1e-3, 1e-1), {"ok": True})
    assert v.holds and pieces["quadratic"].holds and pieces["tanh"].holds
    assert abs(v.margin - min(math.log10(1e3 / cv.FAIL_FACTOR), math.log10(100 / cv.DRIFT_FACTOR),
                              math.log10(cv.FLOOR_GAP / 2))) < 0.01
    v, pieces = cv.c3_verdict(_synthetic(1e-3, 1e-4), {"ok": True})  # the drift reverses
    assert not v.holds and not pieces["tanh"].holds
    v, _ = cv.c3_verdict(_synthetic(1e-3, 1e-1, ctrl_g1=1e-3), {"ok": True})  # the control passes too
    assert not v.holds
    v, _ = cv.c3_verdict(_synthetic(1e-3, 1e-1), {"ok": False})  # a failed precondition
    assert not v.holds and "FAILS" in v.notes


def test_streamed_monte_carlo_equals_kstats_of_the_same_draws():
    import torch

    from rgsym.clt import get_law, kstats
    from rgsym.nets.mlp import EnsembleMLP, MLPConfig
    from rgsym.propagation.ensembles import measure_cumulants

    model = EnsembleMLP([MLPConfig(b=2, width=4, depth=1, activation="tanh", symmetry="odd"),
                         MLPConfig(b=2, width=4, depth=1, activation="quadratic", symmetry="odd")], [0, 1])
    k, se = measure_cumulants(model, "laplace", 3000, seed=5, chunk=512)
    g = torch.Generator().manual_seed(5)
    xs = [get_law("laplace").sample((2, min(512, 3000 - s), 2), g, dtype=torch.float32) for s in range(0, 3000, 512)]
    with torch.no_grad():
        y = model(torch.cat(xs, 1)).double()
    k0, se0 = kstats(y, 4)
    assert torch.allclose(k, k0, rtol=1e-6, atol=1e-9) and torch.allclose(se, se0, rtol=1e-6, atol=1e-9)


def test_c3_a_part_that_cannot_be_evaluated_fails():
    from rgsym.chapters import ch3_verdict as cv

    assert np.isnan(cv.strict_min([1.0, float("nan")])) and np.isnan(cv.strict_min([]))
    assert cv.strict_min([2.0, -1.0]) == -1.0
    rows = [(3.0, float("nan"), float("nan"))] * 4  # the G1 part passes, every drift is undefined
    holds, margin = cv._criteria(rows, "tanh", cv.FAIL_FACTOR, cv.DRIFT_FACTOR, cv.FLOOR_GAP)
    assert not holds and np.isnan(margin)


def test_member_norms_read_the_models_own_layers():
    from rgsym.chapters import ch3_verdict as cv
    from rgsym.nets.mlp import EnsembleMLP, MLPConfig

    model = EnsembleMLP([MLPConfig(b=2, width=3, depth=1, activation="quadratic", symmetry="odd"),
                         MLPConfig(b=2, width=3, depth=1, activation="quadratic", symmetry="free")], [0, 1])
    assert model.member_antisymmetrised == (True, False)
    with torch.no_grad():
        lay = model.layers()
    want = [math.sqrt(sum(float((W[e].detach().double() ** 2).sum() + (c[e].detach().double() ** 2).sum()) for W, c in lay))
            for e in range(2)]
    assert np.allclose(cv.member_norms(model), want, rtol=1e-13, atol=0)


def test_tied_fits_checks_its_profile():
    with pytest.raises(ValueError, match="valid choices"):
        c3.tied_fits("fast", alpha=0.5, b=2, seed=0)
