r"""The GNN message-passing layer of Chapter 4: typed sum aggregation over a lattice graph (eq. G1).

One layer, one file (as torch-geometric's ``nn/conv``). Importing this module imports
torch-geometric.
"""
from __future__ import annotations

from .graphs import import_pyg

_pyg = import_pyg()


class TypedSumAggregation(_pyg.nn.MessagePassing):
    r"""Sum aggregation :math:`m_i = \sum_{j\to i} y_{j,t(j\to i)}` over a lattice graph (eq. G1), for a
    whole ensemble and batch in one call.

    Node-major features ``y`` ``(N_src, F)`` (``F`` = members x lattices x channels, flattened), and
    either an ``edge_index`` ``(2, n_edges)`` (messages gathered edge by edge) or the sparse
    adjacency ``adj_t`` of :func:`rgsym.nets.graphs.sparse_adjacency` (``torch.sparse``, ``(N, N_src)``),
    for which the messages are summed by one matrix product (``message_and_aggregate``, the fused
    path of :class:`torch_geometric.nn.MessagePassing`; the lattice graphs have a handful of nodes, so
    the adjacency is densified, which is faster than a sparse kernel). With edge types the source rows are
    ``N * T``, ordered ``(node, type)``: the edge ``j -> i`` of type ``t`` reads row ``j*T + t``.
    Returns ``(N, F)``.
    """

    def __init__(self):
        super().__init__(aggr="add", node_dim=0)

    def forward(self, y, adj, n_nodes: int | None = None):
        if adj.is_sparse:
            return self.propagate(adj, x=y)
        n_src = y.shape[0]
        return self.propagate(adj, x=(y, None), size=(n_src, n_nodes if n_nodes is not None else n_src))

    def message(self, x_j):
        return x_j

    def message_and_aggregate(self, adj_t, x):
        return adj_t.to_dense() @ x  # the lattice graphs are tiny: a dense product beats sparse kernels
