r"""Lattice graphs for the GNNs of Chapter 4: sites are nodes, blocks are cliques, pooling is the RG step.

The lattice is a ring of :math:`N` sites :math:`s_0..s_{N-1}` cut into :math:`N/b` blocks of
:math:`b` consecutive sites; site :math:`i` sits in block :math:`J(i)=\lfloor i/b\rfloor` at
position :math:`p(i)=i \bmod b`. Two edge variants (:data:`EDGE_VARIANTS`):

``"block"``
    every ordered pair :math:`(i\to j)`, :math:`i\neq j`, of sites of the same block (a directed
    clique per block, no self-loops: the layers' root weight plays that part).
``"block+nn"``
    the same plus nearest-neighbour edges across block borders, in both directions:
    :math:`(J b + b-1) \leftrightarrow ((J+1)b)`, periodic in :math:`J` by default.

Every edge carries a *kind* (``0`` intra-block, ``1`` inter-block) and a
finer *type* used by the broken-weight GNNs:

* intra-block :math:`p\to q` (:math:`p\ne q`): :math:`t = p(b-1) + q - [q>p]`, so
  :math:`t\in\{0..b(b-1)-1\}`;
* inter-block: :math:`t = b(b-1)` for a message travelling rightwards (from the last site of a
  block to the first of the next) and :math:`b(b-1)+1` leftwards.

Block pooling :math:`P_{J i} = [J(i)=J]` (an :math:`N/b\times N` 0/1 matrix) sums the node
features of each block onto one coarse node; with the factor :math:`b^{-1/2}` it *is* the
block-spin step :math:`s'_J = b^{-1/2}\sum_{i\in J}s_i` (Chapter 1, eq. of :math:`T_b`).
:func:`coarse_graph` returns the lattice graph of the :math:`N/b` coarse sites, on which the
learned step is iterated for the successive-RG measure G3.
"""
from __future__ import annotations

import math
import warnings

import torch

from ..validation import as_int, check_choice

EDGE_VARIANTS = ("block", "block+nn")
"""Edge variants of the lattice graph: intra-block cliques, optionally plus cross-block nearest neighbours."""


