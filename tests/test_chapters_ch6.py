"""Tests of rgsym.chapters.ch6_symmetry: the specs validate before any training; the scale-free member
summary and the verdict on claim C5 on synthetic runs with a known answer (supported, with its margin and
seed-bootstrap interval); the control rule (a criterion a control passes equally is no evidence); the
numbers the chapter glues; the GNN control runs."""
import math

import numpy as np
import pandas as pd
import pytest

from rgsym.chapters import ch6_numbers as N
from rgsym.chapters import ch6_symmetry as C
from rgsym.symmetry.breaking import BreakingResult, BreakingSpec

STEPS = np.array([0, 1, 3, 10, 30, 100, 300, 1000])


def test_chapter6_spec_validates_before_any_training():
    with pytest.raises(ValueError, match="valid choices.*smoke"):
        C.chapter6_spec("fast")
    with pytest.raises(ValueError, match="steps"):
        C.chapter6_spec("smoke", steps=0)
    with pytest.raises(ValueError, match="valid choices.*gaussian"):
        C.chapter6_spec("smoke", task="cauchy")
    paper = C.chapter6_spec("paper")
    assert len(paper.seeds) >= 10 and paper.train.steps >= 5000
    assert {"sym-0", "sym-0.0001", "sym-0.01"} <= set(paper.inits) and paper.weight_decay == C.WEIGHT_DECAY
    assert paper.decay_inits == ("sym-0.01",) and C.GROW_FACTOR * 2 * max(C.EPSILONS) < 1  # breaking is reachable


def _member(mid, act, sym, arm, seed, *, breaks_at=None, restores=False, stalls=False):
    """One synthetic member: from r(0) (0.9 at scaled inits, 1e-3 at sym-0.001) r jumps to 0.5 at step
    ``breaks_at`` (two distinct units from then on), falls to 0.01 at the end when ``restores``; the train
    loss halves at ``breaks_at`` (or at step 10); the weight norm grows 100-fold."""
    scaled = not arm.startswith("sym-")
    r0 = 0.9 if scaled else 1e-3
    t = breaks_at if breaks_at is not None else 10
    r = np.full(len(STEPS), r0 * (1 if scaled else 0.5))
    r[0] = r0
    distinct = np.ones(len(STEPS))
    if breaks_at is not None:
        r[STEPS >= breaks_at] = 0.5
        distinct[STEPS >= breaks_at] = 2.0
        if restores:
            r[-1] = 0.01
    loss = np.where(STEPS >= t, 0.1 if stalls else 1e-4, 1.0)
    theta = np.linspace(0.02, 2.0, len(STEPS))
    init = arm.replace("+wd", "")
    row = {"member": mid, "activation": act, "symmetry": sym, "init": init, "decay": 1e-3 if "+wd" in arm else 0.0,
           "arm": arm, "init_scale": 0.01, "eps": math.nan if scaled else 1e-3, "seed": seed}
    traj = pd.DataFrame({**row, "step": STEPS, "train_loss": loss, "test_mse": loss, "r_sym": r, "theta_norm": theta,
                         "d_tied_hidden": r * theta, "n_distinct": np.where(theta > 0.05, 2.0, 1.0),
                         "n_distinct_rel": distinct, "even_rel": np.linspace(1, 1e-3, len(STEPS))})
    return {**row, "diverged": False, "diverged_step": -1, "final_loss": loss[-1]}, traj


