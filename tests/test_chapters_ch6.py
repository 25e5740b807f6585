"""Tests of rgsym.chapters.ch6_symmetry: the chapter's specs validate before any training; the member
summary, cell table and verdict on claim C5 on known trajectories; the numbers the chapter glues;
the GNN control runs."""
import math

import numpy as np
import pandas as pd
import pytest

from rgsym.chapters import ch6_symmetry as C
from rgsym.symmetry.breaking import BreakingResult, BreakingSpec


def test_chapter6_spec_validates_before_any_training():
    with pytest.raises(ValueError, match="valid choices.*smoke"):
        C.chapter6_spec("fast")
    with pytest.raises(ValueError, match="steps"):
        C.chapter6_spec("smoke", steps=0)
    with pytest.raises(ValueError, match="valid choices.*gaussian"):
        C.chapter6_spec("smoke", task="cauchy")
    paper = C.chapter6_spec("paper")
    assert len(paper.seeds) >= 10 and paper.train.steps >= 5000


def _synthetic_result(n_seeds=5, free_breaks=True, free_restores=True):
    """A hand-made BreakingResult: free members leave the symmetric point at step 100 and beat the stalled
    tied members from step 100 on."""
    steps = np.array([0, 1, 3, 10, 30, 100, 300, 1000])
    spec = BreakingSpec(activations=("relu",), symmetries=("free", "tied-hidden"), inits=("small",),
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
                                       "ood_mse": loss, "d_perm_in": d}))
            mid += 1
    return BreakingResult(spec, pd.DataFrame(mrows), pd.concat(trows, ignore_index=True), [])


def test_member_summary_and_verdict_on_a_known_trajectory():
    summary = C.member_summary(_synthetic_result())
    free = summary[summary.symmetry == "free"]
    assert free.broke.all() and free.restored.all()
    assert (free.t_break == 100).all() and (free.t_drop == 100).all() and (free.t_sep == 100).all()
    assert (free.rise == 100).all()
    tied = summary[summary.symmetry == "tied-hidden"]
    assert not tied.broke.any() and tied.t_break.isna().all()
    v = C.c5_verdict(summary)
    assert v["holds"] and v["stall_activations"] == ["relu"]
    assert v["breaks_fraction"] == 1.0 and v["timing_fraction"] == 1.0 and v["median_lag_sep"] == 0.0
    assert v["cells"].stall_ratio.iloc[0] == pytest.approx(1e3)


def test_verdict_fails_where_the_free_networks_do_not_break_or_restore():
    v = C.c5_verdict(C.member_summary(_synthetic_result(free_breaks=False)))
    assert not v["parts"]["breaks"] and not v["holds"] and v["exceptions"]["no_breaking"] == ["relu"]
    v = C.c5_verdict(C.member_summary(_synthetic_result(free_restores=False)))
    assert not v["parts"]["restores"] and v["parts"]["breaks"] and not v["holds"]
    assert v["exceptions"]["not_restored"] == ["small/relu"]


def test_the_numbers_the_chapter_glues_follow_the_verdict():
    res = _synthetic_result()
    summary = C.member_summary(res)
    V = C.c5_verdict(summary)
    brk = C.breaking_numbers(res, summary, V)
    assert brk["rise_small"] == 100 and brk["broke_small_all"] == 100 and brk["break_factor"] == C.BREAK_FACTOR
    assert brk["distinct0_small"] == 1 and brk["distinct_text"] == "relu 2" and math.isnan(brk["broke_identity_pct"])
    assert brk["bvn_n_broke"] == 5 and brk["bvn_n_not"] == 0 and brk["tied0_small"] == 0.01
    assert brk["pin_ratio_text"] == "relu 1e+02" and brk["tol_text"] == "0.05"
    rst = C.restoration_numbers(summary, V)
    assert rst["restores_pct"] == 100 and rst["not_restored_text"] == "none"
    assert rst["even_peak_small"] == 0.3 and rst["even_final_small"] == 0.001 and rst["d_return"] == 1.0
    tim = C.timing_numbers(V)
    assert tim["timing_pct"] == 100 and tim["lag_sep"] == 1.0 and tim["not_coincident_text"] == "none"
    vrd = C.verdict_numbers(V)
    assert vrd["c5_verdict"] == "supported" and vrd["part_stalls"] == "holds" and vrd["majority_pct"] == 80
    table = C.cell_display_table(V)
    assert list(table.columns) == list(C.CELL_COLUMNS.values()) and len(table) == 1
    bad = C.verdict_numbers(C.c5_verdict(C.member_summary(_synthetic_result(free_breaks=False))))
    assert bad["c5_verdict"] == "not supported" and bad["part_breaks"] == "fails" and bad["no_breaking_text"] == "relu"


def test_gnn_runs_compare_broken_with_shared_networks():
    from rgsym.learn.training import TrainConfig
    from rgsym.symmetry.breaking import run_breaking

    spec = C.gnn_chapter6_spec("smoke").replace(
        activations=("tanh",), seeds=(0, 1), width=3, n_eval=64,
        train=TrainConfig(steps=20, n_train=64, batch_size=16, log_points=5))
    assert spec.family == "gnn" and spec.symmetries == ("broken", "shared")
    res = run_breaking(spec, progress=False)
    summary = C.member_summary(res)
    assert sorted(summary.role.unique()) == ["constrained", "free"]
    assert (res.traj.loc[res.traj.symmetry == "shared", "d_shared"] == 0).all()
    assert (res.traj.loc[res.traj.symmetry == "broken", "d_shared"] > 0).all()
    assert summary.loc[summary.role == "constrained", "t_sep"].isna().all()  # t_sep is a free member's time
    assert (summary.loc[summary.role == "free", "rise"] > 1).all()  # broken weights move off the shared point
    with pytest.raises(ValueError, match="valid choices.*shared"):
        BreakingSpec(family="gnn", symmetries=("free",))
