"""Lattice graphs: edges, edge types, blocks, pooling and coarse graphs, against lattices worked out by hand."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from rgsym.nets.graphs import (EDGE_VARIANTS, adjacency, block_step, coarse_graph, graph_hierarchy, lattice_graph,
                          n_edge_types, n_levels, pool_blocks, pool_matrix)


def edge_set(g, kind=None):
    src, dst = g.edge_index.tolist()
    kinds, types = g.edge_kind.tolist(), g.edge_type.tolist()
    return {(s, d, t) for s, d, k, t in zip(src, dst, kinds, types) if kind is None or k == kind}


def test_block_graph_b2_n4_by_hand():
    g = lattice_graph(4, 2, "block")
    # blocks {0,1}, {2,3}; types: 0->1 is type 0 (p=0 -> q=1), 1->0 is type 1
    assert edge_set(g) == {(0, 1, 0), (1, 0, 1), (2, 3, 0), (3, 2, 1)}
    assert g.block.tolist() == [0, 0, 1, 1] and g.pos.tolist() == [0, 1, 0, 1]
    assert g.num_nodes == 4 and g.n_blocks == 2 and g.n_edge_types == 2
    assert g.edge_kind.tolist() == [0, 0, 0, 0]


def test_block_nn_graph_b2_n8_is_a_ring():
    g = lattice_graph(8, 2, "block+nn")
    intra = {(s, d) for s, d, _ in edge_set(g, kind=0)}
    inter = edge_set(g, kind=1)
    assert intra == {(0, 1), (1, 0), (2, 3), (3, 2), (4, 5), (5, 4), (6, 7), (7, 6)}
    # rightward (type 2): last site of block J -> first site of block J+1 (periodic); leftward type 3
    assert inter == {(1, 2, 2), (3, 4, 2), (5, 6, 2), (7, 0, 2), (2, 1, 3), (4, 3, 3), (6, 5, 3), (0, 7, 3)}
    A = adjacency(g)
    ring = np.roll(np.eye(8), 1, 1) + np.roll(np.eye(8), -1, 1)
    np.testing.assert_array_equal(A.numpy(), ring)


def test_open_boundary_drops_the_wrap_edge():
    g = lattice_graph(6, 2, "block+nn", periodic=False)
    assert {(s, d) for s, d, _ in edge_set(g, kind=1)} == {(1, 2), (2, 1), (3, 4), (4, 3)}


def test_b3_types_by_hand():
    g = lattice_graph(6, 3, "block+nn")
    assert g.n_edge_types == 3 * 2 + 2 == n_edge_types(3, "block+nn")
    e = edge_set(g)
    # intra type p(b-1) + q - [q>p]: 0->1:0, 0->2:1, 1->0:2, 1->2:3, 2->0:4, 2->1:5
    for (p, q), t in {(0, 1): 0, (0, 2): 1, (1, 0): 2, (1, 2): 3, (2, 0): 4, (2, 1): 5}.items():
        assert (p, q, t) in e and (3 + p, 3 + q, t) in e
    assert {(s, d, t) for s, d, t in e if t >= 6} == {(2, 3, 6), (5, 0, 6), (3, 2, 7), (0, 5, 7)}
    assert len(e) == 2 * 6 + 4


def test_single_block_has_no_cross_edges():
    g = lattice_graph(2, 2, "block+nn")
    assert edge_set(g) == {(0, 1, 0), (1, 0, 1)}


def test_per_type_adjacency_sums_to_full():
    g = lattice_graph(9, 3, "block+nn")
    A = adjacency(g)
    At = sum(adjacency(g, edge_type=t) for t in range(g.n_edge_types))
    assert torch.equal(A, At)
    assert torch.equal(A, A.T)  # every edge comes with its reverse
    # in-degree: 2 intra neighbours, plus one cross-block neighbour at the block ends
    assert A.sum(1).tolist() == [3, 2, 3] * 3


def test_pooling_is_the_block_step():
    g = lattice_graph(6, 3, "block")
    P = pool_matrix(6, 3)
    assert P.tolist() == [[1, 1, 1, 0, 0, 0], [0, 0, 0, 1, 1, 1]]
    x = torch.arange(2 * 6 * 2, dtype=torch.float64).reshape(2, 6, 2)
    pooled = pool_blocks(x, g)
    assert torch.equal(pooled, torch.einsum("Ji,bid->bJd", P, x))
    s = torch.tensor([[1.0, 2.0, 3.0, -1.0, 0.5, 4.0]])
    assert torch.allclose(block_step(s, g), torch.tensor([[6.0, 3.5]]) / 3**0.5)


def test_coarse_graph_and_hierarchy():
    g = lattice_graph(8, 2, "block+nn")
    c = coarse_graph(g)
    assert c.num_nodes == 4 and c.edge_variant == "block+nn" and c.b == 2
    levels = graph_hierarchy(27, 3, "block")
    assert [h.num_nodes for h in levels] == [27, 9, 3]
    assert n_levels(16, 2) == 4
    with pytest.raises(ValueError, match="cannot coarse-grain"):
        coarse_graph(lattice_graph(2, 2))
    with pytest.raises(ValueError, match="cannot coarse-grain"):
        coarse_graph(lattice_graph(6, 2))  # 3 coarse sites, not a multiple of 2


@pytest.mark.parametrize("kwargs, match", [
    (dict(n_sites=8, b=1), "block size b must be an integer >= 2"),
    (dict(n_sites=8, b=2.0), "block size b must be an integer >= 2"),
    (dict(n_sites=8, b=True), "block size b must be an integer >= 2"),
    (dict(n_sites=7, b=2), "lattice size N must be a positive integer multiple of b=2"),
    (dict(n_sites=0, b=2), "lattice size N must be a positive integer multiple of b=2"),
    (dict(n_sites="8", b=2), "lattice size N must be a positive integer multiple of b=2"),
    (dict(n_sites=8, b=2, edges="ring"), "valid choices are: 'block', 'block\\+nn'"),
])
def test_bad_graph_parameters_are_rejected(kwargs, match):
    with pytest.raises(ValueError, match=match):
        lattice_graph(**kwargs)


def test_bad_levels_and_types():
    with pytest.raises(ValueError, match="not a power of b=2"):
        n_levels(12, 2)
    with pytest.raises(ValueError, match="edge_type must be in 0..1"):
        adjacency(lattice_graph(4, 2), edge_type=2)
    with pytest.raises(ValueError, match="has 5 nodes"):
        pool_blocks(torch.zeros(5, 1), lattice_graph(4, 2))
    assert EDGE_VARIANTS == ("block", "block+nn")