def synthetic(n_seeds=4, identity_breaks=False, decay_restores=True, random_timing=False):
    """MLP runs with a known answer: relu needs breaking (its tied networks stall at both scaled inits),
    identity does not; from sym-0.001 the free relu networks break at step STEPS[3 + seed] (when their loss
    halves), and with decay they then restore."""
    spec = BreakingSpec(activations=("relu", "identity"), symmetries=("free", "tied-hidden"),
                        inits=("small", "standard", "sym-0.001"), weight_decay=1e-3, decay_inits=("sym-0.001",),
                        seeds=tuple(range(n_seeds)))
    ms, ts = [], []
    for init in ("small", "standard"):
        for act in ("relu", "identity"):
            for sym in ("free", "tied-hidden"):
                for s in range(n_seeds):
                    m, t = _member(len(ms), act, sym, init, s, stalls=(act == "relu" and sym == "tied-hidden"))
                    ms.append(m); ts.append(t)
    for arm in ("sym-0.001", "sym-0.001+wd"):
        for act in ("relu", "identity"):
            for s in range(n_seeds):
                brk = act == "relu" or identity_breaks
                at = int(STEPS[3 + s % 4]) if brk else None
                m, t = _member(len(ms), act, "free", arm, s, breaks_at=at,
                               restores=(arm.endswith("+wd") and decay_restores and brk))
                if random_timing and brk:  # the loss halves at one fixed step, whatever the break
                    t["train_loss"] = np.where(STEPS >= 100, 1e-4, 1.0)
                ms.append(m); ts.append(t)
    return BreakingResult(spec, pd.DataFrame(ms), pd.concat(ts, ignore_index=True), [])


def test_member_summary_is_scale_free_on_a_known_trajectory():
    s = C.member_summary(synthetic())
    small = s[(s.arm == "small") & (s.role == "free")]
    # the old absolute criterion calls every small-init network broken (weight growth), the relative none
    assert small.abs_broke.all() and not small.broke.any()
    brk = s[(s.arm == "sym-0.001") & (s.activation == "relu")]
    assert brk.broke.all() and (brk.t_break.to_numpy() == STEPS[3:7]).all() and (brk.t_drop == brk.t_break).all()
    assert not brk.restored.any() and s[(s.arm == "sym-0.001+wd") & (s.activation == "relu")].restored.all()
    assert not s[s.activation == "identity"].broke.any()
    acts, ratio = C.stall_activations(s)
    assert acts == ["relu"] and ratio.loc["small", "relu"] == pytest.approx(1e3)


def test_verdict_on_a_known_answer_with_margin_interval_and_sensitivity():
    V = C.c5_verdict(synthetic(), n_boot=200)
    v, P = V["verdict"], V["parts"]
    assert v.holds and v.word == "supported"
    assert P["break_excess"] == 1.0 and P["restore_excess"] == 1.0
    assert P["coincide"] == 1.0 and P["coincide_null"] == 0.0  # breaks at 10, 30, 100, 300: 3x apart
    assert v.margin == pytest.approx(1.0 - C.BREAK_MARGIN)
    assert v.interval == pytest.approx((0.5, 0.5))  # every seed shows the same thing
    assert len(v.sensitivity) == 12 and v.robust  # every threshold halved and doubled: still supported
    assert set(v.thresholds) >= {"GROW_FACTOR", "BREAK_MARGIN", "RESTORE_FRACTION", "TIMING_MARGIN"}
    rec = v.record()
    assert rec["claim"] == "C5" and rec["word"] == "supported"


def test_a_criterion_that_the_control_passes_equally_is_not_evidence():
    V = C.c5_verdict(synthetic(identity_breaks=True), n_boot=50)
    assert V["parts"]["break_excess"] == 0.0 and not V["verdict"].holds
    assert V["verdict"].word == "not supported" and V["verdict"].margin == pytest.approx(-C.BREAK_MARGIN)
    V = C.c5_verdict(synthetic(decay_restores=False), n_boot=50)
    assert V["parts"]["restore_excess"] == 0.0 and not V["holds"]
    # every loss halves at step 100: one break in four coincides with it, and so would one in four at random
    V = C.c5_verdict(synthetic(random_timing=True), n_boot=50)
    assert V["parts"]["coincide"] == 0.25 and V["parts"]["coincide_null"] == 0.25 and not V["holds"]


