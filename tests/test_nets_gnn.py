"""Lattice GNN ensembles: exact symmetry constraints, batching, linear maps, and training with the engine."""
from __future__ import annotations

import math


import pytest
import torch

from rgsym.nets.activations import ACTIVATIONS
from rgsym.nets.gnn import EnsembleGNN
from rgsym.nets.gnn_config import GNN_SYMMETRIES, GNNConfig
from rgsym.nets.typed_aggregation import TypedSumAggregation
from rgsym.nets.graphs import adjacency, lattice_graph

D64 = torch.float64


pytestmark = pytest.mark.usefixtures("one_thread")


def lattices(E, B, N, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(E, B, N, generator=g, dtype=D64)


def test_aggregation_is_the_adjacency_map():
    from rgsym.nets.graphs import sparse_adjacency

    g = lattice_graph(9, 3, "block+nn")
    agg = TypedSumAggregation()
    y = torch.randn(9, 7, dtype=D64)  # node-major (N, F)
    want = adjacency(g) @ y
    assert torch.allclose(agg(y, sparse_adjacency(g).to(D64)), want)
    assert torch.allclose(agg(y, g.edge_index), want)  # the edge-by-edge path gives the same sums
    T = g.n_edge_types
    yt = torch.randn(9, T, 4, dtype=D64)
    ref = sum(adjacency(g, edge_type=t) @ yt[:, t] for t in range(T))
    assert torch.allclose(agg(yt.reshape(9 * T, 4), sparse_adjacency(g, typed=True).to(D64)), ref)
    src = g.edge_index[0] * T + g.edge_type
    assert torch.allclose(agg(yt.reshape(9 * T, 4), torch.stack([src, g.edge_index[1]]), 9), ref)


@pytest.mark.parametrize("activation", ["tanh", "quadratic"])
def test_shared_gnn_is_invariant_under_permutations_inside_blocks(activation):
    m = EnsembleGNN.build(b=3, width=5, depth=3, activation=activation, symmetry="shared", seeds=2, dtype=D64)
    s = lattices(2, 4, 9)
    perm = torch.tensor([2, 0, 1, 4, 3, 5, 8, 7, 6])  # a different permutation inside each block
    assert torch.allclose(m(s[..., perm]), m(s), atol=1e-12)
    zs, hs = m.features(s)
    zp, hp = m.features(s[..., perm])
    assert torch.allclose(hp[-1], hs[-1][:, :, perm], atol=1e-12)  # node features are equivariant
    broken = EnsembleGNN.build(b=3, width=5, depth=3, activation=activation, symmetry="broken", seeds=2, dtype=D64)
    assert (broken(s[..., perm]) - broken(s)).abs().max() > 1e-3  # broken weights see positions


def test_block_nn_gnn_commutes_with_translations_and_shared_with_reflection():
    s = lattices(2, 3, 8)
    for sym in ("shared", "broken"):
        m = EnsembleGNN.build(width=4, depth=3, activation="tanh", symmetry=sym, edges="block+nn", seeds=2, dtype=D64)
        assert torch.allclose(m(torch.roll(s, 2, -1)), torch.roll(m(s), 1, -1), atol=1e-12)
        reflected = m(s.flip(-1)).flip(-1)
        if sym == "shared":
            assert torch.allclose(reflected, m(s), atol=1e-12)
        else:
            assert (reflected - m(s)).abs().max() > 1e-3
    # cross-block edges really carry information: the output of block 0 depends on site 2
    m = EnsembleGNN.build(width=4, depth=1, activation="tanh", edges="block+nn", seeds=1, dtype=D64)
    s2 = s[:1].clone()
    s2[..., 2] += 1.0
    assert (m(s2)[..., 0] - m(s[:1])[..., 0]).abs().min() > 1e-6
    mb = EnsembleGNN.build(width=4, depth=3, activation="tanh", edges="block", seeds=1, dtype=D64)
    assert torch.equal(mb(s2)[..., 0], mb(s[:1])[..., 0])  # block graph: blocks are independent


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("weights", ["shared", "broken"])
def test_odd_gnn_is_odd_exactly(activation, weights):
    m = EnsembleGNN.build(width=6, depth=2, activation=activation, symmetry=f"{weights}+odd",
                          edges="block+nn", seeds=3, dtype=D64)
    s = 2 * lattices(3, 5, 8, seed=1)
    assert torch.allclose(m(-s), -m(s), atol=1e-12)
    eff = m.effective()
    assert all(torch.count_nonzero(c) == 0 for c in eff["bias"]) and torch.count_nonzero(eff["out_bias"]) == 0
    assert m.antisymmetrised == (activation not in ("identity", "tanh"))
    plain = EnsembleGNN.build(width=6, depth=2, activation="quadratic", symmetry=weights, seeds=3, dtype=D64)
    assert (plain(-s) + plain(s)).abs().max() > 1e-3


def test_mixed_ensemble_equals_its_members_built_alone():
    cfgs = [GNNConfig(width=4, depth=2, activation=a, symmetry=sym, edges="block+nn")
            for a, sym in [("tanh", "shared"), ("relu", "broken+odd"), ("quadratic", "broken"), ("tanh", "shared+odd")]]
    seeds = [0, 1, 0, 5]
    ens = EnsembleGNN(cfgs, seeds, dtype=D64)
    s = lattices(4, 6, 8)
    out = ens(s)
    for e, (c, sd) in enumerate(zip(cfgs, seeds)):
        alone = EnsembleGNN(c, [sd], dtype=D64)
        assert torch.allclose(alone(s[e:e + 1]), out[e:e + 1], atol=1e-13)
        assert torch.allclose(ens.member(e)(s[e:e + 1]), out[e:e + 1], atol=1e-13)
    restacked = EnsembleGNN.stack([ens.select([2, 3]), ens.select([0, 1])])
    assert torch.allclose(restacked(s[[2, 3, 0, 1]]), out[[2, 3, 0, 1]], atol=1e-13)


def test_identity_gnn_represents_the_block_map_exactly():
    b = 3
    m = EnsembleGNN.build(b=b, width=2, depth=4, activation="identity", symmetry="shared+odd", seeds=1, dtype=D64)
    with torch.no_grad():
        for k in range(m.depth):
            m.root[k].zero_()
            m.root[k][..., 0, 0] = 1.0
            m.msg[k].zero_()
        m.readout.zero_()
        m.readout[..., 0] = b**-0.5
    s = lattices(1, 5, 27)
    exact = s.reshape(1, 5, 9, 3).sum(-1) / math.sqrt(b)
    assert torch.allclose(m(s), exact, atol=1e-13)
    flow = m.flow(s)
    assert [f.shape[-1] for f in flow] == [9, 3, 1]
    assert torch.allclose(flow[-1], s.sum(-1, keepdim=True) / b**1.5, atol=1e-12)


@pytest.mark.parametrize("sym", GNN_SYMMETRIES)
@pytest.mark.parametrize("edges", ["block", "block+nn"])
def test_linear_maps_reproduce_the_network(sym, edges):
    m = EnsembleGNN.build(width=3, depth=2, activation="quadratic", symmetry=sym, edges=edges, seeds=2, dtype=D64)
    s = lattices(2, 4, 8)
    maps = m.linear_maps(8)
    h = s
    for A, c in maps["layers"]:
        h = m.activation(torch.einsum("eij,ebj->ebi", A, h) + c[:, None])
    P, c_out = maps["readout"]
    g = torch.einsum("eij,ebj->ebi", P, h) + c_out[:, None]
    assert torch.allclose(g, m.network(s), atol=1e-12)
    if not m.antisymmetrised:
        assert torch.allclose(g, m(s), atol=1e-12)


@pytest.mark.parametrize("sym", GNN_SYMMETRIES)
@pytest.mark.parametrize("edges", ["block", "block+nn"])
def test_n_params_is_the_dimension_of_the_symmetric_subspace(sym, edges):
    """The rank of d(effective parameters)/d(raw parameters) counts the free parameters."""
    m = EnsembleGNN.build(b=3, width=2, depth=2, activation="tanh", symmetry=sym, edges=edges, seeds=1, dtype=D64)
    names = ["m." + n for n, _ in m.named_parameters()]
    wrapper = _Effective(m)

    def flat_effective(*values):
        return torch.func.functional_call(wrapper, dict(zip(names, values)), ())

    J = torch.autograd.functional.jacobian(flat_effective, tuple(p.detach() for p in m.parameters()))
    J = torch.cat([j.reshape(j.shape[0], -1) for j in J], 1)
    assert int(torch.linalg.matrix_rank(J)) == m.config.n_params


class _Effective(torch.nn.Module):
    """A GNN's effective parameters, flattened, as a module output (for functional_call)."""

    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self):
        e = self.m.effective()
        return torch.cat([p.reshape(-1) for p in e["root"] + e["msg"] + e["bias"] + [e["readout"], e["out_bias"]]])


