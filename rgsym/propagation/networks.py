r"""Block-map MLPs as plain stacked layers (Chapter 3, the networks of Chapter 2).

A block map :math:`f:\mathbb R^b\to\mathbb R` with layers :math:`(W^{(k)}, c^{(k)})` and activation
:math:`\phi`,

.. math:: z^{(1)} = W^{(1)} s + c^{(1)},\quad z^{(k)} = W^{(k)}\phi(z^{(k-1)}) + c^{(k)},\quad
          f(s) = z^{(K)}\in\mathbb R ,

is held for a whole ensemble as a :class:`Network` (``W`` ``(E, out, in)``, ``c`` ``(E, out)``).
:func:`as_networks` reads Chapter 2's models (``model.layers()``), grouping members by activation;
antisymmetrised members :math:`f(s)=[g(s)-g(-s)]/2` are rewritten exactly as plain networks of twice
the width (:func:`antisymmetrised_layers`). :func:`network_forward` evaluates a network on blocks.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from ..nets.forward import plain_forward
from .polynomials import DTYPE
from ..nets.activations import activation_key


@dataclass
class Network:
    r"""A plain MLP of ``E`` members with one activation: ``layers[k] = (W, c)``, ``W`` ``(E, out, in)``,
    ``c`` ``(E, out)``; :math:`\phi` follows every layer but the last (``out = 1``)."""

    layers: list
    activation: object

    @property
    def b(self) -> int:
        return self.layers[0][0].shape[-1]

    @property
    def n_members(self) -> int:
        return self.layers[0][0].shape[0]


def antisymmetrised_layers(layers):
    r"""Layers of the plain network of width :math:`2H` that equals :math:`f(s) = [g(s) - g(-s)]/2`
    exactly, where ``layers`` are those of :math:`g`: first layer :math:`[W; -W]`, hidden layers
    block-diagonal, last layer :math:`[W/2, -W/2]` without bias."""
    out = []
    n = len(layers)
    for k, (W, c) in enumerate(layers):
        W, c = W.to(DTYPE), c.to(DTYPE)
        if k == 0 and n == 1:  # a purely affine map: its odd part drops the bias
            out.append((W, torch.zeros_like(c)))
        elif k == 0:
            out.append((torch.cat([W, -W], 1), torch.cat([c, c], 1)))
        elif k == n - 1:
            out.append((torch.cat([W, -W], 2) / 2, torch.zeros_like(c)))
        else:
            Z = torch.zeros_like(W)
            out.append((torch.cat([torch.cat([W, Z], 2), torch.cat([Z, W], 2)], 1), torch.cat([c, c], 1)))
    return out


def as_networks(model, activation=None, antisymmetrised: bool | None = None):
    r"""Normalise a model to a list of ``(member_indices, Network)`` groups, one per activation.

    ``model`` is an ensemble with ``.layers()`` (Chapter 2's :class:`rgsym.nets.mlp.EnsembleMLP`, whose
    members may differ in activation and antisymmetrisation) or a list of ``(W, c)`` with an
    ``activation`` (an :class:`rgsym.nets.activations.Activation` or a name). Antisymmetrised members are
    rewritten with :func:`antisymmetrised_layers`.
    """
    if hasattr(model, "layers") and callable(model.layers):
        with torch.no_grad():
            layers = [(W.detach().to(DTYPE), c.detach().to(DTYPE)) for W, c in model.layers()]
        acts = list(getattr(model, "member_activations", None) or [model.activation] * layers[0][0].shape[0])
        anti = list(getattr(model, "member_antisymmetrised", None)
                    or [bool(getattr(model, "antisymmetrised", False))] * len(acts))
        if activation is not None or antisymmetrised is not None:
            raise ValueError("activation/antisymmetrised are read from the model; do not pass them")
    else:
        layers = [(torch.as_tensor(W, dtype=DTYPE), torch.as_tensor(c, dtype=DTYPE)) for W, c in model]
        if activation is None:
            raise ValueError("pass the activation with a list of layers")
        if isinstance(activation, str):
            from ..nets.activations import get_activation

            activation = get_activation(activation)
        E = layers[0][0].shape[0]
        acts = [activation] * E
        anti = [bool(antisymmetrised)] * E
    _check_layers(layers)
    groups = {}
    for i, (a, s) in enumerate(zip(acts, anti)):
        groups.setdefault((activation_key(a), s), (a, s, []))[2].append(i)
    out = []
    for a, s, idx in groups.values():
        t = torch.tensor(idx)
        sub = [(W[t], c[t]) for W, c in layers] if len(idx) != len(acts) else layers
        if s:
            sub = antisymmetrised_layers(sub)
        out.append((idx, Network(sub, a)))
    return out


def _check_layers(layers):
    if not layers:
        raise ValueError("a network needs at least one layer")
    E = layers[0][0].shape[0]
    prev = layers[0][0].shape[-1]
    for k, (W, c) in enumerate(layers):
        if W.dim() != 3 or c.dim() != 2 or W.shape[0] != E or c.shape[0] != E:
            raise ValueError(f"layer {k}: expected W (E, out, in) and c (E, out), got {tuple(W.shape)}, {tuple(c.shape)}")
        if W.shape[-1] != prev or c.shape[-1] != W.shape[1]:
            raise ValueError(f"layer {k}: shapes do not chain ({tuple(W.shape)} after width {prev})")
        prev = W.shape[1]
    if prev != 1:
        raise ValueError(f"the last layer must have one output (a block map), got {prev}")


def network_forward(net: Network, x: torch.Tensor) -> torch.Tensor:
    """The plain network on blocks: :func:`rgsym.nets.forward.plain_forward` of its layers.

    Shapes: ``x`` ``(E, B, b)`` -> ``(E, B)`` (in the dtype of the layers)."""
    return plain_forward(net.layers, x, net.activation)
