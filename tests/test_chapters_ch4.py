"""Chapter 4's logic (rgsym.chapters.ch4_gnns): grids, run settings, the MLP-GNN comparison, the
capacity axis and the constraint check, on tables worked out by hand."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rgsym.chapters.ch4_gnns import (CHAPTER4_ACTIVATIONS, capacity_cases, chapter4_specs, constraint_errors,
                                     constraint_summary, edge_effect, parameter_table, run_settings, tidy_summary,
                                     variant_medians)
from rgsym.chapters.ch2_mlps import chapter2_spec
from rgsym.nets.gnn import EnsembleGNN
from rgsym.nets.gnn_config import GNNConfig


def _summary(rows):
    cols = ["family", "variant", "symmetry", "edges", "activation", "size", "depth", "width", "n_params", "task",
            "seed", "diverged", "G1", "G2", "G3", "G3_fp"]
    return pd.DataFrame([dict(zip(cols, r)) for r in rows])


def test_capacity_cases_by_hand():
    rng = np.random.default_rng(0)
    rows = []
    for seed in range(6):
        for size, n_params, val in [("1x4", 20, 0.3), ("2x4", 60, 0.05), ("4x4", 120, 0.2)]:
            v = val * np.exp(0.05 * rng.standard_normal())
            rows.append(("GNN", "shared (block+nn)", "shared", "block+nn", "tanh", size, 1, 4, n_params, "gaussian",
                         seed, False, v, v, v, v))
        for size, n_params, val in [("1x4", 40, 0.3), ("2x4", 90, 0.2), ("4x4", 200, 0.1)]:
            v = val * np.exp(0.05 * rng.standard_normal())
            rows.append(("GNN", "broken (block+nn)", "broken", "block+nn", "tanh", size, 1, 4, n_params, "gaussian",
                         seed, False, v, v, v, v))
    c = capacity_cases(_summary(rows), ["G2"], {"G2": 1e-15}, n_boot=200).set_index("variant")
    assert c.loc["shared (block+nn)", "holds"] and c.loc["shared (block+nn)", "argmin"] == "2x4"
    assert not c.loc["broken (block+nn)", "holds"] and c.loc["broken (block+nn)", "p_large"] == 1.0
    # differences below the floor are ties: everything ties, so the argmin touches both ends
    c = capacity_cases(_summary(rows), ["G2"], {"G2": 0.1}, floor_factor=10, n_boot=50).set_index("variant")
    assert not c.holds.any() and c.loc["shared (block+nn)", "argmin"] == "1x4, 2x4, 4x4"


def test_constraint_errors_vanish_exactly_where_imposed():
    block = [GNNConfig(width=3, depth=2, activation=a, symmetry=sym) for a, sym in [("tanh", "shared"),
                                                                                   ("quadratic", "broken+odd")]]
    nn_ = [GNNConfig(width=3, depth=2, activation=a, symmetry=sym, edges="block+nn")
           for a, sym in [("relu", "shared+odd"), ("tanh", "broken")]]
    err = pd.concat([constraint_errors(EnsembleGNN(block, [0, 1])), constraint_errors(EnsembleGNN(nn_, [2, 3]))],
                    ignore_index=True)
    assert err.loc[0, "perm"] < 1e-13 and err.loc[1, "perm"] > 1e-3
    assert err.loc[2, "reflect"] < 1e-13 and err.loc[3, "reflect"] > 1e-3
    assert err.loc[1, "odd"] < 1e-13 and err.loc[2, "odd"] < 1e-13 and err.loc[0, "odd"] > 1e-3
    assert np.isnan(err.loc[0, "reflect"]) and np.isnan(err.loc[2, "perm"])


def test_run_settings_validate_and_default():
    assert run_settings("paper", "cpu")["workers"] >= 1 and run_settings("smoke", "cpu")["workers"] == 1
    assert run_settings("smoke", "cpu", threads=None) == {"threads": None, "workers": 1}
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="workers"):
            run_settings("smoke", "cpu", workers=bad)
    with pytest.raises(ValueError, match="threads"):
        run_settings("smoke", "cpu", threads=0)
    with pytest.raises(ValueError, match="profile"):
        run_settings("huge", "cpu")


def test_chapter4_specs_share_chapter2s_budget():
    main, cap = chapter4_specs("smoke")
    mlp = chapter2_spec("smoke")
    assert main.train == mlp.train and main.measures == mlp.measures and main.tasks == mlp.tasks
    assert main.activations == CHAPTER4_ACTIVATIONS and all(d <= 2 for d, _ in main.sizes)
    assert cap.tasks == ("gaussian",) and cap.edges == ("block+nn",) and len(main.seeds) == 2
    assert len(chapter4_specs("paper")[0].seeds) >= 5 and len(chapter4_specs("paper")[1].seeds) >= 5
    assert "identity" not in main.activations  # linear by construction: it compares nothing
    for bad in (0, 21, 1.0, True):
        with pytest.raises(ValueError, match="seeds"):
            chapter4_specs("smoke", seeds=bad)


def test_constraint_summary_and_parameter_table():
    errs = pd.DataFrame({"symmetry": ["shared", "broken", "shared+odd", "broken+odd"],
                         "edges": ["block", "block", "block+nn", "block+nn"], "activation": ["tanh"] * 4,
                         "perm": [1e-16, 0.1, np.nan, np.nan], "reflect": [np.nan, np.nan, 2e-16, 0.3],
                         "odd": [0.5, 0.4, 1e-16, 3e-16]})
    tab, exact, broken, ok = constraint_summary(errs)
    assert exact == 3e-16 and broken == 0.1 and ok
    assert tab.loc["median over members without it", "odd: f(-s)+f(s)"] == pytest.approx(0.45)
    errs.loc[0, "perm"] = 1e-3
    assert not constraint_summary(errs)[3]
    t = parameter_table([(1, 2), (1, 2), (2, 4)])
    assert list(t.index) == ["1x2", "2x4"] and t.loc["1x2", "shared (block)"] == GNNConfig(width=2).n_params


def test_edge_effect():
    g = pd.DataFrame({"activation": ["tanh"] * 4, "size": ["1x2"] * 4, "task": ["gaussian"] * 4,
                      "edges": ["block", "block", "block+nn", "block+nn"],
                      "variant": ["shared (block)", "broken (block)", "shared (block+nn)", "broken (block+nn)"],
                      "diverged": [False, False, False, True], "G3": [1e-3, 1e-2, 1e-1, 1e-6]})
    n, eff = edge_effect(g)
    assert n == 1 and eff == pytest.approx(2.0)  # the diverged block+nn member is never the best


def test_tidy_summary_names_variants_across_families():
    class R:
        def summary(self, measures):
            return pd.DataFrame({"member_id": [7], "symmetry": ["shared"], "edges": ["block"], "activation": ["tanh"],
                                 "size": ["1x2"], "depth": [1], "width": [2], "n_params": [9], "task": ["gaussian"], "seed": [0],
                                 "diverged": [False], **{m: [0.1] for m in measures}})
    s = tidy_summary(R(), "GNN")
    assert s.variant.tolist() == ["shared (block)"] and s.family.tolist() == ["GNN"]
    assert s.member_id.tolist() == [7]
    med = variant_medians(s.assign(diverged=[True]), "G3", by=("variant",))
    assert med.value.tolist() == [np.inf] and med.n_diverged.tolist() == [1]
