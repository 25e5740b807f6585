r"""Ensembles of message-passing GNNs that learn the block-spin step on the lattice graph (Chapter 4).

Notation (Chapter 4, SCIENCE.md §5). The lattice graph of :mod:`rgsym.nets.graphs` has sites :math:`i`
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
:mod:`rgsym.nets.mlp` (raw parameters projected onto the symmetric subspace in every forward pass):

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
(fused ``message_and_aggregate`` with the adjacency of :func:`rgsym.nets.graphs.sparse_adjacency`).
Members of one :class:`EnsembleGNN` share ``b``, ``width``, ``depth`` and the edge variant and may
differ in activation and symmetry; each member's initial weights depend only on
``(b, width, depth, edges, seed)``.

Sweeps of these models live in :mod:`rgsym.learn.gnn_sweep`; Chapter 4's grids and comparisons in
:mod:`rgsym.chapters.ch4_gnns`. This module imports :mod:`torch_geometric` (for
:class:`torch_geometric.nn.MessagePassing`), so ``rgsym.nets`` loads it only on first use.
"""
from __future__ import annotations

import math
from typing import Iterable, Sequence

import torch
from torch import nn

from ..seeds import stable_seed
from .activations import Activation
from .ensemble import (apply_runs, check_indices, flow, member_lists, member_modes, project_shared, runs, uniform,
                       where_members)
from .gnn_config import GNNConfig
from .graphs import adjacency, check_lattice_size, lattice_graph, sparse_adjacency
from .typed_aggregation import TypedSumAggregation


DENSE_SITES = 8
r"""Lattices of at most this many sites are evaluated through each layer's block matrix :math:`A_k`
``(E, N d_k, N d_{k-1})`` (:meth:`EnsembleGNN.linear_maps`: sum aggregation is a linear map), one batched
matrix product per layer; larger lattices through the message-passing aggregation
(:class:`TypedSumAggregation`), whose cost grows like :math:`N` rather than :math:`N^2`. Both compute
eq. G1 (a test checks that they agree); training lattices are single blocks (:math:`N = b`)."""


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
        configs, seeds = member_lists(configs, seeds, GNNConfig)
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
        self._act_runs = runs([c.act for c in configs])
        shared = torch.tensor([c.weights == "shared" for c in configs])
        odd = torch.tensor([c.odd for c in configs])
        anti = torch.tensor([c.antisymmetrised for c in configs])
        for name, m in (("shared_mask", shared), ("odd_mask", odd), ("anti_mask", anti)):
            self.register_buffer(name, m.to(device), persistent=False)
        self._mode = member_modes({"shared": shared, "odd": odd, "anti": anti})
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
            g = torch.Generator().manual_seed(stable_seed("gnn-init", b, self.width, self.depth, self.edges, seed))
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
        idx = check_indices(indices, self.n_members)
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
        return uniform(values, what)

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
    def effective(self) -> dict:
        r"""Effective parameters (symmetries applied), same shapes as the raw ones: shared members
        averaged over positions / edge types, odd members with zero biases."""
        sm, om = self._mode["shared"], self._mode["odd"]

        def tie(x):  # mean over the position / type axis (axis 1)
            return where_members(sm, self.shared_mask, project_shared(x), x) if sm != "none" else x

        def zero(x):
            return where_members(om, self.odd_mask, torch.zeros_like(x), x) if om != "none" else x

        return {"root": [tie(w) for w in self.root], "msg": [tie(w) for w in self.msg],
                "bias": [zero(tie(c)) for c in self.bias], "readout": tie(self.readout),
                "out_bias": zero(self.out_bias)}

    def _act(self, z: torch.Tensor) -> torch.Tensor:
        return apply_runs(z, self._act_runs)

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

    def _blocks(self, n_sites: int, device, dtype) -> tuple[torch.Tensor, torch.Tensor]:
        r"""The position projectors :math:`D_p` ``(b, N, N)`` and typed adjacencies :math:`A^{(t)}`
        ``(T, N, N)`` of the lattice graph of ``n_sites`` sites (cached), from which :meth:`network`
        and :meth:`linear_maps` build the block matrix :math:`A_k` of a layer."""
        key = ("blocks", n_sites, str(device), dtype)
        if key not in self._graphs:
            g = lattice_graph(n_sites, self.b, self.edges)
            D = torch.stack([torch.diag((g.pos == p).to(dtype)) for p in range(self.b)])
            A = torch.stack([adjacency(g, edge_type=t, dtype=dtype) for t in range(self.n_types)])
            self._graphs[key] = (D.to(device), A.to(device))
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
        g, adj, adj_typed = self.graph(N, s.device, s.dtype)
        h = s.unsqueeze(-1)
        zs, hs = [], [h]
        shared = self._mode["shared"] == "all"
        dense = N <= DENSE_SITES
        for k in range(self.depth):
            R, M, c = eff["root"][k], eff["msg"][k], eff["bias"][k]
            d_in, d_out = h.shape[-1], R.shape[-2]
            if dense:  # the layer as its block matrix A_k (see linear_maps): one bmm, no node-major copies
                D, A = self._blocks(N, s.device, s.dtype)
                W = (torch.einsum("pij,epoc->eiojc", D, R) + torch.einsum("tij,etoc->eiojc", A, M))
                W = W.reshape(E, N * d_out, N * d_in)
                z = torch.bmm(h.reshape(E, B, N * d_in), W.transpose(1, 2)).add_(c[:, g.pos].reshape(E, 1, N * d_out))
                h = self._act(z.reshape(E, B, N, d_out))
                zs.append(z.reshape(E, B, N, d_out))
                hs.append(h)
                continue
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
        return where_members(self._mode["anti"], self.anti_mask, anti, g)

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
        D, A = self._blocks(n, torch.device("cpu"), dtype)
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

