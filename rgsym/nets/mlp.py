r"""Ensembles of block-map MLPs :math:`f_\theta:\mathbb R^b\to\mathbb R` with weight symmetries built in
(Chapter 2, SCIENCE.md §3).

One :class:`EnsembleMLP` holds ``E`` members with stacked weights; every forward pass is a chain of
batched matrix products over the members. A member is fixed by an :class:`MLPConfig` (block size
``b``, ``width`` ``H``, ``depth`` = number of hidden layers, activation, symmetry) and an integer seed.
Layer sizes are ``[b] + [H] * depth + [1]``; the activation :math:`\phi` follows every layer but
the last:

.. math:: h^{(0)} = s,\qquad h^{(k)} = \phi\big(W^{(k)} h^{(k-1)} + c^{(k)}\big),\qquad
          g(s) = W^{(D+1)} h^{(D)} + c^{(D+1)} .

**Symmetries** (:data:`SYMMETRIES`) are part of the parameterisation, so they hold exactly during
training. The raw parameters are projected onto the symmetric subspace in every forward pass
(projection = mean over the tied entries); the raw parameters start inside the subspace and stay
there, because the tied entries receive identical gradients and hence identical Adam updates.

* ``perm-in``: first-layer weights tied across the ``b`` inputs, :math:`W^{(1)}_{hi} = u_h`
  (the map's own permutation symmetry of the block).
* ``tied-hidden``: in every hidden layer all units share incoming weights and bias, and all outgoing
  weights of a hidden layer are equal: the fully symmetric point of the hidden-unit permutation
  group (:math:`W^{(1)} = \mathbf 1 w^\top`, :math:`W^{(k)} = a_k\mathbf 1\mathbf 1^\top`,
  :math:`W^{(D+1)} = v\mathbf 1^\top`). Training can never leave it.
* ``odd``: exactly :math:`f(-s) = -f(s)` (the map's :math:`\mathbb Z_2` symmetry): no biases, and
  where :math:`\phi` is not odd the network is antisymmetrised,
  :math:`f(s) = [g(s) - g(-s)]/2` (flag :attr:`EnsembleMLP.antisymmetrised`).
* combinations joined by ``+``.

**Graded tying** (:attr:`MLPConfig.groups`): the hidden units of every hidden layer fall into :math:`g`
contiguous groups of :math:`m = H/g` units, and the units of a group share incoming weights and bias
while a weight fed by a group is one value per group. :math:`g = 1` is ``tied-hidden`` (the config is
normalised to that name) and :math:`g = H` is free, so :math:`g = 1, 2, 4, \dots, H` is a graded
constraint axis at fixed size. The grouped layers are :math:`P W` gathered back to the units, with
:math:`P` the ``(g, H)`` group-averaging matrix: copies are exact, so the groups hold to the last bit.

Members may differ in activation and symmetry (they must share ``b``, ``H`` and ``depth``, i.e. the
tensor shapes); each member's initial weights depend only on ``(b, H, depth, seed)``, so that a
member built alone equals the same member inside any ensemble, and members with equal seeds but
different activations or symmetries start from common random numbers.

The plain network :math:`g` is :func:`rgsym.nets.forward.plain_forward`; weights with which a config
equals :math:`T_b` exactly are in :mod:`rgsym.nets.exact`; the learned flow is
:func:`rgsym.nets.ensemble.flow`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Iterable, Sequence

import torch
from torch import nn

from ..seeds import stable_seed
from ..validation import as_int, check_choice
from .activations import Activation, get_activation
from .ensemble import apply_runs, check_indices, flow, member_lists, member_modes, runs, uniform, where_members
from .forward import plain_forward
from .tying import group_matrices, init_project, project_layers

SYMMETRIES = (
    "free",
    "perm-in",
    "tied-hidden",
    "odd",
    "perm-in+odd",
    "perm-in+tied-hidden",
    "tied-hidden+odd",
    "perm-in+tied-hidden+odd",
)
"""All symmetry variants, from unconstrained to fully constrained."""

MAX_DEPTH = 3


def join_flags(flags) -> str:
    """The symmetry name of a set of elementary constraints, e.g. ``{'odd', 'perm-in'}`` -> ``'perm-in+odd'``."""
    order = ("perm-in", "tied-hidden", "odd")
    unknown = set(flags) - set(order)
    if unknown:
        raise ValueError(f"unknown constraints {sorted(unknown)}; valid: {order}")
    return "+".join(f for f in order if f in flags) or "free"


def symmetry_flags(symmetry: str) -> frozenset:
    """The elementary constraints of a symmetry name, e.g. ``'perm-in+odd'`` -> ``{'perm-in', 'odd'}``."""
    check_choice("symmetry", symmetry, SYMMETRIES)
    return frozenset() if symmetry == "free" else frozenset(symmetry.split("+"))


@dataclass(frozen=True)
class MLPConfig:
    r"""Architecture of one block-map MLP :math:`f:\mathbb R^b\to\mathbb R`.

    ``width`` :math:`H\in[1, 4096]`, ``depth`` (hidden layers) :math:`\in[1, 3]`; ``alpha`` is used by
    the quadratic activation only (``None`` -> its default, and it is stored as ``0.0`` otherwise).
    """

    b: int = 2
    width: int = 16
    depth: int = 1
    activation: str = "tanh"
    symmetry: str = "free"
    alpha: float | None = None
    groups: int | None = None

    def __post_init__(self):
        for name, lo, hi in (("b", 2, 1024), ("width", 1, 4096), ("depth", 1, MAX_DEPTH)):
            as_int(name, getattr(self, name), lo, hi)
        check_choice("symmetry", self.symmetry, SYMMETRIES)
        object.__setattr__(self, "alpha", get_activation(self.activation, self.alpha).alpha)
        if self.groups is not None:
            g = as_int("groups", self.groups, 1, self.width)
            if self.width % g:
                valid = [d for d in range(1, self.width + 1) if self.width % d == 0]
                raise ValueError(f"groups={g} must divide width={self.width}; valid: {valid}")
            flags = self.flags
            if "tied-hidden" in flags and g != 1:
                raise ValueError(f"'tied-hidden' ties all hidden units (groups=1); got groups={g} with "
                                 f"symmetry {self.symmetry!r}")
            # canonical form: g = H is free, g = 1 is 'tied-hidden'
            if g == 1:
                object.__setattr__(self, "symmetry", join_flags(flags | {"tied-hidden"}))
            object.__setattr__(self, "groups", None)
            if 1 < g < self.width:
                object.__setattr__(self, "groups", g)

    # -- derived facts -------------------------------------------------------------------
    @property
    def act(self) -> Activation:
        return get_activation(self.activation, self.alpha if self.activation == "quadratic" else None)

    @property
    def flags(self) -> frozenset:
        return symmetry_flags(self.symmetry)

    @property
    def hidden_groups(self) -> int:
        """:math:`g`, the number of groups of tied units in every hidden layer (1: ``tied-hidden``, ``width``: free)."""
        return 1 if "tied-hidden" in self.flags else (self.groups or self.width)

    @property
    def antisymmetrised(self) -> bool:
        """True when the member is odd by antisymmetrisation, :math:`f(s) = [g(s) - g(-s)]/2`."""
        return "odd" in self.flags and not self.act.is_odd

    @property
    def dims(self) -> list[int]:
        return [self.b] + [self.width] * self.depth + [1]

    @property
    def n_params(self) -> int:
        """Number of free (independent) parameters under the symmetry constraints."""
        f, d, g = self.flags, self.dims, self.hidden_groups
        perm, odd = "perm-in" in f, "odd" in f
        n = 0
        for k in range(len(d) - 1):
            n_in, n_out = d[k], d[k + 1]
            first, last = k == 0, k == len(d) - 2
            rows = n_out if last else g
            cols = (1 if perm else n_in) if first else g
            n += rows * cols
            if not odd:
                n += n_out if last else g
        return n

    @property
    def size_label(self) -> str:
        return f"{self.depth}x{self.width}"

    def key(self) -> dict:
        """The configuration as plain data (for hashing and tables)."""
        d = {"b": self.b, "width": self.width, "depth": self.depth, "activation": self.activation,
             "alpha": self.alpha, "symmetry": self.symmetry}
        if self.groups is not None:
            d["groups"] = self.groups
        return d

    def replace(self, **changes) -> "MLPConfig":
        return replace(self, **changes)


class EnsembleMLP(nn.Module):
    r"""``E`` block-map MLPs with stacked weights: blocks ``x`` of shape ``(E, B, b)`` -> ``(E, B)``.

    Parameters
    ----------
    configs : an :class:`MLPConfig` (shared by all members) or one per member; all must share
        ``b``, ``width`` and ``depth``.
    seeds : one integer per member (or an int ``E`` meaning seeds ``0..E-1``).
    dtype, device : of the parameters.

    Raw parameters ``weights[k]`` ``(E, d_{k+1}, d_k)`` and ``biases[k]`` ``(E, d_{k+1})``;
    :meth:`layers` returns the *effective* ones (symmetries applied). Apply to a lattice with
    :meth:`rg_step` ``(E, B, N) -> (E, B, N/b)`` (one learned RG step) and iterate with :meth:`flow`.
    """

    def __init__(self, configs: MLPConfig | Sequence[MLPConfig], seeds: Sequence[int] | int, *,
                 dtype: torch.dtype = torch.float32, device=None, _raw=None):
        super().__init__()
        configs, seeds = member_lists(configs, seeds, MLPConfig)
        c0 = configs[0]
        for c in configs:
            if (c.b, c.width, c.depth) != (c0.b, c0.width, c0.depth):
                raise ValueError("all members of an ensemble must share b, width and depth; got "
                                 f"{(c0.b, c0.width, c0.depth)} and {(c.b, c.width, c.depth)}")
        self.configs, self.seeds = configs, seeds
        self.b, self.width, self.depth = c0.b, c0.width, c0.depth
        self.n_members = len(configs)
        self.dims = c0.dims

        acts = [c.act for c in configs]
        self._act_runs = runs(acts)
        E = self.n_members
        perm = torch.tensor(["perm-in" in c.flags for c in configs])
        tied = torch.tensor([c.hidden_groups < c.width for c in configs])
        odd = torch.tensor(["odd" in c.flags for c in configs])
        anti = torch.tensor([c.antisymmetrised for c in configs])
        for name, m in (("perm_mask", perm), ("tied_mask", tied), ("odd_mask", odd), ("anti_mask", anti)):
            self.register_buffer(name, m.to(device), persistent=False)
        # python-level summaries, to skip masked ops where no member (or every member) needs them
        self._mode = member_modes({"perm": perm, "tied": tied, "odd": odd, "anti": anti})
        # graded tying: one number of groups shared by every tied member is a reshape (block_mean);
        # group-averaging matrices are needed only where tied members differ in g
        tied_g = sorted({c.hidden_groups for c in configs if c.hidden_groups < c.width})
        self._grouped = len(tied_g) > 1
        self._groups = tied_g[0] if len(tied_g) == 1 else 1
        if self._grouped:
            P, gid = group_matrices([c.hidden_groups for c in configs], self.width, dtype)
            self.register_buffer("group_avg", P.to(device), persistent=False)
            self.register_buffer("group_id", gid.to(device), persistent=False)

        if _raw is None:
            ws, cs = self._init_raw(dtype)
        else:
            ws, cs = _raw
        self.weights = nn.ParameterList([nn.Parameter(w.to(device=device, dtype=dtype)) for w in ws])
        self.biases = nn.ParameterList([nn.Parameter(c.to(device=device, dtype=dtype)) for c in cs])
        assert E == self.weights[0].shape[0]

    # -- construction --------------------------------------------------------------------
    def _init_raw(self, dtype):
        r"""Per-member init: :math:`U(-1/\sqrt{d_{in}}, 1/\sqrt{d_{in}})` for weights and biases (PyTorch's
        default), drawn in float64 from a generator seeded by ``(b, width, depth, seed)`` only, then
        placed in the member's symmetric subspace by :func:`~rgsym.nets.tying.init_project`."""
        ws = [[] for _ in range(len(self.dims) - 1)]
        cs = [[] for _ in range(len(self.dims) - 1)]
        for seed, cfg in zip(self.seeds, self.configs):
            g = torch.Generator().manual_seed(stable_seed("mlp-init", self.b, self.width, self.depth, seed))
            w1, c1 = [], []
            for k in range(len(self.dims) - 1):
                n_in, n_out = self.dims[k], self.dims[k + 1]
                bound = 1.0 / math.sqrt(n_in)
                w1.append(((torch.rand(1, n_out, n_in, generator=g, dtype=torch.float64) * 2 - 1) * bound).to(dtype))
                c1.append(((torch.rand(1, n_out, generator=g, dtype=torch.float64) * 2 - 1) * bound).to(dtype))
            # start inside the member's symmetric subspace (member by member, so that the numbers do
            # not depend on the ensemble the member sits in)
            for k, (w, c) in enumerate(init_project(w1, c1, cfg.flags, cfg.hidden_groups)):
                ws[k].append(w)
                cs[k].append(c)
        return [torch.cat(w) for w in ws], [torch.cat(c) for c in cs]

    @classmethod
    def build(cls, *, seeds: Sequence[int] | int = 1, dtype=torch.float32, device=None, **config) -> "EnsembleMLP":
        """Shortcut: ``EnsembleMLP.build(width=8, depth=2, activation='relu', symmetry='odd', seeds=10)``."""
        return cls(MLPConfig(**config), seeds, dtype=dtype, device=device)

    def select(self, indices: Iterable[int]) -> "EnsembleMLP":
        """A new ensemble holding copies of the members ``indices`` (trained weights included)."""
        idx = check_indices(indices, self.n_members)
        t = torch.tensor(idx, device=self.weights[0].device)
        raw = ([w.detach()[t].clone() for w in self.weights], [c.detach()[t].clone() for c in self.biases])
        p = self.weights[0]
        return type(self)([self.configs[i] for i in idx], [self.seeds[i] for i in idx],
                          dtype=p.dtype, device=p.device, _raw=raw)

    def member(self, i: int) -> "EnsembleMLP":
        """Member ``i`` as an ensemble of one."""
        return self.select([i])

    @classmethod
    def stack(cls, models: Sequence["EnsembleMLP"]) -> "EnsembleMLP":
        """One ensemble from the members of several (they must share ``b``, ``width``, ``depth``, dtype)."""
        models = list(models)
        if not models:
            raise ValueError("stack needs at least one ensemble")
        p = models[0].weights[0]
        configs = [c for m in models for c in m.configs]
        seeds = [s for m in models for s in m.seeds]
        n = len(models[0].weights)
        for m in models:
            if len(m.weights) != n or m.weights[0].dtype != p.dtype:
                raise ValueError("stacked ensembles must share depth and dtype")
        raw = ([torch.cat([m.weights[k].detach().to(p.device) for m in models]) for k in range(n)],
               [torch.cat([m.biases[k].detach().to(p.device) for m in models]) for k in range(n)])
        return cls(configs, seeds, dtype=p.dtype, device=p.device, _raw=raw)

    # -- facts about the members -----------------------------------------------------------
    def _uniform(self, values, what):
        return uniform(values, what, f"use member_{what} or .member(i)")

    @property
    def member_activations(self) -> tuple[Activation, ...]:
        return tuple(c.act for c in self.configs)

    @property
    def member_symmetries(self) -> tuple[str, ...]:
        return tuple(c.symmetry for c in self.configs)

    @property
    def member_antisymmetrised(self) -> tuple[bool, ...]:
        return tuple(c.antisymmetrised for c in self.configs)

    @property
    def activation(self) -> Activation:
        """The members' activation (an error if members differ)."""
        return self._uniform(self.member_activations, "activations")

    @property
    def symmetry(self) -> str:
        """The members' symmetry name (an error if members differ)."""
        return self._uniform(self.member_symmetries, "symmetries")

    @property
    def antisymmetrised(self) -> bool:
        r"""True if the members are odd by antisymmetrisation :math:`f(s) = [g(s)-g(-s)]/2`, where
        :math:`g` is the network of :meth:`layers` (an error if members differ)."""
        return self._uniform(self.member_antisymmetrised, "antisymmetrised")

    @property
    def config(self) -> MLPConfig:
        """The members' shared configuration (an error if members differ)."""
        return self._uniform(self.configs, "configs")

    # -- the maths -------------------------------------------------------------------------
    def layers(self) -> list[tuple[torch.Tensor, torch.Tensor]]:
        r"""Effective layers :math:`(W^{(k)}, c^{(k)})`, ``W: (E, d_{k+1}, d_k)``, ``c: (E, d_{k+1})``,
        with the symmetry constraints applied (zeros where a member has no bias)."""
        masks = {"perm": self.perm_mask, "tied": self.tied_mask, "odd": self.odd_mask}
        if self._grouped:
            masks["group_avg"], masks["group_id"] = self.group_avg, self.group_id
        else:
            masks["groups"] = self._groups
        return project_layers(list(self.weights), list(self.biases), self._mode, masks)

    def _act(self, z: torch.Tensor) -> torch.Tensor:
        return apply_runs(z, self._act_runs)

    def network(self, x: torch.Tensor, layers=None) -> torch.Tensor:
        """The plain network :math:`g` (before any antisymmetrisation, :func:`rgsym.nets.forward.plain_forward`):
        ``(E, B, b) -> (E, B)``."""
        layers = self.layers() if layers is None else layers
        return plain_forward(layers, x, self._act)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        r"""The block map of every member: ``x`` ``(E, B, b)`` -> :math:`f(x)` ``(E, B)``."""
        if x.dim() != 3 or x.shape[0] != self.n_members or x.shape[2] != self.b:
            raise ValueError(f"expected blocks of shape (E={self.n_members}, B, b={self.b}), got {tuple(x.shape)}")
        layers = self.layers()
        g = self.network(x, layers)
        if self._mode["anti"] == "none":
            return g
        anti = 0.5 * (g - self.network(-x, layers))
        return where_members(self._mode["anti"], self.anti_mask, anti, g)

    def rg_step(self, s: torch.Tensor) -> torch.Tensor:
        r"""One learned RG step on a lattice: ``s`` ``(E, B, N)`` -> ``(E, B, N/b)``, block ``j`` being sites
        ``j*b .. j*b+b-1``."""
        if s.dim() != 3 or s.shape[0] != self.n_members:
            raise ValueError(f"expected lattices of shape (E={self.n_members}, B, N), got {tuple(s.shape)}")
        E, B, N = s.shape
        if N % self.b:
            raise ValueError(f"lattice size N={N} is not a multiple of the block size b={self.b}")
        return self(s.reshape(E, B * (N // self.b), self.b)).reshape(E, B, N // self.b)

    def flow(self, s: torch.Tensor, steps: int | None = None) -> list[torch.Tensor]:
        """The learned flow: ``[s^(1), ..., s^(steps)]`` (``steps`` default: until one site is left)."""
        return flow(self, s, steps)

    def extra_repr(self) -> str:
        kinds = sorted({(c.activation, c.symmetry) for c in self.configs})
        return f"E={self.n_members}, dims={self.dims}, members={kinds[:4]}{'...' if len(kinds) > 4 else ''}"
