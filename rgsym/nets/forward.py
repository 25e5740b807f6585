r"""The plain forward pass of a stack of block-map MLPs (Chapter 2, the network :math:`g`).

With layers :math:`(W^{(k)}, c^{(k)})`, :math:`k = 1..D+1`, and the activation :math:`\phi` after every
layer but the last,

.. math:: h^{(0)} = s,\qquad h^{(k)} = \phi\big(W^{(k)} h^{(k-1)} + c^{(k)}\big),\qquad
          g(s) = W^{(D+1)} h^{(D)} + c^{(D+1)} .

This is *the* implementation: :class:`rgsym.nets.mlp.EnsembleMLP` (its :meth:`network`), cumulant
propagation's quadrature and the symmetry measures all evaluate :math:`g` through
:func:`plain_forward`, so they agree to the last bit. Antisymmetrisation
:math:`f(s) = [g(s) - g(-s)]/2` is the caller's business (it depends on per-member flags).
"""
from __future__ import annotations

from typing import Callable, Sequence

import torch

Layers = Sequence[tuple[torch.Tensor, torch.Tensor]]
"""Stacked layers ``[(W, c), ...]``: ``W`` ``(E, d_{k+1}, d_k)``, ``c`` ``(E, d_{k+1})``."""


def plain_forward(layers: Layers, x: torch.Tensor, activation: Callable[[torch.Tensor], torch.Tensor]
                  ) -> torch.Tensor:
    r"""The plain network :math:`g` of every member on its blocks.

    Shapes: ``layers[k] = (W, c)`` with ``W`` ``(E, d_{k+1}, d_k)`` and ``c`` ``(E, d_{k+1})``
    (``d_0 = b``, last ``d = 1``); ``x`` ``(E, B, b)``; returns ``(E, B)``. ``activation`` acts
    elementwise on the hidden pre-activations ``(E, B, d_k)`` (it may treat members differently,
    as a mixed ensemble's does, but must keep the shape). Each layer is ``bmm`` then an in-place
    bias add (cheaper than ``baddbmm`` on the CPU).
    """
    h = x
    last = len(layers) - 1
    for k, (W, c) in enumerate(layers):
        h = torch.bmm(h, W.transpose(1, 2)).add_(c.unsqueeze(1))
        if k < last:
            h = activation(h)
    return h.squeeze(-1)
