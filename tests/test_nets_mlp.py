"""Tests of rgsym.nets.mlp and rgsym.nets.exact: shapes, symmetry constraints, parameter counts, member independence and the
representability facts of SCIENCE.md §3."""
import math

import pytest
import torch

from rgsym.clt.blockmap import block_map
from rgsym.nets.activations import ACTIVATIONS
from rgsym.nets.ensemble import flow
from rgsym.nets.exact import exact_layers, from_layers, tied_bias_layers
from rgsym.nets.mlp import SYMMETRIES, EnsembleMLP, MLPConfig, symmetry_flags

B = 2


def test_required_symmetries_present():
    for name in ("free", "perm-in", "tied-hidden", "odd", "perm-in+odd"):
        assert name in SYMMETRIES


@pytest.mark.parametrize("kind,kwargs,valid", [
    ("symmetry", {"symmetry": "mirror"}, SYMMETRIES),
    ("activation", {"activation": "softsign"}, ACTIVATIONS),
])
def test_unknown_names_list_valid_choices(kind, kwargs, valid):
    with pytest.raises(ValueError) as err:
        MLPConfig(**kwargs)
    assert kind in str(err.value)
    for name in valid:
        assert repr(name) in str(err.value)


@pytest.mark.parametrize("kwargs", [{"depth": 0}, {"depth": 4}, {"width": 0}, {"b": 1}, {"width": 2.5},
                                    {"activation": "tanh", "alpha": 0.3}])
def test_bad_sizes_rejected(kwargs):
    with pytest.raises(ValueError):
        MLPConfig(**kwargs)


@pytest.mark.parametrize("width,depth", [(1, 1), (256, 1), (256, 3), (3, 2)])
def test_shapes(width, depth):
    m = EnsembleMLP.build(width=width, depth=depth, b=3, seeds=2)
    assert m(torch.randn(2, 5, 3)).shape == (2, 5)
    assert m.rg_step(torch.randn(2, 5, 27)).shape == (2, 5, 9)
    levels = m.flow(torch.randn(2, 4, 27))
    assert [x.shape[-1] for x in levels] == [9, 3, 1]
    dims = [3] + [width] * depth + [1]
    for k, (W, c) in enumerate(m.layers()):
        assert W.shape == (2, dims[k + 1], dims[k]) and c.shape == (2, dims[k + 1])
    with pytest.raises(ValueError, match="multiple"):
        m.rg_step(torch.randn(2, 5, 10))
    with pytest.raises(ValueError, match="shape"):
        m(torch.randn(3, 5, 3))


def _all_configs(width=5, depth=2):
    return [MLPConfig(width=width, depth=depth, activation=a, symmetry=s) for a in ACTIVATIONS for s in SYMMETRIES]


def test_constraints_hold_at_init():
    cfgs = _all_configs(depth=3)
    m = EnsembleMLP(cfgs, range(len(cfgs)), dtype=torch.float64).requires_grad_(False)
    layers = m.layers()
    x = torch.randn(len(cfgs), 300, B, dtype=torch.float64) * 3
    y, ym = m(x), m(-x)
    for e, c in enumerate(cfgs):
        f = c.flags
        W1 = layers[0][0][e]
        if "perm-in" in f:
            assert torch.equal(W1[:, 0], W1[:, 1])
        if "tied-hidden" in f:
            for k, (W, cb) in enumerate(layers):
                W, cb = W[e], cb[e]
                assert torch.equal(W, W[:1].expand_as(W)) or k == len(layers) - 1
                if k > 0:
                    assert torch.equal(W, W[:, :1].expand_as(W))
                if k < len(layers) - 1:
                    assert torch.equal(cb, cb[:1].expand_as(cb))
        if "odd" in f:
            assert torch.equal(y[e], -ym[e]), c
            assert all(float(cb[e].abs().max()) == 0 for _, cb in layers)
        assert m.member_antisymmetrised[e] == ("odd" in f and not c.act.is_odd)


@pytest.mark.parametrize("depth", [1, 2, 3])
def test_n_params_counts_independent_entries(depth):
    """With generic raw weights, the number of distinct effective entries equals n_params."""
    for c in _all_configs(width=4, depth=depth):
        m = EnsembleMLP(c, [0], dtype=torch.float64)
        with torch.no_grad():
            for p in list(m.weights) + list(m.biases):
                p.copy_(torch.rand(p.shape, dtype=torch.float64) + 1.0)  # generic, nonzero, no ties
        vals = torch.cat([t.flatten() for W, cb in m.layers() for t in (W, cb)])
        distinct = torch.unique(vals[vals != 0]).numel()
        assert distinct == c.n_params, (c.symmetry, depth)


