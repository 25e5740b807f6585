"""Chapter 5's order budget, first failures, summaries and the verdict on claim C4
(rgsym.chapters.ch5_gnn_propagation)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from rgsym.chapters import ch5_gnn_propagation as c5
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


def test_budget_summary_and_c4_verdict_on_synthetic_tables():
    good = _budget([("activation", 3, "creates", 3.0), ("activation", 4, "creates", 3.0),
                    ("activation", 3, "removes", 0.3), ("message passing", 3, "removes", 0.2),
                    ("message passing", 4, "keeps", 1.0), ("readout", 3, "removes", 0.1),
                    ("readout", 4, "removes", 0.1), ("readout", 4, "keeps", 1.0), ("activation", 1, "keeps", 1.0)])
    count, division, g = c5.budget_summary(good)
    assert division and g["division_ok"] == "are consistent with"
    assert (g["act_create"], g["act_remove"], g["act_n"], g["mp_remove"], g["mp_create"], g["mp_n"],
            g["ro_remove"], g["ro_n"]) == (2, 1, 3, 1, 0, 2, 2, 3)
    assert g["act_ratio"] == pytest.approx(3.0) and g["mp_ratio"] == pytest.approx(np.sqrt(0.2))
    assert list(count.columns) == list(c5.VERDICTS)
    # the readout must remove in MORE than half of its stages: exactly half fails
    half = _budget([("activation", 3, "creates", 3.0), ("readout", 3, "removes", 0.1), ("readout", 4, "keeps", 1.0)])
    assert not c5.budget_summary(half)[1]
    # message passing that creates more than it removes fails the division
    mp = _budget([("activation", 3, "creates", 3.0), ("message passing", 3, "creates", 3.0),
                  ("readout", 3, "removes", 0.1)])
    assert not c5.budget_summary(mp)[1]
    parts, g = c5.c4_verdict(True, True, division)
    assert list(parts) == list(c5.C4_PARTS) and g == {"c4_n": 3, "c4_parts": 3, "c4": "supported"}
    assert c5.c4_verdict(True, False, False)[1]["c4"] == "partly supported"
    assert c5.c4_verdict(False, False, False)[1] == {"c4_n": 0, "c4_parts": 3, "c4": "not supported"}


def test_linear_and_main_summaries_use_the_rms_pass_mark():
    z = pd.DataFrame({"z": [1.0, -1.0, 3.5, 0.0], "rel": [0.1, 0.2, 0.3, 0.4], "law": ["gaussian"] * 2 + ["exponential"] * 2})
    agree, g = c5.linear_summary(z)
    assert agree and g["lin_n"] == 4 and g["lin_within"] == 0.75 and g["lin_ok"] == "agrees"
    assert g["lin_rms"] == pytest.approx(np.sqrt((1 + 1 + 3.5 ** 2) / 4))
    assert not c5.linear_summary(z.assign(z=z.z * 2))[0]  # rms 3.6 > RMS_Z_PASS
    assert c5.heavy_laws(("gaussian", "uniform", "exponential", "laplace")) == ["exponential", "laplace"]
    agree, g = c5.main_summary(z, ("gaussian", "exponential"), ["exponential"])  # light = gaussian rows only
    assert agree and g["main_rms_light"] == 1.0 and g["light_laws"] == "gaussian" and g["heavy_laws"] == "exponential"
    assert g["main_rel_light"] == pytest.approx(0.15) and g["main_conclusion"].startswith("The extension")


def test_chapter5_settings_validate():
    assert c5.chapter5_settings("smoke") == (2**15, ("gaussian", "bimodal", "exponential"))
    assert c5.chapter5_settings("paper", 4096, ["uniform"]) == (4096, ("uniform",))
    with pytest.raises(ValueError, match="n_mc must be an integer >= 1024"):
        c5.chapter5_settings("smoke", n_mc=100)
    with pytest.raises(ValueError, match="unknown base law"):
        c5.chapter5_settings("smoke", laws=("cauchy",))
