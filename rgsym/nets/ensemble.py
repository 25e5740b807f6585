r"""What every stacked ensemble of learned RG steps shares, MLP (Chapter 2) or GNN (Chapter 4).

An *ensemble RG module* holds ``E`` independent members with stacked parameters (leading axis ``E``)
and maps lattices ``s`` of shape ``(E, B, N)`` to ``(E, B, N/b)`` (one learned step of the block map
:math:`T_b`). The helpers here are the parts of :class:`rgsym.nets.mlp.EnsembleMLP` and
:class:`rgsym.nets.gnn.EnsembleGNN` that do not depend on the architecture:

* :func:`member_lists` -- one config and one seed per member, checked;
* :func:`runs` and :func:`apply_runs` -- members grouped into runs of equal activation, so that a
  mixed ensemble applies each :math:`\phi` to its own slice of the member axis;
* :func:`member_modes` and :func:`where_members` -- per-member constraints ("odd", "shared", ...) as
  bool masks, with the masked select skipped when no member, or every member, carries it;
* :func:`project_shared` -- a GNN parameter projected onto the shared subspace (6.9), for
  :meth:`rgsym.nets.gnn.EnsembleGNN.effective` and the symmetric initialisations of Chapter 6;
* :func:`uniform` and :func:`check_indices` -- facts shared by all members, member selection;
* :func:`rg_step` and :func:`flow` -- one learned step, and the learned flow
  :math:`s^{(l)} = f^{\circ l}(s)` iterated down the coarse lattices.
"""
from __future__ import annotations

import math
from typing import Iterable, Sequence

import torch
from torch import nn


def runs(values: Sequence) -> list[tuple[int, int, object]]:
    """Maximal runs of equal consecutive values as ``(start, stop, value)``."""
    out, start = [], 0
    for i in range(1, len(values) + 1):
        if i == len(values) or values[i] != values[start]:
            out.append((start, i, values[start]))
            start = i
    return out


def apply_runs(z: torch.Tensor, act_runs) -> torch.Tensor:
    """Apply each run's activation to its members: ``z`` ``(E, ...)`` -> same shape.

    ``act_runs`` is :func:`runs` of the members' activations. With one run the activation acts on the
    whole tensor; otherwise ``z`` is split along the member axis (not sliced: the backward of
    :func:`torch.split` concatenates the gradients in one pass) and the parts are concatenated again.
    """
    if len(act_runs) == 1:
        return act_runs[0][2](z)
    parts = z.split([b - a for a, b, _ in act_runs])
    return torch.cat([act(p) for p, (_, _, act) in zip(parts, act_runs)])


def member_lists(configs, seeds, config_type: type) -> tuple[tuple, tuple]:
    """``(configs, seeds)`` as tuples of equal length ``E >= 1``.

    ``seeds``: one integer per member, or an int ``E`` meaning ``0..E-1``; ``configs``: one
    ``config_type`` shared by all members, or one per member.
    """
    if isinstance(seeds, int) and not isinstance(seeds, bool):
        seeds = range(seeds)
    seeds = tuple(int(s) for s in seeds)
    if isinstance(configs, config_type):
        configs = (configs,) * len(seeds)
    configs = tuple(configs)
    if not configs or len(configs) != len(seeds):
        raise ValueError(f"need one config per seed and at least one member, got {len(configs)} configs "
                         f"and {len(seeds)} seeds")
    for c in configs:
        if not isinstance(c, config_type):
            raise TypeError(f"configs must be {config_type.__name__}, got {type(c).__name__}")
    return configs, seeds


def member_modes(masks: dict) -> dict:
    """For each ``(E,)`` bool mask: ``'none'`` (no member), ``'all'`` (every member) or ``'some'``."""
    return {name: ("none" if not bool(m.any()) else "all" if bool(m.all()) else "some")
            for name, m in masks.items()}


def where_members(mode: str, mask, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``a`` where the member's mask is set, else ``b`` (``mode``: 'all', 'none' or 'some' members).

    Shapes: ``mask`` ``(E,)``; ``a`` and ``b`` ``(E, ...)`` alike.
    """
    if mode == "all":
        return a
    if mode == "none":
        return b
    return torch.where(mask.view(-1, *([1] * (a.dim() - 1))), a, b)


def project_shared(x: torch.Tensor) -> torch.Tensor:
    """Eq. (6.9): the projection of a raw GNN parameter ``(E, P, ...)`` onto the shared subspace, the mean
    over its position / edge-type axis (axis 1) expanded back to ``x``'s shape (a view)."""
    return x.mean(1, keepdim=True).expand_as(x)


def uniform(values, what: str, hint: str = "use .member(i)"):
    """The common value of ``values`` (a fact of every member); an error naming ``what`` if they differ."""
    values = list(values)
    if any(v != values[0] for v in values):
        raise ValueError(f"the members of this ensemble differ in {what}; {hint}")
    return values[0]


def check_indices(indices: Iterable[int], n_members: int) -> list[int]:
    """Member indices as a non-empty list of ints in ``[-n_members, n_members)``."""
    idx = [int(i) for i in indices]
    if not idx:
        raise ValueError("select needs at least one member index")
    for i in idx:
        if not -n_members <= i < n_members:
            raise IndexError(f"member index {i} out of range for an ensemble of {n_members}")
    return idx


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
