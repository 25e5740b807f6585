r"""Weight constraints of the block-map MLPs as projections (Chapter 2; :mod:`rgsym.nets.mlp`).

* :func:`init_project` -- one member's initial draws placed inside its symmetric subspace;
* :func:`project_layers` -- raw stacked layers projected onto every member's subspace in each forward
  pass (``perm-in``, tied hidden units in :math:`g` groups, ``odd``);
* :func:`group_matrices` -- the group-averaging matrices of graded tying.

Layers are stacked: ``W`` ``(E, d_{k+1}, d_k)``, ``c`` ``(E, d_{k+1})``.
"""
from __future__ import annotations

import math
from typing import Sequence

import torch

from .ensemble import where_members


def init_project(weights, biases, flags, groups: int | None = None) -> list[tuple[torch.Tensor, torch.Tensor]]:
    r"""Initial weights inside the symmetric subspace, from one member's raw draws (``(1, out, in)``).

    A tied weight takes the value of one representative raw entry (not the mean, which would shrink
    it): ``perm-in`` copies column 0 of the first layer, so :math:`u_h\sum_i s_i` keeps the variance of
    a free unit; with the hidden units in ``groups`` :math:`= g` groups of :math:`m = H/g`
    (``tied-hidden``: :math:`g = 1`; ``None``: free) every unit copies the incoming weights and bias of
    its group's first unit, and a weight fed by the :math:`m` identical units of a group, which acts as
    one weight :math:`m a`, is set to :math:`a = a_{\rm raw}/\sqrt m` (the group's first column), so
    that the layer's output keeps the variance of a free layer; ``odd`` zeroes the biases.
    """
    out, n = [], len(weights)
    H = weights[0].shape[-2]
    g = 1 if "tied-hidden" in flags else (groups or H)
    m = H // g
    rep = torch.arange(H) // m * m  # the first unit of each unit's group
    for k in range(n):
        W, c = weights[k].clone(), biases[k].clone()
        first, last = k == 0, k == n - 1
        if first and "perm-in" in flags:
            W = W[..., :1].expand_as(W).clone()
        if g < H:
            if not first:
                W = (W[..., rep] / math.sqrt(m)).clone()
            if not last:
                W = W[..., rep, :].clone()
                c = c[..., rep].clone()
        if "odd" in flags:
            c = torch.zeros_like(c)
        out.append((W, c))
    return out


def group_matrices(groups: Sequence[int], width: int, dtype=torch.float32) -> tuple[torch.Tensor, torch.Tensor]:
    r"""The group-averaging matrices of graded tying: ``P`` ``(E, H, H)`` with :math:`P_{e,j,h} = 1/m_e`
    when unit :math:`h` is in group :math:`j` of member :math:`e` (groups of :math:`m_e = H/g_e`
    contiguous units; rows :math:`j \ge g_e` are zero), and ``gid`` ``(E, H)``, the group of each unit."""
    E, H = len(groups), int(width)
    P = torch.zeros(E, H, H, dtype=dtype)
    gid = torch.zeros(E, H, dtype=torch.long)
    for e, g in enumerate(groups):
        m = H // int(g)
        gid[e] = torch.arange(H) // m
        P[e, gid[e], torch.arange(H)] = 1.0 / m
    return P, gid


def _tie_rows(x: torch.Tensor, P: torch.Tensor, gid: torch.Tensor) -> torch.Tensor:
    """Group means over axis 1 of ``x`` ``(E, H, n)``, copied back to every unit of the group (exact copies)."""
    return torch.gather(P @ x, 1, gid[:, :, None].expand_as(x))


def _tie_cols(x: torch.Tensor, P: torch.Tensor, gid: torch.Tensor) -> torch.Tensor:
    """Group sums over the last axis of ``x`` ``(E, n, H)`` shared out equally (the mean, copied back)."""
    return torch.gather(x @ P.transpose(1, 2), 2, gid[:, None, :].expand_as(x))


def block_mean(x: torch.Tensor, g: int, dim: int) -> torch.Tensor:
    r"""Means over :math:`g` contiguous groups of :math:`m = H/g` entries along ``dim`` (size :math:`H`),
    each copied back to its group (a broadcast view: copies are exact). The tying of every member of an
    ensemble that shares one :math:`g`; ``g = 1`` is the plain mean of ``tied-hidden``. Shape kept."""
    dim = dim % x.dim()
    H = x.shape[dim]
    if g == 1:
        return x.mean(dim, keepdim=True).expand_as(x)
    blocks = x.unflatten(dim, (g, H // g))
    return blocks.mean(dim + 1, keepdim=True).expand_as(blocks).flatten(dim, dim + 1)


def project_layers(weights, biases, modes: dict, masks: dict) -> list[tuple[torch.Tensor, torch.Tensor]]:
    r"""Project raw stacked layers onto each member's symmetric subspace (mean over tied entries).

    ``weights[k]``: ``(E, d_{k+1}, d_k)``, ``biases[k]``: ``(E, d_{k+1})``; ``modes[name]`` is ``'all'``,
    ``'none'`` or ``'some'`` for ``name`` in ``perm``, ``tied``, ``odd``, and ``masks[name]`` the
    ``(E,)`` bool mask used where the mode is ``'some'``. With ``masks['group_avg']`` ``(E, H, H)`` and
    ``masks['group_id']`` ``(E, H)`` (:func:`group_matrices`) the tied members are tied in their own
    number of groups (the general path: a gather of group means); without them every tied member has
    ``masks['groups']`` groups (default 1), tied by :func:`block_mean` (a broadcast view, the fast path).
    """
    out = []
    n = len(weights)
    P, gid = masks.get("group_avg"), masks.get("group_id")
    g = int(masks.get("groups", 1))
    for k in range(n):
        W, c = weights[k], biases[k]
        first, last = k == 0, k == n - 1
        if first and modes["perm"] != "none":
            W = where_members(modes["perm"], masks.get("perm"), W.mean(-1, keepdim=True).expand_as(W), W)
        if modes["tied"] != "none":
            if P is None:  # every tied member has the same number of groups g (masks['groups'], default 1)
                rows = lambda x: block_mean(x, g, -2)  # noqa: E731
                cols = lambda x: block_mean(x, g, -1)  # noqa: E731
            else:  # graded tying, each member with its own g
                rows = lambda x: _tie_rows(x, P, gid)  # noqa: E731
                cols = lambda x: _tie_cols(x, P, gid)  # noqa: E731
            Wt = W
            if not last:
                Wt = rows(Wt)
            if not first:
                Wt = cols(Wt)
            W = where_members(modes["tied"], masks.get("tied"), Wt, W)
            if not last:
                c = where_members(modes["tied"], masks.get("tied"), rows(c[..., None])[..., 0], c)
        if modes["odd"] != "none":
            c = where_members(modes["odd"], masks.get("odd"), torch.zeros_like(c), c)
        out.append((W, c))
    return out