def test_member_alone_equals_member_in_mixed_ensemble():
    cfgs = _all_configs(width=6, depth=2)
    seeds = [3 * i + 1 for i in range(len(cfgs))]
    m = EnsembleMLP(cfgs, seeds, dtype=torch.float64)
    x = torch.randn(len(cfgs), 64, B, dtype=torch.float64)
    y = m(x)
    for e in (0, 9, 17, len(cfgs) - 1):
        alone = EnsembleMLP(cfgs[e], [seeds[e]], dtype=torch.float64)
        for k in range(3):
            assert torch.equal(alone.weights[k][0], m.weights[k][e])
            assert torch.equal(alone.biases[k][0], m.biases[k][e])
        assert torch.allclose(alone(x[e:e + 1])[0], y[e], rtol=1e-13, atol=1e-14)


def test_init_depends_on_seed_and_shape_only():
    a = EnsembleMLP.build(width=8, depth=2, activation="relu", seeds=[5])
    b = EnsembleMLP.build(width=8, depth=2, activation="gelu", seeds=[5])
    c = EnsembleMLP.build(width=8, depth=2, activation="relu", seeds=[6])
    assert torch.equal(a.weights[1], b.weights[1])  # common random numbers across activations
    assert not torch.equal(a.weights[1], c.weights[1])


def test_select_stack_roundtrip_and_uniform_accessors():
    cfgs = [MLPConfig(width=4, depth=1, activation=a) for a in ("tanh", "relu", "tanh")]
    m = EnsembleMLP(cfgs, [0, 1, 2])
    back = EnsembleMLP.stack([m.member(2), m.member(0), m.member(1)])
    x = torch.randn(3, 10, B)
    assert torch.equal(back(x[[2, 0, 1]]), m(x)[[2, 0, 1]])
    with pytest.raises(ValueError, match="differ"):
        m.activation
    assert m.member(1).activation.name == "relu"
    assert m.symmetry == "free" and m.antisymmetrised is False
    with pytest.raises(IndexError):
        m.select([7])
    with pytest.raises(ValueError, match="share"):
        EnsembleMLP([MLPConfig(width=4), MLPConfig(width=5)], [0, 1])


def _set(m, layers):
    with torch.no_grad():
        for k, (W, c) in enumerate(layers):
            m.weights[k].copy_(torch.as_tensor(W, dtype=m.weights[k].dtype).reshape(m.weights[k].shape))
            m.biases[k].copy_(torch.as_tensor(c, dtype=m.biases[k].dtype).reshape(m.biases[k].shape))


@pytest.mark.parametrize("symmetry", SYMMETRIES)
def test_identity_network_is_exact_under_every_symmetry(symmetry):
    """f(s) = H * v * (w . s) with w = 1/sqrt(b), v = 1/H satisfies every constraint."""
    H = 3
    m = EnsembleMLP.build(width=H, depth=2, activation="identity", symmetry=symmetry, dtype=torch.float64)
    r = 1 / math.sqrt(B)
    _set(m, [(torch.full((H, B), r), torch.zeros(H)), (torch.full((H, H), 1 / H), torch.zeros(H)),
             (torch.full((1, H), 1 / H), torch.zeros(1))])
    s = torch.randn(1, 50, 8, dtype=torch.float64)
    assert torch.allclose(m.rg_step(s), block_map(s, B), atol=1e-14)


@torch.no_grad()
def test_relu_and_quadratic_need_two_opposite_units():
    """relu(z) - relu(-z) = z and [phi(z) - phi(-z)]/2 = z: width 2 with opposite signs is exact, while
    tied hidden units give a function that is not linear."""
    r = 1 / math.sqrt(B)
    s = torch.randn(1, 200, B, dtype=torch.float64) * 2
    exact = block_map(s, B)[..., 0]
    for act, v in (("relu", 1.0), ("quadratic", 0.5)):
        m = EnsembleMLP.build(width=2, depth=1, activation=act, dtype=torch.float64)
        _set(m, [(torch.tensor([[r, r], [-r, -r]]), torch.zeros(2)), (torch.tensor([[v, -v]]), torch.zeros(1))])
        assert torch.allclose(m(s), exact, atol=1e-13), act
        tied = EnsembleMLP.build(width=2, depth=1, activation=act, symmetry="tied-hidden", dtype=torch.float64)
        _set(tied, [(torch.tensor([[r, r], [-r, -r]]), torch.zeros(2)), (torch.tensor([[v, -v]]), torch.zeros(1))])
        assert float((tied(s) - exact).abs().max()) > 0.1, act  # the tie cannot hold opposite units


def test_odd_antisymmetrised_relu_with_one_unit_is_linear():
    m = EnsembleMLP.build(width=1, depth=1, activation="relu", symmetry="odd", dtype=torch.float64)
    assert m.antisymmetrised
    r = 1 / math.sqrt(B)
    _set(m, [(torch.tensor([[r, r]]), torch.zeros(1)), (torch.tensor([[2.0]]), torch.zeros(1))])
    s = torch.randn(1, 100, B, dtype=torch.float64)
    assert torch.allclose(m(s), block_map(s, B)[..., 0], atol=1e-14)