def test_the_numbers_the_chapter_glues_follow_the_verdict():
    V = C.c5_verdict(synthetic(), n_boot=50)
    sc = N.scale_numbers(V)
    assert sc["absbroke_small"] == 100 and sc["relbroke_small"] == 0 and sc["r0_small"] == 0.9
    assert sc["theta0_small"] == pytest.approx(0.02) and sc["thetafinal_small"] == pytest.approx(2.0)
    b = N.breaking_numbers(V)
    assert b["break_excess_pct"] == 100 and "sym-0.001: need 100%, identity 0%" in b["break_arms_text"]
    assert b["sym0_text"] == "was not run"
    r = N.restoration_numbers(V)
    assert r["restore_excess_pct"] == 100 and r["r_return_decay"] == pytest.approx(0.02)
    t = N.timing_numbers(V)
    assert t["coincide_pct"] == 100 and t["coincide_null_pct"] == 0 and t["n_timed"] == 4  # no-decay arms only
    vn = N.verdict_numbers(V)
    assert vn["c5_verdict"] == "supported" and vn["part_breaks"] == "holds" and vn["c5_margin_pct"] == 50
    bad = N.verdict_numbers(C.c5_verdict(synthetic(identity_breaks=True), n_boot=20))
    assert bad["c5_verdict"] == "not supported" and bad["part_breaks"] == "fails"
    table = N.arm_table(V)
    assert list(table.columns) == list(N.ARM_COLUMNS.values()) and len(table) == 2 * 2 + 2 * 2


def test_gnn_runs_compare_broken_with_shared_networks():
    from rgsym.learn.training import TrainConfig
    from rgsym.symmetry.breaking import run_breaking

    spec = C.gnn_chapter6_spec("smoke").replace(
        activations=("tanh",), seeds=(0, 1), width=3, n_eval=64, inits=("small", "sym-0.1"), symmetries=None,
        train=TrainConfig(steps=20, n_train=64, batch_size=16, log_points=5))
    assert spec.family == "gnn" and spec.symmetries == ("broken", "shared")
    res = run_breaking(spec, progress=False)
    summary = C.member_summary(res)
    assert sorted(summary.role.unique()) == ["constrained", "free"]
    assert (res.traj.loc[res.traj.symmetry == "shared", "d_shared"] == 0).all()
    assert (res.traj.loc[res.traj.symmetry == "broken", "d_shared"] > 0).all()
    r0 = res.traj[(res.traj.step == 0) & (res.traj.arm == "sym-0.1")].r_shared.to_numpy()
    np.testing.assert_allclose(r0, 0.1 / math.sqrt(1.01), rtol=1e-4)
    with pytest.raises(ValueError, match="valid choices.*shared"):
        BreakingSpec(family="gnn", symmetries=("free",))


def test_stall_below_the_numerical_floor_is_a_tie():
    res = synthetic()
    tr = res.traj
    low = (tr.activation == "relu") & (tr.init.isin(["small", "standard"]))
    res.traj.loc[low, ["test_mse", "train_loss"]] *= 1e-10  # tied 1e-11, free 1e-14: ratio 1e3, both round-off
    acts, ratio = C.stall_activations(C.member_summary(res))
    assert ratio.loc["small", "relu"] == pytest.approx(1e3) and acts == []


def test_a_run_of_years_is_refused_before_training(monkeypatch):
    """steps=10**9 would train for months: refused by the spec itself (before any network is built)."""
    from rgsym.chapters.ch6_symmetry import chapter6_spec, gnn_chapter6_spec

    monkeypatch.delenv("RGSYM_ALLOW_LONG", raising=False)
    for make in (chapter6_spec, gnn_chapter6_spec):
        with pytest.raises(ValueError, match=r"at least .* h on 1 process.*over the limit of 24 h.*RGSYM_ALLOW_LONG=1"):
            make("paper", steps=10**9)
    monkeypatch.setenv("RGSYM_ALLOW_LONG", "1")
    assert chapter6_spec("paper", steps=10**9).train.steps == 10**9
