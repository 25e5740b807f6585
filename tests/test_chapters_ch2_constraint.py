"""The pre-registered C2 map test (rgsym.chapters.ch2_constraint) on synthetic tables whose answer is known:
an interior optimum holds, an optimum at an end does not, a flat map does not, and differences below the
floor are ties."""
import numpy as np
import pandas as pd
import pytest

from rgsym.chapters import ch2_constraint as cc
from rgsym.learn.sweep import SweepResult

SIZES = 5  # size_idx 0..4, each with levels 0..3


def case(fn, n_seeds=10, noise=0.05, seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    for a in range(SIZES):
        for lv in range(4):
            for s in range(n_seeds):
                v = fn(a, lv) * np.exp(noise * rng.standard_normal())
                rows.append({"size_idx": a, "level": lv, "level_max": 3, "width": 8, "seed": s, "value": v,
                             "excluded": False})
    return pd.DataFrame(rows)


bowl = lambda a, lv: 1e-3 * (1 + (a - 2) ** 2 + (lv - 1) ** 2)  # noqa: E731  min at size 2, level 1


def test_interior_optimum_holds():
    r = cc.map_test(case(bowl), range(10), floor=1e-12)
    assert r["testable"] and r["holds"] and r["margin"] > 0
    assert r["argmin"] == [(2, 1)]
    assert max(r["p_ends"]) <= cc.END_TAIL


@pytest.mark.parametrize("fn", [lambda a, lv: 1e-3 * (1 + (a - 2) ** 2 + lv),           # best free
                                lambda a, lv: 1e-3 * (1 + (a - 2) ** 2 + (3 - lv)),     # best tied
                                lambda a, lv: 1e-3 * (1 + a + (lv - 1) ** 2),           # best smallest
                                lambda a, lv: 1e-3 * (1 + (4 - a) + (lv - 1) ** 2)])    # best largest
def test_optimum_at_an_end_fails(fn):
    r = cc.map_test(case(fn), range(10), floor=1e-12)
    assert r["testable"] and not r["holds"] and r["margin"] < 0


def test_flat_map_fails_and_so_does_its_shuffle():
    r = cc.map_test(case(lambda a, lv: 1e-3, noise=0.3), range(10), floor=1e-12)
    assert not r["holds"]
    rng = np.random.default_rng(1)
    held = [cc.map_test(cc.shuffled(case(bowl), rng), range(10), floor=1e-12, n_boot=200)["holds"] for _ in range(10)]
    assert sum(held) <= 1  # the control has no structure: it (almost) never passes


def test_differences_below_the_floor_are_ties():
    tiny = lambda a, lv: 1e-14 * (1 + (a - 2) ** 2 + (lv - 1) ** 2)  # noqa: E731  a bowl entirely below the floor
    r = cc.map_test(case(tiny), range(10), floor=1e-12)
    assert not r["holds"] and len(r["argmin"]) == SIZES * 4  # every cell ties
    # the same bowl above the floor holds: the floor, not the shape, decided
    assert cc.map_test(case(tiny), range(10), floor=1e-16)["holds"]


def test_needs_an_interior_on_both_axes():
    c = case(bowl)
    assert not cc.map_test(c[c.size_idx < 2], range(10), floor=1e-12)["testable"]
    assert not cc.map_test(c[c.level < 2], range(10), floor=1e-12)["testable"]


def test_excluded_members_are_not_scored():
    c = case(bowl)
    c.loc[(c.size_idx == 0) & (c.level == 0), ["value", "excluded"]] = [0.0, True]  # would win if scored
    assert cc.map_test(c, range(10), floor=1e-12)["holds"]


def _fake_result(fn, tasks=("gaussian",), n_seeds=10):
    spec = cc.constraint_map_spec("smoke", n_seeds=n_seeds).replace(
        sizes=((1, 2), (1, 4), (1, 8), (2, 8), (3, 8)), activations=("tanh",), symmetries=("free",), tasks=tasks)
    rng = np.random.default_rng(0)
    mem, tab = [], []
    order = cc.size_order(spec)
    for mid, m in enumerate(spec.members()):
        c = m.config
        a, lv = order.index(c.size_label), int(np.log2(c.width // c.hidden_groups))
        v = fn(a, lv) * np.exp(0.05 * rng.standard_normal())
        mem.append({"member_id": mid, "final_train_loss": v / 2, "diverged": False})
        for meas in ("G1", *cc.MAP_MEASURES):
            tab.append({"member_id": mid, "measure": meas, "activation": c.activation, "task": m.task,
                        "symmetry": c.symmetry, "size": c.size_label, "width": c.width, "groups": c.hidden_groups,
                        "n_params": c.n_params, "seed": m.seed, "value": v, "diverged": False})
    return SweepResult(spec, pd.DataFrame(mem), pd.DataFrame(tab), {})


def test_verdict_on_synthetic_sweeps():
    floors = {m: 1e-14 for m in cc.MAP_MEASURES}
    good = _fake_result(lambda a, lv: 1e-3 * (1 + (a - 2) ** 2 + (lv - 1) ** 2), tasks=("gaussian", "uniform"))
    v = cc.verdict_c2(good, floors, n_boot=200, n_null=10)
    assert v.holds and v.margin > 0 and v.interval[0] > 0.5
    assert set(v.sensitivity) == {f"{k} x{f:g}" for k in ("END_TAIL", "FLOOR_FACTOR", "HOLD_SHARE", "NULL_MAX")
                                  for f in (0.5, 2.0)}
    bad = _fake_result(lambda a, lv: 1e-3 * (1 + a + lv))  # the smallest free net wins
    assert not cc.verdict_c2(bad, floors, n_boot=200, n_null=10).holds
    o = cc.overfit_table(good, n_boot=50)
    assert np.allclose(o["median"], 2.0, rtol=0.35)  # G1 / train = 2 by construction (up to each set's E T^2)


def test_facets_and_size_order():
    assert cc.facet_of("perm-in+tied-hidden+odd") == "perm-in+odd"
    assert cc.facet_of("tied-hidden") == "free"
    spec = cc.constraint_map_spec("paper")
    assert cc.size_order(spec) == ["1x2", "1x4", "1x8", "1x16", "1x32", "2x32"]
    npar = [c.n_params for c in spec.configs() if c.hidden_groups == c.width and c.symmetry == "free"]
    assert max(npar) / min(npar) >= 100  # sizes span two decades of parameters
    assert len(spec.seeds) >= 10 and len(spec.sizes) >= 5 and set(spec.tasks) == {"gaussian", "uniform"}
    assert not any(cc.linear_by_construction(c)[0] for c in spec.configs())
