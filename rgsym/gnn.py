r"""Ensembles of message-passing GNNs that learn the block-spin step on the lattice graph (Chapter 4).

Notation (Chapter 4, SCIENCE.md §5). The lattice graph of :mod:`rgsym.graphs` has sites :math:`i`
with block :math:`J(i)` and position :math:`p(i)` in it, and typed edges :math:`j\to i` of type
:math:`t(j\to i)`. A GNN of depth :math:`D` and width :math:`H` carries node features
:math:`h_i^{(k)}\in\mathbb R^{d_k}` (:math:`d_0=1`, :math:`d_k=H`), starting from
:math:`h_i^{(0)}=s_i`:

.. math::
   :label: gnn-layer

   z_i^{(k)} = R^{(k)}_{p(i)}\,h_i^{(k-1)} + \sum_{j\to i} M^{(k)}_{t(j\to i)}\,h_j^{(k-1)} + c^{(k)}_{p(i)},
   \qquad h_i^{(k)} = \phi\big(z_i^{(k)}\big),\qquad k=1..D

(eq. G1: a sum-aggregation message-passing layer, root weight :math:`R`, message weight :math:`M`),
and the readout pools each block onto its coarse node,

.. math:: g_J(s) = \sum_{i\in J} a_{p(i)}\cdot h_i^{(D)} + c_{\rm out}   \qquad\text{(eq. G2)}

so that the model maps a lattice of :math:`N` sites to one of :math:`N/b`: one learned RG step.

**Symmetries** (:data:`GNN_SYMMETRIES`), built into the parameterisation exactly as for the MLPs of
:mod:`rgsym.models` (raw parameters projected onto the symmetric subspace in every forward pass):

* ``shared``: the standard permutation-equivariant GNN: one root weight, one bias, one readout
  vector for every position, and one message weight :math:`M` for every edge (``R_p = R``,
  ``M_t = M``, ``c_p = c``, ``a_p = a``). The model commutes with every automorphism of the graph
  (permutations inside a block for ``"block"``; block translations and the reflection of the
  ring for ``"block+nn"``).
* ``broken``: root weights, biases and readout depend on the position :math:`p` in the block and
  message weights on the edge type :math:`t` (a relational GNN); this breaks the permutation
  symmetry of the block.
* ``+odd``: no biases at all (:math:`c^{(k)}=0`, :math:`c_{\rm out}=0`), and where :math:`\phi` is
  not odd the model is antisymmetrised, :math:`f(s)=[g(s)-g(-s)]/2`, so :math:`f(-s)=-f(s)` exactly.

Aggregation is a :class:`torch_geometric.nn.MessagePassing` subclass (:class:`TypedSumAggregation`,
``aggr="add"``): the transformed messages of all ``E`` members and ``B`` lattices are laid out
node-major, ``(N, E B d)``, and summed over the one lattice graph they share in a single call
(fused ``message_and_aggregate`` with the adjacency of :func:`rgsym.graphs.sparse_adjacency`).
Members of one :class:`EnsembleGNN` share ``b``, ``width``, ``depth`` and the edge variant and may
differ in activation and symmetry; each member's initial weights depend only on
``(b, width, depth, edges, seed)``.

The second half of the module holds Chapter 4's machinery around the models: cached sweeps
(:class:`GNNSweepSpec`, :func:`run_gnn_sweep`, trained by :func:`rgsym.training.train_ensemble`
and measured by :func:`rgsym.measures.evaluate`), the chapter's grids (:func:`chapter4_specs`) and
the comparisons (:func:`family_comparison`, :func:`family_verdict`, :func:`capacity_optimum`,
:func:`constraint_errors`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Iterable, Sequence

import torch
from torch import nn

from .activations import ACTIVATIONS, DEFAULT_ALPHA, Activation, get_activation
from .config import check_choice, check_int
from .graphs import (EDGE_VARIANTS, adjacency, check_block_size, check_lattice_size, import_pyg,
                     lattice_graph, n_edge_types, sparse_adjacency)

GNN_SYMMETRIES = ("shared", "broken", "shared+odd", "broken+odd")
"""Weight-symmetry variants of the GNNs, from the standard equivariant GNN to broken and odd ones."""

GNN_WEIGHTS = ("shared", "broken")
"""The weight-sharing part of a symmetry name."""

MAX_GNN_DEPTH = 4


def _runs(values: Sequence) -> list[tuple[int, int, object]]:
    """Maximal runs of equal consecutive values as ``(start, stop, value)``."""
    runs, start = [], 0
    for i in range(1, len(values) + 1):
        if i == len(values) or values[i] != values[start]:
            runs.append((start, i, values[start]))
            start = i
    return runs


def _stable_seed(*parts) -> int:
    from .models import stable_seed

    return stable_seed(*parts)


@dataclass(frozen=True)
class GNNConfig:
    r"""Architecture of one lattice GNN (eqs. G1-G2).

    ``width`` :math:`H\in[1, 1024]`, ``depth`` :math:`D\in[1, 4]` message-passing layers, ``edges``
    one of :data:`~rgsym.graphs.EDGE_VARIANTS`, ``symmetry`` one of :data:`GNN_SYMMETRIES`;
    ``alpha`` is used by the quadratic activation only.
    """

    b: int = 2
    width: int = 8
    depth: int = 1
    activation: str = "tanh"
    symmetry: str = "shared"
    edges: str = "block"
    alpha: float | None = None

    def __post_init__(self):
        check_block_size(self.b)
        for name, lo, hi in (("b", 2, 64), ("width", 1, 1024), ("depth", 1, MAX_GNN_DEPTH)):
            check_int(name, getattr(self, name), lo, hi)
        check_choice("GNN symmetry", self.symmetry, GNN_SYMMETRIES)
        check_choice("edge variant", self.edges, EDGE_VARIANTS)
        object.__setattr__(self, "alpha", get_activation(self.activation, self.alpha).alpha)

    @property
    def act(self) -> Activation:
        return get_activation(self.activation, self.alpha if self.activation == "quadratic" else None)

    @property
    def weights(self) -> str:
        """``'shared'`` or ``'broken'``."""
        return self.symmetry.split("+")[0]

    @property
    def odd(self) -> bool:
        return self.symmetry.endswith("+odd")

    @property
    def antisymmetrised(self) -> bool:
        """True when the member is odd by antisymmetrisation :math:`f(s)=[g(s)-g(-s)]/2`."""
        return self.odd and not self.act.is_odd

    @property
    def n_edge_types(self) -> int:
        return n_edge_types(self.b, self.edges)

    @property
    def dims(self) -> list[int]:
        return [1] + [self.width] * self.depth

    @property
    def n_params(self) -> int:
        """Number of independent parameters under the symmetry constraints."""
        P = 1 if self.weights == "shared" else self.b
        T = 1 if self.weights == "shared" else self.n_edge_types
        d = self.dims
        n = sum((P + T) * d[k + 1] * d[k] for k in range(self.depth)) + P * self.width
        if not self.odd:
            n += sum(P * d[k + 1] for k in range(self.depth)) + 1
        return n

    @property
    def size_label(self) -> str:
        return f"{self.depth}x{self.width}"

    @property
    def label(self) -> str:
        return f"GNN {self.symmetry} {self.edges} {self.act.label} {self.size_label}"

    def key(self) -> dict:
        """The configuration as plain data (for hashing and tables)."""
        return {"model": "gnn", "b": self.b, "width": self.width, "depth": self.depth,
                "activation": self.activation, "alpha": self.alpha, "symmetry": self.symmetry,
                "edges": self.edges}

    def replace(self, **changes) -> "GNNConfig":
        return replace(self, **changes)


_pyg = import_pyg()


class TypedSumAggregation(_pyg.nn.MessagePassing):
    r"""Sum aggregation :math:`m_i = \sum_{j\to i} y_{j,t(j\to i)}` over a lattice graph (eq. G1), for a
    whole ensemble and batch in one call.

    Node-major features ``y`` ``(N_src, F)`` (``F`` = members x lattices x channels, flattened), and
    either an ``edge_index`` ``(2, n_edges)`` (messages gathered edge by edge) or the sparse
    adjacency ``adj_t`` of :func:`rgsym.graphs.sparse_adjacency` (``torch.sparse``, ``(N, N_src)``),
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


