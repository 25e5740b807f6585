"""Chapter 4's logic (rgsym.chapters.ch4_gnns): grids, run settings, the MLP-GNN comparison, the
capacity axis and the constraint check, on tables worked out by hand."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rgsym.chapters.ch4_gnns import (CHAPTER4_ACTIVATIONS, TIE, capacity_numbers, capacity_optimum, chapter4_specs,
                                     constraint_errors, constraint_summary, edge_effect, family_comparison,
                                     family_numbers, family_verdict, flow_verdict, parameter_table, run_settings,
                                     tidy_summary, variant_medians)
from rgsym.chapters.ch2_mlps import chapter2_spec
from rgsym.nets.gnn import EnsembleGNN
from rgsym.nets.gnn_config import GNNConfig


def _summary(rows):
    cols = ["family", "variant", "symmetry", "edges", "activation", "size", "depth", "width", "n_params", "task",
            "seed", "diverged", "G1", "G2", "G3", "G3_fp"]
    return pd.DataFrame([dict(zip(cols, r)) for r in rows])


def test_family_comparison_and_verdict_by_hand():
    rows = []
    # cell tanh/1x2: best MLP 0.01 (odd), best GNN 0.1 -> MLP wins; cell relu/1x2: GNN 0.001 vs MLP 0.01
    for fam, var, act, vals in [("MLP", "free", "tanh", [0.05, 0.07]), ("MLP", "odd", "tanh", [0.01, 0.01]),
                                ("GNN", "shared (block)", "tanh", [0.1, 0.1]),
                                ("MLP", "free", "relu", [0.01, 0.01]), ("GNN", "broken (block)", "relu", [0.001, 5.0]),
                                ("GNN", "shared (block)", "relu", [1e-4, 1e-4]),
                                ("MLP", "free", "identity", [1e-12, 1e-12]), ("GNN", "shared (block)", "identity", [3e-11, 1e-11])]:
        for seed, v in enumerate(vals):
            rows.append((fam, var, var.split()[0], "", act, "1x2", 1, 2, 7, "gaussian", seed, False, v, v, v, v))
    # a diverged member makes its variant's median infinite only if most seeds diverge
    rows.append(("GNN", "broken (block)", "broken", "", "tanh", "1x2", 1, 2, 7, "gaussian", 0, True, 1e-9, 0, 1e-9, 0))
    comp = family_comparison(_summary(rows), "G3").set_index("activation")
    assert comp.loc["tanh", "winner"] == "MLP" and comp.loc["tanh", "mlp_variant"] == "odd"
    assert comp.loc["tanh", "gnn_variant"] == "shared (block)"  # the diverged broken member is never best
    assert comp.loc["relu", "winner"] == "GNN" and comp.loc["relu", "gnn_variant"] == "shared (block)"
    assert np.isclose(comp.loc["relu", "log10_ratio"], -2.0)
    assert comp.loc["identity", "winner"] == "tie"  # both exact to rounding
    v = family_verdict(comp.reset_index())
    assert (v["cells"], v["mlp_wins"], v["gnn_wins"], v["ties"]) == (3, 1, 1, 1)
    assert not v["mlp_better"] and not v["gnn_better"]


def test_capacity_optimum_by_hand():
    rows = []
    for size, n_params, val in [("1x4", 20, 0.3), ("2x4", 60, 0.05), ("4x4", 120, 0.2)]:
        rows.append(("GNN", "shared (block+nn)", "shared", "block+nn", "tanh", size, 1, 4, n_params, "gaussian", 0,
                     False, val, val, val, val))
    for size, n_params, val in [("1x4", 40, 0.3), ("2x4", 90, 0.2), ("4x4", 200, 0.1)]:
        rows.append(("GNN", "broken (block+nn)", "broken", "block+nn", "tanh", size, 1, 4, n_params, "gaussian", 0,
                     False, val, val, val, val))
    opt = capacity_optimum(_summary(rows), "G2").set_index("variant")
    assert opt.loc["shared (block+nn)", "best_size"] == "2x4" and opt.loc["shared (block+nn)", "interior"]
    assert opt.loc["broken (block+nn)", "best_size"] == "4x4" and not opt.loc["broken (block+nn)", "interior"]
    assert opt.loc["broken (block+nn)", "smallest_value"] == 0.3


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
    assert cap.tasks == ("gaussian",) and cap.edges == ("block+nn",) and len(main.seeds) == 1
    assert len(chapter4_specs("paper")[0].seeds) == 2
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


def test_family_numbers_and_flow_verdict():
    comp = pd.DataFrame({"winner": ["MLP", "MLP", "GNN"], "log10_ratio": [1.0, 0.5, -0.2]})
    v = family_numbers(comp)
    assert v["mlp_better"] and v["dir"] == "MLPs" and v["factor"] == pytest.approx(10 ** 0.5)
    tie = family_numbers(pd.DataFrame({"winner": ["tie"], "log10_ratio": [TIE / 2]}))
    assert tie["dir"] == "neither (a tie)"
    fv = flow_verdict(v, tie)
    assert fv["text"] == "the MLPs capture the flow better than the GNNs" and fv["mlp_better"]
    assert fv["fp"].startswith("points another way: it favours neither")


def test_capacity_numbers_and_edge_effect():
    rows = []
    for var, vals in (("shared (block+nn)", (0.3, 0.05, 0.2)), ("broken (block+nn)", (0.3, 0.2, 0.1))):
        for (size, npar), v in zip((("1x4", 20), ("2x4", 60), ("4x4", 120)), vals):
            rows.append({"variant": var, "symmetry": var.split()[0], "size": size, "n_params": npar,
                         "diverged": False, "G3": v})
    c = capacity_numbers(pd.DataFrame(rows), ["G3"])
    assert c["n_interior"] == 1 and c["n_opt"] == 2 and not c["consistent"] and c["n_worst_end"] == 2
    assert c["best_size"] == {"shared": "2x4", "broken": "4x4"} and c["shared_best"] == 0.05
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
