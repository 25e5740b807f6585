r"""Explicit weights for block-map MLPs that represent the exact map :math:`T_b` (Chapter 2, SCIENCE.md §3).

:math:`T_b(s) = b^{-1/2}\sum_i s_i` is linear, so a network represents it exactly only when its
nonlinearity can be cancelled inside the architecture and its symmetry constraints allow it:

* :func:`exact_layers` -- weights with which the network of a config *is* :math:`T_b`, or ``None``;
* :func:`tied_bias_layers` -- the best a one-hidden-layer ``tied-hidden`` network can do with a hidden
  bias :math:`c` (relative error :math:`2\alpha^2/(1+2\alpha c)^2` for the quadratic);
* :func:`from_layers` -- a one-member :class:`~rgsym.nets.mlp.EnsembleMLP` with given layers.

Layers here are one member's: ``[(W, c), ...]`` with ``W`` ``(out, in)`` and ``c`` ``(out,)``.
"""
from __future__ import annotations

import math

import torch

from .expressivity import activation_algebra
from .mlp import EnsembleMLP, MLPConfig


def exact_layers(config: MLPConfig) -> list[tuple[torch.Tensor, torch.Tensor]] | None:
    r"""Weights ``[(W, c), ...]`` (``W: (out, in)``, float64) with which the network ``config`` equals the
    exact block map :math:`T_b(s) = b^{-1/2}\sum_i s_i` *exactly*, or ``None`` where this construction
    does not exist (SCIENCE.md §3).

    * identity: one direction :math:`w = b^{-1/2}\mathbf 1` copied to every unit and averaged out,
      allowed by every symmetry;
    * every :math:`\phi` whose odd part is linear, :math:`\phi(z) - \phi(-z) = 2\phi'(0)z` (eq. 2.1:
      ReLU, SiLU, GELU, the quadratic :math:`z + \alpha z^2`): two units of opposite sign,
      :math:`z = [\phi(z) - \phi(-z)]/(2\phi'(0))`, e.g. :math:`z = \mathrm{relu}(z) - \mathrm{relu}(-z)`,
      passed on layer by layer; needs width >= 2 and is forbidden by ``tied-hidden`` (all units equal);
    * ``tied-hidden+odd`` (with or without ``perm-in``), the same activations: the antisymmetrisation
      :math:`f(s) = [g(s) - g(-s)]/2` builds the mirror pair in, so all units can be equal:
      :math:`w = b^{-1/2}\mathbf 1`, hidden weights :math:`1/H` (ReLU: :math:`\mathrm{relu}\circ
      \mathrm{relu} = \mathrm{relu}`) and output weights :math:`v` with :math:`Hv[\phi(z)-\phi(-z)]/2 = z`
      (:math:`Hv = 1/\phi'(0)`: 2 for ReLU, SiLU and GELU, 1 for the quadratic). Beyond depth 1 this needs
      a positively homogeneous :math:`\phi` (ReLU): a second tied quadratic layer, for one, leaves the odd
      term :math:`2\alpha^2 (aH)^2 z^3` (``None`` then);
    * tanh: no finite exact representation (``None``);
    * hidden units tied in :math:`1 < g < H` groups: the construction for width :math:`g`, every unit
      copied :math:`m = H/g` times and every weight it feeds divided by :math:`m`.

    The weights satisfy the config's own constraints (no biases at all, first-layer rows constant).
    """
    act, H, b, D = config.act, config.width, config.b, config.depth
    alg = activation_algebra(act)
    g = config.hidden_groups
    if 1 < g < H:  # graded tying: the exact network of width g, each unit split into m = H/g equal copies
        small = exact_layers(config.replace(width=g, groups=None))
        return None if small is None else _inflate(small, H // g)
    r = 1.0 / math.sqrt(b)
    zeros = torch.zeros
    if alg.linear:
        return _tied_layers(H, b, D, 1.0 / H)
    if alg.odd_part_linear and {"tied-hidden", "odd"} <= config.flags:
        if D > 1 and not alg.positively_homogeneous:
            return None
        return _tied_layers(H, b, D, 1.0 / (alg.slope0 * H))
    if not alg.odd_part_linear or H < 2 or "tied-hidden" in config.flags:
        return None
    h = 1.0 / (2.0 * alg.slope0)  # z = (phi(z) - phi(-z)) * h, eq. (2.1)
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


def _tied_layers(H: int, b: int, D: int, v: float) -> list[tuple[torch.Tensor, torch.Tensor]]:
    r"""All units equal: first layer :math:`b^{-1/2}` everywhere, hidden layers :math:`1/H`, output
    weights ``v``, no biases (float64)."""
    r = 1.0 / math.sqrt(b)
    layers = [(torch.full((H, b), r, dtype=torch.float64), torch.zeros(H, dtype=torch.float64))]
    layers += [(torch.full((H, H), 1.0 / H, dtype=torch.float64), torch.zeros(H, dtype=torch.float64))
               for _ in range(D - 1)]
    layers.append((torch.full((1, H), v, dtype=torch.float64), torch.zeros(1, dtype=torch.float64)))
    return layers


def _inflate(layers, m: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Split every hidden unit of ``layers`` into ``m`` equal copies (rows repeated; the weights they
    feed repeated and divided by ``m``): the same function, with the units tied in groups of ``m``."""
    out, n = [], len(layers)
    for k, (W, c) in enumerate(layers):
        if k > 0:
            W = W.repeat_interleave(m, dim=1) / m
        if k < n - 1:
            W, c = W.repeat_interleave(m, dim=0), c.repeat_interleave(m)
        out.append((W, c))
    return out
