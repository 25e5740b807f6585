r"""Activation functions :math:`\phi` of the block-map networks (Chapter 2, SCIENCE.md §3).

Every activation is an :class:`Activation`: an elementwise torch function with the facts that the
rest of the book needs about it,

* ``name`` and ``alpha`` (the coefficient of the quadratic activation
  :math:`\phi(z) = z + \alpha z^2`; ``0.0`` for the others),
* ``is_odd``: :math:`\phi(-z) = -\phi(z)` exactly (identity, tanh, and the quadratic at
  :math:`\alpha = 0`), which decides whether an ``odd`` network must be antisymmetrised,
* ``poly_coeffs``: :math:`(c_0, \dots, c_{\rm deg})` with :math:`\phi(z) = \sum_k c_k z^k` for the
  polynomial activations (used by exact cumulant propagation), ``None`` otherwise.

==============  ===============================================  ======  ==================
name            :math:`\phi(z)`                                  odd     poly_coeffs
==============  ===============================================  ======  ==================
identity        :math:`z`                                        yes     ``(0, 1)``
quadratic       :math:`z + \alpha z^2`                           if α=0  ``(0, 1, alpha)``
tanh            :math:`\tanh z`                                  yes     ``None``
relu            :math:`\max(z, 0)`                               no      ``None``
gelu            :math:`z\,\Phi(z)` (exact erf form)              no      ``None``
silu            :math:`z\,\sigma(z)`                             no      ``None``
==============  ===============================================  ======  ==================
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import torch

from ..validation import check_choice

ACTIVATIONS = ("identity", "quadratic", "tanh", "relu", "gelu", "silu")
"""Names of all activations, in the book's order."""

DEFAULT_ALPHA = 0.5
r"""Default :math:`\alpha` of the quadratic activation :math:`z + \alpha z^2`."""


def _identity(z):
    return z


def _relu(z):
    return torch.relu(z)


def _gelu(z):
    return torch.nn.functional.gelu(z)


def _silu(z):
    return torch.nn.functional.silu(z)


def _sym_identity(z):
    return z


def _sym_tanh(z):
    import sympy

    return sympy.tanh(z)


def _sym_relu(z):
    import sympy

    return (z + sympy.Abs(z)) / 2  # max(z, 0) for real z, in the form sympy simplifies


def _sym_gelu(z):
    import sympy

    return z * (1 + sympy.erf(z / sympy.sqrt(2))) / 2


def _sym_silu(z):
    import sympy

    return z / (1 + sympy.exp(-z))


@dataclass(frozen=True)
class Activation:
    r"""An elementwise activation :math:`\phi` with its symmetry and polynomial facts.

    Call it on a tensor of any shape; it acts elementwise and keeps the shape.
    """

    name: str
    alpha: float = 0.0
    is_odd: bool = False
    poly_coeffs: tuple | None = None
    fn: Callable = field(default=_identity, repr=False, compare=False)
    symbolic: Callable | None = field(default=None, repr=False, compare=False)
    r"""``symbolic(z)``: :math:`\phi` as a sympy expression of the real symbol ``z`` (the algebra of
    :mod:`rgsym.nets.expressivity` reads the activation's properties off it)."""

    def __call__(self, z: torch.Tensor) -> torch.Tensor:
        return self.fn(z)

    @property
    def label(self) -> str:
        """A short label for plots (``'quadratic (α=0.5)'``)."""
        return f"quadratic (α={self.alpha:g})" if self.name == "quadratic" else self.name

    def key(self) -> dict:
        """The activation as plain data (for hashing and tables)."""
        return {"name": self.name, "alpha": float(self.alpha)}


def get_activation(name: str | Activation, alpha: float | None = None) -> Activation:
    r"""Return the activation called ``name`` (one of :data:`ACTIVATIONS`).

    ``alpha`` is the coefficient of :math:`z^2` in ``'quadratic'`` (default
    :data:`DEFAULT_ALPHA`); for the other activations it must be ``None`` or ``0``.
    Unknown names raise a ``ValueError`` that lists the valid ones.
    """
    if isinstance(name, Activation):
        if alpha is not None and float(alpha) != name.alpha:
            raise ValueError(f"activation {name.name!r} already has alpha={name.alpha}, got alpha={alpha}")
        return name
    check_choice("activation", name, ACTIVATIONS)
    if name != "quadratic":
        if alpha not in (None, 0, 0.0):
            raise ValueError(f"alpha is a parameter of the 'quadratic' activation only, got alpha={alpha} for {name!r}")
        if name == "identity":
            return Activation("identity", 0.0, True, (0.0, 1.0), _identity, _sym_identity)
        if name == "tanh":
            return Activation("tanh", 0.0, True, None, torch.tanh, _sym_tanh)
        if name == "relu":
            return Activation("relu", 0.0, False, None, _relu, _sym_relu)
        if name == "gelu":
            return Activation("gelu", 0.0, False, None, _gelu, _sym_gelu)
        return Activation("silu", 0.0, False, None, _silu, _sym_silu)
    a = DEFAULT_ALPHA if alpha is None else float(alpha)
    if not math.isfinite(a):
        raise ValueError(f"quadratic alpha must be finite, got {alpha!r}")

    def _quadratic(z, a=a):
        return z + a * z * z

    def _sym_quadratic(z, a=a):
        import sympy

        return z + sympy.nsimplify(a) * z**2

    return Activation("quadratic", a, a == 0.0, (0.0, 1.0, a), _quadratic, _sym_quadratic)


def poly_coefficients(act) -> tuple | None:
    r"""The coefficients :math:`(c_0, c_1, \dots)` of a polynomial activation, trailing zeros dropped
    (``None`` for a non-polynomial one): the form the cumulant propagation of Chapter 3 needs."""
    c = getattr(act, "poly_coeffs", None)
    if c is None:
        return None
    c = [float(x) for x in c]
    while len(c) > 1 and c[-1] == 0.0:
        c.pop()
    return tuple(c)


def activation_name(act) -> str:
    """The name of an activation (an :class:`Activation`, or any callable)."""
    return getattr(act, "name", getattr(act, "__name__", repr(act)))


def activation_key(act) -> tuple:
    """A hashable key that tells activations apart (name, quadratic coefficient, polynomial form);
    members with equal keys share one propagation."""
    return (activation_name(act), float(getattr(act, "alpha", 0.0) or 0.0), poly_coefficients(act))
