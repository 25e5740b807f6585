"""The pre-registered C1 test (rgsym.chapters.ch2_c1) on synthetic sweeps whose answer is known, with the
untrained networks as the control."""
import numpy as np
import pandas as pd

from rgsym.chapters import ch2_c1
from rgsym.chapters import ch2_constraint as cc
from rgsym.learn.sweep import SweepResult


def fake(g1_largest, n_seeds=8):
    spec = cc.constraint_map_spec("smoke", n_seeds=n_seeds).replace(
        sizes=((1, 2), (1, 4), (2, 4)), activations=("tanh", "silu"), symmetries=("free",))
    rng = np.random.default_rng(0)
    mem, tab = [], []
    for mid, m in enumerate(spec.members()):
        c = m.config
        v = (g1_largest if c.size_label == "2x4" else 0.5) * np.exp(0.1 * rng.standard_normal())
        mem.append({"member_id": mid, "final_train_loss": v, "diverged": False})
        tab.append({"member_id": mid, "measure": "G1", "activation": c.activation, "task": m.task,
                    "symmetry": c.symmetry, "size": c.size_label, "width": c.width, "groups": c.hidden_groups,
                    "n_params": c.n_params, "seed": m.seed, "value": v, "diverged": False})
    return SweepResult(spec, pd.DataFrame(mem), pd.DataFrame(tab), {})


def test_holds_when_the_largest_free_nets_learn_and_the_control_does_not():
    v = ch2_c1.verdict_c1(fake(1e-4), n_boot=300)
    assert v.holds and v.margin > 1.5 and v.interval[1] < ch2_c1.C1_G1
    cases = ch2_c1.c1_cases(fake(1e-4), n_boot=100)
    assert len(cases) == 4 and (cases["size"] == "2x4").all()
    assert (cases.control > 0.1).all()  # untrained networks miss the map by O(1)


def test_fails_when_the_error_is_above_the_threshold():
    v = ch2_c1.verdict_c1(fake(5e-2), n_boot=300)
    assert not v.holds and v.margin < 0
    assert v.sensitivity["C1_G1 x2"] is False and v.sensitivity["C1_G1 x0.5"] is False


def test_the_smallest_sizes_do_not_decide():
    # only the pre-registered size counts: a better smaller size cannot rescue a failing largest one
    v = ch2_c1.verdict_c1(fake(0.2), n_boot=200)
    assert not v.holds