def import_pyg():
    """Import :mod:`torch_geometric` with its import-time warnings silenced -- the ``DeprecationWarning``
    about ``torch.jit.script``, and tqdm's "IProgress not found" (torch-geometric imports ``tqdm.auto``,
    which warns in a kernel without ipywidgets) -- so that code running with warnings as errors can use
    it and executed pages carry no warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.filterwarnings("ignore", message="IProgress not found")
        import torch_geometric  # noqa: F401
        import torch_geometric.data  # noqa: F401
        import torch_geometric.nn  # noqa: F401
        import torch_geometric.utils  # noqa: F401
    return torch_geometric


def _block_size(b) -> int:
    return as_int("block size b", b, lo=2)


def check_lattice_size(n_sites, b) -> int:
    """Validate the number of sites :math:`N` of a lattice graph: a positive integer multiple of the
    block size ``b`` (itself an integer ``>= 2``)."""
    b = _block_size(b)
    try:
        n = as_int("lattice size N", n_sites, lo=b)
    except ValueError:
        n = None
    if n is None or n % b:
        raise ValueError(f"lattice size N must be a positive integer multiple of b={b}, got {n_sites!r}")
    return n


def n_levels(n_sites, b) -> int:
    r"""The number of RG steps :math:`L` with :math:`N=b^L`; an error if :math:`N` is not a power of :math:`b`."""
    n = check_lattice_size(n_sites, b)
    L = round(math.log(n, b))
    if b**L != n:
        raise ValueError(f"lattice size N={n} is not a power of b={b}: the flow cannot be iterated down to one site")
    return L


def n_edge_types(b: int, edges: str) -> int:
    """Number of distinct edge types: :math:`b(b-1)` intra-block, plus 2 with ``"block+nn"``."""
    b = _block_size(b)
    check_choice("edge variant", edges, EDGE_VARIANTS)
    return b * (b - 1) + (2 if edges == "block+nn" else 0)


def _intra_type(p: int, q: int, b: int) -> int:
    return p * (b - 1) + q - (q > p)


def lattice_graph(n_sites: int, b: int = 2, edges: str = "block", *, periodic: bool = True):
    r"""The lattice of ``n_sites`` sites as a :class:`torch_geometric.data.Data` graph.

    Attributes (all ``torch.long``): ``edge_index`` (2, E) with row 0 the source :math:`j` and row 1
    the target :math:`i` of the message :math:`j\to i`; ``edge_kind`` (E,) and ``edge_type`` (E,)
    as in the module docstring; ``block`` (N,) :math:`J(i)`; ``pos`` (N,) :math:`p(i)`. Plain
    attributes ``b``, ``edge_variant``, ``periodic``, ``n_blocks`` and ``n_edge_types``.
    Edges are sorted by (target, source).
    """
    b = _block_size(b)
    n = check_lattice_size(n_sites, b)
    check_choice("edge variant", edges, EDGE_VARIANTS)
    if not isinstance(periodic, bool):
        raise ValueError(f"periodic must be True or False, got {periodic!r}")
    pyg = import_pyg()
    n_blocks = n // b
    rows = []  # (src, dst, kind, type)
    for J in range(n_blocks):
        for p in range(b):
            for q in range(b):
                if p != q:
                    rows.append((J * b + p, J * b + q, 0, _intra_type(p, q, b)))
    if edges == "block+nn" and n_blocks > 1:
        right, left = b * (b - 1), b * (b - 1) + 1
        last = n_blocks if periodic else n_blocks - 1
        pairs = set()
        for J in range(last):
            i, j = J * b + b - 1, ((J + 1) % n_blocks) * b
            if (i, j) in pairs:  # two blocks on a ring: both borders are distinct pairs, never repeated
                continue
            pairs.add((i, j))
            rows.append((i, j, 1, right))
            rows.append((j, i, 1, left))
    rows.sort(key=lambda r: (r[1], r[0]))
    t = torch.tensor(rows, dtype=torch.long).reshape(-1, 4)
    sites = torch.arange(n)
    data = pyg.data.Data(
        edge_index=t[:, :2].T.contiguous(),
        edge_kind=t[:, 2].contiguous(),
        edge_type=t[:, 3].contiguous(),
        block=sites // b,
        pos=sites % b,
        num_nodes=n,
    )
    data.b = b
    data.edge_variant = edges
    data.periodic = periodic
    data.n_blocks = n_blocks
    data.n_edge_types = n_edge_types(b, edges)
    return data


def adjacency(graph, *, edge_type: int | None = None, dtype=torch.float64) -> torch.Tensor:
    r"""Dense adjacency :math:`A_{ij} = \#\{\text{edges } j\to i\}` (target row, source column), shape (N, N).

    With ``edge_type`` only the edges of that type count (the per-type adjacency :math:`A^{(t)}`
    of the broken-weight layers). Sum aggregation is the linear map :math:`h \mapsto A h`.
    """
    n = graph.num_nodes
    A = torch.zeros(n, n, dtype=dtype)
    src, dst = graph.edge_index
    if edge_type is not None:
        if not 0 <= int(edge_type) < graph.n_edge_types:
            raise ValueError(f"edge_type must be in 0..{graph.n_edge_types - 1}, got {edge_type!r}")
        keep = graph.edge_type == int(edge_type)
        src, dst = src[keep], dst[keep]
    A.index_put_((dst, src), torch.ones(len(src), dtype=dtype), accumulate=True)
    return A


def sparse_adjacency(graph, *, typed: bool = False) -> torch.Tensor:
    r"""The adjacency as a ``torch.sparse`` COO matrix for fused sum aggregation (float32, coalesced).

    ``typed=False``: :math:`A` ``(N, N)``, :math:`A_{ij}` = number of edges :math:`j\to i`.
    ``typed=True``: ``(N, N T)`` with a one at :math:`(i,\,jT+t)` for every edge :math:`j\to i` of type
    :math:`t`, so that :math:`\sum_{j\to i} y_{j,t(j\to i)}` is the product with the node-major stack
    of the per-type messages :math:`y` ``(N T, F)``.
    """
    n, T = graph.num_nodes, graph.n_edge_types
    src, dst = graph.edge_index
    cols = src * T + graph.edge_type if typed else src
    size = (n, n * T) if typed else (n, n)
    A = torch.sparse_coo_tensor(torch.stack([dst, cols]), torch.ones(len(src)), size, check_invariants=True)
    return A.coalesce()


def pool_matrix(n_sites: int, b: int = 2, *, dtype=torch.float64) -> torch.Tensor:
    r"""Block pooling matrix :math:`P_{Ji}=[\lfloor i/b\rfloor = J]`, shape (N/b, N)."""
    b = _block_size(b)
    n = check_lattice_size(n_sites, b)
    P = torch.zeros(n // b, n, dtype=dtype)
    P[torch.arange(n) // b, torch.arange(n)] = 1
    return P


def pool_blocks(x: torch.Tensor, graph, *, node_dim: int = -2, scale: float | None = None) -> torch.Tensor:
    r"""Sum node features over each block: ``x`` (..., N, ...) -> (..., N/b, ...) along ``node_dim``.

    Uses :func:`torch_geometric.utils.scatter` with the cluster vector ``graph.block``; with
    ``scale`` the sum is multiplied by it (``scale=b**-0.5`` gives the block-spin step).
    """
    pyg = import_pyg()
    if x.shape[node_dim] != graph.num_nodes:
        raise ValueError(f"x has {x.shape[node_dim]} nodes along dim {node_dim}, the graph has {graph.num_nodes}")
    out = pyg.utils.scatter(x, graph.block.to(x.device), dim=node_dim, dim_size=graph.n_blocks, reduce="sum")
    return out if scale is None else out * scale


def block_step(s: torch.Tensor, graph) -> torch.Tensor:
    r"""The exact RG step on the graph: :math:`s'_J = b^{-1/2}\sum_{i\in J}s_i`, ``s`` (..., N) -> (..., N/b)."""
    return pool_blocks(s.unsqueeze(-1), graph, node_dim=-2, scale=graph.b**-0.5).squeeze(-1)


def coarse_graph(graph):
    r"""The lattice graph of the :math:`N/b` coarse sites (same ``b``, edge variant, boundary).

    It is the graph the next RG step acts on: G3 iterates the learned step on it. An error when
    :math:`N/b` is no longer a multiple of :math:`b` (one coarse site left, or a lattice size
    that is not a power of :math:`b`).
    """
    n_coarse = graph.num_nodes // graph.b
    if n_coarse < graph.b or n_coarse % graph.b:
        raise ValueError(
            f"cannot coarse-grain further: {graph.num_nodes} sites with b={graph.b} leave {n_coarse} coarse "
            f"site(s), not a positive multiple of b"
        )
    return lattice_graph(n_coarse, graph.b, graph.edge_variant, periodic=graph.periodic)


def graph_hierarchy(n_sites: int, b: int = 2, edges: str = "block", *, periodic: bool = True) -> list:
    r"""The graphs of levels :math:`N, N/b, \dots, b` sites (length :math:`L` for :math:`N=b^L`)."""
    L = n_levels(n_sites, b)
    out = [lattice_graph(n_sites, b, edges, periodic=periodic)]
    for _ in range(L - 1):
        out.append(coarse_graph(out[-1]))
    return out