class EnsembleGNN(nn.Module):
    r"""``E`` lattice GNNs (eqs. G1-G2) with stacked weights: lattices ``s`` ``(E, B, N)`` -> ``(E, B, N/b)``.

    Parameters
    ----------
    configs : a :class:`GNNConfig` shared by all members, or one per member (sharing ``b``,
        ``width``, ``depth`` and ``edges``).
    seeds : one integer per member (or an int ``E`` meaning seeds ``0..E-1``).

    Raw parameters, per layer ``k``: ``root[k]`` ``(E, b, d_k, d_{k-1})``, ``msg[k]``
    ``(E, T, d_k, d_{k-1})``, ``bias[k]`` ``(E, b, d_k)``; readout ``readout`` ``(E, b, H)`` and
    ``out_bias`` ``(E, 1)``. :meth:`layers` returns the effective ones (symmetries applied). The
    lattice graph is built for whatever ``N`` comes in (a multiple of ``b``), so the same model
    iterates down the coarse lattices (:meth:`flow`).

    ``context`` (optional, a multiple of ``b``): the lattice size the model was trained on. A batch
    of smaller lattices (the single blocks of the measures G1/G2, the last levels of a flow) is then
    evaluated in rings of ``context`` sites made of consecutive lattices of the batch, which are
    independent draws (the batch is padded cyclically when ``B N`` is not a multiple of ``context``).
    Without cross-block edges this changes nothing; with them it gives every block the neighbours it
    was trained with.
    """

    def __init__(self, configs: GNNConfig | Sequence[GNNConfig], seeds: Sequence[int] | int, *,
                 dtype: torch.dtype = torch.float32, device=None, context: int | None = None, _raw=None):
        super().__init__()
        if isinstance(seeds, int) and not isinstance(seeds, bool):
            seeds = range(seeds)
        seeds = tuple(int(s) for s in seeds)
        if isinstance(configs, GNNConfig):
            configs = (configs,) * len(seeds)
        configs = tuple(configs)
        if not configs or len(configs) != len(seeds):
            raise ValueError(f"need one config per seed and at least one member, got {len(configs)} configs "
                             f"and {len(seeds)} seeds")
        for c in configs:
            if not isinstance(c, GNNConfig):
                raise TypeError(f"configs must be GNNConfig, got {type(c).__name__}")
        c0 = configs[0]
        shape = lambda c: (c.b, c.width, c.depth, c.edges)  # noqa: E731
        for c in configs:
            if shape(c) != shape(c0):
                raise ValueError("all members of a GNN ensemble must share b, width, depth and edges; got "
                                 f"{shape(c0)} and {shape(c)}")
        self.configs, self.seeds = configs, seeds
        self.b, self.width, self.depth, self.edges = c0.b, c0.width, c0.depth, c0.edges
        self.n_types = c0.n_edge_types
        self.n_members = len(configs)
        self.dims = c0.dims
        self._act_runs = _runs([c.act for c in configs])
        shared = torch.tensor([c.weights == "shared" for c in configs])
        odd = torch.tensor([c.odd for c in configs])
        anti = torch.tensor([c.antisymmetrised for c in configs])
        for name, m in (("shared_mask", shared), ("odd_mask", odd), ("anti_mask", anti)):
            self.register_buffer(name, m.to(device), persistent=False)
        self._mode = {name: ("none" if not bool(m.any()) else "all" if bool(m.all()) else "some")
                      for name, m in (("shared", shared), ("odd", odd), ("anti", anti))}
        raw = self._init_raw() if _raw is None else _raw
        P = lambda t: nn.Parameter(t.to(device=device, dtype=dtype))  # noqa: E731
        self.root = nn.ParameterList([P(t) for t in raw["root"]])
        self.msg = nn.ParameterList([P(t) for t in raw["msg"]])
        self.bias = nn.ParameterList([P(t) for t in raw["bias"]])
        self.readout = P(raw["readout"])
        self.out_bias = P(raw["out_bias"])
        if _raw is None:
            with torch.no_grad():  # start inside the symmetric subspace
                eff = self.effective()
                for k in range(self.depth):
                    self.root[k].copy_(eff["root"][k])
                    self.msg[k].copy_(eff["msg"][k])
                    self.bias[k].copy_(eff["bias"][k])
                self.readout.copy_(eff["readout"])
                self.out_bias.copy_(eff["out_bias"])
        self.aggregate = TypedSumAggregation()
        self._graphs: dict = {}
        self.context = None if context is None else check_lattice_size(context, self.b)

    # -- construction ------------------------------------------------------------------------
    def _init_raw(self) -> dict:
        r"""Per-member uniform init in float64, from a generator seeded by the architecture and seed only.

        Layer ``k``: bound :math:`1/\sqrt{d_{k-1}(1+\deg)}` with :math:`\deg` the in-degree of a site
        (:math:`b-1`, plus 1 with cross-block edges); readout :math:`1/\sqrt{bH}`. Shared members
        copy position 0 / type 0 onto all positions / types, so they are distributed like a broken
        member's single weight.
        """
        b, T, d = self.b, self.n_types, self.dims
        deg = b - 1 + (1 if self.edges == "block+nn" else 0)
        out = {"root": [[] for _ in range(self.depth)], "msg": [[] for _ in range(self.depth)],
               "bias": [[] for _ in range(self.depth)], "readout": [], "out_bias": []}
        for seed, cfg in zip(self.seeds, self.configs):
            g = torch.Generator().manual_seed(_stable_seed("gnn-init", b, self.width, self.depth, self.edges, seed))
            U = lambda *shape, bound: (torch.rand(*shape, generator=g, dtype=torch.float64) * 2 - 1) * bound  # noqa: E731
            for k in range(self.depth):
                bound = 1.0 / math.sqrt(d[k] * (1 + deg))
                out["root"][k].append(U(b, d[k + 1], d[k], bound=bound))
                out["msg"][k].append(U(T, d[k + 1], d[k], bound=bound))
                out["bias"][k].append(U(b, d[k + 1], bound=bound))
            bound = 1.0 / math.sqrt(b * self.width)
            out["readout"].append(U(b, self.width, bound=bound))
            out["out_bias"].append(U(1, bound=bound))
            if cfg.weights == "shared":
                for k in range(self.depth):
                    for key in ("root", "msg", "bias"):
                        t = out[key][k][-1]
                        out[key][k][-1] = t[:1].expand_as(t).clone()
                out["readout"][-1] = out["readout"][-1][:1].expand(b, self.width).clone()
        return {key: ([torch.stack(v) for v in val] if key in ("root", "msg", "bias") else torch.stack(val))
                for key, val in out.items()}

    @classmethod
    def build(cls, *, seeds: Sequence[int] | int = 1, dtype=torch.float32, device=None, context: int | None = None,
              **config) -> "EnsembleGNN":
        """Shortcut: ``EnsembleGNN.build(width=8, depth=2, symmetry='broken', seeds=4)``."""
        return cls(GNNConfig(**config), seeds, dtype=dtype, device=device, context=context)

    def raw(self) -> dict:
        """Detached copies of the raw parameters (the ``_raw`` argument of the constructor)."""
        return {"root": [p.detach().clone() for p in self.root], "msg": [p.detach().clone() for p in self.msg],
                "bias": [p.detach().clone() for p in self.bias], "readout": self.readout.detach().clone(),
                "out_bias": self.out_bias.detach().clone()}

    def select(self, indices: Iterable[int]) -> "EnsembleGNN":
        """A new ensemble holding copies of the members ``indices`` (trained weights included)."""
        idx = [int(i) for i in indices]
        if not idx:
            raise ValueError("select needs at least one member index")
        for i in idx:
            if not -self.n_members <= i < self.n_members:
                raise IndexError(f"member index {i} out of range for an ensemble of {self.n_members}")
        t = torch.tensor(idx, device=self.readout.device)
        raw = self.raw()
        raw = {k: ([x[t] for x in v] if isinstance(v, list) else v[t]) for k, v in raw.items()}
        return type(self)([self.configs[i] for i in idx], [self.seeds[i] for i in idx],
                          dtype=self.readout.dtype, device=self.readout.device, context=self.context, _raw=raw)

    def member(self, i: int) -> "EnsembleGNN":
        """Member ``i`` as an ensemble of one."""
        return self.select([i])

    @classmethod
    def stack(cls, models: Sequence["EnsembleGNN"]) -> "EnsembleGNN":
        """One ensemble from the members of several (sharing ``b``, ``width``, ``depth``, ``edges``, dtype)."""
        models = list(models)
        if not models:
            raise ValueError("stack needs at least one ensemble")
        p = models[0].readout
        raws = [m.raw() for m in models]
        for m in models:
            if m.readout.dtype != p.dtype or m.context != models[0].context:
                raise ValueError("stacked ensembles must share the dtype and the context")
        raw = {k: ([torch.cat([r[k][j].to(p.device) for r in raws]) for j in range(len(raws[0][k]))]
                   if isinstance(raws[0][k], list) else torch.cat([r[k].to(p.device) for r in raws]))
               for k in raws[0]}
        return cls([c for m in models for c in m.configs], [s for m in models for s in m.seeds],
                   dtype=p.dtype, device=p.device, context=models[0].context, _raw=raw)

    def to(self, *args, **kwargs):
        self._graphs = {}
        return super().to(*args, **kwargs)

    # -- facts -------------------------------------------------------------------------------
    def _uniform(self, values, what):
        values = list(values)
        if any(v != values[0] for v in values):
            raise ValueError(f"the members of this ensemble differ in {what}; use .member(i)")
        return values[0]

    @property
    def config(self) -> GNNConfig:
        """The members' shared configuration (an error if members differ)."""
        return self._uniform(self.configs, "configs")

    @property
    def activation(self) -> Activation:
        return self._uniform([c.act for c in self.configs], "activations")

    @property
    def antisymmetrised(self) -> bool:
        return self._uniform([c.antisymmetrised for c in self.configs], "antisymmetrised")

    # -- the maths ---------------------------------------------------------------------------
    def _where(self, mode: str, mask: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        if mode == "all":
            return a
        if mode == "none":
            return b
        return torch.where(mask.view(-1, *([1] * (a.dim() - 1))), a, b)

    def effective(self) -> dict:
        r"""Effective parameters (symmetries applied), same shapes as the raw ones: shared members
        averaged over positions / edge types, odd members with zero biases."""
        sm, om = self._mode["shared"], self._mode["odd"]

        def tie(x):  # mean over the position / type axis (axis 1)
            return self._where(sm, self.shared_mask, x.mean(1, keepdim=True).expand_as(x), x) if sm != "none" else x

        def zero(x):
            return self._where(om, self.odd_mask, torch.zeros_like(x), x) if om != "none" else x

        return {"root": [tie(w) for w in self.root], "msg": [tie(w) for w in self.msg],
                "bias": [zero(tie(c)) for c in self.bias], "readout": tie(self.readout),
                "out_bias": zero(self.out_bias)}

    def _act(self, z: torch.Tensor) -> torch.Tensor:
        if len(self._act_runs) == 1:
            return self._act_runs[0][2](z)
        return torch.cat([act(z[a:b]) for a, b, act in self._act_runs])

    def graph(self, n_sites: int, device=None, dtype=None):
        """The lattice graph of ``n_sites`` sites in this model's edge variant and its sparse adjacencies,
        untyped ``(N, N)`` and typed ``(N, N T)`` (cached per size, device and dtype)."""
        n = check_lattice_size(n_sites, self.b)
        device = torch.device(device) if device is not None else self.readout.device
        dtype = dtype or self.readout.dtype
        key = (n, str(device), dtype)
        if key not in self._graphs:
            g = lattice_graph(n, self.b, self.edges)
            self._graphs[key] = (g, sparse_adjacency(g, typed=False).to(device=device, dtype=dtype),
                                 sparse_adjacency(g, typed=True).to(device=device, dtype=dtype))
        return self._graphs[key]

    def _check(self, s: torch.Tensor) -> None:
        if s.dim() != 3 or s.shape[0] != self.n_members:
            raise ValueError(f"expected lattices of shape (E={self.n_members}, B, N), got {tuple(s.shape)}")
        check_lattice_size(s.shape[-1], self.b)

    def network(self, s: torch.Tensor, eff: dict | None = None, *, features: bool = False):
        r"""The plain network :math:`g` (eqs. G1-G2, no antisymmetrisation): ``(E, B, N) -> (E, B, N/b)``.

        Node features are ``(E, B, N, d)``; for the aggregation the transformed messages are laid out
        node-major, ``(N, E B d)``, so that one sparse product serves all members and lattices. With
        ``features=True`` it also returns the lists of pre-activations :math:`z^{(k)}` and node
        features :math:`h^{(k)}`, each ``(E, B, N, d)`` (``h^{(0)} = s`` first).
        """
        eff = self.effective() if eff is None else eff
        E, B, N = s.shape
        b, K, T = self.b, N // self.b, self.n_types
        _, adj, adj_typed = self.graph(N, s.device, s.dtype)
        h = s.unsqueeze(-1)
        zs, hs = [], [h]
        shared = self._mode["shared"] == "all"
        for k in range(self.depth):
            R, M, c = eff["root"][k], eff["msg"][k], eff["bias"][k]
            d_in, d_out = h.shape[-1], R.shape[-2]
            if shared:  # one root weight and bias: plain batched matmuls
                z = torch.baddbmm(c[:, :1], h.reshape(E, B * N, d_in), R[:, 0].transpose(1, 2)).reshape(E, B, N, d_out)
                y = torch.bmm(h.reshape(E, B * N, d_in), M[:, 0].transpose(1, 2)).reshape(E, B, N, d_out)
                y = y.permute(2, 0, 1, 3).reshape(N, E * B * d_out)
                agg = self.aggregate(y, adj)
            else:
                z = torch.einsum("ebkpi,epoi->ebkpo", h.reshape(E, B, K, b, d_in), R) + c[:, None, None]
                z = z.reshape(E, B, N, d_out)
                y = torch.einsum("ebni,etoi->nteb" + "o", h, M).reshape(N * T, E * B * d_out)
                agg = self.aggregate(y, adj_typed)
            z = z + agg.reshape(N, E, B, d_out).permute(1, 2, 0, 3)
            h = self._act(z)
            zs.append(z)
            hs.append(h)
        out = torch.einsum("ebkpd,epd->ebk", h.reshape(E, B, K, b, -1), eff["readout"]) + eff["out_bias"][:, :, None]
        return (out, zs, hs) if features else out

    def forward(self, s: torch.Tensor) -> torch.Tensor:
        r"""One learned RG step of every member: ``s`` ``(E, B, N)`` -> :math:`f(s)` ``(E, B, N/b)``
        (small lattices are evaluated inside rings of :attr:`context` sites, see the class docstring)."""
        self._check(s)
        E, B, N = s.shape
        ctx = self.context
        if ctx is None or N >= ctx or ctx % N:
            return self._f(s)
        per = ctx // N  # lattices per ring
        pad = (-B) % per
        x = s[:, torch.arange(B + pad, device=s.device) % B] if pad else s
        out = self._f(x.reshape(E, (B + pad) // per, ctx))
        return out.reshape(E, B + pad, N // self.b)[:, :B]

    def _f(self, s: torch.Tensor) -> torch.Tensor:
        eff = self.effective()
        g = self.network(s, eff)
        if self._mode["anti"] == "none":
            return g
        anti = 0.5 * (g - self.network(-s, eff))
        return self._where(self._mode["anti"], self.anti_mask, anti, g)

    def rg_step(self, s: torch.Tensor) -> torch.Tensor:
        """Same as :meth:`forward`: ``(E, B, N) -> (E, B, N/b)``."""
        return self(s)

    def features(self, s: torch.Tensor):
        r"""Pre-activations and node features of the plain network :math:`g` layer by layer:
        ``(zs, hs)`` with ``zs[k-1]`` = :math:`z^{(k)}` and ``hs[k]`` = :math:`h^{(k)}`, each ``(E, B, N, H)``."""
        self._check(s)
        _, zs, hs = self.network(s, features=True)
        return zs, hs

    def flow(self, s: torch.Tensor, steps: int | None = None) -> list[torch.Tensor]:
        """The learned flow ``[s^(1), ..., s^(steps)]`` (default: down to one site)."""
        from .models import flow

        return flow(self, s, steps)

    # -- the layers as linear maps (for cumulant propagation, Chapter 5) ---------------------------
    def linear_maps(self, n_sites: int, *, dtype=torch.float64) -> dict:
        r"""Every affine part of :math:`g` on a lattice of ``n_sites`` sites as dense matrices.

        Node features are flattened node-major, index :math:`i\,d+\mu`. Returns
        ``{"layers": [(A_k, c_k)], "readout": (P, c_out)}`` with

        * :math:`A_k = \sum_p D_p\otimes R^{(k)}_p + \sum_t A^{(t)}\otimes M^{(k)}_t`, ``(E, N d_k, N d_{k-1})``
          (:math:`D_p` the diagonal projector on position :math:`p`, :math:`A^{(t)}` the type-:math:`t`
          adjacency: sum aggregation is a linear map, eq. G1), and ``c_k`` ``(E, N d_k)``;
        * :math:`P_{J,(i,\mu)} = [J(i)=J]\,a_{p(i),\mu}`, ``(E, N/b, N H)``, ``c_out`` ``(E, N/b)`` (eq. G2).
        """
        n = check_lattice_size(n_sites, self.b)
        g = lattice_graph(n, self.b, self.edges)
        eff = {k: ([x.detach().cpu().to(dtype) for x in v] if isinstance(v, list) else v.detach().cpu().to(dtype))
               for k, v in self.effective().items()}
        E = self.n_members
        D = torch.stack([torch.diag((g.pos == p).to(dtype)) for p in range(self.b)])
        A = torch.stack([adjacency(g, edge_type=t, dtype=dtype) for t in range(self.n_types)])
        layers = []
        for k in range(self.depth):
            R, M, c = eff["root"][k], eff["msg"][k], eff["bias"][k]
            do, di = R.shape[-2:]
            W = torch.einsum("pij,epoc->eiojc", D, R) + torch.einsum("tij,etoc->eiojc", A, M)
            layers.append((W.reshape(E, n * do, n * di), c[:, g.pos].reshape(E, n * do)))
        onehot = torch.zeros(n // self.b, n, dtype=dtype)
        onehot[g.block, torch.arange(n)] = 1
        P = torch.einsum("Ji,eim->eJim", onehot, eff["readout"][:, g.pos]).reshape(E, n // self.b, n * self.width)
        c_out = eff["out_bias"].expand(E, n // self.b).clone()
        return {"layers": layers, "readout": (P, c_out)}

    def extra_repr(self) -> str:
        kinds = sorted({(c.activation, c.symmetry) for c in self.configs})
        return (f"E={self.n_members}, b={self.b}, dims={self.dims}, edges={self.edges!r}, "
                f"members={kinds[:4]}{'...' if len(kinds) > 4 else ''}")


# ================================================================================================
# Sweeps: grids of GNNs trained with the engine of Chapter 2, measured (G1-G3) and cached
# ================================================================================================
GNN_NAMESPACE = "gnn-sweeps"
MERGE_COST = 2**15
"""Above this many (members x batch x depth x width^2) a group of equal shapes is split into ensembles of
equal weight sharing and antisymmetrisation (see :meth:`GNNSweepSpec.chunks`)."""
GNN_SOURCE_MODULES = ("graphs", "gnn")
"""rgsym modules, besides :data:`rgsym.cache.SCIENCE_MODULES`, whose source decides a GNN sweep."""


@dataclass(frozen=True)
class GNNMember:
    """One GNN of a sweep: architecture, task (training law) and seed."""

    config: GNNConfig
    task: str
    seed: int

    def key(self) -> dict:
        return {**self.config.key(), "task": self.task, "seed": self.seed}


def _default_train():
    from .training import TrainConfig

    return TrainConfig()


def _default_measures():
    from .measures import MeasureConfig

    return MeasureConfig()


@dataclass(frozen=True)
class GNNSweepSpec:
    r"""A grid of lattice GNNs and how to train and measure them (the GNN twin of
    :class:`rgsym.sweeps.SweepSpec`).

    Every combination of ``symmetries`` x ``edges`` x ``activations`` x ``sizes`` (``(depth, width)``)
    x ``tasks`` x ``seeds`` is one member. ``train`` and ``measures`` are the engine's settings;
    ``"block"`` GNNs train on single blocks (as the MLPs do), ``"block+nn"`` GNNs on rings of
    ``context_blocks`` blocks, with ``batch_size`` and ``n_train`` divided by ``context_blocks`` so that
    every step sees the same number of blocks and the training set holds the same number of blocks
    (:meth:`train_config`): the same budget as the MLPs, counted in blocks.
    """

    symmetries: tuple = GNN_SYMMETRIES
    edges: tuple = EDGE_VARIANTS
    activations: tuple = ("quadratic", "tanh", "relu")
    sizes: tuple = ((1, 2), (2, 16))
    tasks: tuple = ("gaussian", "uniform")
    seeds: tuple = (0, 1)
    b: int = 2
    alpha: float = DEFAULT_ALPHA
    context_blocks: int = 2
    train: object = field(default_factory=_default_train)
    measures: object = field(default_factory=_default_measures)
    chunk_size: int = 512

    def __post_init__(self):
        from .distributions import LAWS
        from .measures import MeasureConfig
        from .training import TrainConfig

        for name, valid, what in (("symmetries", GNN_SYMMETRIES, "GNN symmetry"), ("edges", EDGE_VARIANTS, "edge variant"),
                                  ("activations", ACTIVATIONS, "activation"), ("tasks", LAWS, "task (base law)")):
            vals = tuple(getattr(self, name))
            if not vals:
                raise ValueError(f"{name} must not be empty")
            for v in vals:
                check_choice(what, v, valid)
            if len(set(vals)) != len(vals):
                raise ValueError(f"{name} has repeated entries: {vals!r}")
            object.__setattr__(self, name, vals)
        sizes = tuple(tuple(int(x) for x in sz) for sz in self.sizes)
        for sz in sizes:
            if len(sz) != 2 or not 1 <= sz[0] <= MAX_GNN_DEPTH or sz[1] < 1:
                raise ValueError(f"sizes must be (depth, width) pairs with depth in 1..{MAX_GNN_DEPTH}, width >= 1; got {sz!r}")
        object.__setattr__(self, "sizes", sizes)
        seeds = tuple(int(x) for x in self.seeds)
        if not seeds or len(set(seeds)) != len(seeds):
            raise ValueError(f"seeds must be distinct integers, got {self.seeds!r}")
        object.__setattr__(self, "seeds", seeds)
        check_block_size(self.b)
        cb = self.context_blocks
        if isinstance(cb, bool) or not isinstance(cb, int) or cb < 2:
            raise ValueError(f"context_blocks must be an integer >= 2 (cross-block edges need two blocks), got {cb!r}")
        if not isinstance(self.train, TrainConfig) or not isinstance(self.measures, MeasureConfig):
            raise TypeError("train must be a rgsym.training.TrainConfig and measures a rgsym.measures.MeasureConfig")
        if "block+nn" in self.edges and (self.train.batch_size % cb or self.train.n_train % cb):
            raise ValueError(f"batch_size ({self.train.batch_size}) and n_train ({self.train.n_train}) must be "
                             f"multiples of context_blocks={cb} to keep the block budget of the 'block+nn' GNNs")
        if not isinstance(self.chunk_size, int) or self.chunk_size < 1:
            raise ValueError(f"chunk_size must be a positive integer, got {self.chunk_size!r}")
        GNNConfig(b=self.b, activation="quadratic", alpha=self.alpha)

    def replace(self, **changes) -> "GNNSweepSpec":
        return replace(self, **changes)

    def context(self, edges: str) -> int:
        """Sites of a training lattice: ``b`` for ``"block"``, ``context_blocks * b`` for ``"block+nn"``."""
        check_choice("edge variant", edges, EDGE_VARIANTS)
        return self.b if edges == "block" else self.context_blocks * self.b

    def train_config(self, edges: str):
        """The engine's :class:`~rgsym.training.TrainConfig` for GNNs with these edges (see the class docstring)."""
        k = self.context(edges) // self.b
        return replace(self.train, sites=self.context(edges), batch_size=self.train.batch_size // k,
                       n_train=self.train.n_train // k)

    def config(self, depth: int, width: int, activation: str, symmetry: str, edges: str) -> GNNConfig:
        return GNNConfig(b=self.b, width=width, depth=depth, activation=activation, symmetry=symmetry, edges=edges,
                         alpha=self.alpha if activation == "quadratic" else None)

    def members(self) -> list[GNNMember]:
        """All members, in the sweep's order (size, activation, symmetry, edges, task, seed)."""
        return [GNNMember(self.config(d, w, a, s, e), t, seed)
                for d, w in self.sizes for a in self.activations for s in self.symmetries for e in self.edges
                for t in self.tasks for seed in self.seeds]

    def chunks(self, *, split_heavy: bool = True) -> list[list[int]]:
        """Member indices grouped into ensembles of at most ``chunk_size``: same ``(depth, width, edges)``
        (tensor shapes and graph). With ``split_heavy`` (the CPU setting), a heavy group (members x batch
        x depth x width^2 above :data:`MERGE_COST`) is split further by weight sharing and
        antisymmetrisation flag, so that no member pays for another's typed messages or second
        (antisymmetrising) pass; light groups stay whole, since there the fixed cost of every training
        step dominates. On a GPU that fixed cost (kernel launches) dominates everywhere, so
        :func:`run_gnn_sweep` keeps every group whole there."""
        groups: dict = {}
        for i, m in enumerate(self.members()):
            c = m.config
            groups.setdefault((c.depth, c.width, c.edges), []).append(i)
        members = self.members()
        out = []
        for (depth, width, _), ids in groups.items():
            if split_heavy and len(ids) * self.train.batch_size * depth * width * width > MERGE_COST:
                sub: dict = {}
                for i in ids:
                    c = members[i].config
                    sub.setdefault((c.weights, c.antisymmetrised), []).append(i)
                parts = list(sub.values())
            else:
                parts = [ids]
            out += [p[a:a + self.chunk_size] for p in parts for a in range(0, len(p), self.chunk_size)]
        return out

    def key(self) -> dict:
        return {"sizes": self.sizes, "symmetries": self.symmetries, "edges": self.edges,
                "activations": self.activations, "tasks": self.tasks, "seeds": self.seeds, "b": self.b,
                "alpha": self.alpha, "context_blocks": self.context_blocks, "train": self.train.key(),
                "measures": self.measures.key()}

    def describe(self) -> str:
        """One line naming the grid (for figure stamps)."""
        sz = ", ".join(f"{d}x{w}" for d, w in self.sizes)
        return (f"GNNs b={self.b}, {len(self.symmetries)} sym x {len(self.edges)} edge sets x "
                f"{len(self.activations)} act x sizes [{sz}] x {len(self.tasks)} tasks x {len(self.seeds)} seeds, "
                f"{self.train.steps} Adam steps, {self.train.batch_size} blocks/step, n_train={self.train.n_train} blocks")


def _gnn_chunk_key(spec: GNNSweepSpec, members, src: str) -> str:
    from . import cache

    edges = members[0].config.edges
    return cache.content_key("gnn-chunk", [m.key() for m in members], spec.train_config(edges).key(),
                             spec.measures.key(), src)


def gnn_source_hash() -> str:
    """Hash of the rgsym sources that decide a GNN sweep's numbers."""
    from . import cache

    return cache.source_hash(tuple(cache.SCIENCE_MODULES) + GNN_SOURCE_MODULES)


def _train_gnn_chunk(spec: GNNSweepSpec, members, ids, key: str, src: str, device, progress: bool, desc: str,
                     threads: int | None = 1) -> dict:
    """Train and measure one chunk of GNNs (one edge variant); returns the payload that is cached."""
    from .sweeps import train_and_measure

    edges = members[0].config.edges
    tc = spec.train_config(edges)
    model = EnsembleGNN([m.config for m in members], [m.seed for m in members], dtype=tc.torch_dtype,
                        device=device, context=spec.context(edges))
    payload = train_and_measure(model, members, ids, tc, spec.measures, key=key, src=src, device=device,
                                progress=progress, desc=desc, threads=threads)
    payload["raw"] = {k: ([x.detach().cpu() for x in v] if isinstance(v, list) else v.detach().cpu())
                      for k, v in model.raw().items()}
    return payload


def _sweep_result_class():
    from .sweeps import SweepResult

    class GNNSweepResult(SweepResult):
        """Members, tidy measures and trained weights of a GNN sweep (the interface of
        :class:`rgsym.sweeps.SweepResult`; :meth:`model` rebuilds :class:`EnsembleGNN` members)."""

        def model(self, member_ids: Iterable[int]) -> "EnsembleGNN":
            """The trained GNNs of ``member_ids`` as one ensemble (they must share shapes and edges)."""
            ids = [int(i) for i in member_ids]
            where = {mid: (key, pos) for key, p in self.payloads.items() for pos, mid in enumerate(p["member_ids"])}
            members = self.spec.members()
            parts = []
            for mid in ids:
                if mid not in where:
                    raise KeyError(f"member {mid} is not in this sweep's loaded chunks (0..{len(members) - 1})")
                key, pos = where[mid]
                raw = self.payloads[key]["raw"]
                one = {k: ([x[pos:pos + 1].clone() for x in v] if isinstance(v, list) else v[pos:pos + 1].clone())
                       for k, v in raw.items()}
                m = members[mid]
                parts.append(EnsembleGNN([m.config], [m.seed], dtype=one["readout"].dtype,
                                         context=self.spec.context(m.config.edges), _raw=one))
            return EnsembleGNN.stack(parts)

    return GNNSweepResult


def gnn_sweep_result_class():
    """The :class:`GNNSweepResult` class (a subclass of :class:`rgsym.sweeps.SweepResult`)."""
    global _RESULT_CLASS
    if _RESULT_CLASS is None:
        _RESULT_CLASS = _sweep_result_class()
    return _RESULT_CLASS


_RESULT_CLASS = None

def run_gnn_sweep(spec: GNNSweepSpec, *, device=None, progress: bool | None = None, max_chunks: int | None = None,
                  only: Iterable[int] | None = None, threads: int | None = 1, workers: int = 1):
    """Train and measure every member of ``spec`` with the engine of Chapter 2 (cached chunks are loaded).

    ``only``: member ids; then just the chunks holding them are trained or loaded (the chunk keys are
    those of the full sweep, so a later chapter reuses the networks an earlier one trained).
    ``max_chunks`` stops after training that many new chunks. ``threads``: torch CPU threads per
    process (:func:`rgsym.training.cpu_threads`); ``workers > 1`` trains chunks in that many spawned
    processes (CPU only; every chunk is cached as soon as it is done). On a GPU the members are grouped
    into fewer, larger ensembles (:meth:`GNNSweepSpec.chunks`). Returns a ``GNNSweepResult``.
    """
    import os

    if progress is None:
        progress = not os.environ.get("RGSYM_QUIET")
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be a positive integer, got {workers!r}")
    from .sweeps import execute_chunks, member_tables

    src = gnn_source_hash()
    members = spec.members()
    gpu = device is not None and torch.device(device).type != "cpu"
    chunks = spec.chunks(split_heavy=not gpu)
    if only is not None:
        want = {int(i) for i in only}
        bad = [i for i in want if not 0 <= i < len(members)]
        if bad:
            raise ValueError(f"member ids {sorted(bad)} are not in this sweep (0..{len(members) - 1})")
        chunks = [ids for ids in chunks if want.intersection(ids)]
    payloads, n_trained, n_cached = execute_chunks(
        spec, chunks, namespace=GNN_NAMESPACE, src=src, key_fn=_gnn_chunk_key, train_fn=_train_gnn_chunk,
        worker_fn=_gnn_worker, cost_fn=_gnn_chunk_cost, label="GNN sweep chunks", device=device, gpu=gpu,
        progress=progress, max_chunks=max_chunks, threads=threads, workers=workers)
    mem, tab = member_tables(members, payloads, extra={"edges": lambda m: m.config.edges, "model": lambda m: "GNN"})
    return gnn_sweep_result_class()(spec, mem, tab, payloads, n_trained, n_cached)


def _gnn_worker(spec: GNNSweepSpec, ids: list, key: str, src: str, threads) -> str:
    """Train one chunk in a worker process and cache it; returns its key."""
    from . import cache

    members = spec.members()
    payload = _train_gnn_chunk(spec, [members[i] for i in ids], ids, key, src, None, False, "", threads)
    cache.Store(GNN_NAMESPACE).put(key, payload)
    return key


def _gnn_chunk_cost(spec: GNNSweepSpec, ids) -> float:
    c = spec.members()[ids[0]].config
    sites = spec.context(c.edges)
    per = c.width * c.width * c.depth * sites * (1 + (c.n_edge_types if c.weights == "broken" else 1))
    return len(ids) * (per + 200) * (2 if c.antisymmetrised else 1)


def member_ids(spec, **where) -> list[int]:
    """Ids of the members of a sweep (GNN or MLP) whose config / task / seed match ``where``
    (e.g. ``member_ids(spec, activation='tanh', symmetry='shared', task='gaussian')``)."""
    out = []
    for i, m in enumerate(spec.members()):
        vals = {**m.config.key(), "task": m.task, "seed": m.seed, "size": (m.config.depth, m.config.width)}
        if all(vals.get(k) == v for k, v in where.items()):
            out.append(i)
    return out


def run_settings(profile: str, device, *, threads: int | None = 1, workers: int | None = None) -> dict:
    """Keyword arguments ``threads`` and ``workers`` for :func:`run_gnn_sweep` and
    :func:`rgsym.sweeps.run_sweep`, validated: ``workers=None`` means one process for ``smoke`` and
    up to two (the CPU count) for ``paper``; on a GPU always one."""
    import os

    from .config import PROFILES

    check_choice("profile", profile, PROFILES)
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
        raise ValueError(f"threads (cpu_threads) must be None or a positive integer, got {threads!r}")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise ValueError(f"workers must be None or a positive integer, got {workers!r}")
    if torch.device(device).type != "cpu":
        workers = 1
    elif workers is None:
        workers = 1 if profile == "smoke" else max(1, min(2, os.cpu_count() or 1))
    return {"threads": threads, "workers": workers}


# -- the grids of Chapter 4 ----------------------------------------------------------------------
CHAPTER4_ACTIVATIONS = ("identity", "quadratic", "tanh", "relu")
"""Activations of Chapter 4's main grid (those of Chapter 2 minus SiLU, for time)."""


def chapter4_specs(profile: str, *, seeds: int | None = None, activations: Sequence[str] | None = None):
    r"""The two GNN sweeps of Chapter 4 for a profile, with the training and measurement settings of
    Chapter 2's MLP sweep (:func:`rgsym.sweeps.chapter2_spec`): the same tasks, test laws and budget.

    * ``main``: every symmetry x edge variant x activation at Chapter 2's MLP sizes of depth 1 and 2;
    * ``capacity``: the symmetry/expressivity axis, tanh GNNs on ``block+nn`` graphs, shared and
      broken, depth 1-4 at a narrow and a wide width (smoke: three sizes), on the Gaussian task.

    ``seeds``: seeds per configuration (default 1 for ``smoke``, 2 for ``paper``); ``activations``:
    the main grid's activations (default :data:`CHAPTER4_ACTIVATIONS`). Returns ``(main, capacity)``.
    """
    from .config import PROFILES
    from .sweeps import chapter2_spec

    check_choice("profile", profile, PROFILES)
    mlp = chapter2_spec(profile)
    if seeds is None:
        seeds = 1 if profile == "smoke" else 2
    if isinstance(seeds, bool) or not isinstance(seeds, int) or not 1 <= seeds <= 20:
        raise ValueError(f"seeds must be an integer in 1..20, got {seeds!r}")
    acts = CHAPTER4_ACTIVATIONS if activations is None else tuple(activations)
    common = dict(b=mlp.b, alpha=mlp.alpha, tasks=mlp.tasks, train=mlp.train, measures=mlp.measures)
    main_sizes = tuple(sz for sz in mlp.sizes if sz[0] <= 2)  # Chapter 2's sizes up to depth 2 (time)
    main = GNNSweepSpec(symmetries=GNN_SYMMETRIES, edges=EDGE_VARIANTS, activations=acts,
                        sizes=main_sizes, seeds=tuple(range(seeds)), **common)
    if profile == "smoke":
        sizes = ((1, 4), (2, 4), (2, 16))
    else:
        sizes = ((1, 4), (2, 4), (4, 4), (1, 32), (2, 32), (4, 32))
    capacity = GNNSweepSpec(symmetries=("shared", "broken"), edges=("block+nn",), activations=("tanh",),
                            sizes=sizes, seeds=tuple(range(seeds)), **{**common, "tasks": ("gaussian",)})
    return main, capacity


# ================================================================================================
# Comparisons of Chapter 4: MLPs against GNNs, symmetry against expressivity
# ================================================================================================
HEADLINE = ("G1", "G2", "G3", "G3_fp")


def tidy_summary(result, family: str | None = None):
    r"""One row per member with the headline measures (:data:`HEADLINE`) and the columns that
    name a model across families: ``family`` ('MLP' or 'GNN'), ``variant`` (the symmetry, plus the
    edge variant for GNNs), ``symmetry``, ``edges`` ('' for MLPs), ``activation``, ``size``,
    ``depth``, ``width``, ``n_params``, ``task``, ``seed``, ``diverged``."""
    s = result.summary(HEADLINE)
    fam = family or ("GNN" if "edges" in s.columns else "MLP")
    check_choice("model family", fam, ("MLP", "GNN"))
    s = s.copy()
    s["family"] = fam
    if "edges" not in s.columns:
        s["edges"] = ""
    s["variant"] = [f"{sym} ({e})" if e else sym for sym, e in zip(s["symmetry"], s["edges"])]
    cols = ["family", "variant", "symmetry", "edges", "activation", "size", "depth", "width", "n_params", "task",
            "seed", "diverged", *HEADLINE]
    return s[cols]


def variant_medians(summary, measure: str, by: Sequence[str] = ("family", "variant", "activation", "size", "task")):
    r"""Median of ``measure`` over seeds for every variant (``by`` columns). Diverged members count as
    :math:`+\infty` (a variant that diverges on most seeds is never the best), column ``n_diverged``."""
    import numpy as np

    s = summary.copy()
    s[measure] = np.where(s["diverged"].astype(bool), np.inf, s[measure].astype(float))
    g = s.groupby(list(by), sort=True)
    return g.agg(value=(measure, "median"), n=(measure, "size"), n_diverged=("diverged", "sum")).reset_index()


def family_comparison(summary, measure: str = "G3", *, cells: Sequence[str] = ("activation", "size", "task"),
                      tie: float = 0.1, floor: float = 1e-9):
    r"""MLPs against GNNs cell by cell (a cell = one activation, size and task, both families trained
    alike): in each family the best variant (lowest median of ``measure`` over seeds), its value, and
    ``log10_ratio`` :math:`=\log_{10}(\text{GNN}/\text{MLP})` (positive: the MLP is better). The
    ``winner`` is 'MLP', 'GNN' or 'tie' (:math:`|\log_{10}|<` ``tie``, or both below ``floor``, where
    both represent the map to rounding error). Cells one family lacks are dropped."""
    import numpy as np
    import pandas as pd

    med = variant_medians(summary, measure, by=("family", "variant", *cells))
    rows = []
    for key, grp in med.groupby(list(cells), sort=True):
        key = key if isinstance(key, tuple) else (key,)
        best = {}
        for fam in ("MLP", "GNN"):
            g = grp[grp["family"] == fam]
            if len(g):
                i = g["value"].astype(float).idxmin()
                best[fam] = (g.loc[i, "variant"], float(g.loc[i, "value"]))
        if len(best) < 2:
            continue
        (mv, m), (gv, g) = best["MLP"], best["GNN"]
        both_small = m < floor and g < floor
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = float(np.log10(max(g, floor) / max(m, floor)))
        winner = "tie" if both_small or abs(ratio) < tie else ("MLP" if ratio > 0 else "GNN")
        rows.append((*key, mv, m, gv, g, ratio, winner))
    return pd.DataFrame(rows, columns=[*cells, "mlp_variant", "mlp_value", "gnn_variant", "gnn_value", "log10_ratio",
                                       "winner"])


def family_verdict(comparison) -> dict:
    r"""Summary of :func:`family_comparison`: the number of cells, the wins of each family and ties,
    the median :math:`\log_{10}(\text{GNN}/\text{MLP})`, and ``mlp_better`` = the MLPs win more cells
    than the GNNs *and* the median ratio favours them (``gnn_better`` likewise)."""
    import numpy as np

    w = comparison["winner"]
    n_m, n_g, n_t = int((w == "MLP").sum()), int((w == "GNN").sum()), int((w == "tie").sum())
    med = float(np.median(comparison["log10_ratio"])) if len(comparison) else float("nan")
    return {"cells": int(len(comparison)), "mlp_wins": n_m, "gnn_wins": n_g, "ties": n_t,
            "median_log10_ratio": med, "mlp_better": bool(n_m > n_g and med > 0),
            "gnn_better": bool(n_g > n_m and med < 0)}


def capacity_optimum(summary, measure: str, *, by: Sequence[str] = ("variant",)):
    r"""For every variant (``by``) the size (``depth x width``) with the lowest median of ``measure``
    over tasks and seeds, ordered by free-parameter count: columns ``best_size``, ``best_n_params``,
    ``best_value``, ``smallest_value``, ``largest_value`` (at the fewest / most parameters) and
    ``interior`` = the optimum is neither the smallest nor the largest model (the competition
    between symmetry and expressivity of claim C2)."""
    import numpy as np
    import pandas as pd

    s = summary.copy()
    s[measure] = np.where(s["diverged"].astype(bool), np.inf, s[measure].astype(float))
    med = s.groupby([*by, "size", "n_params"], sort=True)[measure].median().reset_index()
    rows = []
    for key, grp in med.groupby(list(by), sort=True):
        key = key if isinstance(key, tuple) else (key,)
        grp = grp.sort_values(["n_params", "size"]).reset_index(drop=True)
        i = int(grp[measure].idxmin())
        rows.append((*key, grp.loc[i, "size"], int(grp.loc[i, "n_params"]), float(grp.loc[i, measure]),
                     float(grp[measure].iloc[0]), float(grp[measure].iloc[-1]), 0 < i < len(grp) - 1))
    return pd.DataFrame(rows, columns=[*by, "best_size", "best_n_params", "best_value", "smallest_value",
                                       "largest_value", "interior"])


@torch.no_grad()
def constraint_errors(model, *, n_samples: int = 256, seed: int = 0):
    r"""How exactly the trained members keep their symmetries, on Gaussian lattices of
    ``4 b`` sites (float64 copies of the members):

    * ``perm``: :math:`\max|f(\pi s) - f(s)|` with :math:`\pi` reversing the sites inside every
      block (an automorphism of the ``"block"`` graph), for ``"block"`` members;
    * ``reflect``: :math:`\max|f(Rs) - R'f(s)|` with :math:`R` the reflection of the ring (and
      :math:`R'` that of the coarse ring), for ``"block+nn"`` members;
    * ``odd``: :math:`\max|f(-s) + f(s)|`.

    Returns a DataFrame with one row per member (``symmetry``, ``edges``, ``activation``, the three errors;
    NaN where a check does not apply)."""
    import numpy as np
    import pandas as pd

    from .models import stable_seed

    m = EnsembleGNN(model.configs, model.seeds, dtype=torch.float64, context=None,
                    _raw={k: ([x.double().cpu() for x in v] if isinstance(v, list) else v.double().cpu())
                          for k, v in model.raw().items()})
    n = 4 * m.b
    g = torch.Generator().manual_seed(stable_seed("constraint-errors", int(seed)))
    s = torch.randn(m.n_members, n_samples, n, generator=g, dtype=torch.float64)
    f = m(s)
    within = torch.arange(n).reshape(-1, m.b).flip(-1).reshape(-1)
    perm = (m(s[..., within]) - f).abs().flatten(1).amax(1)
    refl = (m(s.flip(-1)) - f.flip(-1)).abs().flatten(1).amax(1)
    odd = (m(-s) + f).abs().flatten(1).amax(1)
    rows = []
    for e, c in enumerate(m.configs):
        rows.append((c.symmetry, c.edges, c.activation, float(perm[e]) if c.edges == "block" else np.nan,
                     float(refl[e]) if c.edges == "block+nn" else np.nan, float(odd[e])))
    return pd.DataFrame(rows, columns=["symmetry", "edges", "activation", "perm", "reflect", "odd"])
