"""Graded tying of hidden units (rgsym.nets.tying, MLPConfig.groups): the groups hold exactly, g = 1 is
tied-hidden, g = H is free, and the parameter count and exact constructions follow the groups."""
import pytest
import torch

from rgsym.learn.training import TrainConfig, train_ensemble
from rgsym.nets.exact import exact_layers, from_layers
from rgsym.nets.mlp import EnsembleMLP, MLPConfig
from rgsym.clt.blockmap import block_map


def _groups_hold(layers, cfg):
    """Every hidden unit equals the first unit of its group (incoming weights, bias, outgoing weights)."""
    H, g = cfg.width, cfg.hidden_groups
    m = H // g
    for k, (W, c) in enumerate(layers):
        if k < len(layers) - 1:  # rows of a hidden layer
            for h in range(H):
                r = h // m * m
                if not (torch.equal(W[0, h], W[0, r]) and torch.equal(c[0, h], c[0, r])):
                    return False
        if k > 0:  # columns fed by a hidden layer
            for h in range(H):
                if not torch.equal(W[0, :, h], W[0, :, h // m * m]):
                    return False
    return True


def test_canonical_form():
    assert MLPConfig(width=8, groups=8) == MLPConfig(width=8)
    assert MLPConfig(width=8, groups=1, symmetry="perm-in+odd").symmetry == "perm-in+tied-hidden+odd"
    assert MLPConfig(width=8, groups=1).hidden_groups == 1
    assert MLPConfig(width=8, groups=4).hidden_groups == 4
    assert "groups" in MLPConfig(width=8, groups=4).key() and "groups" not in MLPConfig(width=8).key()
    with pytest.raises(ValueError, match="must divide width=8; valid"):
        MLPConfig(width=8, groups=3)
    with pytest.raises(ValueError, match="groups=1"):
        MLPConfig(width=8, groups=2, symmetry="tied-hidden")


@pytest.mark.parametrize("depth", [1, 2, 3])
def test_n_params_interpolates(depth):
    H = 8
    counts = [MLPConfig(width=H, depth=depth, groups=g).n_params for g in (1, 2, 4, 8)]
    assert counts[0] == MLPConfig(width=H, depth=depth, symmetry="tied-hidden").n_params
    assert counts[-1] == MLPConfig(width=H, depth=depth).n_params
    assert counts == sorted(counts) and len(set(counts)) == 4
    # depth 2, b = 2, g groups: g*2 + g (layer 1) + g*g + g (layer 2) + g + 1 (output)
    if depth == 2:
        assert [g * 2 + g + g * g + g + g + 1 for g in (1, 2, 4, 8)] == counts


@pytest.mark.parametrize("act", ["tanh", "relu", "quadratic"])
@pytest.mark.parametrize("uniform", [False, True], ids=["mixed-g", "one-g"])
def test_groups_hold_exactly_through_training(act, uniform):
    """Mixed g (the gather path) and one shared g (the block_mean view path, what sweeps train)."""
    levels = (4,) if uniform else (1, 2, 4, 8)
    cfgs = [MLPConfig(width=8, depth=2, activation=act, groups=g, symmetry=s)
            for g in levels for s in ("free", "perm-in")]
    model = EnsembleMLP(cfgs, list(range(len(cfgs))))
    assert model._grouped is not uniform
    train_ensemble(model, ["gaussian"] * len(cfgs), list(range(len(cfgs))),
                   TrainConfig(steps=300, batch_size=64, n_train=128), progress=False)
    for i, cfg in enumerate(cfgs):
        lay = model.member(i).layers()
        assert _groups_hold(lay, cfg), cfg
        if cfg.hidden_groups > 1:  # and the groups are not all equal (training moved them apart)
            assert not torch.equal(lay[0][0][0, 0], lay[0][0][0, -1])


@pytest.mark.parametrize("g", [1, 2, 4])
def test_block_mean_path_equals_gather_path(g):
    """One shared g (block_mean) and the per-member matrices (gather) give the same layers and outputs."""
    cfg = MLPConfig(width=8, depth=3, activation="tanh", groups=g)
    one = EnsembleMLP([cfg] * 3, [0, 1, 2])
    both = EnsembleMLP([cfg] * 3 + [MLPConfig(width=8, depth=3, activation="tanh")], [0, 1, 2, 3])  # free: "some"
    mixed = EnsembleMLP([cfg] * 3 + [MLPConfig(width=8, depth=3, activation="tanh", groups=2 if g != 2 else 4)],
                        [0, 1, 2, 3])
    assert not one._grouped and not both._grouped and mixed._grouped
    x = torch.randn(4, 50, 2, generator=torch.Generator().manual_seed(2))
    for other in (both, mixed):
        for (W1, c1), (W2, c2) in zip(one.layers(), other.layers()):
            torch.testing.assert_close(W1, W2[:3], rtol=1e-6, atol=1e-7)
            torch.testing.assert_close(c1, c2[:3], rtol=1e-6, atol=1e-7)
        torch.testing.assert_close(one(x[:3]), other(x)[:3], rtol=1e-5, atol=1e-6)


def test_planted_defect_breaks_groups():
    """The check above can fail: a raw perturbation inside a group, with the projection bypassed."""
    cfg = MLPConfig(width=8, depth=1, groups=2)
    model = EnsembleMLP([cfg], [0])
    lay = [(W.detach().clone(), c.detach().clone()) for W, c in model.layers()]
    assert _groups_hold(lay, cfg)
    lay[0][0][0, 1, 0] += 1e-7
    assert not _groups_hold(lay, cfg)


def test_one_group_equals_tied_hidden_and_all_groups_equal_free():
    x = torch.randn(1, 64, 2, generator=torch.Generator().manual_seed(0))
    for act in ("tanh", "silu"):
        tied = EnsembleMLP([MLPConfig(width=8, depth=2, activation=act, symmetry="tied-hidden")], [3])
        free = EnsembleMLP([MLPConfig(width=8, depth=2, activation=act)], [3])
        mixed = EnsembleMLP([MLPConfig(width=8, depth=2, activation=act, groups=g) for g in (1, 2, 8)], [3, 3, 3])
        y = mixed(x.expand(3, -1, -1))
        torch.testing.assert_close(y[0], tied(x)[0], rtol=1e-6, atol=1e-7)
        torch.testing.assert_close(y[2], free(x)[0], rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("act,sym", [("relu", "free"), ("quadratic", "free"), ("relu", "perm-in"),
                                     ("identity", "free"), ("quadratic", "odd")])
@pytest.mark.parametrize("depth", [1, 2])
def test_exact_construction_with_groups(act, sym, depth):
    cfg = MLPConfig(width=8, depth=depth, activation=act, symmetry=sym, groups=4)
    layers = exact_layers(cfg)
    assert layers is not None
    s = torch.randn(1, 500, 2, generator=torch.Generator().manual_seed(1), dtype=torch.float64) * 2
    net = from_layers(cfg, layers)
    torch.testing.assert_close(net(s), block_map(s, 2)[..., 0], rtol=0, atol=1e-12)
    assert _groups_hold(net.layers(), cfg)  # the construction lies inside the grouped subspace
