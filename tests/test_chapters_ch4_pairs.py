"""The paired MLP-GNN test (rgsym.chapters.ch4_pairs) on synthetic tables whose answer is known."""
import numpy as np
import pandas as pd

from rgsym.chapters import ch4_pairs as cp


def tables(gnn_factor, n_seeds=6, noise=0.2, seed=0, acts=("tanh", "silu")):
    rng = np.random.default_rng(seed)
    mrows, grows = [], []
    for act in acts:
        for size, (d, w) in (("1x2", (1, 2)), ("2x12", (2, 12))):
            for task in ("gaussian", "uniform"):
                for ms, gs in cp.MATCHED:
                    base = 1e-3 * rng.uniform(0.5, 2)
                    for s in range(n_seeds):
                        common = dict(activation=act, size=size, depth=d, width=w, task=task, seed=s, diverged=False)
                        mrows.append({**common, "symmetry": ms, "edges": "", "G3": base * np.exp(noise * rng.standard_normal())})
                        grows.append({**common, "symmetry": gs, "edges": "block",
                                      "G3": gnn_factor * base * np.exp(noise * rng.standard_normal())})
                        grows.append({**common, "symmetry": gs, "edges": "block+nn", "G3": 1.0})  # never compared
    return pd.DataFrame(mrows), pd.DataFrame(grows)


ERR = {"G3": 1e-15}


def test_mlps_better_when_gnns_are_worse():
    mlp, gnn = tables(gnn_factor=10.0)
    v = cp.verdict_mlp_gnn(mlp, gnn, ERR, n_boot=300)
    assert v.holds and v.interval[0] > cp.PAIR_TIE and abs(v.interval[0] - 1.0) < 0.3


def test_no_verdict_when_families_tie_or_gnns_win():
    for f in (1.0, 0.1):
        mlp, gnn = tables(gnn_factor=f)
        v = cp.verdict_mlp_gnn(mlp, gnn, ERR, n_boot=300)
        assert not v.holds and v.margin < 0


def test_control_is_flat_and_floor_makes_ties():
    mlp, gnn = tables(gnn_factor=10.0)
    ctrl = cp.paired_table(mlp, gnn, "G3", 1e-14, shift_mlp=1)
    lo, hi = cp.family_interval(ctrl, n_boot=300)
    assert -cp.PAIR_TIE < lo < 0 < hi < cp.PAIR_TIE
    # below the floor every pair ties: d = 0
    tiny = cp.paired_table(mlp.assign(G3=mlp.G3 * 1e-12), gnn.assign(G3=gnn.G3 * 1e-12), "G3", 1e-12)
    assert (tiny.d == 0).all()


def test_linear_classes_are_left_out():
    mlp, gnn = tables(gnn_factor=10.0, acts=("relu", "identity"))
    p = cp.paired_table(mlp, gnn, "G3", 1e-14)
    assert "identity" not in set(p.activation)
    # relu: odd and perm-in+odd at depth 1 are linear (eq. 2.1); perm-in+odd is linear at every depth (2.2)
    assert not ((p.activation == "relu") & (p["size"] == "1x2") & p.pair.str.startswith("odd")).any()
    assert not ((p.activation == "relu") & p.pair.str.startswith("perm-in+odd")).any()
    assert ((p.activation == "relu") & (p["size"] == "2x12") & p.pair.str.startswith("odd |")).any()
