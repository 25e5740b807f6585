r"""Parameter-space symmetry distance of a GNN ensemble, eq. (6.9) (Chapter 6).

For a GNN ensemble (:mod:`rgsym.nets.gnn`, no ``layers()``): the distance of its position- and
edge-type-dependent weights from the ``shared`` (permutation-equivariant) subspace, and the norm of the same
weights, so that :math:`\Delta_{\rm shared}/\lVert\theta\rVert` is scale free. ``effective`` is
:meth:`rgsym.nets.gnn.EnsembleGNN.effective`; every function returns ``(E,)``.
"""
from __future__ import annotations

import torch

__all__ = ["gnn_shared_distance", "gnn_theta_norm"]


def _gnn_tensors(effective: dict) -> list:
    return list(effective["root"]) + list(effective["msg"]) + list(effective["bias"]) + [effective["readout"]]


def gnn_theta_norm(effective: dict) -> torch.Tensor:
    r""":math:`\lVert\theta\rVert` over the GNN tensors that (6.9) projects (root, message, bias, readout), ``(E,)``."""
    tensors = _gnn_tensors(effective)
    E = tensors[0].shape[0]
    return torch.stack([X.reshape(E, -1).square().sum(dim=1) for X in tensors]).sum(dim=0).sqrt()


def gnn_shared_distance(effective: dict) -> torch.Tensor:
    r"""Eq. (6.9): distance of a GNN ensemble's parameters from the ``shared`` (permutation-equivariant)
    subspace, ``(E,)``.

    ``effective`` is :meth:`rgsym.nets.gnn.EnsembleGNN.effective`: root weights, message weights, biases
    and readout carry a position / edge-type axis (axis 1), and the shared subspace is where they do
    not depend on it. The projection is the mean over that axis, so
    :math:`\Delta_{\rm shared}^2 = \sum_X \lVert X - \langle X\rangle_{\rm axis\,1}\rVert^2` over
    ``root``, ``msg``, ``bias`` (every layer) and ``readout``, in the pairwise form
    :math:`(2n)^{-1}\sum_{p,q}\lVert X_p - X_q\rVert^2` (exactly zero for tied entries).
    """
    tensors = _gnn_tensors(effective)
    E = tensors[0].shape[0]
    total = torch.zeros(E, dtype=tensors[0].dtype, device=tensors[0].device)
    for X in tensors:
        X = X.reshape(E, X.shape[1], -1)
        n = X.shape[1]
        diff = X.unsqueeze(2) - X.unsqueeze(1)  # (E, n, n, rest)
        total = total + diff.square().sum(dim=(1, 2, 3)) / (2 * n)
    return total.sqrt()