def test_training_keeps_constraints_and_learns():
    from rgsym.learn.training import TrainConfig, train_ensemble

    cfgs = [GNNConfig(width=4, depth=2, activation=a, symmetry=sym, edges="block+nn")
            for a, sym in [("tanh", "shared"), ("tanh", "broken"), ("quadratic", "shared+odd")]]
    tc = TrainConfig(steps=60, lr=1e-2, batch_size=32, n_train=128, sites=4, log_points=3)
    runs = []
    for _ in range(2):
        m = EnsembleGNN(cfgs, [0, 0, 1])
        res = train_ensemble(m, ["gaussian", "uniform", "gaussian"], [0, 0, 1], tc, progress=False)
        runs.append(res)
    res = runs[0]
    assert (res.train_loss[:, -1] < 0.5 * res.train_loss[:, 0]).all()
    assert not res.diverged.any()
    assert (runs[0].final_loss == runs[1].final_loss).all()  # same seed, same numbers on the CPU
    m = res.model
    # the shared members' raw parameters stay on the tied subspace (identical positions / edge types)
    for k in range(m.depth):
        for e in (0, 2):
            assert torch.equal(m.msg[k][e], m.msg[k][e, :1].expand_as(m.msg[k][e]))
            assert torch.equal(m.root[k][e], m.root[k][e, :1].expand_as(m.root[k][e]))
        assert (m.msg[k][1, 0] - m.msg[k][1, 1]).abs().max() > 0
    s = lattices(3, 4, 8).float()
    assert torch.allclose(m(-s)[2], -m(s)[2], atol=1e-6)