def test_flow_helper_checks_steps():
    m = EnsembleMLP.build(width=2, depth=1, seeds=1)
    with pytest.raises(ValueError, match="cannot take"):
        flow(m, torch.randn(1, 3, 8), steps=4)
    assert symmetry_flags("perm-in+odd") == {"perm-in", "odd"}


@pytest.mark.parametrize("activation", ["identity", "relu", "quadratic", "silu", "gelu"])
@pytest.mark.parametrize("symmetry", SYMMETRIES)
@pytest.mark.parametrize("depth", [1, 3])
def test_exact_layers_represent_the_map_or_are_impossible(activation, symmetry, depth):
    cfg = MLPConfig(width=4, depth=depth, activation=activation, symmetry=symmetry)
    layers = exact_layers(cfg)
    # tied-hidden forbids the mirror pair of units, unless antisymmetrisation (odd) builds it in; a second
    # tied quadratic layer leaves an odd cubic term
    tied_impossible = "tied-hidden" in symmetry and ("odd" not in symmetry or (activation != "relu" and depth > 1))
    if activation != "identity" and tied_impossible:
        assert layers is None
        return
    m = from_layers(cfg, layers).requires_grad_(False)
    s = torch.randn(1, 300, 16, dtype=torch.float64) * 3
    assert torch.allclose(m.rg_step(s), block_map(s, B), atol=1e-12)
    # the construction already satisfies the constraints: projection leaves it unchanged
    for (W, c), (We, ce) in zip(layers, m.layers()):
        assert torch.allclose(We[0], W, atol=1e-15) and torch.allclose(ce[0], c)


def test_exact_layers_none_for_smooth_activations_and_width_one():
    assert exact_layers(MLPConfig(width=8, activation="tanh")) is None  # its odd part is tanh itself
    assert exact_layers(MLPConfig(width=1, activation="relu")) is None


def test_tied_quadratic_error_decays_only_with_the_bias():
    """Closed form: relative error 2 alpha^2 / (1 + 2 alpha c)^2 on Gaussian inputs (Monte Carlo)."""
    cfg = MLPConfig(width=3, depth=1, activation="quadratic", alpha=0.5, symmetry="tied-hidden")
    g = torch.Generator().manual_seed(0)
    s = torch.randn(1, 200000, B, generator=g, dtype=torch.float64)
    exact = block_map(s, B)[..., 0]
    for c in (0.0, 2.0, 20.0):
        m = from_layers(cfg, tied_bias_layers(cfg, c)).requires_grad_(False)
        rel = float(((m(s) - exact) ** 2).mean() / (exact**2).mean())
        assert rel == pytest.approx(2 * 0.25 / (1 + c) ** 2, rel=0.03)
    relu = MLPConfig(width=2, depth=1, activation="relu", symmetry="tied-hidden")
    m = from_layers(relu, tied_bias_layers(relu, 3.0)).requires_grad_(False)
    z = exact[0]
    err = (m(s)[0] - z).abs()
    assert float(err[z > -3].max()) < 1e-12 and float(err[z < -3.5].min()) > 0.4
    with pytest.raises(ValueError, match="tied-hidden"):
        tied_bias_layers(MLPConfig(width=2, activation="quadratic"), 1.0)


@pytest.mark.parametrize("symmetry", ["tied-hidden+odd", "perm-in+tied-hidden+odd"])
@pytest.mark.parametrize("activation, depth", [("relu", 1), ("relu", 2), ("relu", 3), ("quadratic", 1)])
@pytest.mark.parametrize("width", [1, 5])
def test_tied_hidden_odd_is_exact_by_antisymmetrisation(symmetry, activation, depth, width):
    """Antisymmetrising builds the mirror pair in: H equal units already give T_b exactly."""
    cfg = MLPConfig(width=width, depth=depth, activation=activation, symmetry=symmetry,
                    alpha=0.7 if activation == "quadratic" else None)
    layers = exact_layers(cfg)
    assert layers is not None
    m = from_layers(cfg, layers).requires_grad_(False)
    assert m.antisymmetrised
    s = torch.randn(1, 400, 16, dtype=torch.float64, generator=torch.Generator().manual_seed(1)) * 3
    assert torch.allclose(m.rg_step(s), block_map(s, B), atol=1e-12, rtol=0)
    for (W, c), (We, ce) in zip(layers, m.layers()):  # inside the symmetric subspace already
        assert torch.allclose(We[0], W, atol=1e-15) and torch.equal(ce[0], c)


def test_tied_hidden_odd_quadratic_beyond_depth_one_is_not_exact():
    assert exact_layers(MLPConfig(width=4, depth=2, activation="quadratic", symmetry="tied-hidden+odd")) is None
