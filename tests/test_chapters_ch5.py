"""Chapter 5's order budget, first failures, summaries and the verdict on claim C4
(rgsym.chapters.ch5_gnn_propagation)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from rgsym.chapters import ch5_gnn_propagation as c5
from rgsym.chapters import ch5_scaling as sc
from rgsym.chapters.ch5_gnn_propagation import first_failures, layerwise_comparison, order_budget
from rgsym.nets.gnn import EnsembleGNN

D64 = torch.float64


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


def gnn(**kw):
    kw.setdefault("seeds", 1)
    return EnsembleGNN.build(dtype=D64, **kw)


def test_order_budget_by_hand():
    rows = []
    # one feature per point; kappa_2 = 1, skewness 0 -> 0.5 -> 0.1, kurtosis 1 -> 1.2 -> 0.0
    for step, (p, k3, k4) in enumerate([("h0", 0.0, 1.0), ("z1", 0.5, 1.2), ("h1", 0.1, 0.0)]):
        for order, v in ((1, 0.0), (2, 1.0), (3, k3), (4, k4)):
            rows.append((0, p, step, step, 0, 0, order, v))
    t = pd.DataFrame(rows, columns=["member", "point", "step", "layer", "node", "channel", "order", "value"])
    b = order_budget(t).set_index(["stage", "order"]).verdict
    assert b[("h0->z1", 3)] == "creates" and b[("z1->h1", 3)] == "removes"
    assert b[("h0->z1", 4)] == "keeps" and b[("z1->h1", 4)] == "removes"
    assert b[("h0->z1", 1)] == "keeps"


def test_layerwise_comparison_and_first_failures():
    m = gnn(width=3, depth=2, activation="quadratic", symmetry="shared", edges="block")
    tab = layerwise_comparison(m, ["uniform"], n_samples=2**15, seed=2)
    assert set(tab.predictor) == {"exact", "gaussian", "closure"} and set(tab.law) == {"uniform"}
    ff = first_failures(tab).set_index(["predictor", "order"])
    assert (ff.loc["exact"].point == "").all()  # the exact propagation never fails
    assert ff.loc[("gaussian", 4), "point"] == "h0"  # uniform sites already have kappa_4 != 0
    assert ff.loc[("closure", 1), "point"] == ""
    assert ff.loc[("closure", 4), "point"] in ("h1", "z2", "h2", "out")
    t = m.member(0)
    with pytest.raises(ValueError, match="unknown predictor"):
        layerwise_comparison(t, ["uniform"], predictors=["magic"])


def _budget(rows):
    return pd.DataFrame(rows, columns=["kind", "order", "verdict", "ratio"])


def test_budget_summary_and_division_criterion_with_its_control():
    good = _budget([("activation", 3, "creates", 3.0), ("activation", 4, "creates", 3.0),
                    ("activation", 3, "removes", 0.3), ("message passing", 3, "removes", 0.2),
                    ("message passing", 4, "keeps", 1.0), ("readout", 3, "removes", 0.1),
                    ("readout", 4, "removes", 0.1), ("readout", 4, "keeps", 1.0), ("activation", 1, "keeps", 1.0)])
    count, g = c5.budget_summary(good)
    assert (g["act_create"], g["act_remove"], g["act_n"], g["mp_remove"], g["mp_create"], g["mp_n"],
            g["ro_remove"], g["ro_n"]) == (2, 1, 3, 1, 0, 2, 2, 3)
    sh = sc.division_shares(good)
    assert sh["act_create_share"] == pytest.approx(2 / 3) and sh["sum_remove_share"] == pytest.approx(3 / 5)
    assert sc.division_holds(sh)
    keeps = _budget([("activation", 3, "keeps", 1.0), ("message passing", 3, "keeps", 1.0), ("readout", 3, "keeps", 1.0)])
    assert not sc.division_holds(sc.division_shares(keeps))  # a linear control keeps everything: fails


def _synthetic_rows(bias, units=6, sizes=(2**10, 2**12, 2**14), feats=200, seed=0):
    """Rows with pure n^-1/2 noise (bias 0) or a constant bias in per-sample units."""
    rng = np.random.default_rng(seed)
    rows = []
    for u in range(units):
        for n in sizes:
            z = rng.standard_normal(feats) + bias * np.sqrt(n)
            rows.append(pd.DataFrame({"net_kind": "nonlinear", "law": "x", "order": 3, "unit": f"u{u}", "n": n,
                                      "z": z, "delta": z / np.sqrt(n)}))
    return pd.concat(rows, ignore_index=True)


def test_slope_fit_on_noise_and_on_a_bias():
    s, se = sc.fit_slope([1, 4, 16], [1, 0.5, 0.25])
    assert s == pytest.approx(-0.5) and se == pytest.approx(0.0, abs=1e-12)
    noise = sc.cell_table(_synthetic_rows(0.0)).iloc[0]
    assert abs(noise.slope + 0.5) < 0.1 and noise.slope_lo > -0.75 and noise.slope_hi < -0.25
    assert sc.cell_word(noise) == "agrees (noise-like)"
    biased = sc.cell_table(_synthetic_rows(0.1)).iloc[0]
    assert biased.slope > -0.25
    assert sc.cell_word(biased) == "does not shrink like noise: a bias"
    assert not sc.law_verdicts(sc.cell_table(_synthetic_rows(0.1))).agrees.iloc[0]


def test_c4_verdict_on_synthetic_tables():
    good = {"act_create_share": 0.8, "sum_remove_share": 0.7}
    ctrl = {"act_create_share": 0.0, "sum_remove_share": 0.1}
    rows = _synthetic_rows(0.0)
    cells = sc.cell_table(rows)
    v = sc.verdict_c4(cells, good, ctrl)
    assert v.holds and v.word == "supported" and v.margin > 0
    assert not sc.verdict_c4(sc.cell_table(_synthetic_rows(0.1)), good, ctrl).holds  # a bias fails
    assert not sc.verdict_c4(cells, {"act_create_share": 0.8, "sum_remove_share": 0.2}, ctrl).holds
    assert not sc.verdict_c4(cells, good, good).holds  # a control that passes makes it no evidence
    big = sc.cell_table(rows.assign(z=rows.z * 3))  # SEs three times too small
    assert not sc.verdict_c4(big, good, ctrl).holds


def test_chapter5_settings_validate():
    assert c5.chapter5_settings("smoke") == (2**15, ("gaussian", "bimodal", "exponential"))
    assert c5.chapter5_settings("paper", 4096, ["uniform"]) == (4096, ("uniform",))
    with pytest.raises(ValueError, match="n_mc must be an integer >= 1024"):
        c5.chapter5_settings("smoke", n_mc=100)
    with pytest.raises(ValueError, match="unknown base law"):
        c5.chapter5_settings("smoke", laws=("cauchy",))


def test_chapter5_refuses_a_reference_too_large_for_memory(monkeypatch):
    """n_mc = 10**9 is refused in the settings cell (before any network is loaded), with the estimate."""
    monkeypatch.delenv("RGSYM_ALLOW_LARGE", raising=False)
    with pytest.raises(ValueError, match=r"n_mc=1000000000\) would hold about .* GiB.*lower n_mc.*RGSYM_ALLOW_LARGE"):
        c5.chapter5_settings("paper", n_mc=10**9)
    monkeypatch.setenv("RGSYM_ALLOW_LARGE", "1")
    assert c5.chapter5_settings("paper", n_mc=10**9)[0] == 10**9


def test_mc_bytes_bounds_the_measured_peak():
    """The estimate covers what sample_node_kstats holds per lattice (every point's features, counted from
    the arrays themselves) twice over, and not more than four times (it is a bound, not a guess)."""
    import torch
    from rgsym.nets.gnn import EnsembleGNN
    from rgsym.nets.gnn_config import GNNConfig
    from rgsym.propagation.gnn import default_sites
    from rgsym.propagation.gnn_reference import dense_features, mc_lattices

    net = EnsembleGNN(GNNConfig(b=2, width=12, depth=2, activation="tanh", symmetry="broken", edges="block+nn"),
                      [0], dtype=torch.float64)
    n = default_sites(net)
    f = dense_features(net, mc_lattices("gaussian", 256, n, 0), member=0)
    held = sum(v.numel() * v.element_size() for v in f.values()) / 256  # bytes per lattice, once
    assert 2 * held <= c5.mc_bytes(1, 2, 12, n) <= 4 * held


def test_c4_a_part_that_cannot_be_evaluated_fails():
    """A NaN part (here: no summing stages, so no remove share) must fail, wherever it stands (Python's min
    drops a NaN that comes second)."""
    ctrl = {"act_create_share": 0.0, "sum_remove_share": 0.1}
    cells = sc.cell_table(_synthetic_rows(0.0))
    v = sc.verdict_c4(cells, {"act_create_share": 0.8, "sum_remove_share": float("nan")}, ctrl)
    assert not v.holds and np.isnan(v.margin)
    m = sc.c4_margins(cells.assign(rms_z=[np.nan] + list(cells.rms_z[1:])), {"act_create_share": 0.8,
                      "sum_remove_share": 0.7}, ctrl)
    assert np.isnan(m["rms_z"])  # a cell without an rms z is not skipped
    sh = sc.division_shares(_budget([("activation", 3, "creates", 3.0), ("readout", 3, "keeps", 1.0)]))
    assert (sh["act_creates"], sh["act_stages"], sh["sum_removes"], sh["sum_stages"]) == (1, 1, 0, 1)


def test_chapter5_profile_is_checked():
    with pytest.raises(ValueError, match="valid choices"):
        c5.chapter5_settings("fast")