@pytest.mark.parametrize("kwargs, match", [
    (dict(symmetry="free"), "valid choices are: 'shared', 'broken', 'shared\\+odd', 'broken\\+odd'"),
    (dict(edges="nn"), "valid choices are: 'block', 'block\\+nn'"),
    (dict(activation="sigmoid"), "unknown activation 'sigmoid'"),
    (dict(depth=5), "depth must be an integer in \\[1, 4\\]"),
    (dict(width=0), "width must be an integer in \\[1, 1024\\]"),
    (dict(b=1), "block size b must be an integer in \\[2, 64\\]"),
    (dict(b=65), "block size b must be an integer in \\[2, 64\\]"),
    (dict(activation="tanh", alpha=0.3), "alpha is a parameter of the 'quadratic' activation only"),
])
def test_bad_configs_are_rejected(kwargs, match):
    with pytest.raises(ValueError, match=match):
        GNNConfig(**kwargs)


def test_bad_inputs_are_rejected():
    m = EnsembleGNN.build(seeds=2)
    with pytest.raises(ValueError, match="expected lattices of shape"):
        m(torch.zeros(3, 4, 8))
    with pytest.raises(ValueError, match="multiple of b=2"):
        m(torch.zeros(2, 4, 7))
    with pytest.raises(ValueError, match="share b, width, depth and edges"):
        EnsembleGNN([GNNConfig(width=4), GNNConfig(width=8)], [0, 1])


def test_context_evaluates_small_lattices_inside_rings_of_independent_lattices():
    m = EnsembleGNN.build(width=3, depth=2, activation="tanh", symmetry="broken", edges="block+nn", seeds=2,
                          dtype=D64, context=8)
    blocks = lattices(2, 12, 2)  # 12 single blocks -> 3 rings of 4 blocks
    out = m(blocks)
    rings = m._f(blocks.reshape(2, 3, 8))
    assert torch.allclose(out, rings.reshape(2, 12, 1))
    odd = lattices(2, 5, 2)  # 5 blocks: padded cyclically to 8
    padded = m._f(odd[:, torch.arange(8) % 5].reshape(2, 2, 8)).reshape(2, 8, 1)[:, :5]
    assert torch.allclose(m(odd), padded)
    assert torch.allclose(m(lattices(2, 3, 16)), m._f(lattices(2, 3, 16)))  # big lattices: untouched
    plain = EnsembleGNN.build(width=3, depth=2, activation="tanh", symmetry="broken", edges="block+nn", seeds=2,
                              dtype=D64)
    assert not torch.allclose(plain(blocks), out)  # a lone block has no cross-block neighbours
    with pytest.raises(ValueError, match="multiple of b=2"):
        EnsembleGNN.build(seeds=1, context=5)


@pytest.mark.parametrize("edges", ["block", "block+nn"])
@pytest.mark.parametrize("n_sites", [2, 8])
def test_dense_layers_equal_message_passing(edges, n_sites, monkeypatch):
    """Lattices of at most DENSE_SITES sites go through each layer's block matrix; the same members on the
    message-passing path (DENSE_SITES lowered) give the same outputs, features and gradients."""
    import rgsym.nets.gnn as gnn_mod

    cfgs = [GNNConfig(b=2, width=5, depth=2, activation=a, symmetry=s, edges=edges)
            for a in ("tanh", "quadratic") for s in ("shared", "broken", "broken+odd")]
    s = lattices(len(cfgs), 7, n_sites, seed=3)
    assert n_sites <= gnn_mod.DENSE_SITES

    def run():
        net = EnsembleGNN(cfgs, list(range(len(cfgs))), dtype=D64)
        out, zs, hs = net.network(s, features=True)
        net(s).square().sum().backward()
        return out, zs, hs, [p.grad.clone() for p in net.parameters()]

    dense = run()
    monkeypatch.setattr(gnn_mod, "DENSE_SITES", 0)
    sparse = run()
    torch.testing.assert_close(dense[0], sparse[0], rtol=1e-12, atol=1e-12)
    for a, b in zip(dense[1] + dense[2] + dense[3], sparse[1] + sparse[2] + sparse[3]):
        torch.testing.assert_close(a, b, rtol=1e-11, atol=1e-12)
