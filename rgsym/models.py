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

Members may differ in activation and symmetry (they must share ``b``, ``H`` and ``depth``, i.e. the
tensor shapes); each member's initial weights depend only on ``(b, H, depth, seed)``, so that a
member built alone equals the same member inside any ensemble, and members with equal seeds but
different activations or symmetries start from common random numbers.
"""
from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, replace
from typing import Iterable, Sequence

import torch
from torch import nn

from .activations import Activation, get_activation
from .config import check_choice, check_int

SYMMETRY_FLAGS = ("perm-in", "tied-hidden", "odd")
"""The elementary constraints; a symmetry name is ``'free'`` or a ``+``-joined combination."""

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


def symmetry_flags(symmetry: str) -> frozenset:
    """The elementary constraints of a symmetry name, e.g. ``'perm-in+odd'`` -> ``{'perm-in', 'odd'}``."""
    check_choice("symmetry", symmetry, SYMMETRIES)
    return frozenset() if symmetry == "free" else frozenset(symmetry.split("+"))


def stable_seed(*parts) -> int:
    """A 63-bit integer seed derived from ``parts`` by SHA-256 of their JSON (platform independent)."""
    blob = json.dumps(parts, sort_keys=True, default=str).encode()
    return int.from_bytes(hashlib.sha256(blob).digest()[:8], "little") & (2**63 - 1)


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

    def __post_init__(self):
        for name, lo, hi in (("b", 2, 1024), ("width", 1, 4096), ("depth", 1, MAX_DEPTH)):
            check_int(name, getattr(self, name), lo, hi)
        check_choice("symmetry", self.symmetry, SYMMETRIES)
        object.__setattr__(self, "alpha", get_activation(self.activation, self.alpha).alpha)

    # -- derived facts -------------------------------------------------------------------
    @property
    def act(self) -> Activation:
        return get_activation(self.activation, self.alpha if self.activation == "quadratic" else None)

    @property
    def flags(self) -> frozenset:
        return symmetry_flags(self.symmetry)

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
        f, d = self.flags, self.dims
        tied, perm, odd = "tied-hidden" in f, "perm-in" in f, "odd" in f
        n = 0
        for k in range(len(d) - 1):
            n_in, n_out = d[k], d[k + 1]
            first, last = k == 0, k == len(d) - 2
            rows = 1 if (tied and not last) else n_out
            cols = (1 if perm else n_in) if first else (1 if tied else n_in)
            n += rows * cols
            if not odd:
                n += 1 if (tied and not last) else n_out
        return n

    @property
    def size_label(self) -> str:
        return f"{self.depth}x{self.width}"

    def key(self) -> dict:
        """The configuration as plain data (for hashing and tables)."""
        return {"b": self.b, "width": self.width, "depth": self.depth, "activation": self.activation,
                "alpha": self.alpha, "symmetry": self.symmetry}

    def replace(self, **changes) -> "MLPConfig":
        return replace(self, **changes)


def _runs(values: Sequence) -> list[tuple[int, int, object]]:
    """Maximal runs of equal consecutive values as ``(start, stop, value)``."""
    runs, start = [], 0
    for i in range(1, len(values) + 1):
        if i == len(values) or values[i] != values[start]:
            runs.append((start, i, values[start]))
            start = i
    return runs


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
        if isinstance(seeds, int) and not isinstance(seeds, bool):
            seeds = range(seeds)
        seeds = tuple(int(s) for s in seeds)
        if isinstance(configs, MLPConfig):
            configs = (configs,) * len(seeds)
        configs = tuple(configs)
        if not configs or len(configs) != len(seeds):
            raise ValueError(f"need one config per seed and at least one member, got {len(configs)} configs "
                             f"and {len(seeds)} seeds")
        for c in configs:
            if not isinstance(c, MLPConfig):
                raise TypeError(f"configs must be MLPConfig, got {type(c).__name__}")
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
        self._act_runs = [(a, z, act) for a, z, act in _runs(acts)]
        E = self.n_members
        perm = torch.tensor(["perm-in" in c.flags for c in configs])
        tied = torch.tensor(["tied-hidden" in c.flags for c in configs])
        odd = torch.tensor(["odd" in c.flags for c in configs])
        anti = torch.tensor([c.antisymmetrised for c in configs])
        for name, m in (("perm_mask", perm), ("tied_mask", tied), ("odd_mask", odd), ("anti_mask", anti)):
            self.register_buffer(name, m.to(device), persistent=False)
        # python-level summaries, to skip masked ops where no member (or every member) needs them
        self._mode = {name: ("none" if not bool(m.any()) else "all" if bool(m.all()) else "some")
                      for name, m in (("perm", perm), ("tied", tied), ("odd", odd), ("anti", anti))}

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
        placed in the member's symmetric subspace by :func:`_init_project`."""
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
            for k, (w, c) in enumerate(_init_project(w1, c1, cfg.flags)):
                ws[k].append(w)
                cs[k].append(c)
        return [torch.cat(w) for w in ws], [torch.cat(c) for c in cs]

    @classmethod
    def build(cls, *, seeds: Sequence[int] | int = 1, dtype=torch.float32, device=None, **config) -> "EnsembleMLP":
        """Shortcut: ``EnsembleMLP.build(width=8, depth=2, activation='relu', symmetry='odd', seeds=10)``."""
        return cls(MLPConfig(**config), seeds, dtype=dtype, device=device)

    def select(self, indices: Iterable[int]) -> "EnsembleMLP":
        """A new ensemble holding copies of the members ``indices`` (trained weights included)."""
        idx = [int(i) for i in indices]
        if not idx:
            raise ValueError("select needs at least one member index")
        for i in idx:
            if not -self.n_members <= i < self.n_members:
                raise IndexError(f"member index {i} out of range for an ensemble of {self.n_members}")
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
        values = list(values)
        if any(v != values[0] for v in values):
            raise ValueError(f"the members of this ensemble differ in {what}; use member_{what} or .member(i)")
        return values[0]

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
        return project_layers(list(self.weights), list(self.biases), self._mode, masks)

    def _act(self, z: torch.Tensor) -> torch.Tensor:
        if len(self._act_runs) == 1:
            return self._act_runs[0][2](z)
        # split (not slicing): its backward concatenates the gradients in one pass
        parts = z.split([b - a for a, b, _ in self._act_runs])
        return torch.cat([act(p) for p, (_, _, act) in zip(parts, self._act_runs)])

    def network(self, x: torch.Tensor, layers=None) -> torch.Tensor:
        """The plain network :math:`g` (before any antisymmetrisation): ``(E, B, b) -> (E, B)``."""
        layers = self.layers() if layers is None else layers
        h = x
        last = len(layers) - 1
        for k, (W, c) in enumerate(layers):
            h = torch.bmm(h, W.transpose(1, 2)).add_(c.unsqueeze(1))  # (cheaper than baddbmm on the CPU)
            if k < last:
                h = self._act(h)
        return h.squeeze(-1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        r"""The block map of every member: ``x`` ``(E, B, b)`` -> :math:`f(x)` ``(E, B)``."""
        if x.dim() != 3 or x.shape[0] != self.n_members or x.shape[2] != self.b:
            raise ValueError(f"expected blocks of shape (E={self.n_members}, B, b={self.b}), got {tuple(x.shape)}")
        layers = self.layers()
        g = self.network(x, layers)
        if self._mode["anti"] == "none":
            return g
        anti = 0.5 * (g - self.network(-x, layers))
        return _where(self._mode["anti"], self.anti_mask, anti, g)

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


def _init_project(weights, biases, flags) -> list[tuple[torch.Tensor, torch.Tensor]]:
    r"""Initial weights inside the symmetric subspace, from one member's raw draws (``(1, out, in)``).

    A tied weight takes the value of one representative raw entry (not the mean, which would shrink
    it): ``perm-in`` copies column 0 of the first layer, so :math:`u_h\sum_i s_i` keeps the variance of
    a free unit; ``tied-hidden`` copies row 0 (incoming weights and bias) to every unit, and a weight
    fed by the :math:`H` identical units of a hidden layer, which acts as one weight :math:`H a`, is
    set to :math:`a = a_{\rm raw}/\sqrt H`, so that :math:`Ha \sim U(-1, 1)` like a fan-in-one
    weight; ``odd`` zeroes the biases.
    """
    out, n = [], len(weights)
    for k in range(n):
        W, c = weights[k].clone(), biases[k].clone()
        first, last = k == 0, k == n - 1
        if first and "perm-in" in flags:
            W = W[..., :1].expand_as(W).clone()
        if "tied-hidden" in flags:
            if not first:
                H = W.shape[-1]
                W = (W[..., :1, :1] / math.sqrt(H)).expand_as(W).clone()
            elif not last:
                W = W[..., :1, :].expand_as(W).clone()
            if not last:
                c = c[..., :1].expand_as(c).clone()
        if "odd" in flags:
            c = torch.zeros_like(c)
        out.append((W, c))
    return out


def _where(mode: str, mask, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``a`` where the member's mask is set, else ``b`` (``mode``: 'all', 'none' or 'some' members)."""
    if mode == "all":
        return a
    if mode == "none":
        return b
    return torch.where(mask.view(-1, *([1] * (a.dim() - 1))), a, b)


def project_layers(weights, biases, modes: dict, masks: dict) -> list[tuple[torch.Tensor, torch.Tensor]]:
    r"""Project raw stacked layers onto each member's symmetric subspace (mean over tied entries).

    ``weights[k]``: ``(E, d_{k+1}, d_k)``, ``biases[k]``: ``(E, d_{k+1})``; ``modes[name]`` is ``'all'``,
    ``'none'`` or ``'some'`` for ``name`` in ``perm``, ``tied``, ``odd``, and ``masks[name]`` the
    ``(E,)`` bool mask used where the mode is ``'some'``.
    """
    out = []
    n = len(weights)
    for k in range(n):
        W, c = weights[k], biases[k]
        first, last = k == 0, k == n - 1
        if first and modes["perm"] != "none":
            W = _where(modes["perm"], masks.get("perm"), W.mean(-1, keepdim=True).expand_as(W), W)
        if modes["tied"] != "none":
            Wt = W
            if not last:
                Wt = Wt.mean(-2, keepdim=True)
            if not first:
                Wt = Wt.mean(-1, keepdim=True)
            W = _where(modes["tied"], masks.get("tied"), Wt.expand_as(W), W)
            if not last:
                c = _where(modes["tied"], masks.get("tied"), c.mean(-1, keepdim=True).expand_as(c), c)
        if modes["odd"] != "none":
            c = _where(modes["odd"], masks.get("odd"), torch.zeros_like(c), c)
        out.append((W, c))
    return out


def rg_step(model: nn.Module, s: torch.Tensor) -> torch.Tensor:
    """One learned RG step of any ensemble RG module: ``model.rg_step(s)`` if it has one, else ``model(s)``;
    ``(E, B, N) -> (E, B, N/b)``."""
    step = getattr(model, "rg_step", None)
    return step(s) if step is not None else model(s)


def flow(model: nn.Module, s: torch.Tensor, steps: int | None = None) -> list[torch.Tensor]:
    r"""Iterate a learned RG step ``steps`` times: ``s`` ``(E, B, N)`` -> list of ``(E, B, N / b^l)``,
    ``l = 1..steps`` (default: :math:`\log_b N` steps, down to one site)."""
    b = int(model.b)
    N = s.shape[-1]
    if steps is None:
        steps = round(math.log(N, b))
    if b ** steps > N or N % (b ** steps):
        raise ValueError(f"cannot take {steps} RG steps of block size b={b} on a lattice of N={N} sites")
    out = []
    for _ in range(steps):
        s = rg_step(model, s)
        out.append(s)
    return out


def exact_layers(config: MLPConfig) -> list[tuple[torch.Tensor, torch.Tensor]] | None:
    r"""Weights ``[(W, c), ...]`` (``W: (out, in)``, float64) with which the network ``config`` equals the
    exact block map :math:`T_b(s) = b^{-1/2}\sum_i s_i` *exactly*, or ``None`` where this construction
    does not exist (SCIENCE.md §3).

    * identity: one direction :math:`w = b^{-1/2}\mathbf 1` copied to every unit and averaged out,
      allowed by every symmetry;
    * ReLU and the quadratic :math:`\phi(z) = z + \alpha z^2`: two units of opposite sign,
      :math:`z = \mathrm{relu}(z) - \mathrm{relu}(-z) = [\phi(z) - \phi(-z)]/2`, passed on layer by
      layer; needs width >= 2 and is forbidden by ``tied-hidden`` (all units equal);
    * tanh, GELU, SiLU: no finite exact representation (``None``).

    The weights satisfy the config's own constraints (no biases at all, first-layer rows constant).
    """
    act, H, b, D = config.act, config.width, config.b, config.depth
    r = 1.0 / math.sqrt(b)
    zeros = torch.zeros
    if act.name == "identity" or (act.name == "quadratic" and act.alpha == 0.0):
        layers = [(torch.full((H, b), r, dtype=torch.float64), zeros(H, dtype=torch.float64))]
        layers += [(torch.full((H, H), 1.0 / H, dtype=torch.float64), zeros(H, dtype=torch.float64))
                   for _ in range(D - 1)]
        layers.append((torch.full((1, H), 1.0 / H, dtype=torch.float64), zeros(1, dtype=torch.float64)))
        return layers
    if act.name not in ("relu", "quadratic") or H < 2 or "tied-hidden" in config.flags:
        return None
    h = 1.0 if act.name == "relu" else 0.5  # z = (phi(z) - phi(-z)) * h
    W1 = zeros(H, b, dtype=torch.float64)
    W1[0], W1[1] = r, -r
    layers = [(W1, zeros(H, dtype=torch.float64))]
    for _ in range(D - 1):
        W = zeros(H, H, dtype=torch.float64)
        W[0, 0], W[0, 1], W[1, 0], W[1, 1] = h, -h, -h, h
        layers.append((W, zeros(H, dtype=torch.float64)))
    Wout = zeros(1, H, dtype=torch.float64)
    Wout[0, 0], Wout[0, 1] = h, -h
    layers.append((Wout, zeros(1, dtype=torch.float64)))
    return layers


def from_layers(config: MLPConfig, layers, *, seed: int = 0, dtype=torch.float64) -> EnsembleMLP:
    """A one-member ensemble with the given raw layers ``[(W (out, in), c (out,)), ...]``."""
    raw = ([torch.as_tensor(W, dtype=dtype).unsqueeze(0).clone() for W, _ in layers],
           [torch.as_tensor(c, dtype=dtype).unsqueeze(0).clone() for _, c in layers])
    if [w.shape[1:] for w in raw[0]] != [(config.dims[k + 1], config.dims[k]) for k in range(len(config.dims) - 1)]:
        raise ValueError(f"layer shapes do not match the config's dims {config.dims}")
    return EnsembleMLP([config], [seed], dtype=dtype, _raw=raw)


def tied_bias_layers(config: MLPConfig, c: float) -> list[tuple[torch.Tensor, torch.Tensor]]:
    r"""Best-effort weights of a one-hidden-layer ``tied-hidden`` network with hidden bias ``c``.

    With all :math:`H` units equal, :math:`f(s) = Hv\,\phi(z + c) + c_0`, :math:`z = b^{-1/2}\sum_i s_i`.
    The output weight is chosen so that the linear coefficient in :math:`z` is 1 and the output is
    centred for unit-variance :math:`z`:

    * quadratic: :math:`Hv = 1/(1+2\alpha c)`, leaving the quadratic part
      :math:`\alpha z^2/(1+2\alpha c)`: relative error :math:`2\alpha^2/(1+2\alpha c)^2` for Gaussian
      :math:`z` (it vanishes only as :math:`c\to\infty`);
    * ReLU: :math:`Hv = 1`, exact wherever :math:`z > -c` and wrong below.
    """
    if config.depth != 1 or "tied-hidden" not in config.flags or config.act.name not in ("quadratic", "relu"):
        raise ValueError("tied_bias_layers needs a depth-1 'tied-hidden' config with a quadratic or ReLU activation")
    if "odd" in config.flags:
        raise ValueError("odd networks have no biases")
    H, b, c = config.width, config.b, float(c)
    W1 = torch.full((H, b), 1 / math.sqrt(b), dtype=torch.float64)
    c1 = torch.full((H,), c, dtype=torch.float64)
    if config.act.name == "quadratic":
        a = config.act.alpha
        Hv = 1.0 / (1.0 + 2.0 * a * c)
        c0 = -Hv * (c + a * c * c + a)  # E[phi(z + c)] = c + alpha (c^2 + 1) for E z = 0, E z^2 = 1
    else:
        Hv, c0 = 1.0, -c
    Wout = torch.full((1, H), Hv / H, dtype=torch.float64)
    return [(W1, c1), (Wout, torch.tensor([c0], dtype=torch.float64))]
